//! Word arithmetic: every operator of the language on w-bit signed words, overflow as a fault.

use super::outcome::FaultKind;
use super::program::{BinOp, UnOp};

/// The range of a w-bit word: `-2^(w-1) ..= 2^(w-1) - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
}

impl Word {
    /// Words of `bits` bits (2..=63 accepted, so that arithmetic never wraps inside i64 checks).
    pub fn new(bits: i64) -> Option<Word> {
        if !(2..=63).contains(&bits) {
            return None;
        }
        let half = 1i64 << (bits - 1);
        Some(Word {
            min: -half,
            max: half - 1,
        })
    }

    /// `v` if it fits the word, else an overflow.
    #[inline]
    pub fn fit(self, v: i64) -> Result<i64, FaultKind> {
        if v < self.min || v > self.max {
            Err(FaultKind::Overflow)
        } else {
            Ok(v)
        }
    }

    /// A binary operation.
    #[inline]
    pub fn bin(self, op: BinOp, a: i64, b: i64) -> Result<i64, FaultKind> {
        let v = match op {
            BinOp::Add => a.checked_add(b).ok_or(FaultKind::Overflow)?,
            BinOp::Sub => a.checked_sub(b).ok_or(FaultKind::Overflow)?,
            BinOp::Mul => a.checked_mul(b).ok_or(FaultKind::Overflow)?,
            BinOp::Div | BinOp::Rem if b == 0 => return Err(FaultKind::DivisionByZero),
            // Floor division and a non-negative remainder for a positive divisor: the textbook
            // convention for index arithmetic.
            BinOp::Div => a.div_euclid(b),
            BinOp::Rem => a.rem_euclid(b),
            BinOp::Min => a.min(b),
            BinOp::Max => a.max(b),
            BinOp::Eq => i64::from(a == b),
            BinOp::Ne => i64::from(a != b),
            BinOp::Lt => i64::from(a < b),
            BinOp::Le => i64::from(a <= b),
            BinOp::Gt => i64::from(a > b),
            BinOp::Ge => i64::from(a >= b),
            BinOp::And => i64::from(a != 0 && b != 0),
            BinOp::Or => i64::from(a != 0 || b != 0),
            BinOp::BitAnd => a & b,
            BinOp::BitOr => a | b,
            BinOp::BitXor => a ^ b,
            BinOp::Shl => {
                if !(0..64).contains(&b) {
                    return Err(if b < 0 {
                        FaultKind::Domain
                    } else {
                        FaultKind::Overflow
                    });
                }
                let v = a.checked_shl(b as u32).ok_or(FaultKind::Overflow)?;
                if v >> b != a {
                    return Err(FaultKind::Overflow);
                }
                v
            }
            BinOp::Shr => {
                if b < 0 {
                    return Err(FaultKind::Domain);
                }
                a >> b.min(63)
            }
        };
        self.fit(v)
    }

    /// A unary operation.
    #[inline]
    pub fn un(self, op: UnOp, a: i64) -> Result<i64, FaultKind> {
        let v = match op {
            UnOp::Neg => a.checked_neg().ok_or(FaultKind::Overflow)?,
            UnOp::Not => i64::from(a == 0),
            UnOp::BitNot => !a,
            UnOp::Log2 | UnOp::Clog2 if a < 1 => return Err(FaultKind::Domain),
            UnOp::Log2 => i64::from(a.ilog2()),
            UnOp::Clog2 => i64::from(a.ilog2()) + i64::from(!(a as u64).is_power_of_two()),
        };
        self.fit(v)
    }
}
