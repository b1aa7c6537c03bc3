//! Incremental evaluation by runs: each node's column held as runs of positions on which it is
//! one constant, the position index plus a constant, or read from a stored column; token-local
//! columns and their key indexes kept from step to step and updated where the canvas changed.
//!
//! A compiled schedule's step changes a handful of tokens, but every position reads the header,
//! which changes every step, so a column-at-a-time evaluation recomputes nearly every value of
//! every step. Most of those values follow from a few position-uniform numbers and the index:
//! "this position is the next header", "this slot is in the next round", "this key is -1 outside
//! the round just decoded". Here a node's column is a list of runs: `Const(c)` (one value),
//! `Affine(b)` (the position index plus b) or `Col(k)` (read from node k's stored column). Maps
//! act run by run: on constants they fold; a comparison of the index with a constant splits a
//! run at the crossing point; an equality of a token-local node with a constant splits at the
//! positions the node's value index names; `and`, `or`, `select` and first-of pass one input's
//! run through where the others are constant. Only what none of these rules covers is computed
//! position by position (stored in the node's own column). Lookups and sums whose query is one
//! constant over a run are answered once for the run.
//!
//! Kept across steps:
//! - token-local nodes (fields, the mask flag, and maps of those, the index and constants): one
//!   stored column each, recomputed only at the positions the last step changed;
//! - value indexes of token-local keys: position sets by key, updated at the same positions;
//! - runs computed position by position: recomputed only at the changed positions when last
//!   step had the same run from the same input pieces and the columns they read are stable;
//! - indexes of the other key shapes (ranges of positions by key), updated at the changed
//!   positions under the same condition.
//!
//! The runner reports each applied step's actions (`SeqStep::applied`); the changed positions
//! are the unmasked and remasked ones. Without that report, or when the length changed, every
//! token-local column and index is rebuilt. Late nodes (only the token heads read them) are
//! computed at the unmasked positions alone, as in the demand-driven evaluation (`demand.rs`).
//!
//! What it keeps: the same control bits at every position and the same tokens at every unmasked
//! position as the demand-driven evaluation (property-tested step by step through whole runs);
//! every value is range-checked when it is computed, a run passed through from an input is
//! checked unless the input's range lies inside the node's, and a run's affine values at its two
//! ends. Values that did not change since the last step (token-local columns at unchanged
//! positions) are not computed again.

use std::collections::BTreeSet;

use super::demand::{Demand, Need};
use super::{binary, key_shape, unary, ColumnUse, EvalError, KeyShape, WordMap};
use crate::machine::{Action, ControlBits, PositionOp, Proposal, Token};
use crate::seq::program::{BinaryOp, Cmp, Op, Prefer, Program, Selector, Value};
use crate::seq::range::value_width;
use crate::seq::word::Word;

/// How one run of positions gets its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// One value.
    Const(i64),
    /// The position index plus this offset.
    Affine(i64),
    /// Read from this node's stored column.
    Col(usize),
}

/// A column as runs: `(end, piece)` with increasing ends, the last one the canvas length; run r
/// covers the positions from the previous end (0 for the first) to `end`.
type Runs = Vec<(usize, Piece)>;

/// What a node is, from the program alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Not computed by the everywhere pass (a late node, or needed nowhere).
    Skip,
    /// The same constant on every canvas.
    Static(i64),
    /// The position index plus a constant.
    Affine(i64),
    /// A function of the position's token, its index and constants: a stored column kept
    /// across steps.
    Local,
    /// Anything else: runs rebuilt every step.
    Dynamic,
}

/// The positions of a token-local key shape, grouped by key, kept across steps.
struct LocalIndex {
    shape: (usize, Option<usize>),
    groups: WordMap<(i64, i64), BTreeSet<usize>>,
}

/// This step's index of a key shape that is not token-local: per key, its positions as ranges.
type RunIndex = WordMap<(i64, i64), Vec<(usize, usize)>>;

/// The members of one key group.
#[derive(Clone, Copy)]
enum Members<'a> {
    Set(&'a BTreeSet<usize>),
    Ranges(&'a [(usize, usize)]),
}

impl Members<'_> {
    /// The first member in `lo..hi`.
    fn first(self, lo: usize, hi: usize) -> Option<usize> {
        match self {
            Members::Set(s) => s.range(lo..hi).next().copied(),
            Members::Ranges(r) => {
                let k = r.partition_point(|&(_, e)| e <= lo);
                r.get(k).map(|&(s, _)| s.max(lo)).filter(|&j| j < hi)
            }
        }
    }

    /// The last member in `lo..hi`.
    fn last(self, lo: usize, hi: usize) -> Option<usize> {
        match self {
            Members::Set(s) => s.range(lo..hi).next_back().copied(),
            Members::Ranges(r) => {
                let k = r.partition_point(|&(s, _)| s < hi);
                k.checked_sub(1)
                    .map(|k| (r[k].1 - 1).min(hi - 1))
                    .filter(|&j| j >= lo)
            }
        }
    }

    /// Calls `f` on every member in `lo..hi`, in increasing order.
    fn each<E>(
        self,
        lo: usize,
        hi: usize,
        mut f: impl FnMut(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Members::Set(s) => {
                for &j in s.range(lo..hi) {
                    f(j)?;
                }
            }
            Members::Ranges(r) => {
                let k = r.partition_point(|&(_, e)| e <= lo);
                for &(s, e) in &r[k..] {
                    if s >= hi {
                        break;
                    }
                    for j in s.max(lo)..e.min(hi) {
                        f(j)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The positions j with `j cmp i`, as `lo..hi` (no condition: every position).
fn bounds(cmp: Option<Cmp>, i: usize) -> (usize, usize) {
    match cmp {
        None => (0, usize::MAX),
        Some(Cmp::Lt) => (0, i),
        Some(Cmp::Le) => (0, i + 1),
        Some(Cmp::Gt) => (i + 1, usize::MAX),
        Some(Cmp::Ge) => (i, usize::MAX),
        Some(Cmp::Eq) => (i, i + 1),
    }
}

/// Appends a run, merged with the last one when they are the same piece.
fn push(out: &mut Runs, end: usize, p: Piece) {
    match out.last_mut() {
        Some(last) if last.1 == p => last.0 = end,
        _ => out.push((end, p)),
    }
}

/// The value of piece `p` at position `i`.
#[inline]
fn piece_at(cols: &[Vec<i64>], p: Piece, i: usize) -> i64 {
    match p {
        Piece::Const(c) => c,
        Piece::Affine(b) => i as i64 + b,
        Piece::Col(k) => cols[k][i],
    }
}

/// The value of `runs` at position `i`.
fn runs_at(cols: &[Vec<i64>], runs: &Runs, i: usize) -> i64 {
    let r = runs.partition_point(|&(end, _)| end <= i);
    piece_at(cols, runs[r].1, i)
}

/// Calls `f(start, end, pieces)` on every maximal stretch of positions where each of `ins` is
/// one piece.
fn segments(
    ins: &[&Runs],
    len: usize,
    mut f: impl FnMut(usize, usize, &[Piece]) -> Result<(), EvalError>,
) -> Result<(), EvalError> {
    let mut at = vec![0usize; ins.len()];
    let mut ps = vec![Piece::Const(0); ins.len()];
    let mut s = 0;
    while s < len {
        let mut e = len;
        for (k, r) in ins.iter().enumerate() {
            while r[at[k]].0 <= s {
                at[k] += 1;
            }
            ps[k] = r[at[k]].1;
            e = e.min(r[at[k]].0);
        }
        f(s, e, &ps)?;
        s = e;
    }
    Ok(())
}

/// A map of one position's input values (in `Op::inputs` order); `None` on overflow.
fn map_values(op: &Op, v: &[i64]) -> Option<i64> {
    Some(match op {
        Op::Unary(u, _) => unary(*u, v[0]),
        Op::Binary(b, _, _) => binary(*b, v[0], v[1])?,
        Op::Select(..) => {
            if v[0] != 0 {
                v[1]
            } else {
                v[2]
            }
        }
        Op::FirstOf { cases, .. } => {
            let k = (0..cases.len()).find(|&k| v[2 * k] != 0);
            k.map_or(v[2 * cases.len()], |k| v[2 * k + 1])
        }
        _ => return None,
    })
}

/// Splits `s..e` at `t` (clamped into it): `before` on the positions below t, `after` on the rest.
fn split(out: &mut Runs, s: usize, e: usize, t: i128, before: i64, after: i64) {
    let t = t.clamp(s as i128, e as i128) as usize;
    if t > s {
        push(out, t, Piece::Const(before));
    }
    if e > t {
        push(out, e, Piece::Const(after));
    }
}

/// The incremental evaluation's state: the program's classes and needs, the token-local columns
/// and key indexes of the canvas last seen, and the positions changed since.
pub(crate) struct Incremental {
    demand: Demand,
    class: Vec<Class>,
    /// Each node's inputs (`Op::inputs`).
    inputs: Vec<Vec<Value>>,
    /// Token-local nodes the everywhere pass computes, in node order.
    locals: Vec<usize>,
    indexes: Vec<LocalIndex>,
    /// Key shape (token-local key nodes) -> its index in `indexes`.
    index_of: WordMap<(usize, Option<usize>), usize>,
    /// Stored columns by node: token-local nodes' (kept across steps) and, for other nodes,
    /// the values of their runs computed position by position.
    cols: Vec<Vec<i64>>,
    /// The canvas length the token-local columns and indexes describe (`None`: rebuild).
    synced: Option<usize>,
    /// The positions the last applied step changed (`None`: unknown, rebuild).
    changed: Option<Vec<usize>>,
    /// The widest token-local value in the stored columns, in bits.
    local_widest: u32,
    /// This step: whether the token-local columns were rebuilt, else the changed positions
    /// (increasing).
    rebuilt: bool,
    changed_now: Vec<usize>,
    /// Per node, the runs it computed position by position last step, with their input pieces.
    prev_dense: Vec<Vec<(usize, usize, Vec<Piece>)>>,
    /// Per node, this step: its stored column equals last step's at every unchanged position.
    stable: Vec<bool>,
    /// Indexes of key shapes that are not token-local, kept from step to step (by the place
    /// `Where::Kept` names).
    kept: Vec<Option<Kept>>,
    /// Per lookup and sum node, where its key shape's index is.
    node_index: Vec<Where>,
    /// Proposals made (stamps the kept indexes brought up to date).
    steps: u64,
}

/// Where a lookup's or sum's key index is: a token-local index (by place in `indexes`), or a
/// kept index of ranges (by place in `kept`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    /// Not a lookup or sum needed anywhere.
    None,
    Local(usize),
    Kept(usize),
}

/// A kept index of a key shape that is not token-local: the key nodes' runs it was built from,
/// its groups (ranges of positions by key), the key at each position computed one by one, and
/// the step it describes.
struct Kept {
    key_runs: Vec<Runs>,
    index: RunIndex,
    keys_at: Vec<(i64, i64)>,
    step: u64,
}

/// Removes position `j` from group `key`.
fn remove_point(index: &mut RunIndex, key: (i64, i64), j: usize) {
    let Some(g) = index.get_mut(&key) else {
        return;
    };
    let k = g.partition_point(|&(_, e)| e <= j);
    if k < g.len() && g[k].0 <= j {
        let (s, e) = g[k];
        match (s == j, e == j + 1) {
            (true, true) => {
                g.remove(k);
            }
            (true, false) => g[k].0 = j + 1,
            (false, true) => g[k].1 = j,
            (false, false) => {
                g[k].1 = j;
                g.insert(k + 1, (j + 1, e));
            }
        }
    }
    if g.is_empty() {
        index.remove(&key);
    }
}

/// Adds position `j` (not in it yet) to group `key`.
fn insert_point(index: &mut RunIndex, key: (i64, i64), j: usize) {
    let g = index.entry(key).or_default();
    let k = g.partition_point(|&(s, _)| s <= j);
    let join_prev = k > 0 && g[k - 1].1 == j;
    let join_next = k < g.len() && g[k].0 == j + 1;
    match (join_prev, join_next) {
        (true, true) => {
            g[k - 1].1 = g[k].1;
            g.remove(k);
        }
        (true, false) => g[k - 1].1 = j + 1,
        (false, true) => g[k].0 = j,
        (false, false) => g.insert(k, (j, j + 1)),
    }
}

impl std::fmt::Debug for Incremental {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incremental")
            .field("locals", &self.locals.len())
            .field("indexes", &self.indexes.len())
            .field("synced", &self.synced)
            .finish()
    }
}

impl Clone for Incremental {
    /// A fresh state for the same program: nothing kept (the next proposal rebuilds).
    fn clone(&self) -> Self {
        Incremental {
            demand: self.demand.clone(),
            class: self.class.clone(),
            inputs: self.inputs.clone(),
            locals: self.locals.clone(),
            indexes: self
                .indexes
                .iter()
                .map(|x| LocalIndex {
                    shape: x.shape,
                    groups: WordMap::default(),
                })
                .collect(),
            index_of: self.index_of.clone(),
            node_index: self.node_index.clone(),
            cols: vec![Vec::new(); self.cols.len()],
            synced: None,
            changed: None,
            local_widest: 0,
            rebuilt: true,
            changed_now: Vec::new(),
            prev_dense: vec![Vec::new(); self.cols.len()],
            stable: vec![false; self.cols.len()],
            kept: (0..self.kept.len()).map(|_| None).collect(),
            steps: 0,
        }
    }
}

impl Incremental {
    /// The classes of `program`'s nodes and the key shapes to keep indexed.
    pub(crate) fn of(program: &Program, demand: Demand) -> Self {
        let n = program.nodes.len();
        let mut class = vec![Class::Skip; n];
        for (k, op) in program.nodes.iter().enumerate() {
            if demand.need[k] != Need::Everywhere {
                continue;
            }
            let ins: Vec<Class> = op.inputs().iter().map(|v| class[v.index()]).collect();
            let statics: Option<Vec<i64>> = ins
                .iter()
                .map(|c| match c {
                    Class::Static(v) => Some(*v),
                    _ => None,
                })
                .collect();
            class[k] = match op {
                Op::Const(c) => Class::Static(*c),
                Op::Index => Class::Affine(0),
                Op::Field(_) | Op::IsMask => Class::Local,
                Op::Length | Op::Lookup { .. } | Op::Sum { .. } => Class::Dynamic,
                _ => match (statics.and_then(|v| map_values(op, &v)), op, ins.as_slice()) {
                    (Some(v), _, _) => Class::Static(v),
                    (
                        None,
                        Op::Binary(BinaryOp::Add, _, _),
                        &[Class::Affine(b), Class::Static(c)],
                    )
                    | (
                        None,
                        Op::Binary(BinaryOp::Add, _, _),
                        &[Class::Static(c), Class::Affine(b)],
                    ) => b.checked_add(c).map_or(Class::Local, Class::Affine),
                    (
                        None,
                        Op::Binary(BinaryOp::Sub, _, _),
                        &[Class::Affine(b), Class::Static(c)],
                    ) => b.checked_sub(c).map_or(Class::Local, Class::Affine),
                    _ if ins.iter().all(|c| {
                        matches!(c, Class::Static(_) | Class::Affine(_) | Class::Local)
                    }) =>
                    {
                        Class::Local
                    }
                    _ => Class::Dynamic,
                },
            };
        }
        let locals: Vec<usize> = (0..n).filter(|&k| class[k] == Class::Local).collect();
        // Key shapes kept indexed: token-local selector keys, and token-local sides of
        // equalities with a value that changes from step to step.
        let mut shapes: Vec<(usize, Option<usize>)> = Vec::new();
        let local = |v: Value| class[v.index()] == Class::Local;
        for (k, op) in program.nodes.iter().enumerate() {
            match op {
                Op::Lookup { select, .. } | Op::Sum { select, .. }
                    if demand.need[k] != Need::Nowhere
                        && local(select.key)
                        && select.pair.is_none_or(|(k2, _)| local(k2)) =>
                {
                    shapes.push((select.key.index(), select.pair.map(|(k2, _)| k2.index())));
                }
                Op::Binary(BinaryOp::Eq | BinaryOp::Ne, a, b) if class[k] == Class::Dynamic => {
                    for (x, y) in [(a, b), (b, a)] {
                        if local(*x) && class[y.index()] == Class::Dynamic {
                            shapes.push((x.index(), None));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut index_of = WordMap::default();
        let mut indexes = Vec::new();
        for shape in shapes {
            index_of.entry(shape).or_insert_with(|| {
                indexes.push(LocalIndex {
                    shape,
                    groups: WordMap::default(),
                });
                indexes.len() - 1
            });
        }
        let mut node_index = vec![Where::None; n];
        let mut kept_places: WordMap<KeyShape, usize> = WordMap::default();
        for (k, op) in program.nodes.iter().enumerate() {
            if let Op::Lookup { select, .. } | Op::Sum { select, .. } = op {
                if demand.need[k] == Need::Nowhere {
                    continue;
                }
                let shape = key_shape(select);
                let local = (shape.0.index(), shape.1.map(Value::index));
                node_index[k] = match index_of.get(&local) {
                    Some(&id) => Where::Local(id),
                    None => {
                        let next = kept_places.len();
                        Where::Kept(*kept_places.entry(shape).or_insert(next))
                    }
                };
            }
        }
        Incremental {
            demand,
            class,
            node_index,
            inputs: program.nodes.iter().map(Op::inputs).collect(),
            locals,
            indexes,
            index_of,
            cols: vec![Vec::new(); n],
            synced: None,
            changed: None,
            local_widest: 0,
            rebuilt: true,
            changed_now: Vec::new(),
            prev_dense: vec![Vec::new(); n],
            stable: vec![false; n],
            kept: (0..kept_places.len()).map(|_| None).collect(),
            steps: 0,
        }
    }

    /// Records a step the runner applied to the canvas last proposed for: the unmasked and
    /// remasked positions changed; an insert or a delete moves positions, so everything is
    /// rebuilt.
    pub(crate) fn applied(&mut self, actions: &[Action]) {
        let moved = actions
            .iter()
            .any(|a| a.inserted || a.op == PositionOp::Delete);
        self.changed = (!moved && self.synced == Some(actions.len())).then(|| {
            (0..actions.len())
                .filter(|&i| matches!(actions[i].op, PositionOp::Unmask | PositionOp::Remask))
                .collect()
        });
    }

    /// Token-local node `k` at position `i`, from its inputs' stored columns.
    fn local_at(&self, program: &Program, k: usize, x: &[Token<Word>], i: usize) -> Option<i64> {
        let op = &program.nodes[k];
        match op {
            Op::Field(f) => return Some(x[i].symbol().map_or(0, |w| w.0[*f])),
            Op::IsMask => return Some(i64::from(x[i].is_mask())),
            _ => {}
        }
        let mut v = [0i64; 3];
        let mut many = Vec::new();
        let ins = op.inputs();
        let vals: &mut [i64] = if ins.len() <= 3 {
            &mut v[..ins.len()]
        } else {
            many.resize(ins.len(), 0);
            &mut many
        };
        for (slot, input) in vals.iter_mut().zip(&ins) {
            *slot = match self.class[input.index()] {
                Class::Static(c) => c,
                Class::Affine(b) => (i as i64).checked_add(b)?,
                _ => self.cols[input.index()][i],
            };
        }
        map_values(op, vals)
    }

    /// Computes token-local column `k` over the whole canvas column-wise (a rebuild), with its
    /// range check. Returns false, having checked nothing, where only the position-by-position
    /// path applies (an affine input, a first-of, an overflow).
    fn rebuild_column(
        &mut self,
        program: &Program,
        k: usize,
        x: &[Token<Word>],
    ) -> Result<bool, EvalError> {
        let mut col = std::mem::take(&mut self.cols[k]);
        let done = match &program.nodes[k] {
            Op::Field(f) => {
                for (o, t) in col.iter_mut().zip(x) {
                    *o = t.symbol().map_or(0, |w| w.0[*f]);
                }
                true
            }
            Op::IsMask => {
                for (o, t) in col.iter_mut().zip(x) {
                    *o = i64::from(t.is_mask());
                }
                true
            }
            op => {
                let ps: Vec<Piece> = self.inputs[k]
                    .iter()
                    .map(|v| match self.class[v.index()] {
                        Class::Static(c) => Piece::Const(c),
                        Class::Affine(b) => Piece::Affine(b),
                        _ => Piece::Col(v.index()),
                    })
                    .collect();
                let len = col.len();
                dense_columns(op, &ps, &self.cols, 0, len, &mut col)
            }
        };
        let checked = if done {
            check_run(program, k, 0, &col)
        } else {
            Ok(0)
        };
        self.cols[k] = col;
        self.local_widest = self.local_widest.max(checked?);
        Ok(done)
    }

    /// Brings the token-local columns and indexes to `x`: at the changed positions when the
    /// runner reported them, else everywhere. Returns nothing; records the widest value.
    fn sync(&mut self, program: &Program, x: &[Token<Word>]) -> Result<(), EvalError> {
        let len = x.len();
        let changed = self.changed.take();
        let previous = self.synced.take();
        let (rebuild, positions): (bool, Vec<usize>) = match (previous, changed) {
            (Some(l), Some(c)) if l == len => (false, c),
            _ => {
                for k in &self.locals {
                    self.cols[*k].clear();
                    self.cols[*k].resize(len, 0);
                }
                for index in &mut self.indexes {
                    index.groups.clear();
                }
                self.local_widest = 0;
                (true, (0..len).collect())
            }
        };
        for &i in &positions {
            if let Token::Sym(w) = &x[i] {
                if w.0.len() != program.fields {
                    return Err(EvalError::WordShape {
                        position: i,
                        found: w.0.len(),
                        expected: program.fields,
                    });
                }
            }
        }
        let key = |cols: &[Vec<i64>], shape: (usize, Option<usize>), i: usize| {
            (cols[shape.0][i], shape.1.map_or(0, |k2| cols[k2][i]))
        };
        if !rebuild {
            for &i in &positions {
                for index in &mut self.indexes {
                    let q = key(&self.cols, index.shape, i);
                    if let Some(g) = index.groups.get_mut(&q) {
                        g.remove(&i);
                        if g.is_empty() {
                            index.groups.remove(&q);
                        }
                    }
                }
            }
        }
        for place in 0..self.locals.len() {
            let k = self.locals[place];
            if rebuild && self.rebuild_column(program, k, x)? {
                continue;
            }
            let range = program.ranges.get(k).copied();
            for &i in &positions {
                let v = self.local_at(program, k, x, i).ok_or(EvalError::Overflow {
                    node: k,
                    position: i,
                })?;
                if let Some((lo, hi)) = range.filter(|&(lo, hi)| v < lo || v > hi) {
                    return Err(EvalError::OutOfRange {
                        node: k,
                        position: i,
                        value: v,
                        lo,
                        hi,
                    });
                }
                self.local_widest = self.local_widest.max(value_width(v));
                self.cols[k][i] = v;
            }
        }
        for &i in &positions {
            for index in &mut self.indexes {
                let q = key(&self.cols, index.shape, i);
                index.groups.entry(q).or_default().insert(i);
            }
        }
        self.rebuilt = rebuild;
        self.changed_now = if rebuild { Vec::new() } else { positions };
        self.synced = Some(len);
        Ok(())
    }

    /// One proposal: the control bits at every position, the tokens where a mask is unmasked
    /// (empty words elsewhere), the widest value in bits and the stored columns held.
    pub(crate) fn propose(
        &mut self,
        program: &Program,
        x: &[Token<Word>],
    ) -> Result<(Proposal<Word>, u32, ColumnUse), EvalError> {
        let len = x.len();
        if len == 0 {
            self.synced = None;
            return Ok((
                Proposal {
                    tokens: Vec::new(),
                    bits: Vec::new(),
                },
                0,
                ColumnUse {
                    peak_columns: 0,
                    len,
                },
            ));
        }
        self.sync(program, x)?;
        self.steps += 1;
        let mut step = Step {
            program,
            len,
            runs: vec![Vec::new(); program.nodes.len()],
            widest: self.local_widest,
            picked: Default::default(),
        };
        for node in 0..program.nodes.len() {
            self.stable[node] = match self.class[node] {
                Class::Local => !self.rebuilt,
                _ => true,
            };
            let runs = match self.class[node] {
                Class::Skip => continue,
                Class::Static(c) => {
                    step.widest = step.widest.max(check(program, node, 0, c)?);
                    vec![(len, Piece::Const(c))]
                }
                Class::Affine(b) => {
                    let p = Piece::Affine(b);
                    let w = check_piece(program, &self.cols, node, 0, len, p)?;
                    step.widest = step.widest.max(w);
                    vec![(len, p)]
                }
                Class::Local => vec![(len, Piece::Col(node))],
                Class::Dynamic => match &program.nodes[node] {
                    Op::Length => {
                        step.widest = step.widest.max(check(program, node, 0, len as i64)?);
                        vec![(len, Piece::Const(len as i64))]
                    }
                    Op::Lookup { .. } | Op::Sum { .. } => self.attention(&mut step, node)?,
                    _ => self.map(&mut step, node)?,
                },
            };
            step.runs[node] = runs;
        }
        let h = &program.heads;
        let mut bits = vec![ControlBits::default(); len];
        for (head, which) in [(h.remask, 0usize), (h.insert, 1), (h.delete, 2)] {
            let set = |b: &mut ControlBits, on: bool| match which {
                0 => b.remask = on,
                1 => b.insert = on,
                _ => b.delete = on,
            };
            let mut s = 0;
            for &(e, p) in &step.runs[head.index()] {
                let run = &mut bits[s..e];
                match p {
                    Piece::Const(c) => run.iter_mut().for_each(|b| set(b, c != 0)),
                    Piece::Col(k) => {
                        for (b, &v) in run.iter_mut().zip(&self.cols[k][s..e]) {
                            set(b, v != 0);
                        }
                    }
                    Piece::Affine(_) => {
                        for (i, b) in run.iter_mut().enumerate() {
                            set(b, piece_at(&self.cols, p, s + i) != 0);
                        }
                    }
                }
                s = e;
            }
        }
        let active: Vec<usize> = (0..len)
            .filter(|&i| x[i].is_mask() && !bits[i].remask && !bits[i].delete)
            .collect();
        let tokens = self.late(&mut step, x, &active)?;
        let held = self.cols.iter().filter(|c| c.len() == len).count();
        Ok((
            Proposal { tokens, bits },
            step.widest,
            ColumnUse {
                peak_columns: held,
                len,
            },
        ))
    }

    /// Brings the index of `select`'s key shape to this step, unless a token-local index
    /// serves it: updated at the changed positions when the key nodes' runs are last step's and
    /// their stored columns are stable, else built from the runs (a constant run is one range).
    fn ensure_index(&mut self, step: &Step<'_>, node: usize, select: &Selector) {
        let shape = key_shape(select);
        let Where::Kept(place) = self.node_index[node] else {
            return;
        };
        if self.kept[place]
            .as_ref()
            .is_some_and(|k| k.step == self.steps)
        {
            return;
        }
        let mut ins = vec![&step.runs[shape.0.index()]];
        if let Some(k2) = shape.1 {
            ins.push(&step.runs[k2.index()]);
        }
        let cols = &self.cols;
        let key_at = |ps: &[Piece], j: usize| {
            (
                piece_at(cols, ps[0], j),
                ps.get(1).map_or(0, |&p| piece_at(cols, p, j)),
            )
        };
        let stable = |r: &Runs| {
            r.iter().all(|&(_, p)| match p {
                Piece::Col(k) => self.stable[k],
                _ => true,
            })
        };
        let len = step.len;
        let update = !self.rebuilt
            && ins.iter().all(|r| stable(r))
            && self.kept[place].as_ref().is_some_and(|k| {
                k.keys_at.len() == len && k.key_runs.iter().zip(&ins).all(|(a, b)| a == *b)
            });
        if update {
            let kept = self.kept[place].as_mut().expect("checked above");
            for &j in &self.changed_now {
                let ps: Vec<Piece> = ins
                    .iter()
                    .map(|r| r[r.partition_point(|&(end, _)| end <= j)].1)
                    .collect();
                if ps.iter().all(|p| matches!(p, Piece::Const(_))) {
                    continue;
                }
                let (old, new) = (kept.keys_at[j], key_at(&ps, j));
                if old != new {
                    remove_point(&mut kept.index, old, j);
                    insert_point(&mut kept.index, new, j);
                    kept.keys_at[j] = new;
                }
            }
            kept.step = self.steps;
            return;
        }
        let mut index = RunIndex::default();
        let mut keys_at = vec![(0, 0); len];
        let mut add = |key: (i64, i64), s: usize, e: usize| {
            let g = index.entry(key).or_default();
            match g.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => g.push((s, e)),
            }
        };
        let _ = segments(&ins, len, |s, e, ps| {
            if ps.iter().all(|p| matches!(p, Piece::Const(_))) {
                add(key_at(ps, s), s, e);
            } else {
                for (j, at) in keys_at.iter_mut().enumerate().take(e).skip(s) {
                    *at = key_at(ps, j);
                    add(*at, j, j + 1);
                }
            }
            Ok(())
        });
        let key_runs = ins.iter().map(|r| (*r).clone()).collect();
        self.kept[place] = Some(Kept {
            key_runs,
            index,
            keys_at,
            step: self.steps,
        });
    }

    /// A map, run by run: folded, split or passed through where the rules allow, else computed
    /// position by position into the node's stored column.
    fn map(&mut self, step: &mut Step<'_>, node: usize) -> Result<Runs, EvalError> {
        let program = step.program;
        let op = &program.nodes[node];
        let len = step.len;
        let inputs = op.inputs();
        // Last step's values stay in the column: a run computed position by position over the
        // same positions from the same input pieces, whose stored inputs are stable, is
        // recomputed only where the canvas changed.
        let mut col = std::mem::take(&mut self.cols[node]);
        let prev = std::mem::take(&mut self.prev_dense[node]);
        let mut dense: Vec<(usize, usize, Vec<Piece>)> = Vec::new();
        let mut stable = !self.rebuilt;
        let mut out: Runs = Vec::new();
        let mut widest = 0u32;
        let ins: Vec<&Runs> = inputs.iter().map(|v| &step.runs[v.index()]).collect();
        let mut vals = vec![0i64; inputs.len()];
        let state = &*self;
        let result = segments(&ins, len, |s, e, ps| {
            let before = out.len();
            if let Some(p) = state.rule(program, node, op, s, e, ps, &mut out)? {
                widest = widest.max(check_piece(program, &state.cols, node, s, e, p)?);
                push(&mut out, e, p);
                return Ok(());
            }
            if out.last().is_some_and(|&(end, _)| end == e) {
                // The rule split the run into constants: check each.
                for &(_, p) in &out[before.saturating_sub(1)..] {
                    if let Piece::Const(c) = p {
                        widest = widest.max(check(program, node, s, c)?);
                    }
                }
                return Ok(());
            }
            let same = !state.rebuilt
                && col.len() == len
                && ps.iter().all(|p| match p {
                    Piece::Col(k) => state.stable[*k],
                    _ => true,
                })
                && prev
                    .binary_search_by_key(&s, |d| d.0)
                    .is_ok_and(|k| prev[k].1 == e && prev[k].2 == ps);
            let mut compute = |i: usize, col: &mut Vec<i64>| -> Result<(), EvalError> {
                for (v, &p) in vals.iter_mut().zip(ps) {
                    *v = piece_at(&state.cols, p, i);
                }
                let v = map_values(op, &vals).ok_or(EvalError::Overflow { node, position: i })?;
                widest = widest.max(check(program, node, i, v)?);
                col[i] = v;
                Ok(())
            };
            if same {
                let from = state.changed_now.partition_point(|&j| j < s);
                for &i in state.changed_now[from..].iter().take_while(|&&j| j < e) {
                    compute(i, &mut col)?;
                }
            } else {
                stable = false;
                col.resize(len, 0);
                if !dense_columns(op, ps, &state.cols, s, e, &mut col) {
                    for i in s..e {
                        compute(i, &mut col)?;
                    }
                } else {
                    widest = widest.max(check_run(program, node, s, &col[s..e])?);
                }
            }
            dense.push((s, e, ps.to_vec()));
            push(&mut out, e, Piece::Col(node));
            Ok(())
        });
        step.widest = step.widest.max(widest);
        if dense.is_empty() {
            col = Vec::new();
        }
        self.cols[node] = col;
        self.prev_dense[node] = if result.is_ok() { dense } else { Vec::new() };
        self.stable[node] = stable;
        result.map(|()| out)
    }

    /// A run of a map computed without visiting its positions: `Some(piece)` for the whole run;
    /// `None` after pushing the run split into constant runs to `out`; `None` with `out`
    /// unchanged when no rule applies.
    #[allow(clippy::too_many_arguments)]
    fn rule(
        &self,
        program: &Program,
        node: usize,
        op: &Op,
        s: usize,
        e: usize,
        ps: &[Piece],
        out: &mut Runs,
    ) -> Result<Option<Piece>, EvalError> {
        use BinaryOp as B;
        use Piece::{Affine, Col, Const};
        let boolean = |p: Piece| match p {
            Col(k) => program
                .ranges
                .get(k)
                .is_some_and(|&(lo, hi)| lo >= 0 && hi <= 1),
            Const(c) => c == 0 || c == 1,
            Affine(_) => false,
        };
        if ps.iter().all(|p| matches!(p, Const(_))) {
            let vals: Vec<i64> = ps
                .iter()
                .map(|p| match p {
                    Const(c) => *c,
                    _ => 0,
                })
                .collect();
            let v = map_values(op, &vals).ok_or(EvalError::Overflow { node, position: s })?;
            return Ok(Some(Const(v)));
        }
        Ok(match (op, ps) {
            (Op::Select(..), &[Const(c), a, b]) => Some(if c != 0 { a } else { b }),
            (Op::Select(..), &[_, a, b]) if a == b => Some(a),
            (Op::FirstOf { cases, .. }, _) => {
                for k in 0..cases.len() {
                    match ps[2 * k] {
                        Const(0) => {}
                        Const(_) => return Ok(Some(ps[2 * k + 1])),
                        _ => return Ok(None),
                    }
                }
                Some(ps[2 * cases.len()])
            }
            (&Op::Binary(bop, ..), &[l, r]) => match (bop, l, r) {
                (B::And, Const(0), _) | (B::And, _, Const(0)) => Some(Const(0)),
                (B::And, Const(_), p) | (B::And, p, Const(_)) if boolean(p) => Some(p),
                (B::Or, Const(c), _) | (B::Or, _, Const(c)) if c != 0 => Some(Const(1)),
                (B::Or, Const(0), p) | (B::Or, p, Const(0)) if boolean(p) => Some(p),
                (B::Add, Const(0), p) | (B::Add, p, Const(0)) | (B::Sub, p, Const(0)) => Some(p),
                (B::Add, Affine(b), Const(c)) | (B::Add, Const(c), Affine(b)) => {
                    affine(b.checked_add(c), s, e)
                }
                (B::Sub, Affine(b), Const(c)) => affine(b.checked_sub(c), s, e),
                (B::Mul | B::MulSat, Const(0), _) | (B::Mul | B::MulSat, _, Const(0)) => {
                    Some(Const(0))
                }
                (B::Mul | B::MulSat, Const(1), p) | (B::Mul | B::MulSat, p, Const(1)) => Some(p),
                (B::Lt | B::Le | B::Eq | B::Ne, Affine(b), Const(c)) => {
                    compare_affine(bop, false, b, c, s, e, out);
                    None
                }
                (B::Lt | B::Le | B::Eq | B::Ne, Const(c), Affine(b)) => {
                    compare_affine(bop, true, b, c, s, e, out);
                    None
                }
                (B::Eq | B::Ne, Col(k), Const(c)) | (B::Eq | B::Ne, Const(c), Col(k)) => {
                    let Some(&id) = self.index_of.get(&(k, None)) else {
                        return Ok(None);
                    };
                    let (hit, miss) = if bop == B::Eq { (1, 0) } else { (0, 1) };
                    let mut at = s;
                    if let Some(group) = self.indexes[id].groups.get(&(c, 0)) {
                        for &j in group.range(s..e) {
                            if j > at {
                                push(out, j, Const(miss));
                            }
                            push(out, j + 1, Const(hit));
                            at = j + 1;
                        }
                    }
                    if e > at {
                        push(out, e, Const(miss));
                    }
                    None
                }
                _ => None,
            },
            _ => None,
        })
    }

    /// A lookup or a sum: a run whose query is one constant (and no position condition) is
    /// answered once for every run with that query; other runs position by position, from the
    /// key shape's index.
    fn attention(&mut self, step: &mut Step<'_>, node: usize) -> Result<Runs, EvalError> {
        let program = step.program;
        let op = &program.nodes[node];
        let len = step.len;
        let (select, default) = match op {
            Op::Lookup {
                select, default, ..
            } => (select, Some(*default)),
            Op::Sum { select, .. } => (select, None),
            _ => unreachable!("attention nodes only"),
        };
        self.ensure_index(step, node, select);
        let mut ins: Vec<Value> = vec![select.query];
        if let Some((_, q2)) = select.pair {
            ins.push(q2);
        }
        if let Some(d) = default {
            ins.push(d);
        }
        let queries = ins.len() - usize::from(default.is_some());
        let mut col = std::mem::take(&mut self.cols[node]);
        col.clear();
        let mut out: Runs = Vec::new();
        let mut cache: WordMap<(i64, i64), Option<Option<i64>>> = WordMap::default();
        let mut widest = 0u32;
        let view = &*step;
        let insr: Vec<&Runs> = ins.iter().map(|v| &view.runs[v.index()]).collect();
        let state = &*self;
        let result = segments(&insr, len, |s, e, ps| {
            let query = |i: usize| {
                (
                    piece_at(&state.cols, ps[0], i),
                    if queries == 2 {
                        piece_at(&state.cols, ps[1], i)
                    } else {
                        0
                    },
                )
            };
            let fixed = select.position.is_none()
                && ps[..queries].iter().all(|p| matches!(p, Piece::Const(_)));
            if fixed {
                let q = query(s);
                let answer = *cache
                    .entry(q)
                    .or_insert_with(|| view.answer(state, node, select, q, None));
                match answer {
                    None => return Err(EvalError::Overflow { node, position: s }),
                    Some(Some(v)) => {
                        widest = widest.max(check(program, node, s, v)?);
                        push(&mut out, e, Piece::Const(v));
                    }
                    Some(None) => {
                        // Nothing selected: the default, read at each position of the run.
                        let p = ps[ps.len() - 1];
                        widest = widest.max(check_piece(program, &state.cols, node, s, e, p)?);
                        push(&mut out, e, p);
                    }
                }
                return Ok(());
            }
            if col.len() != len {
                col.resize(len, 0);
            }
            for (i, slot) in col.iter_mut().enumerate().take(e).skip(s) {
                let v = match view.answer(state, node, select, query(i), Some(i)) {
                    None => return Err(EvalError::Overflow { node, position: i }),
                    Some(Some(v)) => v,
                    Some(None) => piece_at(&state.cols, ps[ps.len() - 1], i),
                };
                widest = widest.max(check(program, node, i, v)?);
                *slot = v;
            }
            push(&mut out, e, Piece::Col(node));
            Ok(())
        });
        // Its column is rewritten wherever it is read: stable only when it holds none.
        if col.len() != len {
            col = Vec::new();
        }
        self.stable[node] = col.is_empty();
        self.cols[node] = col;
        step.widest = step.widest.max(widest);
        result.map(|()| out)
    }

    /// The late nodes at the unmasked positions `active`, and the proposal's tokens.
    fn late(
        &mut self,
        step: &mut Step<'_>,
        x: &[Token<Word>],
        active: &[usize],
    ) -> Result<Vec<Word>, EvalError> {
        let program = step.program;
        for place in 0..self.demand.late.len() {
            let node = self.demand.late[place];
            if let Op::Lookup { select, .. } | Op::Sum { select, .. } = &program.nodes[node] {
                self.ensure_index(step, node, select);
            }
        }
        let demand = &self.demand;
        let view = &*step;
        let m = active.len();
        let mut widest = 0u32;
        // The everywhere-nodes late nodes read, and the token heads, at the active positions.
        let mut early: Vec<Vec<i64>> = vec![Vec::new(); program.nodes.len()];
        let heads = program.heads.token.iter().map(|v| v.index());
        for v in (0..program.nodes.len())
            .filter(|&v| demand.read_late[v])
            .chain(heads)
        {
            if demand.slot[v] == usize::MAX && early[v].is_empty() && m > 0 {
                let runs = &view.runs[v];
                let mut r = 0;
                early[v] = active
                    .iter()
                    .map(|&i| {
                        while runs[r].0 <= i {
                            r += 1;
                        }
                        piece_at(&self.cols, runs[r].1, i)
                    })
                    .collect();
            }
        }
        let mut vals: Vec<Vec<i64>> = vec![Vec::new(); demand.late.len()];
        let mut free: Vec<Vec<i64>> = Vec::new();
        let mut buf: Vec<i64> = Vec::new();
        for (place, &node) in demand.late.iter().enumerate() {
            let at =
                |vals: &Vec<Vec<i64>>, v: Value, r: usize| late_value(demand, &early, vals, v, r);
            let op = &program.nodes[node];
            let inputs = &self.inputs[node];
            let mut column = free.pop().unwrap_or_default();
            column.clear();
            let slice = |v: &Value| -> &[i64] {
                match demand.slot[v.index()] {
                    usize::MAX => &early[v.index()],
                    s => &vals[s],
                }
            };
            // Maps column-wise over the active positions where no value can overflow.
            let fast = match (op, inputs.as_slice()) {
                (&Op::Unary(u, _), [a]) => {
                    column.extend(slice(a).iter().map(|&a| unary(u, a)));
                    true
                }
                (Op::Select(..), [c, a, b]) => {
                    let (c, a, b) = (slice(c), slice(a), slice(b));
                    column.extend((0..m).map(|r| if c[r] != 0 { a[r] } else { b[r] }));
                    true
                }
                (&Op::Binary(b, ..), [l, r]) => {
                    let (l, r) = (slice(l), slice(r));
                    let mut ok = true;
                    column.extend(l.iter().zip(r).map(|(&l, &r)| {
                        binary(b, l, r).unwrap_or_else(|| {
                            ok = false;
                            0
                        })
                    }));
                    if !ok {
                        column.clear();
                    }
                    ok
                }
                _ => false,
            };
            if fast {
                let w = check_run(program, node, 0, &column).map_err(|e| e.at_positions(active))?;
                widest = widest.max(w);
            }
            for (r, &i) in active.iter().enumerate().filter(|_| !fast) {
                let v = match op {
                    Op::Field(k) => x[i].symbol().map_or(0, |w| w.0[*k]),
                    Op::IsMask => i64::from(x[i].is_mask()),
                    Op::Index => i as i64,
                    Op::Length => x.len() as i64,
                    Op::Const(c) => *c,
                    Op::Lookup { select, .. } | Op::Sum { select, .. } => {
                        let q = (
                            at(&vals, select.query, r),
                            select.pair.map_or(0, |(_, q2)| at(&vals, q2, r)),
                        );
                        match view.answer(self, node, select, q, Some(i)) {
                            None => return Err(EvalError::Overflow { node, position: i }),
                            Some(Some(v)) => v,
                            Some(None) => match op {
                                Op::Lookup { default, .. } => at(&vals, *default, r),
                                _ => 0,
                            },
                        }
                    }
                    _ => {
                        buf.clear();
                        buf.extend(inputs.iter().map(|&v| at(&vals, v, r)));
                        map_values(op, &buf).ok_or(EvalError::Overflow { node, position: i })?
                    }
                };
                widest = widest.max(check(program, node, i, v)?);
                column.push(v);
            }
            vals[place] = column;
            for v in inputs {
                let s = demand.slot[v.index()];
                if s != usize::MAX && demand.last_read[s] == place {
                    free.push(std::mem::take(&mut vals[s]));
                }
            }
        }
        let mut tokens = vec![Word(Vec::new()); x.len()];
        for (r, &i) in active.iter().enumerate() {
            tokens[i] = Word(
                program
                    .heads
                    .token
                    .iter()
                    .map(|&v| late_value(demand, &early, &vals, v, r))
                    .collect(),
            );
        }
        step.widest = step.widest.max(widest);
        Ok(tokens)
    }
}

/// Node `v`'s value at the `r`-th active position: its late values, or the everywhere-node's
/// values gathered there (`early`).
fn late_value(demand: &Demand, early: &[Vec<i64>], vals: &[Vec<i64>], v: Value, r: usize) -> i64 {
    match demand.late_slot(v) {
        Some(s) => vals[s][r],
        None => early[v.index()][r],
    }
}

/// Computes run `s..e` of a map whose inputs are stored columns or constants, column-wise (no
/// per-position dispatch on the pieces). Returns false on any other shape or on an overflow;
/// the caller then computes the run position by position (and reports the overflow there).
fn dense_columns(
    op: &Op,
    ps: &[Piece],
    cols: &[Vec<i64>],
    s: usize,
    e: usize,
    out: &mut [i64],
) -> bool {
    use Piece::{Col, Const};
    let out = &mut out[s..e];
    let col = |k: usize| &cols[k][s..e];
    match (op, ps) {
        (&Op::Unary(u, _), &[Col(a)]) => {
            for (o, &a) in out.iter_mut().zip(col(a)) {
                *o = unary(u, a);
            }
            true
        }
        (&Op::Binary(b, ..), &[l, r]) => {
            let mut ok = true;
            match (l, r) {
                (Col(a), Col(c)) => {
                    for ((o, &x), &y) in out.iter_mut().zip(col(a)).zip(col(c)) {
                        match binary(b, x, y) {
                            Some(v) => *o = v,
                            None => ok = false,
                        }
                    }
                }
                (Col(a), Const(y)) => {
                    for (o, &x) in out.iter_mut().zip(col(a)) {
                        match binary(b, x, y) {
                            Some(v) => *o = v,
                            None => ok = false,
                        }
                    }
                }
                (Const(x), Col(c)) => {
                    for (o, &y) in out.iter_mut().zip(col(c)) {
                        match binary(b, x, y) {
                            Some(v) => *o = v,
                            None => ok = false,
                        }
                    }
                }
                _ => ok = false,
            }
            ok
        }
        (Op::Select(..), &[Col(c), a, b])
            if !matches!(a, Piece::Affine(_)) && !matches!(b, Piece::Affine(_)) =>
        {
            let at = |p: Piece, i: usize| match p {
                Col(k) => cols[k][i],
                Const(v) => v,
                Piece::Affine(_) => 0,
            };
            for (n, (o, &c)) in out.iter_mut().zip(col(c)).enumerate() {
                *o = if c != 0 { at(a, s + n) } else { at(b, s + n) };
            }
            true
        }
        _ => false,
    }
}

/// Checks a run's values (those of positions `s..`) against `node`'s range; returns the widest
/// in bits.
fn check_run(program: &Program, node: usize, s: usize, values: &[i64]) -> Result<u32, EvalError> {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for &v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if values.is_empty() {
        return Ok(0);
    }
    if let Some(&(rlo, rhi)) = program.ranges.get(node) {
        if lo < rlo || hi > rhi {
            let k = values.iter().position(|&v| v < rlo || v > rhi).unwrap_or(0);
            return check(program, node, s + k, values[k]);
        }
    }
    Ok(value_width(lo).max(value_width(hi)))
}

/// Affine runs whose offset did not overflow (and whose values fit at both ends).
fn affine(b: Option<i64>, s: usize, e: usize) -> Option<Piece> {
    let b = b?;
    (s as i64).checked_add(b)?;
    ((e - 1) as i64).checked_add(b)?;
    Some(Piece::Affine(b))
}

/// A comparison of the index plus `b` with the constant `c` (`swapped`: `c op (i + b)`), as
/// constant runs split where it changes.
fn compare_affine(op: BinaryOp, swapped: bool, b: i64, c: i64, s: usize, e: usize, out: &mut Runs) {
    // i + b against c  <=>  i against t = c - b.
    let t = i128::from(c) - i128::from(b);
    match (op, swapped) {
        // i < t
        (BinaryOp::Lt, false) => split(out, s, e, t, 1, 0),
        // i <= t
        (BinaryOp::Le, false) => split(out, s, e, t + 1, 1, 0),
        // t < i
        (BinaryOp::Lt, true) => split(out, s, e, t + 1, 0, 1),
        // t <= i
        (BinaryOp::Le, true) => split(out, s, e, t, 0, 1),
        (BinaryOp::Eq | BinaryOp::Ne, _) => {
            let (hit, miss) = if op == BinaryOp::Eq { (1, 0) } else { (0, 1) };
            split(out, s, e, t, miss, hit);
            // The positions from t on got `hit`; only t itself keeps it.
            if t >= s as i128 && t + 1 < e as i128 {
                let last = out.pop();
                debug_assert_eq!(last.map(|(end, _)| end), Some(e));
                push(out, (t + 1) as usize, Piece::Const(hit));
                push(out, e, Piece::Const(miss));
            }
        }
        _ => unreachable!("comparisons only"),
    }
}

/// Checks one value of `node` (at `position`) against its range; returns its width in bits.
fn check(program: &Program, node: usize, position: usize, v: i64) -> Result<u32, EvalError> {
    if let Some(&(lo, hi)) = program.ranges.get(node) {
        if v < lo || v > hi {
            return Err(EvalError::OutOfRange {
                node,
                position,
                value: v,
                lo,
                hi,
            });
        }
    }
    Ok(value_width(v))
}

/// Checks a whole run `s..e` of `node`: a constant once, an affine run at its two ends, a run
/// read from node k's column only where k's range is not inside this node's (k's values were
/// checked against k's range when computed). Returns the widest value checked, in bits.
fn check_piece(
    program: &Program,
    cols: &[Vec<i64>],
    node: usize,
    s: usize,
    e: usize,
    p: Piece,
) -> Result<u32, EvalError> {
    match p {
        Piece::Const(c) => check(program, node, s, c),
        Piece::Affine(_) => Ok(check(program, node, s, piece_at(cols, p, s))?.max(check(
            program,
            node,
            e - 1,
            piece_at(cols, p, e - 1),
        )?)),
        Piece::Col(k) => {
            let ranges = &program.ranges;
            let inside = match (ranges.get(k), ranges.get(node)) {
                (Some(&(a, b)), Some(&(lo, hi))) => lo <= a && b <= hi,
                (_, None) => true,
                (None, Some(_)) => false,
            };
            let mut widest = 0;
            if !inside {
                for (i, &v) in cols[k].iter().enumerate().take(e).skip(s) {
                    widest = widest.max(check(program, node, i, v)?);
                }
            }
            Ok(widest)
        }
    }
}

/// One step's evaluation: the program, the runs so far, this step's run indexes, the widest value.
struct Step<'p> {
    program: &'p Program,
    len: usize,
    runs: Vec<Runs>,
    widest: u32,
    /// The position each scanned lookup picked this step, by selector, preference, query and
    /// position bounds: lookups that differ only in the value they read share one scan.
    picked: std::cell::RefCell<WordMap<Pick, Option<usize>>>,
}

/// A scanned lookup's pick: selector, preference, query and the bounds of the positions.
type Pick = (Selector, Prefer, (i64, i64), usize, usize);

impl Step<'_> {
    /// The members of key group `q` of lookup or sum `node`'s key shape.
    fn members<'a>(
        &'a self,
        state: &'a Incremental,
        node: usize,
        q: (i64, i64),
    ) -> Option<Members<'a>> {
        match state.node_index[node] {
            Where::Local(id) => state.indexes[id].groups.get(&q).map(Members::Set),
            Where::Kept(place) => state.kept[place]
                .as_ref()
                .and_then(|x| x.index.get(&q))
                .map(|r| Members::Ranges(r)),
            Where::None => None,
        }
    }

    /// What lookup or sum `node` reads for query `q` at position `at` (`None`: no position
    /// condition applied): the looked-up value (`Some(None)`: nothing selected) or the sum;
    /// `None` when a sum overflows.
    fn answer(
        &self,
        state: &Incremental,
        node: usize,
        select: &Selector,
        q: (i64, i64),
        at: Option<usize>,
    ) -> Option<Option<i64>> {
        let cols = &state.cols;
        let (lo, hi) = match at {
            Some(i) => bounds(select.position, i),
            None => (0, usize::MAX),
        };
        let op = &self.program.nodes[node];
        let Some(members) = self.members(state, node, q) else {
            return Some(match op {
                Op::Sum { .. } => Some(0),
                _ => None,
            });
        };
        let value_of = |v: Value, j: usize| runs_at(cols, &self.runs[v.index()], j);
        match op {
            Op::Sum { value, .. } => {
                let mut total = 0i64;
                members
                    .each::<()>(lo, hi, |j| {
                        total = total.checked_add(value_of(*value, j)).ok_or(())?;
                        Ok(())
                    })
                    .ok()?;
                Some(Some(total))
            }
            Op::Lookup { prefer, value, .. } => {
                let best = match prefer {
                    Prefer::Latest => members.last(lo, hi),
                    Prefer::Earliest => members.first(lo, hi),
                    _ => {
                        let memo = (*select, *prefer, q, lo, hi);
                        if let Some(&best) = self.picked.borrow().get(&memo) {
                            return Some(best.map(|j| value_of(*value, j)));
                        }
                        let key = |j: usize| -> (i64, i64) {
                            match prefer {
                                Prefer::MaxBy(p) | Prefer::MinBy(p) => (value_of(*p, j), 0),
                                Prefer::MaxByPair(a, b) | Prefer::MinByPair(a, b) => {
                                    (value_of(*a, j), value_of(*b, j))
                                }
                                _ => (0, 0),
                            }
                        };
                        let max = matches!(prefer, Prefer::MaxBy(_) | Prefer::MaxByPair(..));
                        let mut best: Option<(usize, (i64, i64))> = None;
                        let _ = members.each::<()>(lo, hi, |j| {
                            let kj = key(j);
                            // Members come in increasing order: ties go to the later one for a
                            // maximum, to the earlier one for a minimum.
                            let take = match best {
                                None => true,
                                Some((_, kb)) => {
                                    if max {
                                        kj >= kb
                                    } else {
                                        kj < kb
                                    }
                                }
                            };
                            if take {
                                best = Some((j, kj));
                            }
                            Ok(())
                        });
                        let best = best.map(|(j, _)| j);
                        self.picked.borrow_mut().insert(memo, best);
                        best
                    }
                };
                Some(best.map(|j| value_of(*value, j)))
            }
            _ => Some(None),
        }
    }
}
