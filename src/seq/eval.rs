//! The two evaluators of seq programs: an indexed one (near-linear per step) and a naive all-pairs one.
//!
//! Both compute the same per-position values; they differ only in how attention nodes find the
//! positions their selector picks. The naive evaluator is the definition; the indexed one is checked
//! against it on random programs and canvases.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::program::{BinaryOp, Cmp, Op, Prefer, Program, Selector, UnaryOp, Value};
use super::word::Word;
use crate::machine::{ControlBits, Proposal, StepFunction, StepFunctionError, Token};

/// Which evaluator answers attention nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluator {
    /// Hash and sorted indexes: O(L log L) per attention node.
    #[default]
    Indexed,
    /// Every position against every position: O(L^2) per attention node.
    Naive,
}

/// A step of a seq program that could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A 64-bit overflow: the program computed a value beyond what its words can hold.
    #[error("node {node} overflowed 64-bit integers at position {position}")]
    Overflow {
        /// The node.
        node: usize,
        /// The position.
        position: usize,
    },
    /// A token's word has the wrong number of fields.
    #[error("the word at position {position} has {found} fields; the program reads {expected}")]
    WordShape {
        /// The position.
        position: usize,
        /// Its number of fields.
        found: usize,
        /// The program's number of fields.
        expected: usize,
    },
}

/// Every node's value at every position: `values[node][position]`.
pub fn evaluate(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<Vec<Vec<i64>>, EvalError> {
    for (position, t) in x.iter().enumerate() {
        if let Token::Sym(w) = t {
            if w.0.len() != program.fields {
                return Err(EvalError::WordShape {
                    position,
                    found: w.0.len(),
                    expected: program.fields,
                });
            }
        }
    }
    let len = x.len();
    let mut values: Vec<Vec<i64>> = Vec::with_capacity(program.nodes.len());
    for (node, op) in program.nodes.iter().enumerate() {
        let overflow = |position| EvalError::Overflow { node, position };
        let column: Vec<i64> = match op {
            Op::Field(k) => x
                .iter()
                .map(|t| t.symbol().map_or(0, |w| w.0[*k]))
                .collect(),
            Op::IsMask => x.iter().map(|t| i64::from(t.is_mask())).collect(),
            Op::Index => (0..len as i64).collect(),
            Op::Length => vec![len as i64; len],
            Op::Const(c) => vec![*c; len],
            Op::Unary(u, a) => values[a.index()].iter().map(|&a| unary(*u, a)).collect(),
            Op::Binary(b, l, r) => values[l.index()]
                .iter()
                .zip(&values[r.index()])
                .enumerate()
                .map(|(i, (&l, &r))| binary(*b, l, r).ok_or_else(|| overflow(i)))
                .collect::<Result<_, _>>()?,
            Op::Select(c, a, b) => (0..len)
                .map(|i| {
                    if values[c.index()][i] != 0 {
                        values[a.index()][i]
                    } else {
                        values[b.index()][i]
                    }
                })
                .collect(),
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let picked = match evaluator {
                    Evaluator::Naive => pick_naive(&values, select, *prefer, len),
                    Evaluator::Indexed => pick_indexed(&values, select, *prefer, len),
                };
                picked
                    .iter()
                    .enumerate()
                    .map(|(i, j)| match j {
                        Some(j) => values[value.index()][*j],
                        None => values[default.index()][i],
                    })
                    .collect()
            }
            Op::Sum { select, value } => match evaluator {
                Evaluator::Naive => sum_naive(&values, select, &values[value.index()], len),
                Evaluator::Indexed => sum_indexed(&values, select, &values[value.index()], len),
            }
            .map_err(overflow)?,
        };
        values.push(column);
    }
    Ok(values)
}

fn unary(op: UnaryOp, a: i64) -> i64 {
    match op {
        UnaryOp::Neg => a.wrapping_neg(),
        UnaryOp::Not => i64::from(a == 0),
        UnaryOp::Abs => a.wrapping_abs(),
        UnaryOp::Log2 => {
            if a <= 0 {
                0
            } else {
                i64::from(63 - a.leading_zeros())
            }
        }
        UnaryOp::Mix => mix64(a as u64) as i64,
    }
}

/// SplitMix64's finalizer (the `Mix` map).
pub fn mix64(x: u64) -> u64 {
    crate::pram::round::mix(x)
}

/// A two-argument map; `None` on 64-bit overflow.
pub fn binary(op: BinaryOp, a: i64, b: i64) -> Option<i64> {
    let shift = b.clamp(0, 63) as u32;
    Some(match op {
        BinaryOp::Add => a.checked_add(b)?,
        BinaryOp::Sub => a.checked_sub(b)?,
        BinaryOp::Mul => a.checked_mul(b)?,
        BinaryOp::Div if b == 0 => 0,
        BinaryOp::Div => a.checked_div_euclid(b).map(|q| {
            // Floor division: adjust Euclidean quotient for negative divisors.
            if b < 0 && a.rem_euclid(b) != 0 {
                q - 1
            } else {
                q
            }
        })?,
        BinaryOp::Mod if b == 0 => 0,
        BinaryOp::Mod => {
            let r = a.checked_rem(b)?;
            if r != 0 && (r < 0) != (b < 0) {
                r + b
            } else {
                r
            }
        }
        BinaryOp::Min => a.min(b),
        BinaryOp::Max => a.max(b),
        BinaryOp::Eq => i64::from(a == b),
        BinaryOp::Ne => i64::from(a != b),
        BinaryOp::Lt => i64::from(a < b),
        BinaryOp::Le => i64::from(a <= b),
        BinaryOp::And => i64::from(a != 0 && b != 0),
        BinaryOp::Or => i64::from(a != 0 || b != 0),
        BinaryOp::BitAnd => a & b,
        BinaryOp::BitOr => a | b,
        BinaryOp::BitXor => a ^ b,
        BinaryOp::Shl => {
            let r = a.checked_shl(shift)?;
            if r >> shift != a {
                return None;
            }
            r
        }
        BinaryOp::Shr => a >> shift,
        BinaryOp::DivEuclid => a.checked_div_euclid(b).unwrap_or(0),
        BinaryOp::RemEuclid => a.checked_rem_euclid(b).unwrap_or(0),
        BinaryOp::MulSat => a.saturating_mul(b),
        BinaryOp::ShlSat => match a.checked_shl(shift) {
            Some(r) if r >> shift == a => r,
            _ if a < 0 => i64::MIN,
            _ => i64::MAX,
        },
    })
}

/// Whether position j is selected by position i.
fn selected(values: &[Vec<i64>], s: &Selector, i: usize, j: usize) -> bool {
    values[s.key.index()][j] == values[s.query.index()][i]
        && s.position.is_none_or(|cmp| cmp.holds(j, i))
}

/// Whether candidate `j` beats the current best `k` under `prefer` (a strict total order).
fn beats(values: &[Vec<i64>], prefer: Prefer, j: usize, k: usize) -> bool {
    match prefer {
        Prefer::Latest => j > k,
        Prefer::Earliest => j < k,
        Prefer::MaxBy(v) => {
            let (a, b) = (values[v.index()][j], values[v.index()][k]);
            a > b || (a == b && j > k)
        }
        Prefer::MinBy(v) => {
            let (a, b) = (values[v.index()][j], values[v.index()][k]);
            a < b || (a == b && j < k)
        }
    }
}

fn better(
    values: &[Vec<i64>],
    prefer: Prefer,
    a: Option<usize>,
    b: Option<usize>,
) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if beats(values, prefer, a, b) { a } else { b }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn pick_naive(values: &[Vec<i64>], s: &Selector, prefer: Prefer, len: usize) -> Vec<Option<usize>> {
    (0..len)
        .map(|i| {
            (0..len)
                .filter(|&j| selected(values, s, i, j))
                .fold(None, |best, j| better(values, prefer, Some(j), best))
        })
        .collect()
}

fn sum_naive(values: &[Vec<i64>], s: &Selector, v: &[i64], len: usize) -> Result<Vec<i64>, usize> {
    (0..len)
        .map(|i| {
            (0..len)
                .filter(|&j| selected(values, s, i, j))
                .try_fold(0i64, |acc, j| acc.checked_add(v[j]))
                .ok_or(i)
        })
        .collect()
}

/// The positions sharing one equality key, in increasing order, with their values and running
/// folds from the left and from the right (so a position condition is a prefix or a suffix).
struct Group<T> {
    positions: Vec<usize>,
    leaves: Vec<T>,
    from_left: Vec<T>,
    from_right: Vec<T>,
}

impl<T: Clone> Group<T> {
    fn build(positions: Vec<usize>, leaf: impl Fn(usize) -> T, join: impl Fn(&T, &T) -> T) -> Self {
        let leaves: Vec<T> = positions.iter().map(|&j| leaf(j)).collect();
        let mut from_left = leaves.clone();
        for n in 1..from_left.len() {
            from_left[n] = join(&from_left[n - 1], &from_left[n]);
        }
        let mut from_right = leaves.clone();
        for n in (0..from_right.len().saturating_sub(1)).rev() {
            from_right[n] = join(&from_right[n], &from_right[n + 1]);
        }
        Group {
            positions,
            leaves,
            from_left,
            from_right,
        }
    }

    /// The fold over members j with `j cmp i` (all members when `cmp` is `None`); `None` if
    /// there are none.
    fn query(&self, cmp: Option<Cmp>, i: usize) -> Option<T> {
        let before = self.positions.partition_point(|&j| j < i);
        let through = self.positions.partition_point(|&j| j <= i);
        match cmp {
            None => self.from_left.last().cloned(),
            Some(Cmp::Lt) => before.checked_sub(1).map(|n| self.from_left[n].clone()),
            Some(Cmp::Le) => through.checked_sub(1).map(|n| self.from_left[n].clone()),
            Some(Cmp::Gt) => self.from_right.get(through).cloned(),
            Some(Cmp::Ge) => self.from_right.get(before).cloned(),
            Some(Cmp::Eq) => (before < through).then(|| self.leaves[before].clone()),
        }
    }
}

/// Positions grouped by their equality key, each group in increasing order.
fn groups(values: &[Vec<i64>], s: &Selector, len: usize) -> HashMap<i64, Vec<usize>> {
    let mut map: HashMap<i64, Vec<usize>> = HashMap::new();
    for (j, &key) in values[s.key.index()].iter().enumerate().take(len) {
        map.entry(key).or_default().push(j);
    }
    map
}

fn pick_indexed(
    values: &[Vec<i64>],
    s: &Selector,
    prefer: Prefer,
    len: usize,
) -> Vec<Option<usize>> {
    if s.position.is_none() {
        // No position condition: one best position per key, found in a single pass.
        let mut best: HashMap<i64, usize> = HashMap::new();
        for (j, &key) in values[s.key.index()].iter().enumerate().take(len) {
            best.entry(key)
                .and_modify(|k| {
                    if beats(values, prefer, j, *k) {
                        *k = j;
                    }
                })
                .or_insert(j);
        }
        let query = &values[s.query.index()];
        return (0..len).map(|i| best.get(&query[i]).copied()).collect();
    }
    let built: HashMap<i64, Group<Option<usize>>> = groups(values, s, len)
        .into_iter()
        .map(|(k, members)| {
            let g = Group::build(members, Some, |a, b| better(values, prefer, *a, *b));
            (k, g)
        })
        .collect();
    (0..len)
        .map(|i| {
            built
                .get(&values[s.query.index()][i])?
                .query(s.position, i)
                .flatten()
        })
        .collect()
}

fn sum_indexed(
    values: &[Vec<i64>],
    s: &Selector,
    v: &[i64],
    len: usize,
) -> Result<Vec<i64>, usize> {
    // Partial sums are Options so that an overflow surfaces at the positions that read it.
    let built: HashMap<i64, Group<Option<i64>>> = groups(values, s, len)
        .into_iter()
        .map(|(k, members)| {
            let g = Group::build(
                members,
                |j| Some(v[j]),
                |a, b| a.and_then(|a| b.and_then(|b| a.checked_add(b))),
            );
            (k, g)
        })
        .collect();
    (0..len)
        .map(|i| {
            let total = built
                .get(&values[s.query.index()][i])
                .and_then(|g| g.query(s.position, i))
                .unwrap_or(Some(0));
            total.ok_or(i)
        })
        .collect()
}

/// Runs the program on x and reads its heads: the proposal f makes.
pub fn propose(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<Proposal<Word>, EvalError> {
    let values = evaluate(program, x, evaluator)?;
    let h = &program.heads;
    let at = |v: Value, i: usize| values[v.index()][i];
    let tokens = (0..x.len())
        .map(|i| Word(h.token.iter().map(|&v| at(v, i)).collect()))
        .collect();
    let bits = (0..x.len())
        .map(|i| ControlBits {
            remask: at(h.remask, i) != 0,
            insert: at(h.insert, i) != 0,
            delete: at(h.delete, i) != 0,
        })
        .collect();
    Ok(Proposal { tokens, bits })
}

/// A seq program as `machine`'s step function f.
#[derive(Clone, Debug)]
pub struct SeqStep {
    /// The program.
    pub program: Program,
    /// The evaluator used for its attention nodes.
    pub evaluator: Evaluator,
}

impl StepFunction<Word> for SeqStep {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        propose(&self.program, x, self.evaluator).map_err(|e| StepFunctionError(e.to_string()))
    }
}
