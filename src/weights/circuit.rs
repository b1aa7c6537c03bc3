//! The circuit: a compiled step function as wires (residual values written once), MLP units and
//! attention heads, each placed at a sublayer. `lower.rs` builds it from a seq program; `model.rs`
//! allocates residual coordinates to its wires and writes the weights.
//!
//! Sublayers are numbered from 0: sublayer 2l is layer l's attention, 2l + 1 its MLP. A wire
//! written at sublayer s is *ready* at s + 1 (readable by sublayer s + 1 on); input features are
//! ready at 0. Placement is as soon as possible, in the order gadgets are built (topological),
//! with at most `max_units` hidden units per MLP sublayer.

use std::collections::BTreeMap;

use crate::seq::Cmp;

/// A wire: one residual value, written once.
pub type Wire = u32;

/// An affine form over wires: `sum(coef * wire) + bias`, where the bias multiplies the constant
/// coordinate `one` (1 at every position, the sink included).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Form {
    /// `(wire, coefficient)`, sorted by wire, no zero coefficient, no repeated wire.
    pub terms: Vec<(Wire, f64)>,
    /// The constant part.
    pub bias: f64,
}

impl Form {
    /// The constant `c`.
    pub fn constant(c: f64) -> Form {
        Form {
            terms: Vec::new(),
            bias: c,
        }
    }

    /// One wire.
    pub fn wire(w: Wire) -> Form {
        Form {
            terms: vec![(w, 1.0)],
            bias: 0.0,
        }
    }

    /// `self + k * other`.
    pub fn plus(&self, k: f64, other: &Form) -> Form {
        let mut terms = Vec::with_capacity(self.terms.len() + other.terms.len());
        let (mut i, mut j) = (0, 0);
        while i < self.terms.len() || j < other.terms.len() {
            let a = self.terms.get(i);
            let b = other.terms.get(j);
            let (w, c) = match (a, b) {
                (Some(&(wa, ca)), Some(&(wb, cb))) if wa == wb => {
                    i += 1;
                    j += 1;
                    (wa, ca + k * cb)
                }
                (Some(&(wa, ca)), Some(&(wb, _))) if wa < wb => {
                    i += 1;
                    (wa, ca)
                }
                (Some(&(wa, ca)), None) => {
                    i += 1;
                    (wa, ca)
                }
                (_, Some(&(wb, cb))) => {
                    j += 1;
                    (wb, k * cb)
                }
                (None, None) => unreachable!("loop condition"),
            };
            if c != 0.0 {
                terms.push((w, c));
            }
        }
        Form {
            terms,
            bias: self.bias + k * other.bias,
        }
    }

    /// `k * self`.
    pub fn scaled(&self, k: f64) -> Form {
        Form::default().plus(k, self)
    }

    /// `self + c`.
    pub fn shifted(&self, c: f64) -> Form {
        Form {
            terms: self.terms.clone(),
            bias: self.bias + c,
        }
    }

    /// Whether the form is a constant.
    pub fn is_constant(&self) -> bool {
        self.terms.is_empty()
    }

    /// The form's value given every wire's value.
    pub fn eval(&self, wire: impl Fn(Wire) -> f64) -> f64 {
        self.terms
            .iter()
            .fold(self.bias, |acc, &(w, c)| acc + c * wire(w))
    }
}

/// A fixed input feature of the residual stream (written by the executor, not by a layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "feature")]
pub enum Feature {
    /// 1 at every position, the sink included.
    One,
    /// 1 at canvas positions, 0 at the sink.
    Real,
    /// 1 where the canvas holds the mask.
    Mask,
    /// Bit `bit` of field `field`'s two's-complement encoding as +1 / -1 (a mask's fields are 0).
    FieldBit {
        /// The field.
        field: usize,
        /// The bit, 0 = least significant.
        bit: u32,
    },
    /// Bit `bit` of the canvas index as +1 / -1.
    PosBit {
        /// The bit.
        bit: u32,
    },
}

/// What a wire holds, for the shadow check.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// An input feature.
    Feature(Feature),
    /// Exactly node `node`'s value.
    Node(usize),
    /// Exactly bit `bit` (0/1) of node `node`'s two's complement in `width` bits.
    Bit {
        /// The node.
        node: usize,
        /// The bit.
        bit: u32,
        /// The encoding's width.
        width: u32,
    },
    /// An intermediate of the gadget computing `node` (exact, but with no closed form here;
    /// checked through the node's value form).
    Internal(usize),
    /// An attention output read for `node` (approximate until rounded by the next MLP).
    Read(usize),
}

/// What writes a wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// An input feature.
    Input(Feature),
    /// An MLP sublayer (exact).
    Mlp,
    /// An attention head's output (approximate).
    Attention,
}

/// One wire's facts.
#[derive(Clone, Debug)]
pub struct WireInfo {
    /// The sublayer writing it (`None`: an input feature, present before sublayer 0).
    pub born: Option<usize>,
    /// What writes it.
    pub source: Source,
    /// What it holds.
    pub expect: Expect,
}

impl WireInfo {
    /// The first sublayer that may read it.
    pub fn ready(&self) -> usize {
        self.born.map_or(0, |s| s + 1)
    }
}

/// One hidden ReLU unit: `h = relu(pre(x) - gate * (one - real))`, added to `out` wires.
#[derive(Clone, Debug)]
pub struct Unit {
    /// The pre-activation (bias = the constant part).
    pub pre: Form,
    /// The sink gate: subtracted at the sink so that the unit is 0 there (0 for clearing units,
    /// which must act at the sink too).
    pub gate: f64,
    /// `(wire, coefficient)`: what the unit adds to the residual.
    pub out: Vec<(Wire, f64)>,
}

/// One attention head: scores `q_i . k_j` (scale folded into q), softmax over the visible
/// positions (the sink always, canvas positions j with `j mask i`), values `v_j` added to `out`.
#[derive(Clone, Debug)]
pub struct Head {
    /// The canvas-position condition (None: every position).
    pub mask: Option<Cmp>,
    /// Query dimensions, read at i.
    pub q: Vec<Form>,
    /// Key dimensions, read at j (same count as `q`).
    pub k: Vec<Form>,
    /// Value dimensions, read at j.
    pub v: Vec<Form>,
    /// One output wire per value dimension.
    pub out: Vec<Wire>,
    /// The seq node this head serves (for reports).
    pub node: usize,
    /// The inverse temperature folded into q (for reports).
    pub beta: f64,
    /// The score margin in units of `1 / beta` between the winner and the rest (for reports).
    pub gap: f64,
}

/// A unit specification before placement: outputs name the gadget's new wires by index.
#[derive(Clone, Debug)]
pub struct UnitSpec {
    /// The pre-activation.
    pub pre: Form,
    /// `(output index, coefficient)`.
    pub out: Vec<(usize, f64)>,
}

impl UnitSpec {
    /// A unit writing `coef * relu(pre)` into output `index`.
    pub fn new(pre: Form, index: usize, coef: f64) -> UnitSpec {
        UnitSpec {
            pre,
            out: vec![(index, coef)],
        }
    }
}

/// Why a placement failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a gadget for node {node} needs {units} hidden units in one MLP, over the cap {cap}")]
pub struct TooWide {
    /// The node.
    pub node: usize,
    /// Its units.
    pub units: usize,
    /// The cap.
    pub cap: usize,
}

/// The circuit being built.
#[derive(Clone, Debug)]
pub struct Circuit {
    /// Every wire.
    pub wires: Vec<WireInfo>,
    /// MLP units by (odd) sublayer.
    pub mlp: BTreeMap<usize, Vec<Unit>>,
    /// Heads by (even) sublayer.
    pub heads: BTreeMap<usize, Vec<Head>>,
    /// The input feature wires, in order.
    pub features: Vec<(Feature, Wire)>,
    /// The most hidden units per MLP sublayer.
    pub max_units: usize,
}

impl Circuit {
    /// An empty circuit with the cap `max_units`.
    pub fn new(max_units: usize) -> Circuit {
        Circuit {
            wires: Vec::new(),
            mlp: BTreeMap::new(),
            heads: BTreeMap::new(),
            features: Vec::new(),
            max_units,
        }
    }

    /// A new input-feature wire.
    pub fn feature(&mut self, f: Feature) -> Wire {
        let w = self.new_wire(None, Source::Input(f), Expect::Feature(f));
        self.features.push((f, w));
        w
    }

    fn new_wire(&mut self, born: Option<usize>, source: Source, expect: Expect) -> Wire {
        self.wires.push(WireInfo {
            born,
            source,
            expect,
        });
        (self.wires.len() - 1) as Wire
    }

    /// The first sublayer at which every wire of `forms` is readable.
    pub fn ready(&self, forms: &[&Form]) -> usize {
        forms
            .iter()
            .flat_map(|f| f.terms.iter())
            .map(|&(w, _)| self.wires[w as usize].ready())
            .max()
            .unwrap_or(0)
    }

    /// Places an MLP gadget at the first MLP sublayer at or after `not_before` where its inputs
    /// are ready and the units fit; returns its new wires (one per `expects`).
    pub fn mlp(
        &mut self,
        node: usize,
        not_before: usize,
        units: Vec<UnitSpec>,
        expects: Vec<Expect>,
    ) -> Result<Vec<Wire>, TooWide> {
        if units.len() > self.max_units {
            return Err(TooWide {
                node,
                units: units.len(),
                cap: self.max_units,
            });
        }
        let pres: Vec<&Form> = units.iter().map(|u| &u.pre).collect();
        let mut s = self.ready(&pres).max(not_before);
        if s % 2 == 0 {
            s += 1;
        }
        while self.mlp.get(&s).map_or(0, Vec::len) + units.len() > self.max_units {
            s += 2;
        }
        let wires: Vec<Wire> = expects
            .into_iter()
            .map(|e| self.new_wire(Some(s), Source::Mlp, e))
            .collect();
        let placed = self.mlp.entry(s).or_default();
        for u in units {
            let gate = (u.pre.bias.max(0.0) + 1.0).ceil();
            placed.push(Unit {
                pre: u.pre,
                gate,
                out: u.out.iter().map(|&(i, c)| (wires[i], c)).collect(),
            });
        }
        Ok(wires)
    }

    /// Places a head at the first attention sublayer at or after `not_before` where its query,
    /// key and value forms are ready; returns its output wires (approximate reads).
    #[allow(clippy::too_many_arguments)]
    pub fn head(
        &mut self,
        node: usize,
        not_before: usize,
        mask: Option<Cmp>,
        q: Vec<Form>,
        k: Vec<Form>,
        v: Vec<Form>,
        beta: f64,
        gap: f64,
        expect: Expect,
    ) -> Vec<Wire> {
        let forms: Vec<&Form> = q.iter().chain(&k).chain(&v).collect();
        let mut s = self.ready(&forms).max(not_before);
        if s % 2 == 1 {
            s += 1;
        }
        let out: Vec<Wire> = (0..v.len())
            .map(|_| self.new_wire(Some(s), Source::Attention, expect.clone()))
            .collect();
        self.heads.entry(s).or_default().push(Head {
            mask,
            q,
            k,
            v,
            out: out.clone(),
            node,
            beta,
            gap,
        });
        out
    }

    /// The number of sublayers used (one past the last placed).
    pub fn sublayers(&self) -> usize {
        let m = self.mlp.keys().next_back().map_or(0, |s| s + 1);
        let h = self.heads.keys().next_back().map_or(0, |s| s + 1);
        m.max(h)
    }
}
