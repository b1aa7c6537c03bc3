//! Value ranges of seq nodes: derived by interval propagation from the ranges of the token fields
//! and the longest canvas, tightened where the compiler declares more, and checked by both
//! evaluators at every position of every step.
//!
//! A range is a closed interval `(lo, hi)` of 64-bit integers. Its width in bits ([`width`]) is
//! the number of bits of an unsigned encoding when `lo >= 0`, and of a two's-complement encoding
//! otherwise: a flag `(0, 1)` takes 1 bit, a w-bit signed word `(-2^(w-1), 2^(w-1) - 1)` takes w.

use super::program::{BinaryOp, Op, UnaryOp};

/// A closed interval of values.
pub type Range = (i64, i64);

/// Bits of the magnitude of a non-negative value (0 for 0).
fn magnitude(v: i64) -> u32 {
    64 - v.leading_zeros()
}

/// Width in bits of a value: unsigned for `v >= 0`, two's complement (sign bit included) below.
pub fn value_width(v: i64) -> u32 {
    width((v.min(0), v.max(0)))
}

/// Width in bits of a range: unsigned when `lo >= 0`, two's complement otherwise.
pub fn width((lo, hi): Range) -> u32 {
    if lo >= 0 {
        magnitude(hi)
    } else {
        1 + magnitude(hi.max(0)).max(magnitude(!lo))
    }
}

fn clamp(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The hull of corner values (as i128, clamped to 64 bits).
fn hull(corners: &[i128]) -> Range {
    let lo = corners.iter().copied().min().unwrap_or(0);
    let hi = corners.iter().copied().max().unwrap_or(0);
    (clamp(lo), clamp(hi))
}

/// The smallest range holding both.
pub fn union(a: Range, b: Range) -> Range {
    (a.0.min(b.0), a.1.max(b.1))
}

/// `a` narrowed to `declared` (the declared range when they do not meet: the evaluators will
/// report any value outside it).
pub fn intersect(a: Range, declared: Range) -> Range {
    let lo = a.0.max(declared.0);
    let hi = a.1.min(declared.1);
    if lo <= hi {
        (lo, hi)
    } else {
        declared
    }
}

const FULL: Range = (i64::MIN, i64::MAX);
const FLAG: Range = (0, 1);

/// The signed range of `bits` bits: `(-2^(bits-1), 2^(bits-1) - 1)`, all of i64 from 64 on.
fn signed(bits: u32) -> Range {
    if bits >= 64 {
        FULL
    } else if bits == 0 {
        (0, 0)
    } else {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    }
}

/// Bits of a two's-complement encoding of every value of the range (sign bit included).
fn signed_width(r: Range) -> u32 {
    if r.0 >= 0 {
        width(r) + 1
    } else {
        width(r)
    }
}

fn unsigned_bits(bits: u32) -> Range {
    if bits >= 63 {
        (0, i64::MAX)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

fn shift_range(b: Range) -> (u32, u32) {
    (b.0.clamp(0, 63) as u32, b.1.clamp(0, 63) as u32)
}

/// The range of a one-argument map over inputs in `a`.
pub fn unary(op: UnaryOp, a: Range) -> Range {
    let (lo, hi) = (i128::from(a.0), i128::from(a.1));
    match op {
        UnaryOp::Neg => hull(&[-lo, -hi]),
        UnaryOp::Not => {
            if a == (0, 0) {
                (1, 1)
            } else if a.0 > 0 || a.1 < 0 {
                (0, 0)
            } else {
                FLAG
            }
        }
        UnaryOp::Abs => {
            if a.0 >= 0 {
                a
            } else if a.1 <= 0 {
                hull(&[-lo, -hi])
            } else {
                hull(&[0, -lo, hi])
            }
        }
        UnaryOp::Log2 => (0, i64::from(magnitude(a.1.max(1)) - 1)),
    }
}

/// The range of a two-argument map over inputs in `a` and `b`.
pub fn binary(op: BinaryOp, a: Range, b: Range) -> Range {
    let (al, ah) = (i128::from(a.0), i128::from(a.1));
    let (bl, bh) = (i128::from(b.0), i128::from(b.1));
    let max_abs = |r: Range| i128::from(r.0).abs().max(i128::from(r.1).abs());
    match op {
        BinaryOp::Add => hull(&[al + bl, ah + bh]),
        BinaryOp::Sub => hull(&[al - bh, ah - bl]),
        BinaryOp::Mul | BinaryOp::MulSat => hull(&[al * bl, al * bh, ah * bl, ah * bh]),
        BinaryOp::Div | BinaryOp::DivEuclid => {
            if b.0 >= 1 {
                // Positive divisors: monotone in a, and toward 0 in b.
                let q = |x: i128, y: i128| x.div_euclid(y);
                hull(&[q(al, bl), q(al, bh), q(ah, bl), q(ah, bh)])
            } else {
                let m = max_abs(a);
                hull(&[-m - 1, m + 1])
            }
        }
        BinaryOp::Mod | BinaryOp::RemEuclid => {
            let m = max_abs(b);
            let top = (m - 1).max(0);
            if op == BinaryOp::RemEuclid || b.0 >= 0 {
                let top = if a.0 >= 0 { top.min(ah) } else { top };
                hull(&[0, top])
            } else {
                hull(&[-top, top])
            }
        }
        BinaryOp::Min => (a.0.min(b.0), a.1.min(b.1)),
        BinaryOp::Max => (a.0.max(b.0), a.1.max(b.1)),
        BinaryOp::Eq
        | BinaryOp::Ne
        | BinaryOp::Lt
        | BinaryOp::Le
        | BinaryOp::And
        | BinaryOp::Or => FLAG,
        BinaryOp::BitAnd => match (a.0 >= 0, b.0 >= 0) {
            (true, true) => (0, a.1.min(b.1)),
            (true, false) => (0, a.1),
            (false, true) => (0, b.1),
            (false, false) => signed(signed_width(a).max(signed_width(b))),
        },
        BinaryOp::BitOr | BinaryOp::BitXor => {
            if a.0 >= 0 && b.0 >= 0 {
                unsigned_bits(width(a).max(width(b)))
            } else {
                // Bitwise maps keep two's-complement widths.
                signed(signed_width(a).max(signed_width(b)))
            }
        }
        BinaryOp::Shl | BinaryOp::ShlSat => {
            let (sl, sh) = shift_range(b);
            let s = |x: i128, k: u32| {
                if k >= 64 {
                    x.signum() * (1i128 << 100)
                } else {
                    x << k
                }
            };
            hull(&[s(al, sl), s(al, sh), s(ah, sl), s(ah, sh)])
        }
        BinaryOp::Draw => (0, (1i64 << crate::pram::round::DRAW_BITS) - 1),
        BinaryOp::Shr => {
            let (sl, sh) = shift_range(b);
            hull(&[al >> sl, al >> sh, ah >> sl, ah >> sh])
        }
    }
}

/// Every node's range, in node order: maps by interval arithmetic, lookups as the union of what
/// they read and their default, sums as `max_length` times their summand, fields as given,
/// `Index` and `Length` under `max_length`; each narrowed to its declared range where there is
/// one.
pub fn infer(
    nodes: &[Op],
    declared: &[Option<Range>],
    fields: &[Range],
    max_length: i64,
) -> Vec<Range> {
    let mut r: Vec<Range> = Vec::with_capacity(nodes.len());
    for (k, op) in nodes.iter().enumerate() {
        let at = |v: &super::program::Value| r[v.index()];
        let inferred = match op {
            Op::Field(f) => union(fields.get(*f).copied().unwrap_or(FULL), (0, 0)),
            Op::IsMask => FLAG,
            Op::Index => (0, (max_length - 1).max(0)),
            Op::Length => (0, max_length.max(0)),
            Op::Const(c) => (*c, *c),
            Op::Unary(u, a) => unary(*u, at(a)),
            Op::Binary(b, x, y) => binary(*b, at(x), at(y)),
            Op::Select(c, a, b) => {
                let c = at(c);
                if c == (0, 0) {
                    at(b)
                } else if c.0 > 0 || c.1 < 0 {
                    at(a)
                } else {
                    union(at(a), at(b))
                }
            }
            Op::FirstOf { cases, default } => {
                let mut r: Option<Range> = None;
                let mut reachable = true;
                for (c, v) in cases {
                    let c = at(c);
                    if c != (0, 0) {
                        r = Some(r.map_or(at(v), |r| union(r, at(v))));
                    }
                    if c.0 > 0 || c.1 < 0 {
                        // This case always holds: nothing after it is reached.
                        reachable = false;
                        break;
                    }
                }
                match (r, reachable) {
                    (Some(r), true) => union(r, at(default)),
                    (Some(r), false) => r,
                    (None, _) => at(default),
                }
            }
            Op::Lookup { value, default, .. } => union(at(value), at(default)),
            Op::Sum { value, .. } => {
                let v = at(value);
                let n = i128::from(max_length.max(0));
                hull(&[0, i128::from(v.0) * n, i128::from(v.1) * n])
            }
        };
        r.push(match declared.get(k).copied().flatten() {
            Some(d) => intersect(inferred, d),
            None => inferred,
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        assert_eq!(width((0, 0)), 0);
        assert_eq!(width((0, 1)), 1);
        assert_eq!(width((-1, 0)), 1);
        assert_eq!(width((-128, 127)), 8);
        assert_eq!(width((-129, 0)), 9);
        assert_eq!(width((0, 255)), 8);
        assert_eq!(width((0, 256)), 9);
        assert_eq!(width(FULL), 64);
        assert_eq!(value_width(i64::MAX), 63);
        assert_eq!(value_width(-1), 1);
    }

    #[test]
    fn every_map_stays_in_its_range_on_corners_and_inside() {
        let ops = [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Mod,
            BinaryOp::Min,
            BinaryOp::Max,
            BinaryOp::BitAnd,
            BinaryOp::BitOr,
            BinaryOp::BitXor,
            BinaryOp::Shl,
            BinaryOp::Shr,
            BinaryOp::DivEuclid,
            BinaryOp::RemEuclid,
            BinaryOp::MulSat,
            BinaryOp::ShlSat,
            BinaryOp::Draw,
        ];
        let ranges = [(-9, 7), (0, 5), (3, 12), (-4, -1), (0, 0), (1, 1), (-1, 70)];
        for op in ops {
            for &a in &ranges {
                for &b in &ranges {
                    let r = binary(op, a, b);
                    for x in a.0..=a.1 {
                        for y in b.0..=b.1 {
                            if let Some(v) = super::super::eval::binary(op, x, y) {
                                assert!(
                                    r.0 <= v && v <= r.1,
                                    "{op:?} {x} {y} = {v} outside {r:?} ({a:?}, {b:?})"
                                );
                            }
                        }
                    }
                }
            }
        }
        for op in [UnaryOp::Neg, UnaryOp::Not, UnaryOp::Abs, UnaryOp::Log2] {
            for &a in &ranges {
                let r = unary(op, a);
                for x in a.0..=a.1 {
                    let v = super::super::eval::unary(op, x);
                    assert!(r.0 <= v && v <= r.1, "{op:?} {x} = {v} outside {r:?}");
                }
            }
        }
    }
}
