//! Uniform expressions (functions of n and parameters) evaluated exactly, with arbitrary
//! precision: declared bounds of search programs grow like 2^n and exceed any machine integer.
//! The arithmetic is the interpreter's (`word`): floor division and a non-negative remainder,
//! `log2` = floor and `clog2` = ceil of log2 for arguments >= 1; what the interpreter faults on
//! is an error here.

use num_bigint::BigInt;
use num_traits::{One, Signed, ToPrimitive, Zero};

use super::program::{BinOp, Expr, UnOp};

/// Shifts beyond this many bits are refused (the result would have more than a million bits).
pub const MAX_SHIFT: u64 = 1 << 20;

/// Evaluates a uniform expression exactly; memory reads and locals are not uniform and refused.
pub fn eval(e: &Expr, registers: &[BigInt]) -> Result<BigInt, String> {
    match e {
        Expr::Const(v) => Ok(BigInt::from(*v)),
        Expr::Reg(r) => registers
            .get(*r as usize)
            .cloned()
            .ok_or_else(|| format!("register {r} does not exist")),
        Expr::Local(_) | Expr::Read { .. } => {
            Err("reads memory or a processor's local, so it is not a function of n".into())
        }
        Expr::Un(op, a) => unary(*op, eval(a, registers)?),
        Expr::Bin(op, a, b) => binary(*op, eval(a, registers)?, eval(b, registers)?),
    }
}

fn bool_int(b: bool) -> BigInt {
    BigInt::from(u8::from(b))
}

fn unary(op: UnOp, a: BigInt) -> Result<BigInt, String> {
    Ok(match op {
        UnOp::Neg => -a,
        UnOp::Not => bool_int(a.is_zero()),
        UnOp::BitNot => -(a + BigInt::one()),
        UnOp::Log2 | UnOp::Clog2 if a < BigInt::one() => {
            return Err(format!("log2 of {a}, which is below 1"))
        }
        UnOp::Log2 => BigInt::from(a.bits() - 1),
        UnOp::Clog2 => {
            let floor = a.bits() - 1;
            let exact = a == BigInt::one() << floor;
            BigInt::from(floor + u64::from(!exact))
        }
    })
}

fn binary(op: BinOp, a: BigInt, b: BigInt) -> Result<BigInt, String> {
    Ok(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div | BinOp::Rem if b.is_zero() => return Err("division by zero".into()),
        // Euclidean division, as the interpreter: the remainder is never negative.
        BinOp::Div => {
            let r = ((&a % &b) + b.abs()) % b.abs();
            (a - &r) / b
        }
        BinOp::Rem => ((&a % &b) + b.abs()) % b.abs(),
        BinOp::Min => a.min(b),
        BinOp::Max => a.max(b),
        BinOp::Eq => bool_int(a == b),
        BinOp::Ne => bool_int(a != b),
        BinOp::Lt => bool_int(a < b),
        BinOp::Le => bool_int(a <= b),
        BinOp::Gt => bool_int(a > b),
        BinOp::Ge => bool_int(a >= b),
        BinOp::And => bool_int(!a.is_zero() && !b.is_zero()),
        BinOp::Or => bool_int(!a.is_zero() || !b.is_zero()),
        BinOp::BitAnd => a & b,
        BinOp::BitOr => a | b,
        BinOp::BitXor => a ^ b,
        BinOp::Shl | BinOp::Shr => {
            let shift = b
                .to_u64()
                .filter(|&s| s <= MAX_SHIFT)
                .ok_or_else(|| format!("shift by {b} is outside 0..={MAX_SHIFT}"))?;
            if op == BinOp::Shl {
                a << shift
            } else {
                a >> shift
            }
        }
    })
}
