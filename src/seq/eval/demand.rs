//! Demand-driven evaluation: each node computed only at the positions where the step rule g can
//! read it.
//!
//! g reads the control bits at every position, but the proposed token y_i only where a mask is
//! unmasked (x_i a mask, neither deleted nor remasked: `machine::step::apply`). So a node that
//! only the token heads read (directly or through maps, queries and defaults) is needed only at
//! those positions; a node that the control bits read, or that another position reads (a key,
//! a looked-up or summed value, a preference), is needed everywhere; a node nothing reads is
//! needed nowhere. The everywhere-pass is the indexed evaluator itself; the late pass then
//! computes the remaining nodes over the unmasked positions alone (one value per such position,
//! in node order), reading the everywhere-nodes' columns and the step's key indexes. On a
//! compiled MDM schedule only a handful of positions unmask per step, so the slot bodies, the
//! output cells' loads and the header's proposal are computed at a few positions instead of at
//! every one.
//!
//! What it keeps: g's result is the same as from the full proposal (the control bits are the
//! same at every position, the tokens the same at every unmasked position; property-tested
//! against the indexed evaluator); every value computed is range-checked. What it gives up: the
//! proposal's tokens elsewhere are empty words (g never reads them), and nodes are not computed,
//! so not range-checked, where nothing needs them.

use std::collections::HashSet;

use super::{
    binary, check_column, fold_best, key_index, key_shape, unary, Col, EvalError, KeyShape, Picks,
};
use crate::machine::Token;
use crate::seq::program::{Cmp, Op, Prefer, Program, Selector, Value};
use crate::seq::word::Word;

/// Where a node's value is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Need {
    /// Nothing reads it: never computed.
    Nowhere,
    /// Only the token heads read it: computed where a mask is unmasked.
    Unmasked,
    /// The control bits or another position read it: computed everywhere.
    Everywhere,
}

/// Every node's [`Need`], derived from the program alone (once per program).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    pub(crate) need: Vec<Need>,
    /// The late nodes (needed only where a mask is unmasked), in node order.
    pub(crate) late: Vec<usize>,
    /// Each late node's place in `late` (`usize::MAX` for the others).
    pub(crate) slot: Vec<usize>,
    /// For each late node (by place), the place of its last late reader, after which its values
    /// are dropped (`usize::MAX`: a head, kept to the end).
    pub(crate) last_read: Vec<usize>,
    /// Everywhere-nodes some late node reads: their columns are kept for the late pass.
    pub(crate) read_late: Vec<bool>,
    /// Key shapes some late lookup or sum selects by: their indexes are kept for the late pass.
    pub(crate) late_keys: HashSet<KeyShape>,
}

impl Demand {
    /// The needs of `program`'s nodes: the control-bit heads everywhere, the token heads where a
    /// mask is unmasked, and backwards through the nodes (a map's inputs and an attention node's
    /// queries and default where it is needed; keys, read values and preferences everywhere).
    pub fn of(program: &Program) -> Demand {
        let n = program.nodes.len();
        let mut need = vec![Need::Nowhere; n];
        let raise = |need: &mut Vec<Need>, v: Value, to: Need| {
            if let Some(x) = need.get_mut(v.index()) {
                *x = (*x).max(to);
            }
        };
        let h = &program.heads;
        for v in [h.remask, h.insert, h.delete] {
            raise(&mut need, v, Need::Everywhere);
        }
        for &v in &h.token {
            raise(&mut need, v, Need::Unmasked);
        }
        for k in (0..n).rev() {
            let d = need[k];
            if d == Need::Nowhere {
                continue;
            }
            let selector = |need: &mut Vec<Need>, s: &Selector| {
                raise(need, s.key, Need::Everywhere);
                raise(need, s.query, d);
                if let Some((k2, q2)) = s.pair {
                    raise(need, k2, Need::Everywhere);
                    raise(need, q2, d);
                }
            };
            match &program.nodes[k] {
                Op::Lookup {
                    select,
                    prefer,
                    value,
                    default,
                } => {
                    selector(&mut need, select);
                    raise(&mut need, *value, Need::Everywhere);
                    raise(&mut need, *default, d);
                    match prefer {
                        Prefer::MaxBy(p) | Prefer::MinBy(p) => {
                            raise(&mut need, *p, Need::Everywhere)
                        }
                        Prefer::MaxByPair(a, b) | Prefer::MinByPair(a, b) => {
                            raise(&mut need, *a, Need::Everywhere);
                            raise(&mut need, *b, Need::Everywhere);
                        }
                        Prefer::Latest | Prefer::Earliest => {}
                    }
                }
                Op::Sum { select, value } => {
                    selector(&mut need, select);
                    raise(&mut need, *value, Need::Everywhere);
                }
                op => {
                    for v in op.inputs() {
                        raise(&mut need, v, d);
                    }
                }
            }
        }
        let late: Vec<usize> = (0..n).filter(|&k| need[k] == Need::Unmasked).collect();
        let mut slot = vec![usize::MAX; n];
        for (s, &k) in late.iter().enumerate() {
            slot[k] = s;
        }
        let mut read_late = vec![false; n];
        let mut late_keys = HashSet::new();
        let mut last_read: Vec<usize> = (0..late.len()).collect();
        for &v in &h.token {
            if let Some(&s) = slot.get(v.index()).filter(|&&s| s != usize::MAX) {
                last_read[s] = usize::MAX;
            }
        }
        for (place, &k) in late.iter().enumerate() {
            let op = &program.nodes[k];
            for v in op.inputs() {
                if need[v.index()] == Need::Everywhere {
                    read_late[v.index()] = true;
                }
                let s = slot[v.index()];
                if s != usize::MAX && last_read[s] != usize::MAX {
                    last_read[s] = place;
                }
            }
            if let Op::Lookup { select, .. } | Op::Sum { select, .. } = op {
                late_keys.insert(key_shape(select));
            }
        }
        Demand {
            need,
            late,
            slot,
            last_read,
            read_late,
            late_keys,
        }
    }

    /// The place of late node `v` among the late nodes (`None` for every other node): where a
    /// late pass keeps its values.
    pub(crate) fn late_slot(&self, v: Value) -> Option<usize> {
        self.slot
            .get(v.index())
            .copied()
            .filter(|&s| s != usize::MAX)
    }

    /// Whether the everywhere-pass computes `node`.
    pub(crate) fn everywhere(&self, node: usize) -> bool {
        self.need.get(node) == Some(&Need::Everywhere)
    }

    /// How many nodes are needed everywhere, only where a mask is unmasked, and nowhere.
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |n: Need| self.need.iter().filter(|&&x| x == n).count();
        (
            count(Need::Everywhere),
            count(Need::Unmasked),
            count(Need::Nowhere),
        )
    }
}

/// The late pass's result: the positions where a mask is unmasked, and each late node's value
/// there (`cols[slot][r]` at position `active[r]`).
pub(crate) struct Late {
    pub(crate) active: Vec<usize>,
    cols: Vec<Vec<i64>>,
}

impl Late {
    /// The value of head node `v` at the `r`-th unmasked position.
    pub(crate) fn at(&self, demand: &Demand, values: &[Col], v: Value, r: usize) -> i64 {
        match demand.late_slot(v) {
            Some(s) => self.cols[s][r],
            None => values[v.index()].at(self.active[r]),
        }
    }
}

/// The members of a key group (increasing positions) with `j cmp i`.
fn within(members: &[usize], cmp: Option<Cmp>, i: usize) -> &[usize] {
    let Some(cmp) = cmp else {
        return members;
    };
    let before = members.partition_point(|&j| j < i);
    let through = members.partition_point(|&j| j <= i);
    match cmp {
        Cmp::Lt => &members[..before],
        Cmp::Le => &members[..through],
        Cmp::Gt => &members[through..],
        Cmp::Ge => &members[before..],
        Cmp::Eq => &members[before..through],
    }
}

/// Computes the late nodes at the positions where g reads the proposed token, after the
/// everywhere-pass computed `values` (the control bits among them). Returns the late values and
/// the widest of them in bits.
pub(crate) fn late_pass(
    program: &Program,
    demand: &Demand,
    x: &[Token<Word>],
    values: &[Col],
    picks: &mut Picks,
) -> Result<(Late, u32), EvalError> {
    let len = x.len();
    let h = &program.heads;
    let bit = |v: Value, i: usize| values[v.index()].at(i) != 0;
    let active: Vec<usize> = (0..len)
        .filter(|&i| x[i].is_mask() && !bit(h.remask, i) && !bit(h.delete, i))
        .collect();
    let m = active.len();
    // One value per unmasked position per late node; a node's values are dropped after its last
    // late reader (the heads' are kept) and their buffer serves a later node.
    let mut cols: Vec<Vec<i64>> = Vec::with_capacity(demand.late.len());
    let mut free: Vec<Vec<i64>> = Vec::new();
    let mut widest = 0u32;
    for (place, &node) in demand.late.iter().enumerate() {
        let at = |cols: &Vec<Vec<i64>>, v: Value, r: usize| -> i64 {
            match demand.late_slot(v) {
                Some(s) => cols[s][r],
                None => values[v.index()].at(active[r]),
            }
        };
        let overflow = |r: usize| EvalError::Overflow {
            node,
            position: active[r],
        };
        let mut column = free.pop().unwrap_or_default();
        column.clear();
        column.reserve(m);
        match &program.nodes[node] {
            Op::Field(k) => {
                column.extend(active.iter().map(|&i| x[i].symbol().map_or(0, |w| w.0[*k])))
            }
            Op::IsMask => column.extend(active.iter().map(|&i| i64::from(x[i].is_mask()))),
            Op::Index => column.extend(active.iter().map(|&i| i as i64)),
            Op::Length => column.resize(m, len as i64),
            Op::Const(c) => column.resize(m, *c),
            Op::Unary(u, a) => column.extend((0..m).map(|r| unary(*u, at(&cols, *a, r)))),
            Op::Binary(b, l, rr) => {
                for r in 0..m {
                    let v = binary(*b, at(&cols, *l, r), at(&cols, *rr, r));
                    column.push(v.ok_or_else(|| overflow(r))?);
                }
            }
            Op::Select(c, a, b) => column.extend((0..m).map(|r| {
                if at(&cols, *c, r) != 0 {
                    at(&cols, *a, r)
                } else {
                    at(&cols, *b, r)
                }
            })),
            Op::FirstOf { cases, default } => column.extend((0..m).map(|r| {
                let chosen = cases
                    .iter()
                    .find(|(c, _)| at(&cols, *c, r) != 0)
                    .map_or(*default, |(_, v)| *v);
                at(&cols, chosen, r)
            })),
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let index = key_index(&mut picks.keys, values, select, len);
                for (r, &i) in active.iter().enumerate() {
                    let q = (
                        at(&cols, select.query, r),
                        select.pair.map_or(0, |(_, q2)| at(&cols, q2, r)),
                    );
                    let members = within(index.positions(q), select.position, i);
                    column.push(match fold_best(values, *prefer, members) {
                        Some(j) => values[value.index()].at(j),
                        None => at(&cols, *default, r),
                    });
                }
            }
            Op::Sum { select, value } => {
                let index = key_index(&mut picks.keys, values, select, len);
                let v = &values[value.index()];
                for (r, &i) in active.iter().enumerate() {
                    let q = (
                        at(&cols, select.query, r),
                        select.pair.map_or(0, |(_, q2)| at(&cols, q2, r)),
                    );
                    let mut total = 0i64;
                    for &j in within(index.positions(q), select.position, i) {
                        total = total.checked_add(v.at(j)).ok_or_else(|| overflow(r))?;
                    }
                    column.push(total);
                }
            }
        }
        widest =
            widest.max(check_column(program, node, &column).map_err(|e| e.at_positions(&active))?);
        cols.push(column);
        for v in program.nodes[node].inputs() {
            let s = demand.slot[v.index()];
            if s != usize::MAX && demand.last_read[s] == place {
                free.push(std::mem::take(&mut cols[s]));
            }
        }
    }
    Ok((Late { active, cols }, widest))
}
