//! The seq IR: one decoding step's f as a closed set of position-wise maps, lookups and output heads.
//!
//! A program is a list of nodes in topological order; node k may only use nodes before it. Every
//! node holds one integer per position. Maps act on each position alone (an MLP computes them);
//! lookups and sums let each position read from others chosen by a selector (an attention head
//! computes them). The heads at the end give the proposed token and the three control bits.

use serde::{Deserialize, Serialize};

use super::range::{infer, width, Range};

/// A reference to an earlier node of the same program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Value(pub u32);

impl Value {
    /// The node index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One-argument position-wise functions. All are total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// -a.
    Neg,
    /// 1 if a == 0, else 0 (boolean not).
    Not,
    /// |a|.
    Abs,
    /// floor(log2 a) for a >= 1, and 0 for a <= 0.
    Log2,
}

/// Two-argument position-wise functions. All are total: division and remainder by zero give 0,
/// shift amounts are clamped to 0..=63; overflow of 64-bit integers is an evaluation error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// a + b.
    Add,
    /// a - b.
    Sub,
    /// a * b.
    Mul,
    /// floor(a / b); 0 when b == 0.
    Div,
    /// a - b * floor(a / b) (sign of b); 0 when b == 0.
    Mod,
    /// min(a, b).
    Min,
    /// max(a, b).
    Max,
    /// a == b as 0/1.
    Eq,
    /// a != b as 0/1.
    Ne,
    /// a < b as 0/1.
    Lt,
    /// a <= b as 0/1.
    Le,
    /// Both non-zero, as 0/1.
    And,
    /// Either non-zero, as 0/1.
    Or,
    /// Bitwise and.
    BitAnd,
    /// Bitwise or.
    BitOr,
    /// Bitwise exclusive or.
    BitXor,
    /// a << b (b clamped to 0..=63); overflow is an error.
    Shl,
    /// a >> b (arithmetic; b clamped to 0..=63).
    Shr,
    /// Euclidean quotient q with a = b*q + r, 0 <= r < |b|; 0 when b == 0 or on overflow.
    DivEuclid,
    /// Euclidean remainder r (0 <= r < |b|); 0 when b == 0.
    RemEuclid,
    /// a * b saturated to the 64-bit range.
    MulSat,
    /// a << b (b clamped to 0..=63) saturated to the 64-bit range when bits would be lost.
    ShlSat,
    /// A well-mixed hash of the pair (a, b) into 0..2^16 (`pram::round::draw`: the seeded
    /// CRCW-arbitrary draw, a function of two bounded inputs with a 16-bit output).
    Draw,
}

/// How a selector's position condition compares the attended position j with the position i.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cmp {
    /// j == i.
    Eq,
    /// j < i.
    Lt,
    /// j <= i.
    Le,
    /// j > i.
    Gt,
    /// j >= i.
    Ge,
}

impl Cmp {
    /// Whether `j cmp i` holds.
    pub fn holds(self, j: usize, i: usize) -> bool {
        match self {
            Cmp::Eq => j == i,
            Cmp::Lt => j < i,
            Cmp::Le => j <= i,
            Cmp::Gt => j > i,
            Cmp::Ge => j >= i,
        }
    }
}

/// Which of the selected positions a lookup reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefer {
    /// The selected position with the largest index.
    Latest,
    /// The selected position with the smallest index.
    Earliest,
    /// The selected position with the largest value of this node (ties: the latest).
    MaxBy(Value),
    /// The selected position with the smallest value of this node (ties: the earliest).
    MinBy(Value),
    /// The selected position with the largest pair of these nodes' values, compared
    /// lexicographically (ties: the latest).
    MaxByPair(Value, Value),
    /// The selected position with the smallest pair, lexicographically (ties: the earliest).
    MinByPair(Value, Value),
}

/// Which positions j a position i attends to: those where `key_j == query_i` (and, with a `pair`
/// `(key2, query2)`, also `key2_j == query2_i`: a tuple key, the concatenation of two bounded
/// values) and, if `position` is set, `j position i` (for example `Some(Cmp::Lt)`: only
/// positions before i).
///
/// The family is deliberately small so that one attention head realizes it with O(log n) width:
/// equality of binary-encoded keys is a bilinear score, and a position condition is a causal (or
/// reversed causal) attention mask. An equality on a pair of values is a tuple key (`pair`): the
/// query and key vectors concatenate both encodings, so no value is scaled to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selector {
    /// The equality key, read at j.
    pub key: Value,
    /// The equality query, read at i.
    pub query: Value,
    /// An optional condition on positions: `j cmp i`.
    pub position: Option<Cmp>,
    /// A second key and query `(key2, query2)`, matched together with the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<(Value, Value)>,
}

impl Selector {
    /// Positions whose `key` equals the query's `query`, with no position condition.
    pub fn eq(key: Value, query: Value) -> Selector {
        Selector {
            key,
            query,
            position: None,
            pair: None,
        }
    }
}

/// One node: how its per-position values are computed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Field k of the token at this position (0 on a mask).
    Field(usize),
    /// 1 if this position holds the mask, else 0.
    IsMask,
    /// This position's index, from 0.
    Index,
    /// The sequence length.
    Length,
    /// A constant.
    Const(i64),
    /// A one-argument map.
    Unary(UnaryOp, Value),
    /// A two-argument map.
    Binary(BinaryOp, Value, Value),
    /// `cond != 0 ? then : else`.
    Select(Value, Value, Value),
    /// The value of the first case whose condition is non-zero, else `default`: a priority
    /// encoder over n cases, one map (two MLP layers, `docs/seq.md`).
    FirstOf {
        /// (condition, value) in priority order.
        cases: Vec<(Value, Value)>,
        /// What a position where no condition holds gets.
        default: Value,
    },
    /// Reads `value` at the preferred selected position; `default` (read at i) if none is selected.
    Lookup {
        /// Which positions are selected.
        select: Selector,
        /// Which of them is read.
        prefer: Prefer,
        /// What is read there.
        value: Value,
        /// What a position with no selected position gets.
        default: Value,
    },
    /// The sum of `value` over all selected positions (0 if none).
    Sum {
        /// Which positions are selected.
        select: Selector,
        /// What is summed.
        value: Value,
    },
}

impl Op {
    /// The nodes this op reads.
    pub fn inputs(&self) -> Vec<Value> {
        let selector = |s: &Selector| {
            let mut v = vec![s.key, s.query];
            if let Some((k, q)) = s.pair {
                v.extend([k, q]);
            }
            v
        };
        match self {
            Op::Field(_) | Op::IsMask | Op::Index | Op::Length | Op::Const(_) => Vec::new(),
            Op::Unary(_, a) => vec![*a],
            Op::Binary(_, a, b) => vec![*a, *b],
            Op::Select(c, a, b) => vec![*c, *a, *b],
            Op::FirstOf { cases, default } => cases
                .iter()
                .flat_map(|&(c, v)| [c, v])
                .chain([*default])
                .collect(),
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => {
                let mut v = selector(select);
                v.extend([*value, *default]);
                match prefer {
                    Prefer::MaxBy(p) | Prefer::MinBy(p) => v.push(*p),
                    Prefer::MaxByPair(a, b) | Prefer::MinByPair(a, b) => v.extend([*a, *b]),
                    Prefer::Latest | Prefer::Earliest => {}
                }
                v
            }
            Op::Sum { select, value } => {
                let mut v = selector(select);
                v.push(*value);
                v
            }
        }
    }

    /// Whether this op is realized by attention (reads other positions).
    pub fn is_attention(&self) -> bool {
        matches!(self, Op::Lookup { .. } | Op::Sum { .. })
    }
}

/// The output heads: the proposed token's fields and the three control bits (non-zero = set).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Heads {
    /// One node per field of the proposed word.
    pub token: Vec<Value>,
    /// Remask bit.
    pub remask: Value,
    /// Insert bit.
    pub insert: Value,
    /// Delete bit.
    pub delete: Value,
}

/// A seq program: plain data from a closed operator set, serializable, with no closures.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Program {
    /// The number of fields of every word this program reads and writes.
    pub fields: usize,
    /// Nodes in topological order.
    pub nodes: Vec<Op>,
    /// Names of nodes, for traces and debugging (`(node, name)`, optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<(Value, String)>,
    /// The output heads.
    pub heads: Heads,
    /// Every node's value range `(lo, hi)` (see `range.rs`); both evaluators check every value
    /// against it. Empty: unchecked (hand-built test programs); a compiled program always has one
    /// range per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
}

/// A program that is not well formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// A node uses itself or a later node.
    #[error("node {node} uses node {input}, which is not before it")]
    ForwardReference {
        /// The node.
        node: usize,
        /// The input it names.
        input: usize,
    },
    /// A head or a field index is out of range.
    #[error("{what} refers to {index}, but the program has only {limit}")]
    OutOfRange {
        /// What refers.
        what: String,
        /// The index used.
        index: usize,
        /// The bound.
        limit: usize,
    },
}

/// Size and shape of a program, as a Transformer realizing it would need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Number of nodes (operators).
    pub nodes: usize,
    /// Attention nodes (heads).
    pub attention: usize,
    /// Position-wise map nodes.
    pub maps: usize,
    /// Attention depth: the longest chain of attention nodes (Transformer layers needed).
    pub attention_depth: usize,
    /// Map depth: the longest chain of maps between two attention layers.
    pub map_depth: usize,
    /// The widest declared range in bits (0 for an unranged program).
    pub width_bits: u32,
}

impl Program {
    /// Checks that every node only uses earlier nodes and that heads and fields are in range.
    pub fn validate(&self) -> Result<(), ProgramError> {
        for (k, op) in self.nodes.iter().enumerate() {
            for input in op.inputs() {
                if input.index() >= k {
                    return Err(ProgramError::ForwardReference {
                        node: k,
                        input: input.index(),
                    });
                }
            }
            if let Op::Field(f) = op {
                if *f >= self.fields {
                    return Err(ProgramError::OutOfRange {
                        what: format!("node {k} (field)"),
                        index: *f,
                        limit: self.fields,
                    });
                }
            }
        }
        if !self.ranges.is_empty() && self.ranges.len() != self.nodes.len() {
            return Err(ProgramError::OutOfRange {
                what: "the ranges (one per node)".into(),
                index: self.ranges.len(),
                limit: self.nodes.len(),
            });
        }
        if let Some(k) = self.ranges.iter().position(|r| r.0 > r.1) {
            return Err(ProgramError::OutOfRange {
                what: format!("node {k}'s range (empty)"),
                index: k,
                limit: self.nodes.len(),
            });
        }
        let h = &self.heads;
        if h.token.len() != self.fields {
            return Err(ProgramError::OutOfRange {
                what: "the token head (fields)".into(),
                index: h.token.len(),
                limit: self.fields,
            });
        }
        for v in h.token.iter().chain([&h.remask, &h.insert, &h.delete]) {
            if v.index() >= self.nodes.len() {
                return Err(ProgramError::OutOfRange {
                    what: "a head".into(),
                    index: v.index(),
                    limit: self.nodes.len(),
                });
            }
        }
        Ok(())
    }

    /// Counts operators and measures depth. Assumes a validated program.
    pub fn shape(&self) -> Shape {
        // layer[k]: attention layers needed before node k is available;
        // chain[k]: maps in a row ending at k since the last attention node.
        let mut layer = vec![0usize; self.nodes.len()];
        let mut chain = vec![0usize; self.nodes.len()];
        let mut map_depth = 0;
        for (k, op) in self.nodes.iter().enumerate() {
            let inputs = op.inputs();
            let deepest = inputs.iter().map(|v| layer[v.index()]).max().unwrap_or(0);
            if op.is_attention() {
                layer[k] = deepest + 1;
                chain[k] = 0;
            } else {
                layer[k] = deepest;
                let before = inputs
                    .iter()
                    .filter(|v| layer[v.index()] == deepest)
                    .map(|v| chain[v.index()])
                    .max()
                    .unwrap_or(0);
                chain[k] = if inputs.is_empty() { 0 } else { before + 1 };
                map_depth = map_depth.max(chain[k]);
            }
        }
        let attention = self.nodes.iter().filter(|op| op.is_attention()).count();
        Shape {
            nodes: self.nodes.len(),
            attention,
            maps: self.nodes.len() - attention,
            attention_depth: layer.iter().copied().max().unwrap_or(0),
            map_depth,
            width_bits: self.ranges.iter().map(|&r| width(r)).max().unwrap_or(0),
        }
    }

    /// The name given to a node, if any.
    pub fn name_of(&self, v: Value) -> Option<&str> {
        self.names
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, s)| s.as_str())
    }
}

/// Builds a program node by node; every method returns the new node's [`Value`].
#[derive(Clone, Debug)]
pub struct Builder {
    fields: usize,
    nodes: Vec<Op>,
    names: Vec<(Value, String)>,
    declared: Vec<Option<Range>>,
}

impl Builder {
    /// A builder for words of `fields` fields.
    pub fn new(fields: usize) -> Self {
        Builder {
            fields,
            nodes: Vec::new(),
            names: Vec::new(),
            declared: Vec::new(),
        }
    }

    /// Declares that `v` stays within `range` (narrower than its inferred range, where the
    /// compiler knows more than interval arithmetic); the evaluators check it.
    pub fn declare(&mut self, v: Value, range: Range) -> Value {
        if self.declared.len() <= v.index() {
            self.declared.resize(v.index() + 1, None);
        }
        let d = &mut self.declared[v.index()];
        *d = Some(match *d {
            Some(old) => super::range::intersect(old, range),
            None => range,
        });
        v
    }

    /// The number of nodes so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node was added yet.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds any op.
    pub fn push(&mut self, op: Op) -> Value {
        self.nodes.push(op);
        Value((self.nodes.len() - 1) as u32)
    }

    /// Names a node (for traces).
    pub fn name(&mut self, v: Value, name: &str) -> Value {
        self.names.push((v, name.to_string()));
        v
    }

    /// A constant.
    pub fn constant(&mut self, c: i64) -> Value {
        self.push(Op::Const(c))
    }

    /// Field k of the current token.
    pub fn field(&mut self, k: usize) -> Value {
        self.push(Op::Field(k))
    }

    /// 1 on masks.
    pub fn is_mask(&mut self) -> Value {
        self.push(Op::IsMask)
    }

    /// The position index.
    pub fn index(&mut self) -> Value {
        self.push(Op::Index)
    }

    /// The sequence length.
    pub fn length(&mut self) -> Value {
        self.push(Op::Length)
    }

    /// A one-argument map.
    pub fn unary(&mut self, op: UnaryOp, a: Value) -> Value {
        self.push(Op::Unary(op, a))
    }

    /// A two-argument map.
    pub fn binary(&mut self, op: BinaryOp, a: Value, b: Value) -> Value {
        self.push(Op::Binary(op, a, b))
    }

    /// `cond ? then : otherwise`.
    pub fn select(&mut self, cond: Value, then: Value, otherwise: Value) -> Value {
        self.push(Op::Select(cond, then, otherwise))
    }

    /// The value of the first case whose condition holds, else `default`.
    pub fn first_of(&mut self, cases: Vec<(Value, Value)>, default: Value) -> Value {
        self.push(Op::FirstOf { cases, default })
    }

    /// A lookup.
    pub fn lookup(
        &mut self,
        select: Selector,
        prefer: Prefer,
        value: Value,
        default: Value,
    ) -> Value {
        self.push(Op::Lookup {
            select,
            prefer,
            value,
            default,
        })
    }

    /// A sum over selected positions.
    pub fn sum(&mut self, select: Selector, value: Value) -> Value {
        self.push(Op::Sum { select, value })
    }

    /// Finishes the program with its heads and validates it (unranged: not checked).
    pub fn finish(self, heads: Heads) -> Result<Program, ProgramError> {
        let p = Program {
            fields: self.fields,
            nodes: self.nodes,
            names: self.names,
            heads,
            ranges: Vec::new(),
        };
        p.validate()?;
        Ok(p)
    }

    /// Finishes the program with every node's range: a field's range is the hull of `initial`
    /// (the field's values on the canvases the program starts from) and of the token head's range
    /// for that field, found as a fixed point of interval propagation (`range::infer`); a field
    /// still growing after 64 rounds gets the whole 64-bit range, so a missing declaration shows
    /// as a wide node, never as a wrong one. `max_length` bounds `Index` and `Length`.
    pub fn finish_ranged(
        self,
        heads: Heads,
        initial: &[Range],
        max_length: i64,
    ) -> Result<Program, ProgramError> {
        let mut p = self.clone().finish(heads)?;
        let mut fields: Vec<Range> = (0..self.fields)
            .map(|f| initial.get(f).copied().unwrap_or((0, 0)))
            .collect();
        // Widen fields to the heads' ranges until nothing changes. From round 4 on a field that
        // changes widens to the next power of two (same width in bits, and at most 64 such steps
        // per end); from round 4096 on it takes the whole 64-bit range. Both are absorbing, so
        // this ends.
        let pow2 = |(lo, hi): Range| -> Range {
            let up = |v: i64| match v {
                v if v <= 0 => v,
                v if v >= 1 << 62 => i64::MAX,
                v => (1i64 << (64 - v.leading_zeros())) - 1,
            };
            // A negative end -(2^k) takes the same k bits as the positive 2^k - 1.
            (if lo < 0 { !up(!lo) } else { lo }, up(hi))
        };
        for round in 0.. {
            let r = infer(&p.nodes, &self.declared, &fields, max_length);
            let mut changed = false;
            for (f, t) in fields.iter_mut().zip(&p.heads.token) {
                let next = super::range::union(*f, r[t.index()]);
                if next != *f {
                    changed = true;
                    *f = match round {
                        0..4 => next,
                        4..4096 => pow2(next),
                        _ => (i64::MIN, i64::MAX),
                    };
                }
            }
            if !changed {
                p.ranges = r;
                break;
            }
        }
        p.validate()?;
        Ok(p)
    }
}
