//! A PRAM program's declarations evaluated exactly at n (num-bigint): registers, array lengths, bounds.
//!
//! Canvases of the constructions are laid out from the declared bounds, which for search programs
//! grow exponentially in n; their exact values may exceed any machine integer, so every uniform
//! expression is evaluated here with arbitrary precision. The arithmetic follows the interpreter's
//! (`pram::word`): floor division and a non-negative remainder, `log2` = floor and `clog2` = ceil
//! of log2 for arguments >= 1; what the interpreter faults on is an error here.

use num_bigint::BigInt;
use num_traits::{One, Zero};

use crate::pram::error::place;
use crate::pram::program::{ArrayId, Expr, Program, Span};

pub use crate::pram::exact::MAX_SHIFT;

/// A declaration that cannot be evaluated at this n.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct DeclaredError {
    /// Which declaration (for example `bound rounds` or `array A`).
    pub what: String,
    /// What went wrong.
    pub problem: String,
}

/// The program's uniform registers at n, exactly: `n` first, then its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// Register values: n, then parameters (loop variables are not known before running: 0).
    pub registers: Vec<BigInt>,
    /// Declared rounds bound T(n), if declared.
    pub rounds: Option<BigInt>,
    /// Declared processors bound P(n).
    pub processors: Option<BigInt>,
    /// Declared work bound W(n).
    pub work: Option<BigInt>,
    /// Declared space bound S(n).
    pub space: Option<BigInt>,
}

impl Declared {
    /// Evaluates registers and bounds of `program` at `n`.
    pub fn at(program: &Program, n: u64) -> Result<Declared, DeclaredError> {
        let mut registers = vec![BigInt::zero(); program.registers.len().max(1)];
        registers[0] = BigInt::from(n);
        for (k, (r, e)) in program.params.iter().enumerate() {
            let name = program
                .registers
                .get(*r as usize)
                .cloned()
                .unwrap_or_default();
            let v = eval(e, &registers).map_err(|problem| DeclaredError {
                what: format!(
                    "{}parameter {name}",
                    place(
                        &program.file,
                        program.spans.params.get(k).copied().unwrap_or_default()
                    )
                ),
                problem,
            })?;
            if let Some(slot) = registers.get_mut(*r as usize) {
                *slot = v;
            }
        }
        let bound = |name: &str, e: &Option<Expr>, at: Span| {
            e.as_ref()
                .map(|e| eval(e, &registers))
                .transpose()
                .map_err(|problem| DeclaredError {
                    what: format!("{}bound {name}", place(&program.file, at)),
                    problem,
                })
        };
        let (b, at) = (&program.bounds, program.spans.bounds);
        Ok(Declared {
            rounds: bound("rounds", &b.rounds, at[0])?,
            processors: bound("processors", &b.processors, at[1])?,
            work: bound("work", &b.work, at[2])?,
            space: bound("space", &b.space, at[3])?,
            registers,
        })
    }

    /// The length of an array (1 for a scalar).
    pub fn array_len(&self, program: &Program, array: ArrayId) -> Result<BigInt, DeclaredError> {
        let decl = program
            .arrays
            .get(array as usize)
            .ok_or_else(|| DeclaredError {
                what: format!("array #{array}"),
                problem: "no such array".into(),
            })?;
        match &decl.len {
            None => Ok(BigInt::one()),
            Some(e) => eval(e, &self.registers).map_err(|problem| DeclaredError {
                what: format!("{}array {}", place(&program.file, decl.span), decl.name),
                problem,
            }),
        }
    }
}

pub use crate::pram::exact::eval;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pram::program::{BinOp, UnOp};

    fn c(v: i64) -> Box<Expr> {
        Box::new(Expr::Const(v))
    }

    fn ev(e: Expr) -> Result<BigInt, String> {
        eval(&e, &[BigInt::from(8)])
    }

    #[test]
    fn arithmetic_follows_the_interpreter() {
        assert_eq!(ev(Expr::Bin(BinOp::Div, c(-7), c(2))), Ok(BigInt::from(-4)));
        assert_eq!(ev(Expr::Bin(BinOp::Rem, c(-7), c(2))), Ok(BigInt::from(1)));
        assert_eq!(ev(Expr::Bin(BinOp::Div, c(7), c(-2))), Ok(BigInt::from(-3)));
        assert_eq!(ev(Expr::Bin(BinOp::Rem, c(7), c(-2))), Ok(BigInt::from(1)));
        assert_eq!(ev(Expr::Un(UnOp::Clog2, c(8))), Ok(BigInt::from(3)));
        assert_eq!(ev(Expr::Un(UnOp::Clog2, c(9))), Ok(BigInt::from(4)));
        assert_eq!(ev(Expr::Un(UnOp::Log2, c(9))), Ok(BigInt::from(3)));
        assert_eq!(ev(Expr::Un(UnOp::BitNot, c(5))), Ok(BigInt::from(!5i64)));
        assert!(ev(Expr::Un(UnOp::Log2, c(0))).is_err());
        assert!(ev(Expr::Bin(BinOp::Div, c(1), c(0))).is_err());
        assert!(ev(Expr::Bin(BinOp::Shl, c(1), c(-1))).is_err());
    }

    #[test]
    fn exponential_bounds_are_exact_beyond_64_bits() {
        // 1 << (n * 25) at n = 8 is 2^200.
        let e = Expr::Bin(
            BinOp::Shl,
            c(1),
            Box::new(Expr::Bin(BinOp::Mul, Box::new(Expr::Reg(0)), c(25))),
        );
        assert_eq!(ev(e), Ok(BigInt::one() << 200u32));
    }
}
