//! The two evaluators of seq programs: an indexed one (near-linear per step) and a naive all-pairs one.
//!
//! Both compute the same per-position values; they differ only in how attention nodes find the
//! positions their selector picks. The naive evaluator is the definition; the indexed one is checked
//! against it on random programs and canvases.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::program::{BinaryOp, Cmp, Op, Prefer, Program, Selector, UnaryOp, Value};
use super::range::width;
use super::word::Word;
use crate::machine::{Action, ControlBits, Proposal, StepFunction, StepFunctionError, Token};

mod demand;
mod runs;
pub use demand::Demand;
use demand::{late_pass, Late};

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
    /// A value outside its node's declared range: the program's width claim was wrong.
    #[error("node {node} computed {value} at position {position}, outside its range {lo}..={hi}")]
    OutOfRange {
        /// The node.
        node: usize,
        /// The first position (lowest index) holding such a value.
        position: usize,
        /// The value.
        value: i64,
        /// The range's low end.
        lo: i64,
        /// The range's high end.
        hi: i64,
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

impl EvalError {
    /// This error with an out-of-range position read as an index into `positions` (a pass
    /// over some positions only) replaced by the canvas position it stands for.
    pub(crate) fn at_positions(self, positions: &[usize]) -> EvalError {
        match self {
            EvalError::OutOfRange {
                node,
                position,
                value,
                lo,
                hi,
            } => EvalError::OutOfRange {
                node,
                position: positions[position],
                value,
                lo,
                hi,
            },
            e => e,
        }
    }
}

/// One node's values during an evaluation: a column (one value per position), or, for a node
/// whose value is the same at every position (the indexed evaluator's uniform nodes), that one
/// value, never expanded to a column.
#[derive(Clone, Debug)]
enum Col {
    Full(Vec<i64>),
    Uniform(i64),
}

impl Col {
    /// The value at position `i`.
    #[inline(always)]
    fn at(&self, i: usize) -> i64 {
        match self {
            Col::Full(c) => c[i],
            Col::Uniform(v) => *v,
        }
    }

    fn is_uniform(&self) -> bool {
        matches!(self, Col::Uniform(_))
    }

    /// A column of `len` values (a uniform value expanded: only where a caller needs columns).
    fn expand(self, len: usize) -> Vec<i64> {
        match self {
            Col::Full(c) => c,
            Col::Uniform(v) => vec![v; len],
        }
    }
}

/// Every node's value at every position: `values[node][position]`.
pub fn evaluate(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<Vec<Vec<i64>>, EvalError> {
    evaluate_observed(program, x, evaluator).map(|(values, _)| values)
}

/// Checks a column against its node's range; returns the column's widest value in bits.
fn check_column(program: &Program, node: usize, column: &[i64]) -> Result<u32, EvalError> {
    let Some(&first) = column.first() else {
        return Ok(0);
    };
    let (mut lo, mut hi) = (first, first);
    for &v in column {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if let Some(&(rlo, rhi)) = program.ranges.get(node) {
        if lo < rlo || hi > rhi {
            let position = column.iter().position(|&v| v < rlo || v > rhi).unwrap_or(0);
            return Err(EvalError::OutOfRange {
                node,
                position,
                value: column[position],
                lo: rlo,
                hi: rhi,
            });
        }
    }
    Ok(width((lo, hi)))
}

/// `evaluate`, also returning the widest value computed, in bits (`range::width`). Every value
/// of every node at every position is checked against the node's range (when the program has
/// ranges); a value outside is [`EvalError::OutOfRange`].
pub fn evaluate_observed(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<(Vec<Vec<i64>>, u32), EvalError> {
    let len = x.len();
    evaluate_inner(program, x, evaluator, &mut OpCount::default(), None, None).map(
        |(values, widest, _, _)| {
            let values = values.into_iter().map(|c| c.expand(len)).collect();
            (values, widest)
        },
    )
}

/// Which nodes `evaluator` held as one value on `x` (position-uniform nodes: no column, counted in
/// no `ColumnUse`); every other node held a column. The naive evaluator and an empty canvas hold
/// none this way.
pub fn uniform_nodes(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<Vec<bool>, EvalError> {
    evaluate_inner(program, x, evaluator, &mut OpCount::default(), None, None)
        .map(|(values, _, _, _)| values.iter().map(Col::is_uniform).collect())
}

/// The primitive operations of one evaluation by the naive evaluator, each counted where the
/// evaluator performs it (Theorem 2's per-step serial cost, `proofs/thm2.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCount {
    /// Selector tests: one per (query position i, key position j) per attention node.
    pub pair_tests: u64,
    /// Folds: one per selected pair (a preference comparison or an addition).
    pub folds: u64,
    /// Reads: one per position per attention node (the chosen value, the default, or the sum).
    pub reads: u64,
    /// Map evaluations: one per position per map node (fields, index, constants included).
    pub maps: u64,
    /// Range checks: one per position per node.
    pub range_checks: u64,
}

impl OpCount {
    /// Every counted operation.
    pub fn total(&self) -> u64 {
        self.pair_tests + self.folds + self.reads + self.maps + self.range_checks
    }

    /// Adds another count.
    pub fn add(&mut self, other: &OpCount) {
        self.pair_tests += other.pair_tests;
        self.folds += other.folds;
        self.reads += other.reads;
        self.maps += other.maps;
        self.range_checks += other.range_checks;
    }
}

/// Every node's value at every position by the naive (all pairs) evaluator, with the count of
/// the primitive operations it performed.
pub fn evaluate_counted(
    program: &Program,
    x: &[Token<Word>],
) -> Result<(Vec<Vec<i64>>, OpCount), EvalError> {
    let mut count = OpCount::default();
    let (values, _, _, _) = evaluate_inner(program, x, Evaluator::Naive, &mut count, None, None)?;
    let values = values.into_iter().map(|c| c.expand(x.len())).collect();
    Ok((values, count))
}

/// The column memory of one evaluation, counted: a column is one node's value at every position
/// (8 bytes a value). `propose` holds a node's column from the node's evaluation to its last
/// reader's (a head's to the end) and reuses freed columns, so its peak is the largest number of
/// simultaneously live nodes; `evaluate` keeps every column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnUse {
    /// The most columns held at once (live columns plus freed ones kept for reuse).
    pub peak_columns: usize,
    /// The canvas length (values per column).
    pub len: usize,
}

impl ColumnUse {
    /// The peak bytes of column values held: 8 * `len` * `peak_columns` (a column's length, not
    /// its allocated capacity, which a buffer reused from a longer canvas may exceed).
    pub fn peak_bytes(&self) -> u64 {
        8 * self.len as u64 * self.peak_columns as u64
    }

    /// The peak column bytes per canvas position: 8 * `peak_columns`.
    pub fn bytes_per_position(&self) -> u64 {
        8 * self.peak_columns as u64
    }
}

/// When each node's column can be freed: after the node `last_read[v]` (its last reader, or `v`
/// itself when nothing reads it), unless `kept[v]` (a head).
struct Liveness {
    last_read: Vec<usize>,
    kept: Vec<bool>,
}

impl Liveness {
    fn of(program: &Program) -> Self {
        let n = program.nodes.len();
        let mut last_read: Vec<usize> = (0..n).collect();
        for (k, op) in program.nodes.iter().enumerate() {
            for v in op.inputs() {
                last_read[v.index()] = k;
            }
        }
        let mut kept = vec![false; n];
        let h = &program.heads;
        for v in h.token.iter().chain([&h.remask, &h.insert, &h.delete]) {
            if let Some(k) = kept.get_mut(v.index()) {
                *k = true;
            }
        }
        Liveness { last_read, kept }
    }

    /// The liveness of the everywhere-pass of a demand-driven evaluation: only nodes computed
    /// everywhere read (late readers do not), and the columns a late node reads are kept for
    /// the late pass.
    fn of_demand(program: &Program, demand: &Demand) -> Self {
        let n = program.nodes.len();
        let mut last_read: Vec<usize> = (0..n).collect();
        for (k, op) in program.nodes.iter().enumerate() {
            if demand.everywhere(k) {
                for v in op.inputs() {
                    last_read[v.index()] = k;
                }
            }
        }
        let mut live = Liveness::of(program);
        live.last_read = last_read;
        for (kept, &late) in live.kept.iter_mut().zip(&demand.read_late) {
            *kept |= late;
        }
        live
    }
}

/// The columns of one evaluation: taken from freed columns first, then from the pool; counts
/// the columns held.
struct Columns {
    free: Vec<Vec<i64>>,
    held: usize,
    peak: usize,
}

impl Columns {
    fn take(&mut self, len: usize) -> Vec<i64> {
        match self.free.pop() {
            Some(mut c) => {
                c.clear();
                c.reserve(len);
                c
            }
            None => {
                self.held += 1;
                self.peak = self.peak.max(self.held);
                take_column(len)
            }
        }
    }
}

/// The positions the lookups of one step picked, by selector and preference: the pick depends on
/// nothing else (the key, query and preference columns are nodes, computed once per step), so
/// lookups that differ only in the value they read (a memory load's found flag, round, rank and
/// value; the header's fields) share one pick. Below the picks, one [`KeyIndex`] per key shape
/// (key node and, for a tuple key, second key node) serves every lookup and sum of the step that
/// selects by that key, whatever its query, position condition or preference. Used by the
/// indexed evaluator only; the naive one counts every pair test of every lookup.
#[derive(Default)]
struct Picks {
    /// Lookups whose query is the same at every position: the one position picked.
    uniform: HashMap<(Selector, Prefer), Option<usize>>,
    /// Other lookups: the position picked for each query position, kept until the last lookup
    /// with the same selector and preference.
    columns: HashMap<(Selector, Prefer), Vec<Option<usize>>>,
    /// The last lookup node of each selector and preference.
    last_user: HashMap<(Selector, Prefer), usize>,
    /// The key indexes of this step, each built at its first user and dropped after its last.
    keys: HashMap<KeyShape, KeyIndex>,
    /// The last lookup or sum node of each key shape.
    last_key_user: HashMap<KeyShape, usize>,
    /// Key shapes whose index is kept to the end of the step (a demand-driven evaluation's late
    /// pass selects by them).
    kept_keys: std::collections::HashSet<KeyShape>,
}

/// A selector's key nodes: the key and, for a tuple key, the second key.
type KeyShape = (Value, Option<Value>);

fn key_shape(s: &Selector) -> KeyShape {
    (s.key, s.pair.map(|(k, _)| k))
}

impl Picks {
    fn of(program: &Program, demand: Option<&Demand>) -> Self {
        let mut last_user = HashMap::new();
        let mut last_key_user = HashMap::new();
        for (k, op) in program.nodes.iter().enumerate() {
            if demand.is_some_and(|d| !d.everywhere(k)) {
                continue;
            }
            match op {
                Op::Lookup { select, prefer, .. } => {
                    last_user.insert((*select, *prefer), k);
                    last_key_user.insert(key_shape(select), k);
                }
                Op::Sum { select, .. } => {
                    last_key_user.insert(key_shape(select), k);
                }
                _ => {}
            }
        }
        Picks {
            last_user,
            last_key_user,
            kept_keys: demand.map(|d| d.late_keys.clone()).unwrap_or_default(),
            ..Picks::default()
        }
    }

    /// Drops the key index whose last user is `node` (unless it is kept to the end).
    fn release(&mut self, node: usize, op: &Op) {
        if let Op::Lookup { select, .. } | Op::Sum { select, .. } = op {
            let shape = key_shape(select);
            if self.last_key_user.get(&shape) == Some(&node) && !self.kept_keys.contains(&shape) {
                self.keys.remove(&shape);
            }
        }
    }
}

/// The key index of `s`'s key shape for this step, built on first use.
fn key_index<'a>(
    keys: &'a mut HashMap<KeyShape, KeyIndex>,
    values: &[Col],
    s: &Selector,
    len: usize,
) -> &'a KeyIndex {
    keys.entry(key_shape(s))
        .or_insert_with(|| KeyIndex::build(values, s, len))
}

/// A hasher for the key index's integer keys: one multiply per word (no SipHash, whose cost
/// dominated building the index). Keys are node values, not adversarial by design; a crafted
/// canvas can only make a step slower, never wrong.
#[derive(Default, Clone, Copy)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        // The product's high bits are its best mixed; fold them into the low ones (buckets).
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

type WordMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;

/// The positions of one step grouped by their (tuple) key: each group's positions in increasing
/// order, stored contiguously, and a hash from key to group. Built with one pass over the keys
/// (no hashing when the key is uniform: one group).
struct KeyIndex {
    group: WordMap<(i64, i64), usize>,
    /// Group g's positions are `members[starts[g]..starts[g + 1]]`.
    starts: Vec<usize>,
    members: Vec<usize>,
}

impl KeyIndex {
    fn build(values: &[Col], s: &Selector, len: usize) -> Self {
        let k = &values[s.key.index()];
        let k2 = s.pair.map(|(k2, _)| &values[k2.index()]);
        let mut group = WordMap::default();
        if len > 0 && k.is_uniform() && k2.is_none_or(Col::is_uniform) {
            group.insert(key_at(values, s, 0), 0);
            return KeyIndex {
                group,
                starts: vec![0, len],
                members: (0..len).collect(),
            };
        }
        let mut of = Vec::with_capacity(len);
        let mut sizes: Vec<usize> = Vec::new();
        for j in 0..len {
            let key = (k.at(j), k2.map_or(0, |c| c.at(j)));
            let next = sizes.len();
            let g = *group.entry(key).or_insert(next);
            if g == next {
                sizes.push(0);
            }
            sizes[g] += 1;
            of.push(g);
        }
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        starts.push(0);
        for size in &sizes {
            starts.push(starts.last().copied().unwrap_or(0) + size);
        }
        let mut next = starts[..sizes.len()].to_vec();
        let mut members = vec![0; len];
        for (j, &g) in of.iter().enumerate() {
            members[next[g]] = j;
            next[g] += 1;
        }
        KeyIndex {
            group,
            starts,
            members,
        }
    }

    fn groups(&self) -> usize {
        self.starts.len() - 1
    }

    fn members_of(&self, g: usize) -> &[usize] {
        &self.members[self.starts[g]..self.starts[g + 1]]
    }

    /// The group of positions whose key is `q`.
    fn find(&self, q: (i64, i64)) -> Option<usize> {
        self.group.get(&q).copied()
    }

    /// The positions whose key is `q`, in increasing order.
    fn positions(&self, q: (i64, i64)) -> &[usize] {
        self.find(q).map_or(&[], |g| self.members_of(g))
    }
}

fn evaluate_inner(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
    count: &mut OpCount,
    live: Option<&Liveness>,
    demand: Option<&Demand>,
) -> Result<(Vec<Col>, u32, ColumnUse, Option<Late>), EvalError> {
    let mut widest = 0u32;
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
    // Nodes whose value is the same at every position (constants, the length, maps of such,
    // lookups whose query is such) are `Col::Uniform` under the indexed evaluator on a non-empty
    // canvas: computed once per step, held as one value, never filled into a column. The naive
    // evaluator (the definition) computes every node at every position.
    let scalars = evaluator == Evaluator::Indexed && len > 0;
    let mut values: Vec<Col> = Vec::with_capacity(program.nodes.len());
    // A demand-driven evaluation (indexed only) computes here only the nodes needed everywhere;
    // the late pass below computes the rest where g reads them (`demand.rs`).
    let demand = demand.filter(|_| evaluator == Evaluator::Indexed);
    let mut picks = if evaluator == Evaluator::Indexed {
        Picks::of(program, demand)
    } else {
        Picks::default()
    };
    let mut columns = Columns {
        free: Vec::new(),
        held: 0,
        peak: 0,
    };
    // Frees, once `node` is evaluated, the columns it was the last reader of (itself when
    // nothing reads it), so their buffers serve later nodes. A uniform node holds no column.
    let mut freed = vec![
        false;
        if live.is_some() {
            program.nodes.len()
        } else {
            0
        }
    ];
    let mut free_after = |node: usize, values: &mut Vec<Col>, columns: &mut Columns| {
        let Some(live) = live else { return };
        let mut free = |v: usize, values: &mut Vec<Col>| {
            if live.last_read[v] == node && !live.kept[v] && !freed[v] {
                freed[v] = true;
                if let Col::Full(c) = &mut values[v] {
                    columns.free.push(std::mem::take(c));
                }
            }
        };
        for v in program.nodes[node].inputs() {
            free(v.index(), values);
        }
        free(node, values);
    };
    for (node, op) in program.nodes.iter().enumerate() {
        let overflow = |position| EvalError::Overflow { node, position };
        if demand.is_some_and(|d| !d.everywhere(node)) {
            // Not computed here (no node of this pass reads it): a placeholder.
            values.push(Col::Uniform(0));
            continue;
        }
        if scalars {
            if let Some(v) = uniform_value(&values, op, len, &mut picks) {
                let v = v.map_err(|_| overflow(0))?;
                widest = widest.max(check_column(program, node, &[v])?);
                values.push(Col::Uniform(v));
                picks.release(node, op);
                free_after(node, &mut values, &mut columns);
                continue;
            }
        }
        if op.is_attention() {
            count.reads += len as u64;
        } else {
            count.maps += len as u64;
        }
        count.range_checks += len as u64;
        let mut column = columns.take(len);
        match op {
            Op::Field(k) => column.extend(x.iter().map(|t| t.symbol().map_or(0, |w| w.0[*k]))),
            Op::IsMask => column.extend(x.iter().map(|t| i64::from(t.is_mask()))),
            Op::Index => column.extend(0..len as i64),
            Op::Length => column.resize(len, len as i64),
            Op::Const(c) => column.resize(len, *c),
            Op::Unary(u, a) => match &values[a.index()] {
                Col::Full(a) => column.extend(a.iter().map(|&a| unary(*u, a))),
                Col::Uniform(a) => column.resize(len, unary(*u, *a)),
            },
            Op::Binary(b, l, r) => {
                let b = *b;
                match (&values[l.index()], &values[r.index()]) {
                    (Col::Full(l), Col::Full(r)) => {
                        for (i, (&l, &r)) in l.iter().zip(r).enumerate() {
                            column.push(binary(b, l, r).ok_or_else(|| overflow(i))?);
                        }
                    }
                    (Col::Full(l), &Col::Uniform(r)) => {
                        for (i, &l) in l.iter().enumerate() {
                            column.push(binary(b, l, r).ok_or_else(|| overflow(i))?);
                        }
                    }
                    (&Col::Uniform(l), Col::Full(r)) => {
                        for (i, &r) in r.iter().enumerate() {
                            column.push(binary(b, l, r).ok_or_else(|| overflow(i))?);
                        }
                    }
                    (&Col::Uniform(l), &Col::Uniform(r)) => {
                        let v = binary(b, l, r).ok_or_else(|| overflow(0))?;
                        column.resize(len, v);
                    }
                }
            }
            Op::Select(c, a, b) => {
                let (c, a, b) = (&values[c.index()], &values[a.index()], &values[b.index()]);
                match (c, a, b) {
                    (Col::Full(c), Col::Full(a), Col::Full(b)) => {
                        column.extend((0..len).map(|i| if c[i] != 0 { a[i] } else { b[i] }));
                    }
                    (&Col::Uniform(c), a, b) => {
                        let chosen = if c != 0 { a } else { b };
                        match chosen {
                            Col::Full(v) => column.extend_from_slice(v),
                            &Col::Uniform(v) => column.resize(len, v),
                        }
                    }
                    (Col::Full(c), a, b) => {
                        column.extend((0..len).map(|i| if c[i] != 0 { a.at(i) } else { b.at(i) }))
                    }
                }
            }
            Op::FirstOf { cases, default } => {
                match &values[default.index()] {
                    Col::Full(d) => column.extend_from_slice(d),
                    &Col::Uniform(d) => column.resize(len, d),
                }
                // Later cases first, so that earlier ones overwrite them.
                for (c, v) in cases.iter().rev() {
                    match (&values[c.index()], &values[v.index()]) {
                        (&Col::Uniform(0), _) => {}
                        (Col::Uniform(_), Col::Full(v)) => column.copy_from_slice(v),
                        (Col::Uniform(_), &Col::Uniform(v)) => column.fill(v),
                        (Col::Full(c), Col::Full(v)) => {
                            for i in 0..len {
                                if c[i] != 0 {
                                    column[i] = v[i];
                                }
                            }
                        }
                        (Col::Full(c), &Col::Uniform(v)) => {
                            for i in 0..len {
                                if c[i] != 0 {
                                    column[i] = v;
                                }
                            }
                        }
                    }
                }
            }
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let fresh;
                let picked = match evaluator {
                    Evaluator::Naive => {
                        fresh = pick_naive(&values, select, *prefer, len, count);
                        &fresh
                    }
                    Evaluator::Indexed => {
                        let last = picks.last_user.get(&(*select, *prefer)) == Some(&node);
                        let cached = picks.columns.remove(&(*select, *prefer));
                        fresh = cached.unwrap_or_else(|| {
                            let index = key_index(&mut picks.keys, &values, select, len);
                            pick_indexed(&values, select, *prefer, len, index)
                        });
                        if !last {
                            picks.columns.insert((*select, *prefer), fresh.clone());
                        }
                        &fresh
                    }
                };
                let (value, default) = (&values[value.index()], &values[default.index()]);
                column.extend(picked.iter().enumerate().map(|(i, j)| match j {
                    Some(j) => value.at(*j),
                    None => default.at(i),
                }));
            }
            Op::Sum { select, value } => {
                let sums = match evaluator {
                    Evaluator::Naive => {
                        sum_naive(&values, select, &values[value.index()], len, count)
                    }
                    Evaluator::Indexed => {
                        let index = key_index(&mut picks.keys, &values, select, len);
                        sum_indexed(&values, select, &values[value.index()], len, index)
                    }
                }
                .map_err(overflow)?;
                column.extend(sums);
            }
        }
        widest = widest.max(check_column(program, node, &column)?);
        values.push(Col::Full(column));
        picks.release(node, op);
        free_after(node, &mut values, &mut columns);
    }
    let held = if live.is_some() {
        columns.peak
    } else {
        values.iter().filter(|c| !c.is_uniform()).count()
    };
    recycle(columns.free);
    let used = ColumnUse {
        peak_columns: held,
        len,
    };
    let late = match demand {
        Some(d) => {
            let (late, w) = late_pass(program, d, x, &values, &mut picks)?;
            widest = widest.max(w);
            Some(late)
        }
        None => None,
    };
    Ok((values, widest, used, late))
}

thread_local! {
    /// Columns of earlier steps, reused: a step of a compiled schedule evaluates thousands of
    /// nodes over the whole canvas, and fresh pages for every column cost more than the work.
    static POOL: std::cell::RefCell<Vec<Vec<i64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An empty column with room for `len` values, from the pool when it has one.
fn take_column(len: usize) -> Vec<i64> {
    match POOL.with(|p| p.borrow_mut().pop()) {
        Some(mut c) => {
            c.clear();
            c.reserve(len);
            c
        }
        None => Vec::with_capacity(len),
    }
}

/// Returns columns to the pool (at most 2^16 columns are kept).
pub fn recycle(values: Vec<Vec<i64>>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let room = (1usize << 16).saturating_sub(p.len());
        p.extend(values.into_iter().take(room));
    });
}

/// The value of `op` when it is the same at every position (all its inputs are), or `None`.
/// `Some(Err(()))` is an overflow (at every position, so reported at position 0).
fn uniform_value(
    values: &[Col],
    op: &Op,
    len: usize,
    picks: &mut Picks,
) -> Option<Result<i64, ()>> {
    let u = |v: &Value| values[v.index()].is_uniform();
    let at0 = |v: &Value| values[v.index()].at(0);
    let pair_uniform = |s: &Selector| s.pair.is_none_or(|(_, q)| u(&q));
    match op {
        Op::Const(c) => Some(Ok(*c)),
        Op::Length => Some(Ok(len as i64)),
        Op::Unary(f, a) if u(a) => Some(Ok(unary(*f, at0(a)))),
        Op::Binary(f, a, b) if u(a) && u(b) => Some(binary(*f, at0(a), at0(b)).ok_or(())),
        Op::Select(c, a, b) if u(c) => {
            let chosen = if at0(c) != 0 { a } else { b };
            u(chosen).then(|| Ok(at0(chosen)))
        }
        Op::FirstOf { cases, default } if op.inputs().iter().all(u) => {
            let chosen = cases
                .iter()
                .find(|(c, _)| at0(c) != 0)
                .map_or(default, |(_, v)| v);
            Some(Ok(at0(chosen)))
        }
        Op::Lookup {
            select,
            prefer,
            value,
            default,
        } if select.position.is_none() && u(&select.query) && pair_uniform(select) => {
            // One query for all positions: its group of the step's key index, folded once and
            // shared by every lookup of this step with the same selector and preference.
            let Picks { uniform, keys, .. } = picks;
            let best = *uniform.entry((*select, *prefer)).or_insert_with(|| {
                let q = query_at(values, select, 0);
                let members = key_index(keys, values, select, len).positions(q);
                fold_best(values, *prefer, members)
            });
            match best {
                Some(j) => Some(Ok(values[value.index()].at(j))),
                None if u(default) => Some(Ok(at0(default))),
                None => None,
            }
        }
        Op::Sum { select, value }
            if select.position.is_none() && u(&select.query) && pair_uniform(select) =>
        {
            let q = query_at(values, select, 0);
            let v = &values[value.index()];
            let mut total = 0i64;
            for &j in key_index(&mut picks.keys, values, select, len).positions(q) {
                match total.checked_add(v.at(j)) {
                    Some(t) => total = t,
                    None => return Some(Err(())),
                }
            }
            Some(Ok(total))
        }
        _ => None,
    }
}

pub(crate) fn unary(op: UnaryOp, a: i64) -> i64 {
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
    }
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
        BinaryOp::Draw => crate::pram::round::draw(a, b),
        BinaryOp::ShlSat => match a.checked_shl(shift) {
            Some(r) if r >> shift == a => r,
            _ if a < 0 => i64::MIN,
            _ => i64::MAX,
        },
    })
}

/// Whether position j is selected by position i.
fn selected(values: &[Col], s: &Selector, i: usize, j: usize) -> bool {
    key_at(values, s, j) == query_at(values, s, i) && s.position.is_none_or(|cmp| cmp.holds(j, i))
}

/// The (tuple) key a selector reads at position j (the second component 0 without a pair).
fn key_at(values: &[Col], s: &Selector, j: usize) -> (i64, i64) {
    (
        values[s.key.index()].at(j),
        s.pair.map_or(0, |(k, _)| values[k.index()].at(j)),
    )
}

/// The (tuple) query a selector reads at position i.
fn query_at(values: &[Col], s: &Selector, i: usize) -> (i64, i64) {
    (
        values[s.query.index()].at(i),
        s.pair.map_or(0, |(_, q)| values[q.index()].at(i)),
    )
}

/// Whether candidate `j` beats the current best `k` under `prefer` (a strict total order).
fn beats(values: &[Col], prefer: Prefer, j: usize, k: usize) -> bool {
    match prefer {
        Prefer::Latest => j > k,
        Prefer::Earliest => j < k,
        Prefer::MaxBy(v) => {
            let (a, b) = (values[v.index()].at(j), values[v.index()].at(k));
            a > b || (a == b && j > k)
        }
        Prefer::MinBy(v) => {
            let (a, b) = (values[v.index()].at(j), values[v.index()].at(k));
            a < b || (a == b && j < k)
        }
        Prefer::MaxByPair(x, y) => {
            let at = |p: usize| (values[x.index()].at(p), values[y.index()].at(p));
            let (a, b) = (at(j), at(k));
            a > b || (a == b && j > k)
        }
        Prefer::MinByPair(x, y) => {
            let at = |p: usize| (values[x.index()].at(p), values[y.index()].at(p));
            let (a, b) = (at(j), at(k));
            a < b || (a == b && j < k)
        }
    }
}

fn better(values: &[Col], prefer: Prefer, a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if beats(values, prefer, a, b) { a } else { b }),
        (a, None) => a,
        (None, b) => b,
    }
}

fn pick_naive(
    values: &[Col],
    s: &Selector,
    prefer: Prefer,
    len: usize,
    count: &mut OpCount,
) -> Vec<Option<usize>> {
    let mut picked = Vec::with_capacity(len);
    for i in 0..len {
        let mut best = None;
        for j in 0..len {
            count.pair_tests += 1;
            if selected(values, s, i, j) {
                count.folds += 1;
                best = better(values, prefer, Some(j), best);
            }
        }
        picked.push(best);
    }
    picked
}

fn sum_naive(
    values: &[Col],
    s: &Selector,
    v: &Col,
    len: usize,
    count: &mut OpCount,
) -> Result<Vec<i64>, usize> {
    let mut sums = Vec::with_capacity(len);
    for i in 0..len {
        let mut acc = 0i64;
        for j in 0..len {
            let vj = v.at(j);
            count.pair_tests += 1;
            if selected(values, s, i, j) {
                count.folds += 1;
                acc = acc.checked_add(vj).ok_or(i)?;
            }
        }
        sums.push(acc);
    }
    Ok(sums)
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

/// The preferred position among `members` (in increasing order), folded from the first.
fn fold_best(values: &[Col], prefer: Prefer, members: &[usize]) -> Option<usize> {
    match prefer {
        Prefer::Latest => members.last().copied(),
        Prefer::Earliest => members.first().copied(),
        _ => members
            .iter()
            .copied()
            .reduce(|k, j| if beats(values, prefer, j, k) { j } else { k }),
    }
}

fn pick_indexed(
    values: &[Col],
    s: &Selector,
    prefer: Prefer,
    len: usize,
    index: &KeyIndex,
) -> Vec<Option<usize>> {
    if s.position.is_none() {
        // No position condition: one best position per group.
        let best: Vec<Option<usize>> = (0..index.groups())
            .map(|g| fold_best(values, prefer, index.members_of(g)))
            .collect();
        return (0..len)
            .map(|i| best[index.find(query_at(values, s, i))?])
            .collect();
    }
    let built: Vec<Group<Option<usize>>> = (0..index.groups())
        .map(|g| {
            Group::build(index.members_of(g).to_vec(), Some, |a, b| {
                better(values, prefer, *a, *b)
            })
        })
        .collect();
    (0..len)
        .map(|i| {
            let g = index.find(query_at(values, s, i))?;
            built[g].query(s.position, i).flatten()
        })
        .collect()
}

fn sum_indexed(
    values: &[Col],
    s: &Selector,
    v: &Col,
    len: usize,
    index: &KeyIndex,
) -> Result<Vec<i64>, usize> {
    // Partial sums are Options so that an overflow surfaces at the positions that read it.
    let built: Vec<Group<Option<i64>>> = (0..index.groups())
        .map(|g| {
            Group::build(
                index.members_of(g).to_vec(),
                |j| Some(v.at(j)),
                |a, b| a.and_then(|a| b.and_then(|b| a.checked_add(b))),
            )
        })
        .collect();
    (0..len)
        .map(|i| {
            let total = index
                .find(query_at(values, s, i))
                .and_then(|g| built[g].query(s.position, i))
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
    propose_observed(program, x, evaluator).map(|(p, _)| p)
}

/// `propose`, also returning the widest value computed, in bits.
pub fn propose_observed(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<(Proposal<Word>, u32), EvalError> {
    propose_columns(program, x, evaluator).map(|(p, widest, _)| (p, widest))
}

/// `propose_observed`, also returning the column memory the evaluation held. Only the columns
/// still to be read are kept (a node's column is freed after its last reader, the heads' are
/// kept), and freed columns are reused.
pub fn propose_columns(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
) -> Result<(Proposal<Word>, u32, ColumnUse), EvalError> {
    propose_inner(program, x, evaluator, &Liveness::of(program), None)
}

/// `propose_columns` by a demand-driven evaluation (`demand`, from [`Demand::of`] on `program`;
/// indexed evaluator): every node computed only where g can read it. The control bits equal
/// `propose_columns`'s at every position and the tokens at every position where a mask is
/// unmasked (x_i a mask, neither remasked nor deleted); elsewhere the tokens are empty words,
/// which g never reads, so g gives the same next sequence. The widest value is over the values
/// computed, and the column memory counts the everywhere-pass's columns (the late pass holds one
/// value per unmasked position per late node, not counted).
pub fn propose_demanded(
    program: &Program,
    demand: &Demand,
    x: &[Token<Word>],
) -> Result<(Proposal<Word>, u32, ColumnUse), EvalError> {
    let live = Liveness::of_demand(program, demand);
    propose_inner(program, x, Evaluator::Indexed, &live, Some(demand))
}

fn propose_inner(
    program: &Program,
    x: &[Token<Word>],
    evaluator: Evaluator,
    live: &Liveness,
    demand: Option<&Demand>,
) -> Result<(Proposal<Word>, u32, ColumnUse), EvalError> {
    let (values, widest, used, late) = evaluate_inner(
        program,
        x,
        evaluator,
        &mut OpCount::default(),
        Some(live),
        demand,
    )?;
    let h = &program.heads;
    let at = |v: Value, i: usize| values[v.index()].at(i);
    let tokens = match (&late, demand) {
        (Some(late), Some(demand)) => {
            let mut tokens = vec![Word(Vec::new()); x.len()];
            for (r, &i) in late.active.iter().enumerate() {
                tokens[i] = Word(
                    h.token
                        .iter()
                        .map(|&v| late.at(demand, &values, v, r))
                        .collect(),
                );
            }
            tokens
        }
        _ => (0..x.len())
            .map(|i| Word(h.token.iter().map(|&v| at(v, i)).collect()))
            .collect(),
    };
    let bits = (0..x.len())
        .map(|i| ControlBits {
            remask: at(h.remask, i) != 0,
            insert: at(h.insert, i) != 0,
            delete: at(h.delete, i) != 0,
        })
        .collect();
    recycle(
        values
            .into_iter()
            .filter_map(|c| match c {
                Col::Full(c) if c.capacity() > 0 => Some(c),
                _ => None,
            })
            .collect(),
    );
    Ok((Proposal { tokens, bits }, widest, used))
}

/// A seq program as `machine`'s step function f.
#[derive(Clone, Debug)]
pub struct SeqStep {
    /// The program.
    pub program: Program,
    /// The evaluator used for its attention nodes.
    pub evaluator: Evaluator,
    /// The widest value any node computed so far, in bits (updated at every step).
    pub widest: u32,
    /// The most column bytes any step held per canvas position (8 bytes times the most columns
    /// held at once, `ColumnUse::bytes_per_position`), over the steps so far.
    pub column_bytes_per_position: u64,
    /// The most column bytes any step held (`ColumnUse::peak_bytes`), over the steps so far.
    pub peak_column_bytes: u64,
    /// Set: every node is computed only where g can read it (`propose_demanded`; the proposal's
    /// tokens are empty words where g reads none). Unset: every node at every position.
    pub demand: Option<Demand>,
    /// Set: the incremental evaluation by runs (`runs.rs`): where g reads, as `demand`, with
    /// token-local columns and key indexes kept from step to step.
    incremental: Option<Box<runs::Incremental>>,
}

impl SeqStep {
    /// `program` under `evaluator`, nothing observed yet: every node at every position, so the
    /// proposal is the program's whole proposal.
    pub fn new(program: Program, evaluator: Evaluator) -> Self {
        SeqStep {
            program,
            evaluator,
            widest: 0,
            column_bytes_per_position: 0,
            peak_column_bytes: 0,
            demand: None,
            incremental: None,
        }
    }

    /// `program` by the demand-driven indexed evaluation (`propose_demanded`): the same next
    /// sequence from every canvas, with the proposal's tokens computed only where g reads them.
    pub fn demanded(program: Program) -> Self {
        let demand = Demand::of(&program);
        SeqStep {
            demand: Some(demand),
            ..SeqStep::new(program, Evaluator::Indexed)
        }
    }

    /// `program` by the incremental evaluation by runs (`runs.rs`): the same next sequence as
    /// [`SeqStep::demanded`] from every canvas. Driven by `machine::run`, which reports every
    /// applied step (`StepFunction::applied`), it recomputes token-local values only where the
    /// canvas changed; proposed without such reports, it rebuilds them every time.
    pub fn incremental(program: Program) -> Self {
        let demand = Demand::of(&program);
        let state = runs::Incremental::of(&program, demand.clone());
        SeqStep {
            demand: Some(demand),
            incremental: Some(Box::new(state)),
            ..SeqStep::new(program, Evaluator::Indexed)
        }
    }
}

impl StepFunction<Word> for SeqStep {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let result = match (&mut self.incremental, &self.demand) {
            (Some(state), _) => state.propose(&self.program, x),
            (None, Some(d)) => propose_demanded(&self.program, d, x),
            (None, None) => propose_columns(&self.program, x, self.evaluator),
        };
        let (p, widest, used) = result.map_err(|e| StepFunctionError(e.to_string()))?;
        self.widest = self.widest.max(widest);
        self.column_bytes_per_position = self
            .column_bytes_per_position
            .max(used.bytes_per_position());
        self.peak_column_bytes = self.peak_column_bytes.max(used.peak_bytes());
        Ok(p)
    }

    fn applied(&mut self, actions: &[Action]) {
        if let Some(state) = &mut self.incremental {
            state.applied(actions);
        }
    }
}
