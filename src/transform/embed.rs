//! Copying a seq program's nodes into another program, with its inputs (fields, mask flag,
//! index, length) read from a virtual canvas the host program computes, and optionally with its
//! attention keys gated to the positions of that canvas.

use crate::seq::{Builder, Op, Program, Selector, Value};

/// What the copied program reads in place of the real canvas, as nodes of the host program.
#[derive(Clone, Debug)]
pub struct Virtual {
    /// One node per field of the copied program's words (0 on a virtual mask).
    pub fields: Vec<Value>,
    /// 1 where the virtual canvas holds a mask.
    pub is_mask: Value,
    /// The virtual position.
    pub index: Value,
    /// The virtual length.
    pub length: Value,
    /// When set, `(inside, outside)`: every selector's key is replaced by
    /// `inside ? key : outside_value`, where `outside_value` is a constant above the ranges of
    /// both key and query, so that no position outside the virtual canvas is ever selected.
    pub gate: Option<Value>,
}

/// Why a program cannot be embedded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// Gating needs every node's range, to find a key value no query can take.
    #[error("the program has no ranges: a gated copy needs them")]
    Unranged,
    /// A key or query range reaches the top of the 64-bit integers.
    #[error("node {0}'s range reaches i64::MAX: no value lies above it")]
    NoRoom(usize),
    /// The transformed program is not well formed (a defect of the transformation).
    #[error("internal: {0}")]
    Internal(String),
}

/// Copies `f`'s nodes into `b`; returns the host node of every node of `f`. Every copied node
/// keeps `f`'s range as a declaration (the evaluators check it at every position and step).
pub fn embed(b: &mut Builder, f: &Program, v: &Virtual) -> Result<Vec<Value>, EmbedError> {
    if v.gate.is_some() && f.ranges.len() != f.nodes.len() {
        return Err(EmbedError::Unranged);
    }
    let mut map: Vec<Value> = Vec::with_capacity(f.nodes.len());
    for (k, op) in f.nodes.iter().enumerate() {
        let m = |x: &Value| map[x.index()];
        let gated = |b: &mut Builder, s: &Selector| -> Result<Selector, EmbedError> {
            let mut s2 = Selector {
                key: m(&s.key),
                query: m(&s.query),
                position: s.position,
                pair: s.pair.map(|(k2, q2)| (m(&k2), m(&q2))),
            };
            if let Some(inside) = v.gate {
                let top = f.ranges[s.key.index()].1.max(f.ranges[s.query.index()].1);
                let out = top.checked_add(1).ok_or(EmbedError::NoRoom(k))?;
                let out = b.constant(out);
                s2.key = b.select(inside, s2.key, out);
            }
            Ok(s2)
        };
        let new = match op {
            Op::Field(i) => v.fields[*i],
            Op::IsMask => v.is_mask,
            Op::Index => v.index,
            Op::Length => v.length,
            Op::Const(c) => b.constant(*c),
            Op::Unary(u, a) => b.unary(*u, m(a)),
            Op::Binary(o, x, y) => b.binary(*o, m(x), m(y)),
            Op::Select(c, x, y) => b.select(m(c), m(x), m(y)),
            Op::FirstOf { cases, default } => {
                let cases = cases.iter().map(|(c, x)| (m(c), m(x))).collect();
                b.first_of(cases, m(default))
            }
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let s = gated(b, select)?;
                let prefer = match *prefer {
                    crate::seq::Prefer::MaxBy(p) => crate::seq::Prefer::MaxBy(m(&p)),
                    crate::seq::Prefer::MinBy(p) => crate::seq::Prefer::MinBy(m(&p)),
                    crate::seq::Prefer::MaxByPair(x, y) => {
                        crate::seq::Prefer::MaxByPair(m(&x), m(&y))
                    }
                    crate::seq::Prefer::MinByPair(x, y) => {
                        crate::seq::Prefer::MinByPair(m(&x), m(&y))
                    }
                    p => p,
                };
                b.lookup(s, prefer, m(value), m(default))
            }
            Op::Sum { select, value } => {
                let s = gated(b, select)?;
                b.sum(s, m(value))
            }
        };
        if let Some(&r) = f.ranges.get(k) {
            // Inputs (fields, mask, index, length) are the host's nodes: not narrowed here.
            if !matches!(op, Op::Field(_) | Op::IsMask | Op::Index | Op::Length) {
                b.declare(new, r);
            }
        }
        map.push(new);
    }
    Ok(map)
}
