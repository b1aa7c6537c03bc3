//! Lowering: a ranged seq program to a circuit of exact ReLU gadgets and attention heads
//! (`docs/weights.md` states each construction; `proofs/weights.md` its margins).
//!
//! Every node's value is an affine form over wires that hold exact integers in f64 (no rounding
//! ever happens on them: every weight is a small dyadic number and every magnitude stays below
//! `EXACT` = 2^50). Attention outputs are the only approximate wires; the MLP right after each
//! head rounds them to exact bits with comparison units of margin 1/4. Linear maps (`Add`, `Sub`,
//! `Neg`, products with a constant) cost nothing: they only change forms.

use std::collections::HashMap;

use super::circuit::{Circuit, Expect, Feature, Form, TooWide, UnitSpec, Wire};
use crate::seq::range::{width, Range};
use crate::seq::{binary, BinaryOp, Cmp, Op, Prefer, Program, Selector, UnaryOp, Value};

/// Magnitudes above this are refused: below it, f64 holds every integer a gadget computes.
pub const EXACT: f64 = (1u64 << 50) as f64;

/// A comparison whose input may exceed this in magnitude has its 0/1 output re-rounded by one
/// more MLP sublayer (`[h >= 1]` on the flag h): under relative weight noise epsilon a
/// comparison of x is off by about `4 |x| epsilon`, a re-rounded one by about `4 epsilon`
/// (`proofs/weights.md`, Lemma 7).
pub const REROUND_ABOVE: f64 = 64.0;

/// What the lowering may use.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Options {
    /// The longest canvas the model must handle (position features and softmax margins).
    pub max_len: usize,
    /// Bits per digit of a lexicographic preference (one attention stage per digit).
    pub digit_bits: u32,
    /// Bits extracted per MLP sublayer when a value is decomposed into bits (2^(r+1) units).
    pub chunk_bits: u32,
    /// The most hidden units in one MLP sublayer.
    pub max_units: usize,
    /// The most jumps of a one-argument step function realized as a table of comparisons.
    pub max_jumps: usize,
    /// The most input values a table scans for its jumps (a build-time limit: the scan
    /// evaluates the function at every value of its argument's range).
    pub max_table_span: u64,
    /// The attention read error allowed (the rounding units tolerate 1/4).
    pub delta: f64,
}

impl Options {
    /// The defaults for canvases up to `max_len`.
    pub fn new(max_len: usize) -> Options {
        Options {
            max_len,
            digit_bits: 8,
            chunk_bits: 4,
            max_units: 4096,
            max_jumps: 1024,
            max_table_span: 1 << 24,
            delta: 0.125,
        }
    }
}

impl Options {
    /// The inverse temperature of every selecting head: `ln(2 (L_max + 1) / delta) + 1`,
    /// rounded up to a multiple of 1/8 (exact in f32), so that `(L_max + 1) e^(-beta)` is at
    /// most `delta / 2`.
    pub fn beta(&self) -> f64 {
        let b = ((self.max_len as f64 + 1.0) * 2.0 / self.delta).ln() + 1.0;
        (b * 8.0).ceil() / 8.0
    }
}

/// Why a program has no weights here.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LowerError {
    /// The program has no ranges (hand-built, unchecked): widths cannot be derived.
    #[error("the seq program has no value ranges; only ranged (compiled) programs get weights")]
    Unranged,
    /// An operator over these ranges has no construction here.
    #[error("node {node}: {what} is not realized by the weights stage: {why}")]
    Unsupported {
        /// The node.
        node: usize,
        /// The operator.
        what: String,
        /// Why.
        why: String,
    },
    /// A gadget's magnitudes would leave the exact range of f64.
    #[error(
        "node {node}: {what} needs magnitudes up to {magnitude:.3e}, over 2^50 (f64 exactness)"
    )]
    TooLarge {
        /// The node.
        node: usize,
        /// The gadget.
        what: String,
        /// The magnitude.
        magnitude: f64,
    },
    /// A gadget is wider than one MLP may be.
    #[error(transparent)]
    TooWide(#[from] TooWide),
}

/// A value's bits, least significant first: 0/1 forms that vanish at the sink.
#[derive(Clone, Debug)]
pub struct Bits {
    /// The bit forms.
    pub forms: Vec<Form>,
    /// Two's complement (the top bit weighs -2^(w-1)) or unsigned.
    pub signed: bool,
}

impl Bits {
    /// The value the bits encode, as a form.
    pub fn value(&self) -> Form {
        let w = self.forms.len();
        let mut f = Form::default();
        for (k, b) in self.forms.iter().enumerate() {
            let weight = if self.signed && k + 1 == w {
                -(2f64.powi(k as i32))
            } else {
                2f64.powi(k as i32)
            };
            f = f.plus(weight, b);
        }
        f
    }

    /// The bits sign- (or zero-) extended to `w` (which must be at least their width).
    pub fn extended(&self, w: usize) -> Vec<Form> {
        let mut out = self.forms.clone();
        let top = if self.signed {
            self.forms.last().cloned().unwrap_or_default()
        } else {
            Form::default()
        };
        while out.len() < w {
            out.push(top.clone());
        }
        out
    }
}

/// The read-out: for every output, a 0/1 form; the logit is `2 * form - 1`.
#[derive(Clone, Debug)]
pub struct Readout {
    /// Per token field: its two's-complement bits (LSB first).
    pub fields: Vec<Vec<Form>>,
    /// The remask, insert and delete flags.
    pub control: [Form; 3],
}

/// The lowering's result.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The circuit.
    pub circuit: Circuit,
    /// Every node's value form (exact from the sublayer it is ready at).
    pub nodes: Vec<Form>,
    /// The read-out.
    pub readout: Readout,
    /// Bits of each field's input encoding (two's complement).
    pub field_widths: Vec<u32>,
    /// Bits of the position features.
    pub position_bits: u32,
    /// The options used.
    pub options: Options,
    /// Every node's value range (from the seq program).
    pub ranges: Vec<Range>,
}

struct Lower<'a> {
    p: &'a Program,
    o: Options,
    c: Circuit,
    real: Wire,
    mask: Wire,
    field_bits: Vec<Vec<Wire>>,
    field_widths: Vec<u32>,
    pos_bits: Vec<Wire>,
    value: Vec<Form>,
    bits: HashMap<usize, Bits>,
    nonzero: HashMap<usize, Form>,
    divisions: HashMap<(usize, usize), (Form, Form)>,
    last: Option<Bits>,
}

fn pow2(k: u32) -> f64 {
    2f64.powi(k as i32)
}

/// The smallest f32-representable value at or above `m` (for `m >= 0` below f32's range).
pub fn f32_at_least(m: f64) -> f64 {
    let f = m as f32;
    if f64::from(f) >= m {
        f64::from(f)
    } else {
        // The next f32 up: for a non-negative finite f32, its bits plus one.
        f64::from(f32::from_bits(f.to_bits() + 1))
    }
}

/// `coef * [x >= t]` for x within 1/4 of an integer: two units, exact on exact integers.
fn ge(x: &Form, t: f64, out: usize, coef: f64) -> [UnitSpec; 2] {
    [
        UnitSpec::new(x.scaled(2.0).shifted(1.5 - 2.0 * t), out, coef),
        UnitSpec::new(x.scaled(2.0).shifted(0.5 - 2.0 * t), out, -coef),
    ]
}

/// `coef * [x == t]` for integer x: four units.
fn eq(x: &Form, t: f64, out: usize, coef: f64) -> Vec<UnitSpec> {
    let mut u = ge(x, t, out, coef).to_vec();
    u.extend(ge(x, t + 1.0, out, -coef));
    u
}

/// `flag * a` into `out` for a 0/1 flag and |a| <= m: two units.
fn gated(flag: &Form, a: &Form, m: f64, out: usize, coef: f64) -> [UnitSpec; 2] {
    // Any M at least |a| works: the smallest f32 value at or above it keeps the weights exact in
    // f32 (`docs/weights.md`, "Every weight exact in f32").
    let m = f32_at_least(m);
    // a - m (1 - flag) and -a - m (1 - flag).
    let off = flag.scaled(m).shifted(-m);
    [
        UnitSpec::new(a.plus(1.0, &off), out, coef),
        UnitSpec::new(a.scaled(-1.0).plus(1.0, &off), out, -coef),
    ]
}

fn magnitude((lo, hi): Range) -> f64 {
    (lo as f64).abs().max((hi as f64).abs())
}

impl<'a> Lower<'a> {
    fn range(&self, v: usize) -> Range {
        self.p.ranges[v]
    }

    fn is_const(&self, v: usize) -> Option<i64> {
        let (lo, hi) = self.range(v);
        (lo == hi).then_some(lo)
    }

    fn check(&self, node: usize, what: &str, magnitude: f64) -> Result<(), LowerError> {
        if magnitude > EXACT {
            return Err(LowerError::TooLarge {
                node,
                what: what.to_string(),
                magnitude,
            });
        }
        Ok(())
    }

    fn unsupported(&self, node: usize, why: impl Into<String>) -> LowerError {
        LowerError::Unsupported {
            node,
            what: format!("{:?}", self.p.nodes[node]),
            why: why.into(),
        }
    }

    /// One MLP wire holding the sum of `units` (all writing output 0).
    fn one_wire(
        &mut self,
        node: usize,
        units: Vec<UnitSpec>,
        expect: Expect,
    ) -> Result<Form, LowerError> {
        let w = self.c.mlp(node, units, vec![expect])?;
        Ok(Form::wire(w[0]))
    }

    /// Each 0/1 flag (within 1/4) rounded again, `[h >= 1]`, in one MLP sublayer.
    fn reround(
        &mut self,
        node: usize,
        flags: &[Wire],
        expects: Vec<Expect>,
    ) -> Result<Vec<Wire>, LowerError> {
        let mut units = Vec::new();
        for (i, &h) in flags.iter().enumerate() {
            units.extend(ge(&Form::wire(h), 1.0, i, 1.0));
        }
        Ok(self.c.mlp(node, units, expects)?)
    }

    /// One flag wire from comparison units on an input of magnitude up to `magnitude`,
    /// re-rounded when that exceeds [`REROUND_ABOVE`].
    fn flag_wire(
        &mut self,
        node: usize,
        units: Vec<UnitSpec>,
        expect: Expect,
        magnitude: f64,
    ) -> Result<Form, LowerError> {
        let w = self.c.mlp(node, units, vec![expect.clone()])?;
        if magnitude > REROUND_ABOVE {
            let r = self.reround(node, &w, vec![expect])?;
            return Ok(Form::wire(r[0]));
        }
        Ok(Form::wire(w[0]))
    }

    /// The 0/1 flag `[v != 0]`.
    fn nonzero(&mut self, v: usize) -> Result<Form, LowerError> {
        if let Some(f) = self.nonzero.get(&v) {
            return Ok(f.clone());
        }
        let x = self.value[v].clone();
        let (lo, hi) = self.range(v);
        let mag = magnitude((lo, hi));
        let f = if lo >= 0 && hi <= 1 {
            x
        } else if lo >= 0 {
            self.flag_wire(v, ge(&x, 1.0, 0, 1.0).to_vec(), Expect::NonZero(v), mag)?
        } else if hi <= 0 {
            self.flag_wire(
                v,
                ge(&x.scaled(-1.0), 1.0, 0, 1.0).to_vec(),
                Expect::NonZero(v),
                mag,
            )?
        } else {
            let z = self.flag_wire(v, eq(&x, 0.0, 0, 1.0), Expect::Zero(v), mag)?;
            Form::constant(1.0).plus(-1.0, &z)
        };
        self.nonzero.insert(v, f.clone());
        Ok(f)
    }

    /// Bits of an exact (or within-1/4) value `x` in `lo..=hi`, for node `node`:
    /// `ceil(w / r)` sublayers of `2 (2^r - 1)` units each.
    fn extract(&mut self, node: usize, x: &Form, (lo, hi): Range) -> Result<Bits, LowerError> {
        let w = width((lo, hi)).max(1);
        let signed = lo < 0;
        self.check(node, "bit extraction", magnitude((lo, hi)) * 4.0)?;
        // Offset binary for signed values: u = x + 2^(w-1) in [0, 2^w).
        let mut rem = if signed {
            x.shifted(pow2(w - 1))
        } else {
            x.clone()
        };
        let mut bits: Vec<Form> = vec![Form::default(); w as usize];
        let mut top = w;
        while top > 0 {
            let r = self.o.chunk_bits.min(top);
            let s = top - r;
            let levels = (1u32 << r) - 1;
            let mut units = Vec::new();
            for m in 1..=levels {
                units.extend(ge(&rem, f64::from(m) * pow2(s), (m - 1) as usize, 1.0));
            }
            let digit = |m: u32| Expect::Digit {
                node,
                offset: if signed { 1i64 << (w - 1) } else { 0 },
                shift: s,
                bits: r,
                level: m,
            };
            let expects = (1..=levels).map(digit).collect();
            let mut h = self.c.mlp(node, units, expects)?;
            if s > 0 {
                // The flags are off by about 4 |rem| epsilon under weight noise, and the
                // remainder multiplies them by 2^s: re-round them first.
                h = self.reround(node, &h, (1..=levels).map(digit).collect())?;
            }
            // h_m = [digit >= m]; bit t of the digit = sum over m of (h_m - h_{m+1}) bit_t(m).
            for t in 0..r {
                let mut f = Form::default();
                for m in 1..=levels {
                    if (m >> t) & 1 == 1 {
                        f = f.plus(1.0, &Form::wire(h[(m - 1) as usize]));
                        if m < levels {
                            f = f.plus(-1.0, &Form::wire(h[m as usize]));
                        }
                    }
                }
                bits[(s + t) as usize] = f;
            }
            for m in 1..=levels {
                rem = rem.plus(-pow2(s), &Form::wire(h[(m - 1) as usize]));
            }
            top = s;
        }
        if signed {
            // Two's complement: the top bit of the offset encoding, inverted.
            let t = (w - 1) as usize;
            let flipped = self.real_form().plus(-1.0, &bits[t]);
            // Bits must vanish at the sink: `real - b` does (b is 0 there).
            bits[t] = flipped;
        }
        Ok(Bits {
            forms: bits,
            signed,
        })
    }

    fn real_form(&self) -> Form {
        Form::wire(self.real)
    }

    /// Bits of a constant (vanishing at the sink).
    fn const_bits(&self, c: i64) -> Bits {
        let w = width((c.min(0), c.max(0))).max(1);
        let forms = (0..w)
            .map(|k| {
                if (c >> k) & 1 == 1 {
                    self.real_form()
                } else {
                    Form::default()
                }
            })
            .collect();
        Bits {
            forms,
            signed: c < 0,
        }
    }

    /// Node `v`'s bits (cached).
    fn bits(&mut self, v: usize) -> Result<Bits, LowerError> {
        if let Some(b) = self.bits.get(&v) {
            return Ok(b.clone());
        }
        let b = if let Some(c) = self.is_const(v) {
            self.const_bits(c)
        } else {
            let x = self.value[v].clone();
            let r = self.range(v);
            self.extract(v, &x, r)?
        };
        self.bits.insert(v, b.clone());
        Ok(b)
    }

    fn lower(&mut self) -> Result<(), LowerError> {
        for node in 0..self.p.nodes.len() {
            let f = match self.is_const(node) {
                Some(c) => Form::constant(c as f64),
                None => self.lower_node(node)?,
            };
            self.value.push(f);
        }
        Ok(())
    }

    fn lower_node(&mut self, node: usize) -> Result<Form, LowerError> {
        let op = self.p.nodes[node].clone();
        let val = |l: &Self, v: Value| l.value[v.index()].clone();
        match op {
            Op::Const(c) => Ok(Form::constant(c as f64)),
            Op::Field(k) => {
                let bits = self.field_input_bits(k);
                self.bits.insert(node, bits.clone());
                Ok(bits.value())
            }
            Op::IsMask => Ok(Form::wire(self.mask)),
            Op::Index => {
                let bits = self.position_bits();
                self.bits.insert(node, bits.clone());
                Ok(bits.value())
            }
            Op::Length => {
                let last = self.last_index(node)?;
                Ok(last.value().shifted(1.0))
            }
            Op::Unary(f, a) => self.lower_unary(node, f, a),
            Op::Binary(f, a, b) => self.lower_binary(node, f, a, b),
            Op::Select(c, a, b) => {
                let flag = self.nonzero(c.index())?;
                let (x, y) = (val(self, a), val(self, b));
                let m = magnitude(self.range(a.index())) + magnitude(self.range(b.index()));
                self.check(node, "select", 2.0 * m)?;
                // flag a + (1 - flag) b into one wire (its error does not count b twice).
                let m = magnitude(self.range(a.index())).max(magnitude(self.range(b.index())));
                let mut units = gated(&flag, &x, m, 0, 1.0).to_vec();
                let not = Form::constant(1.0).plus(-1.0, &flag);
                units.extend(gated(&not, &y, m, 0, 1.0));
                self.one_wire(node, units, Expect::Node(node))
            }
            Op::FirstOf { cases, default } => self.lower_first_of(node, &cases, default),
            Op::Lookup {
                select,
                prefer,
                value,
                default,
            } => self.lower_lookup(node, select, prefer, value, default),
            Op::Sum { select, value } => self.lower_sum(node, select, value),
        }
    }

    fn field_input_bits(&self, k: usize) -> Bits {
        let w = self.field_widths[k] as usize;
        let forms = (0..w)
            .map(|b| {
                // (f + real) / 2: 0/1 at canvas positions, 0 at the sink.
                Form::wire(self.field_bits[k][b])
                    .scaled(0.5)
                    .plus(0.5, &self.real_form())
            })
            .collect();
        Bits {
            forms,
            signed: true,
        }
    }

    fn position_bits(&self) -> Bits {
        let forms = self
            .pos_bits
            .iter()
            .map(|&w| Form::wire(w).scaled(0.5).plus(0.5, &self.real_form()))
            .collect();
        Bits {
            forms,
            signed: false,
        }
    }

    /// A step function of one exact integer x in `lo..=hi`: `f(lo) + sum of jumps * [x >= t]`.
    fn table(
        &mut self,
        node: usize,
        x: &Form,
        (lo, hi): Range,
        f: impl Fn(i64) -> Option<i64>,
    ) -> Result<Form, LowerError> {
        let span = (hi as i128) - (lo as i128);
        if span > i128::from(self.o.max_table_span) {
            return Err(self.unsupported(
                node,
                format!(
                    "a table over {span} input values (more than {} to scan)",
                    self.o.max_table_span
                ),
            ));
        }
        let base = f(lo).ok_or_else(|| self.unsupported(node, "overflow in the table"))?;
        let mut units = Vec::new();
        let mut prev = base;
        let mut jumps = 0usize;
        let mut biggest = base.unsigned_abs() as f64;
        for t in lo.saturating_add(1)..=hi {
            let y = f(t).ok_or_else(|| self.unsupported(node, "overflow in the table"))?;
            if y != prev {
                jumps += 1;
                if jumps > self.o.max_jumps {
                    return Err(self.unsupported(
                        node,
                        format!(
                            "a step function with more than {} jumps over {lo}..={hi}",
                            self.o.max_jumps
                        ),
                    ));
                }
                units.extend(ge(x, t as f64, 0, (y - prev) as f64));
                biggest = biggest.max(y.unsigned_abs() as f64);
            }
            prev = y;
        }
        self.check(node, "table", biggest + magnitude((lo, hi)) * 2.0)?;
        if units.is_empty() {
            return Ok(Form::constant(base as f64));
        }
        let w = self.one_wire(node, units, Expect::Internal(node))?;
        Ok(w.shifted(base as f64))
    }

    fn lower_unary(&mut self, node: usize, f: UnaryOp, a: Value) -> Result<Form, LowerError> {
        let x = self.value[a.index()].clone();
        let r = self.range(a.index());
        match f {
            UnaryOp::Neg => Ok(x.scaled(-1.0)),
            UnaryOp::Not => {
                let nz = self.nonzero(a.index())?;
                Ok(Form::constant(1.0).plus(-1.0, &nz))
            }
            UnaryOp::Abs if r.0 >= 0 => Ok(x),
            UnaryOp::Abs if r.1 <= 0 => Ok(x.scaled(-1.0)),
            UnaryOp::Abs => {
                let units = vec![
                    UnitSpec::new(x.clone(), 0, 1.0),
                    UnitSpec::new(x.scaled(-1.0), 0, 1.0),
                ];
                self.one_wire(node, units, Expect::Node(node))
            }
            UnaryOp::Log2 => {
                // floor(log2 x) for x >= 1 (0 below): one step at each power of two.
                self.check(node, "log2", magnitude(r) * 4.0)?;
                let units: Vec<UnitSpec> = (1..63)
                    .take_while(|&t| (1i64 << t) <= r.1)
                    .flat_map(|t| ge(&x, pow2(t), 0, 1.0))
                    .collect();
                if units.is_empty() {
                    return Ok(Form::constant(0.0));
                }
                self.one_wire(node, units, Expect::Node(node))
            }
        }
    }

    fn lower_binary(
        &mut self,
        node: usize,
        f: BinaryOp,
        a: Value,
        b: Value,
    ) -> Result<Form, LowerError> {
        let (ai, bi) = (a.index(), b.index());
        let (x, y) = (self.value[ai].clone(), self.value[bi].clone());
        let (ra, rb) = (self.range(ai), self.range(bi));
        let exact_product = |c: i64, r: Range| -> bool {
            let p1 = i128::from(c) * i128::from(r.0);
            let p2 = i128::from(c) * i128::from(r.1);
            let lim = i128::from(i64::MAX);
            p1.abs() <= lim && p2.abs() <= lim
        };
        match f {
            BinaryOp::Add => return Ok(x.plus(1.0, &y)),
            BinaryOp::Sub => return Ok(x.plus(-1.0, &y)),
            BinaryOp::Mul | BinaryOp::MulSat => {
                if let Some(c) = self.is_const(ai) {
                    if exact_product(c, rb) {
                        return Ok(y.scaled(c as f64));
                    }
                }
                if let Some(c) = self.is_const(bi) {
                    if exact_product(c, ra) {
                        return Ok(x.scaled(c as f64));
                    }
                }
                return self.product(node, ai, bi);
            }
            BinaryOp::Min => {
                let w = self.one_wire(
                    node,
                    vec![UnitSpec::new(x.plus(-1.0, &y), 0, 1.0)],
                    Expect::Internal(node),
                )?;
                return Ok(x.plus(-1.0, &w));
            }
            BinaryOp::Max => {
                let w = self.one_wire(
                    node,
                    vec![UnitSpec::new(y.plus(-1.0, &x), 0, 1.0)],
                    Expect::Internal(node),
                )?;
                return Ok(x.plus(1.0, &w));
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Eq | BinaryOp::Ne => {
                let d = y.plus(-1.0, &x);
                self.check(node, "comparison", (magnitude(ra) + magnitude(rb)) * 4.0)?;
                let units = match f {
                    BinaryOp::Lt => ge(&d, 1.0, 0, 1.0).to_vec(),
                    BinaryOp::Le => ge(&d, 0.0, 0, 1.0).to_vec(),
                    _ => eq(&d, 0.0, 0, 1.0),
                };
                // The wire is the node's value, except for `Ne` (its complement).
                let expect = if f == BinaryOp::Ne {
                    Expect::Zero(node)
                } else {
                    Expect::Node(node)
                };
                let w = self.flag_wire(node, units, expect, magnitude(ra) + magnitude(rb))?;
                return Ok(if f == BinaryOp::Ne {
                    Form::constant(1.0).plus(-1.0, &w)
                } else {
                    w
                });
            }
            BinaryOp::And | BinaryOp::Or => {
                let fa = self.nonzero(ai)?;
                let fb = self.nonzero(bi)?;
                // [a + b >= 2] and [a + b >= 1]: comparisons, so their error does not grow
                // with their inputs' (within 1/4).
                let s = fa.plus(1.0, &fb);
                let t = if f == BinaryOp::And { 2.0 } else { 1.0 };
                return self.one_wire(node, ge(&s, t, 0, 1.0).to_vec(), Expect::Node(node));
            }
            BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => {
                return self.bitwise(node, f, ai, bi);
            }
            BinaryOp::DivEuclid | BinaryOp::RemEuclid | BinaryOp::Div | BinaryOp::Mod
                if self.is_const(bi) == Some(1) =>
            {
                return Ok(match f {
                    BinaryOp::DivEuclid | BinaryOp::Div => x,
                    _ => Form::constant(0.0),
                });
            }
            BinaryOp::DivEuclid | BinaryOp::RemEuclid | BinaryOp::Div | BinaryOp::Mod
                if self.is_const(bi).is_none_or(|c| c >= 2) =>
            {
                if rb.0 < 0 {
                    return Err(self.unsupported(node, "division by a value that may be negative"));
                }
                let (q, r) = self.divide(node, ai, bi)?;
                return Ok(match f {
                    BinaryOp::DivEuclid | BinaryOp::Div => q,
                    _ => r,
                });
            }
            _ => {}
        }
        // What remains is a function of one variable when the other is a constant.
        if let Some(c) = self.is_const(bi) {
            return self.table(node, &x, ra, |v| binary(f, v, c));
        }
        if let Some(c) = self.is_const(ai) {
            return self.table(node, &y, rb, |v| binary(f, c, v));
        }
        Err(self.unsupported(node, "both arguments vary"))
    }

    /// a * b through the bits of the narrower argument: one gated copy of the other per bit.
    fn product(&mut self, node: usize, ai: usize, bi: usize) -> Result<Form, LowerError> {
        let (ra, rb) = (self.range(ai), self.range(bi));
        let (narrow, wide) = if width(ra) <= width(rb) {
            (ai, bi)
        } else {
            (bi, ai)
        };
        let m = magnitude(self.range(wide));
        let out = magnitude(self.range(node)).max(m * magnitude(self.range(narrow)));
        self.check(node, "product", out * 4.0)?;
        let bits = self.bits(narrow)?;
        let x = self.value[wide].clone();
        let n = bits.forms.len();
        let mut units = Vec::new();
        for (k, b) in bits.forms.iter().enumerate() {
            let weight = if bits.signed && k + 1 == n {
                -pow2(k as u32)
            } else {
                pow2(k as u32)
            };
            units.extend(gated(b, &x, m, 0, weight));
        }
        self.one_wire(node, units, Expect::Node(node))
    }

    fn bitwise(
        &mut self,
        node: usize,
        f: BinaryOp,
        ai: usize,
        bi: usize,
    ) -> Result<Form, LowerError> {
        let a = self.bits(ai)?;
        let b = self.bits(bi)?;
        let w = a.forms.len().max(b.forms.len()) + 1;
        let (xa, xb) = (a.extended(w), b.extended(w));
        let units = (0..w)
            .map(|k| UnitSpec::new(xa[k].plus(1.0, &xb[k]).shifted(-1.0), k, 1.0))
            .collect();
        let ands = self.c.mlp(
            node,
            units,
            (0..w).map(|_| Expect::Internal(node)).collect(),
        )?;
        let out: Vec<Form> = (0..w)
            .map(|k| {
                let and = Form::wire(ands[k]);
                let sum = xa[k].plus(1.0, &xb[k]);
                match f {
                    BinaryOp::BitAnd => and,
                    BinaryOp::BitOr => sum.plus(-1.0, &and),
                    _ => sum.plus(-2.0, &and),
                }
            })
            .collect();
        let bits = Bits {
            forms: out,
            signed: true,
        };
        Ok(bits.value())
    }

    /// Euclidean division by a non-negative variable b (0 when b = 0): restoring long division
    /// of |a| (or -a - 1 for negative a) by b, one sublayer of 4 units per quotient bit (two
    /// sublayers of 2 and 2 when one would leave f64's exact range), then the sign fixed.
    fn divide(&mut self, node: usize, ai: usize, bi: usize) -> Result<(Form, Form), LowerError> {
        if let Some(qr) = self.divisions.get(&(ai, bi)) {
            return Ok(qr.clone());
        }
        let (ra, rb) = (self.range(ai), self.range(bi));
        let bmin = rb.0.max(1);
        let a = self.value[ai].clone();
        let b = self.value[bi].clone();
        // u = a for a >= 0, -a - 1 for a < 0 (so floor(a / b) = -floor(u / b) - 1 there).
        let (u, neg) = if ra.0 < 0 {
            let mut units = vec![
                UnitSpec::new(a.clone(), 0, 1.0),
                UnitSpec::new(a.scaled(-1.0), 0, 1.0),
            ];
            units.extend(ge(&a.scaled(-1.0), 1.0, 0, -1.0));
            units.extend(ge(&a.scaled(-1.0), 1.0, 1, 1.0));
            let w = self.c.mlp(
                node,
                units,
                vec![Expect::Internal(node), Expect::Internal(node)],
            )?;
            (Form::wire(w[0]), Some(Form::wire(w[1])))
        } else {
            (a, None)
        };
        let umax = (ra.1.max(0) as f64).max(-(ra.0 as f64) - 1.0);
        self.check(node, "long division", umax * 4.0 + magnitude(rb) * 4.0)?;
        let qmax = (umax / bmin as f64).floor().max(0.0) as u64;
        let nbits = 64 - qmax.leading_zeros();
        let mut r = u;
        let mut q = Form::default();
        for step in (0..nbits).rev() {
            let t = b.scaled(pow2(step));
            let d = r.plus(-1.0, &t);
            let big = rb.1 as f64 * pow2(step) + 1.0;
            self.check(node, "long division", big * 4.0 + umax * 4.0)?;
            let expects = vec![Expect::Internal(node), Expect::Internal(node)];
            let w = if big * (umax + big) * 2.0 <= EXACT {
                // [d >= 0] and t [d >= 0] = relu(t + big d) - relu(big d), in one sublayer.
                let units = vec![
                    UnitSpec::new(d.shifted(1.0), 0, 1.0),
                    UnitSpec::new(d.clone(), 0, -1.0),
                    UnitSpec::new(t.plus(big, &d), 1, 1.0),
                    UnitSpec::new(d.scaled(big), 1, -1.0),
                ];
                self.c.mlp(node, units, expects)?
            } else {
                let f =
                    self.one_wire(node, ge(&d, 0.0, 0, 1.0).to_vec(), Expect::Internal(node))?;
                let units = gated(&f, &t, big, 0, 1.0).to_vec();
                let p = self.c.mlp(node, units, vec![Expect::Internal(node)])?;
                let fw = f.terms[0].0;
                vec![fw, p[0]]
            };
            q = q.plus(pow2(step), &Form::wire(w[0]));
            r = r.plus(-1.0, &Form::wire(w[1]));
        }
        let mq = qmax as f64 * 2.0 + 2.0;
        let mr = umax.max(rb.1 as f64) * 2.0 + 2.0;
        if let Some(s) = neg {
            // a < 0: q = -q - 1 and r = b - 1 - r.
            let dq = q.scaled(-2.0).shifted(-1.0);
            let dr = b.plus(-2.0, &r).shifted(-1.0);
            let mut units = gated(&s, &dq, mq, 0, 1.0).to_vec();
            units.extend(gated(&s, &dr, mr, 1, 1.0));
            let w = self.c.mlp(
                node,
                units,
                vec![Expect::Internal(node), Expect::Internal(node)],
            )?;
            q = q.plus(1.0, &Form::wire(w[0]));
            r = r.plus(1.0, &Form::wire(w[1]));
        }
        if rb.0 <= 0 {
            // b = 0 gives 0 for both.
            let nz = self.nonzero(bi)?;
            let mut units = gated(&nz, &q, mq, 0, 1.0).to_vec();
            units.extend(gated(&nz, &r, mr, 1, 1.0));
            let w = self.c.mlp(
                node,
                units,
                vec![Expect::Internal(node), Expect::Internal(node)],
            )?;
            q = Form::wire(w[0]);
            r = Form::wire(w[1]);
        }
        self.divisions.insert((ai, bi), (q.clone(), r.clone()));
        Ok((q, r))
    }

    fn lower_first_of(
        &mut self,
        node: usize,
        cases: &[(Value, Value)],
        default: Value,
    ) -> Result<Form, LowerError> {
        let mut flags = Vec::new();
        for &(c, _) in cases {
            flags.push(self.nonzero(c.index())?);
        }
        let mut m: f64 = magnitude(self.range(default.index()));
        for &(_, v) in cases {
            m = m.max(magnitude(self.range(v.index())));
        }
        self.check(node, "first-of", m * (cases.len() as f64 + 2.0) * 2.0)?;
        // Case j passes iff c_j = 1 and every earlier flag is 0: gate = c_j - sum_{i<j} c_i.
        let mut units = Vec::new();
        let mut earlier = Form::default();
        for (j, &(_, v)) in cases.iter().enumerate() {
            let gate = flags[j].plus(-1.0, &earlier);
            units.extend(gated(&gate, &self.value[v.index()].clone(), m, 0, 1.0));
            earlier = earlier.plus(1.0, &flags[j]);
        }
        let none = Form::constant(1.0).plus(-1.0, &earlier);
        units.extend(gated(
            &none,
            &self.value[default.index()].clone(),
            m,
            0,
            1.0,
        ));
        self.one_wire(node, units, Expect::Node(node))
    }

    /// The bits of the last canvas index, read by one head (cached): `Length` is this plus 1.
    fn last_index(&mut self, node: usize) -> Result<Bits, LowerError> {
        if let Some(b) = &self.last {
            return Ok(b.clone());
        }
        let pos = self.position_bits();
        let tmax = (self.o.max_len.max(1) - 1) as f64;
        let tau = pos.value();
        let bits = self.attend(node, None, &[], &[], &tau, tmax, &pos.forms)?;
        let b = Bits {
            forms: bits[1..].to_vec(),
            signed: false,
        };
        self.last = Some(b.clone());
        Ok(b)
    }

    fn beta(&self) -> f64 {
        self.o.beta()
    }

    /// One selecting head and its rounding MLP. Positions j match when every `keys[t]` bit at j
    /// equals `queries[t]` at i; among matches the largest `tau` (an integer form in 0..=tmax
    /// that vanishes at the sink) wins; with no match the sink wins. Returns the rounded bits:
    /// first the matched flag, then one per `values` form (0/1 forms vanishing at the sink).
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &mut self,
        node: usize,
        mask: Option<Cmp>,
        keys: &[Form],
        queries: &[Form],
        tau: &Form,
        tmax: f64,
        values: &[Form],
    ) -> Result<Vec<Form>, LowerError> {
        let beta = self.beta();
        // Units: a match scores tau in 0..=tmax, the sink -2, a mismatch at most tmax - lambda.
        let lambda = tmax + 4.0;
        let sigma = -2.0;
        let width = keys.len() as f64;
        let real = self.real_form();
        let one = Form::constant(1.0);
        let mut q = Vec::new();
        let mut k = Vec::new();
        for (kb, qb) in keys.iter().zip(queries) {
            // (lambda / 2) (2 q - 1)(2 k - real): +lambda/2 when equal, -lambda/2 when not.
            q.push(qb.scaled(2.0).shifted(-1.0).scaled(beta * lambda / 2.0));
            k.push(kb.scaled(2.0).plus(-1.0, &real));
        }
        // -(lambda / 2) width at every canvas position: a full match scores 0.
        q.push(one.scaled(-beta * lambda / 2.0 * width));
        k.push(real.clone());
        q.push(one.scaled(beta));
        k.push(tau.clone());
        // The sink: one - real is 1 there only.
        q.push(one.scaled(beta * sigma));
        k.push(one.plus(-1.0, &real));
        self.check(
            node,
            "attention score",
            beta * (lambda * (width + 1.0) + tmax),
        )?;
        let mut v = vec![real.clone()];
        v.extend(values.iter().cloned());
        let reads = self.c.head(node, mask, q, k, v, Expect::Read(node));
        // Round: [read >= 1/2] with margin 1/4, and clear nothing here (model.rs clears dead wires).
        let mut units = Vec::new();
        for (t, &r) in reads.iter().enumerate() {
            units.extend(ge(&Form::wire(r).scaled(2.0), 1.0, t, 1.0));
        }
        let expects = (0..reads.len()).map(|_| Expect::Internal(node)).collect();
        let rounded = self.c.mlp(node, units, expects)?;
        Ok(rounded.into_iter().map(Form::wire).collect())
    }

    /// The selector's equality bits: (key bits at j, query bits at i).
    fn selector_bits(&mut self, s: &Selector) -> Result<(Vec<Form>, Vec<Form>), LowerError> {
        let mut keys = Vec::new();
        let mut queries = Vec::new();
        let mut pairs = vec![(s.key, s.query)];
        pairs.extend(s.pair);
        for (kv, qv) in pairs {
            let kb = self.bits(kv.index())?;
            let qb = self.bits(qv.index())?;
            let w = kb.forms.len().max(qb.forms.len()) + 1;
            keys.extend(kb.extended(w));
            queries.extend(qb.extended(w));
        }
        Ok((keys, queries))
    }

    /// Offset-binary bits of node v, most significant first, order-preserving (`reverse`:
    /// order-reversing), as 0/1 forms vanishing at the sink.
    fn order_bits(&mut self, v: usize, reverse: bool) -> Result<Vec<Form>, LowerError> {
        let b = self.bits(v)?;
        let n = b.forms.len();
        let real = self.real_form();
        let mut out: Vec<Form> = b
            .forms
            .iter()
            .enumerate()
            .rev()
            .map(|(k, f)| {
                let flip = (b.signed && k + 1 == n) != reverse;
                if flip {
                    real.plus(-1.0, f)
                } else {
                    f.clone()
                }
            })
            .collect();
        if out.is_empty() {
            out.push(Form::default());
        }
        Ok(out)
    }

    fn lower_lookup(
        &mut self,
        node: usize,
        select: Selector,
        prefer: Prefer,
        value: Value,
        default: Value,
    ) -> Result<Form, LowerError> {
        let (mut keys, mut queries) = self.selector_bits(&select)?;
        // Priority digits, most significant first, then the position.
        let (digits, latest) = match prefer {
            Prefer::Latest => (Vec::new(), true),
            Prefer::Earliest => (Vec::new(), false),
            Prefer::MaxBy(a) => (self.order_bits(a.index(), false)?, true),
            Prefer::MinBy(a) => (self.order_bits(a.index(), true)?, false),
            Prefer::MaxByPair(a, b) => {
                let mut d = self.order_bits(a.index(), false)?;
                d.extend(self.order_bits(b.index(), false)?);
                (d, true)
            }
            Prefer::MinByPair(a, b) => {
                let mut d = self.order_bits(a.index(), true)?;
                d.extend(self.order_bits(b.index(), true)?);
                (d, false)
            }
        };
        for chunk in digits.chunks(self.o.digit_bits as usize) {
            // This stage's digit: the chunk's bits, most significant first.
            let mut tau = Form::default();
            let n = chunk.len();
            for (t, f) in chunk.iter().enumerate() {
                tau = tau.plus(pow2((n - 1 - t) as u32), f);
            }
            let tmax = pow2(n as u32) - 1.0;
            let read = self.attend(node, select.position, &keys, &queries, &tau, tmax, chunk)?;
            // Later stages also match the winning digit.
            keys.extend(chunk.iter().cloned());
            queries.extend(read[1..].iter().cloned());
        }
        let pos = self.position_bits();
        let real = self.real_form();
        let tmax = (self.o.max_len.max(1) - 1) as f64;
        let tau = if latest {
            pos.value()
        } else {
            real.scaled(tmax).plus(-1.0, &pos.value())
        };
        let vi = value.index();
        let (vbits, vconst) = match self.is_const(vi) {
            Some(c) => (Vec::new(), Some(c)),
            None => (self.bits(vi)?.forms, None),
        };
        let read = self.attend(node, select.position, &keys, &queries, &tau, tmax, &vbits)?;
        let matched = read[0].clone();
        let got = match vconst {
            Some(c) => matched.scaled(c as f64),
            None => {
                let signed = self.bits(vi)?.signed;
                Bits {
                    forms: read[1..].to_vec(),
                    signed,
                }
                .value()
            }
        };
        // got is the value where matched and 0 otherwise; add the default where unmatched.
        let di = default.index();
        match self.is_const(di) {
            Some(0) => Ok(got),
            Some(c) => Ok(got.plus(-(c as f64), &matched).shifted(c as f64)),
            None => {
                let m = magnitude(self.range(di));
                let none = Form::constant(1.0).plus(-1.0, &matched);
                let d = self.value[di].clone();
                let w = self.one_wire(
                    node,
                    gated(&none, &d, m, 0, 1.0).to_vec(),
                    Expect::Internal(node),
                )?;
                Ok(got.plus(1.0, &w))
            }
        }
    }

    fn lower_sum(
        &mut self,
        node: usize,
        select: Selector,
        value: Value,
    ) -> Result<Form, LowerError> {
        // Selection by a constant query is a property of j alone: fold it into the value.
        let mut conds = vec![(select.key, select.query)];
        conds.extend(select.pair);
        let mut flag: Option<Form> = None;
        for (k, q) in conds {
            let Some(c) = self.is_const(q.index()) else {
                return Err(self.unsupported(node, "a sum whose query varies by position"));
            };
            let kx = self.value[k.index()].clone();
            let f = self.one_wire(node, eq(&kx, c as f64, 0, 1.0), Expect::Internal(node))?;
            flag = Some(match flag {
                None => f,
                Some(g) => {
                    let both = f.plus(1.0, &g).shifted(-1.0);
                    self.one_wire(
                        node,
                        vec![UnitSpec::new(both, 0, 1.0)],
                        Expect::Internal(node),
                    )?
                }
            });
        }
        let flag = flag.expect("a selector has a key");
        let vi = value.index();
        let mv = magnitude(self.range(vi));
        let masked = match self.is_const(vi) {
            Some(c) => flag.scaled(c as f64),
            None => {
                let v = self.value[vi].clone();
                self.one_wire(
                    node,
                    gated(&flag, &v, mv, 0, 1.0).to_vec(),
                    Expect::Internal(node),
                )?
            }
        };
        // Uniform attention over the visible positions and the sink: the mean of the masked value.
        let mask = select.position;
        let mean = self.c.head(
            node,
            mask,
            vec![Form::default()],
            vec![Form::default()],
            vec![masked],
            Expect::Internal(node),
        );
        let a = Form::wire(mean[0]);
        // The visible count plus the sink: D = c0 + ci * i + cl * L (L = last + 1).
        let (c0, ci, cl) = match mask {
            Some(Cmp::Lt) => (1.0, 1.0, 0.0),
            Some(Cmp::Le) => (2.0, 1.0, 0.0),
            None => (1.0, 0.0, 1.0),
            Some(Cmp::Gt) => (0.0, -1.0, 1.0),
            Some(Cmp::Ge) => (1.0, -1.0, 1.0),
            Some(Cmp::Eq) => (2.0, 0.0, 0.0),
        };
        let mut terms: Vec<(Form, f64)> = Vec::new();
        let mut constant = c0;
        if ci != 0.0 {
            for (b, f) in self.position_bits().forms.into_iter().enumerate() {
                terms.push((f, ci * pow2(b as u32)));
            }
        }
        if cl != 0.0 {
            constant += cl;
            let last = self.last_index(node)?;
            for (b, f) in last.forms.into_iter().enumerate() {
                terms.push((f, cl * pow2(b as u32)));
            }
        }
        let total = magnitude(self.range(node));
        self.check(node, "sum", mv * self.o.max_len as f64 * 4.0 + total)?;
        let mut units = vec![
            UnitSpec::new(a.clone(), 0, constant),
            UnitSpec::new(a.scaled(-1.0), 0, -constant),
        ];
        for (f, coef) in &terms {
            units.extend(gated(f, &a, mv, 0, *coef));
        }
        let approx = self.one_wire(node, units, Expect::Internal(node))?;
        let r = self.range(node);
        let bits = self.extract(node, &approx, r)?;
        self.bits.insert(node, bits.clone());
        Ok(bits.value())
    }

    fn readout(&mut self) -> Result<Readout, LowerError> {
        let heads = self.p.heads.clone();
        let mut fields = Vec::new();
        for (k, v) in heads.token.iter().enumerate() {
            let w = self.field_widths[k] as usize;
            let b = self.bits(v.index())?;
            if b.forms.len() > w {
                return Err(self.unsupported(
                    v.index(),
                    format!(
                        "a token head wider ({} bits) than field {k} ({w} bits)",
                        b.forms.len()
                    ),
                ));
            }
            fields.push(b.extended(w));
        }
        let mut control = Vec::new();
        for v in [heads.remask, heads.insert, heads.delete] {
            control.push(self.nonzero(v.index())?);
        }
        let control: [Form; 3] = control.try_into().expect("three control heads");
        Ok(Readout { fields, control })
    }
}

/// Lowers a ranged seq program for canvases up to `options.max_len`.
pub fn lower(p: &Program, options: Options) -> Result<Lowered, LowerError> {
    if p.ranges.len() != p.nodes.len() {
        return Err(LowerError::Unranged);
    }
    // Field widths: every value a field may hold (the Field nodes' ranges and the token heads').
    let mut field_ranges: Vec<Range> = vec![(0, 0); p.fields];
    for (n, op) in p.nodes.iter().enumerate() {
        if let Op::Field(k) = op {
            let r = p.ranges[n];
            field_ranges[*k] = (field_ranges[*k].0.min(r.0), field_ranges[*k].1.max(r.1));
        }
    }
    for (k, v) in p.heads.token.iter().enumerate() {
        let r = p.ranges[v.index()];
        field_ranges[k] = (field_ranges[k].0.min(r.0), field_ranges[k].1.max(r.1));
    }
    // Two's complement everywhere (one more bit than an unsigned range needs).
    let field_widths: Vec<u32> = field_ranges
        .iter()
        .map(|&(lo, hi)| width((lo.min(-1), hi)).max(1))
        .collect();
    let mut c = Circuit::new(options.max_units);
    let _one = c.feature(Feature::One);
    let real = c.feature(Feature::Real);
    let mask = c.feature(Feature::Mask);
    let mut field_bits = Vec::new();
    for (k, &w) in field_widths.iter().enumerate() {
        field_bits.push(
            (0..w)
                .map(|bit| c.feature(Feature::FieldBit { field: k, bit }))
                .collect(),
        );
    }
    let position_bits = width((0, options.max_len.saturating_sub(1).max(1) as i64));
    let pos_bits = (0..position_bits)
        .map(|bit| c.feature(Feature::PosBit { bit }))
        .collect();
    let mut l = Lower {
        p,
        o: options,
        c,
        real,
        mask,
        field_bits,
        field_widths: field_widths.clone(),
        pos_bits,
        value: Vec::with_capacity(p.nodes.len()),
        bits: HashMap::new(),
        nonzero: HashMap::new(),
        divisions: HashMap::new(),
        last: None,
    };
    l.lower()?;
    let readout = l.readout()?;
    l.c.schedule()?;
    Ok(Lowered {
        circuit: l.c,
        nodes: l.value,
        readout,
        field_widths,
        position_bits,
        options: l.o,
        ranges: p.ranges.clone(),
    })
}
