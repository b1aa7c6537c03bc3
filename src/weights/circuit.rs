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
    /// A further constant 1 at every position, the sink included (part 1, 2, ...): a constant
    /// term not exact in f32 is split into f32-exact parts over `one` and these
    /// (`Model::build`; never a circuit wire).
    OnePart {
        /// The part, from 1.
        part: u32,
    },
    /// A further copy of `real` (1 at canvas positions, 0 at the sink) for the parts of a `real`
    /// coefficient not exact in f32 (never a circuit wire).
    RealPart {
        /// The part, from 1.
        part: u32,
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
    /// A digit flag of bit extraction: `[((v + offset) >> shift) mod 2^bits >= level]`, v the
    /// value of `node`.
    Digit {
        /// The node.
        node: usize,
        /// The offset making the encoding non-negative (2^(w-1) for signed ranges, else 0).
        offset: i64,
        /// The digit's lowest bit.
        shift: u32,
        /// The digit's bits.
        bits: u32,
        /// The level compared with.
        level: u32,
    },
    /// `[v == 0]`, v the value of `node`.
    Zero(usize),
    /// `[v != 0]`, v the value of `node`.
    NonZero(usize),
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

/// What one gadget is: an MLP piece (units writing its outputs) or one head.
#[derive(Clone, Debug)]
pub enum GadgetKind {
    /// Hidden units, all in one MLP sublayer.
    Mlp(Vec<Unit>),
    /// One attention head.
    Head(Head),
}

/// A gadget: what one placement puts in one sublayer.
#[derive(Clone, Debug)]
pub struct Gadget {
    /// The seq node it serves.
    pub node: usize,
    /// Its units or head.
    pub kind: GadgetKind,
    /// The wires it writes.
    pub outputs: Vec<Wire>,
}

impl Gadget {
    fn is_head(&self) -> bool {
        matches!(self.kind, GadgetKind::Head(_))
    }

    fn units(&self) -> usize {
        match &self.kind {
            GadgetKind::Mlp(u) => u.len(),
            GadgetKind::Head(_) => 0,
        }
    }

    /// Every form it reads.
    pub fn reads(&self) -> Vec<&Form> {
        match &self.kind {
            GadgetKind::Mlp(units) => units.iter().map(|u| &u.pre).collect(),
            GadgetKind::Head(h) => h.q.iter().chain(&h.k).chain(&h.v).collect(),
        }
    }
}

/// The circuit being built: gadgets in topological order, placed by [`Circuit::schedule`].
#[derive(Clone, Debug)]
pub struct Circuit {
    /// Every wire.
    pub wires: Vec<WireInfo>,
    /// Every gadget, in the order built (topological).
    pub gadgets: Vec<Gadget>,
    /// The sublayer of each gadget (after scheduling).
    pub placed: Vec<usize>,
    /// MLP units by (odd) sublayer (after scheduling).
    pub mlp: BTreeMap<usize, Vec<Unit>>,
    /// Heads by (even) sublayer (after scheduling).
    pub heads: BTreeMap<usize, Vec<Head>>,
    /// The input feature wires, in order.
    pub features: Vec<(Feature, Wire)>,
    /// The most hidden units per MLP sublayer.
    pub max_units: usize,
}

/// The first sublayer at or after `s` of the parity a gadget needs (odd: MLP, even: attention).
fn at_or_after(s: usize, head: bool) -> usize {
    if (s % 2 == 0) == head {
        s
    } else {
        s + 1
    }
}

/// The last sublayer at or before `s` of the parity a gadget needs (`None` below 0).
fn at_or_before(s: usize, head: bool) -> Option<usize> {
    if (s % 2 == 0) == head {
        Some(s)
    } else {
        s.checked_sub(1)
    }
}

impl Circuit {
    /// An empty circuit with the cap `max_units`.
    pub fn new(max_units: usize) -> Circuit {
        Circuit {
            wires: Vec::new(),
            gadgets: Vec::new(),
            placed: Vec::new(),
            mlp: BTreeMap::new(),
            heads: BTreeMap::new(),
            features: Vec::new(),
            max_units,
        }
    }

    /// A new input-feature wire.
    pub fn feature(&mut self, f: Feature) -> Wire {
        let w = self.new_wire(Source::Input(f), Expect::Feature(f));
        self.features.push((f, w));
        w
    }

    fn new_wire(&mut self, source: Source, expect: Expect) -> Wire {
        self.wires.push(WireInfo {
            born: None,
            source,
            expect,
        });
        (self.wires.len() - 1) as Wire
    }

    /// Adds an MLP gadget; returns its new wires (one per `expects`).
    pub fn mlp(
        &mut self,
        node: usize,
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
        let wires: Vec<Wire> = expects
            .into_iter()
            .map(|e| self.new_wire(Source::Mlp, e))
            .collect();
        let units = units
            .into_iter()
            .map(|u| {
                let gate = (u.pre.bias.max(0.0) + 1.0).ceil();
                Unit {
                    pre: u.pre,
                    gate,
                    out: u.out.iter().map(|&(i, c)| (wires[i], c)).collect(),
                }
            })
            .collect();
        self.gadgets.push(Gadget {
            node,
            kind: GadgetKind::Mlp(units),
            outputs: wires.clone(),
        });
        Ok(wires)
    }

    /// Adds a head; returns its output wires (approximate reads).
    #[allow(clippy::too_many_arguments)]
    pub fn head(
        &mut self,
        node: usize,
        mask: Option<Cmp>,
        q: Vec<Form>,
        k: Vec<Form>,
        v: Vec<Form>,
        expect: Expect,
    ) -> Vec<Wire> {
        let out: Vec<Wire> = (0..v.len())
            .map(|_| self.new_wire(Source::Attention, expect.clone()))
            .collect();
        self.gadgets.push(Gadget {
            node,
            kind: GadgetKind::Head(Head {
                mask,
                q,
                k,
                v,
                out: out.clone(),
                node,
            }),
            outputs: out.clone(),
        });
        out
    }

    /// Places every gadget. The depth is the critical path's (as soon as possible); within it,
    /// gadgets are placed from the last sublayer to the first, each no later than its readers
    /// allow and no earlier than its inputs allow, a gadget with room left only while the
    /// sublayer is under the average load (heads per attention sublayer, units per MLP
    /// sublayer), so that the per-layer maxima, which uniform shapes pay in every layer, stay
    /// low.
    pub fn schedule(&mut self) -> Result<(), TooWide> {
        let g = self.gadgets.len();
        let mut producer: Vec<Option<usize>> = vec![None; self.wires.len()];
        for (i, gad) in self.gadgets.iter().enumerate() {
            for &w in &gad.outputs {
                producer[w as usize] = Some(i);
            }
        }
        let mut deps: Vec<Vec<usize>> = vec![Vec::new(); g];
        let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); g];
        for (i, gad) in self.gadgets.iter().enumerate() {
            let mut d: Vec<usize> = gad
                .reads()
                .iter()
                .flat_map(|f| f.terms.iter())
                .filter_map(|&(w, _)| producer[w as usize])
                .collect();
            d.sort_unstable();
            d.dedup();
            for &p in &d {
                consumers[p].push(i);
            }
            deps[i] = d;
        }
        let mut asap = vec![0usize; g];
        for i in 0..g {
            let r = deps[i].iter().map(|&d| asap[d] + 1).max().unwrap_or(0);
            asap[i] = at_or_after(r, self.gadgets[i].is_head());
        }
        let depth = asap.iter().map(|&s| s + 1).max().unwrap_or(0);
        let layers = depth.div_ceil(2).max(1);
        let total_heads = self.gadgets.iter().filter(|x| x.is_head()).count();
        let total_units: usize = self.gadgets.iter().map(Gadget::units).sum();
        let head_cap = total_heads.div_ceil(layers).max(1);
        let unit_cap = total_units.div_ceil(layers).max(1);
        let mut placed: Vec<Option<usize>> = vec![None; g];
        let mut remaining = vec![0usize; g];
        for i in 0..g {
            remaining[i] = consumers[i].len();
        }
        // Gadgets whose readers are all placed, by the latest sublayer they may take.
        let mut latest: Vec<usize> = vec![usize::MAX; g];
        let mut eligible: Vec<usize> = (0..g).filter(|&i| remaining[i] == 0).collect();
        for &i in &eligible {
            latest[i] = at_or_before(depth.saturating_sub(1), self.gadgets[i].is_head())
                .unwrap_or(0)
                .max(asap[i]);
        }
        let mut load_heads = vec![0usize; depth + 1];
        let mut load_units = vec![0usize; depth + 1];
        for s in (0..depth).rev() {
            let head = s % 2 == 0;
            // Candidates for this sublayer: right parity, latest >= s, asap <= s.
            let mut cands: Vec<usize> = eligible
                .iter()
                .copied()
                .filter(|&i| {
                    placed[i].is_none()
                        && self.gadgets[i].is_head() == head
                        && latest[i] >= s
                        && asap[i] <= s
                })
                .collect();
            // Forced first (no earlier room), then the least room, then the latest built.
            cands.sort_by_key(|&i| (std::cmp::Reverse(asap[i]), std::cmp::Reverse(i)));
            for i in cands {
                let forced = asap[i] == s;
                let fits = if head {
                    load_heads[s] < head_cap
                } else {
                    load_units[s] + self.gadgets[i].units() <= unit_cap
                };
                if !forced && !fits {
                    continue;
                }
                placed[i] = Some(s);
                if head {
                    load_heads[s] += 1;
                } else {
                    load_units[s] += self.gadgets[i].units();
                }
                for &d in &deps[i] {
                    remaining[d] -= 1;
                    let l =
                        at_or_before(s.saturating_sub(1), self.gadgets[d].is_head()).unwrap_or(0);
                    latest[d] = latest[d].min(l);
                    if remaining[d] == 0 {
                        eligible.push(d);
                    }
                }
            }
            eligible.retain(|&i| placed[i].is_none());
        }
        self.placed = placed
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.unwrap_or(asap[i]))
            .collect();
        for (i, gad) in self.gadgets.iter().enumerate() {
            let s = self.placed[i];
            for &w in &gad.outputs {
                self.wires[w as usize].born = Some(s);
            }
            match &gad.kind {
                GadgetKind::Mlp(units) => {
                    self.mlp.entry(s).or_default().extend(units.iter().cloned())
                }
                GadgetKind::Head(h) => self.heads.entry(s).or_default().push(h.clone()),
            }
        }
        for (&s, units) in &self.mlp {
            if units.len() > self.max_units {
                let node = self
                    .gadgets
                    .iter()
                    .zip(&self.placed)
                    .find(|(_, &p)| p == s)
                    .map_or(0, |(x, _)| x.node);
                return Err(TooWide {
                    node,
                    units: units.len(),
                    cap: self.max_units,
                });
            }
        }
        Ok(())
    }

    /// The number of sublayers used (one past the last placed).
    pub fn sublayers(&self) -> usize {
        let m = self.mlp.keys().next_back().map_or(0, |s| s + 1);
        let h = self.heads.keys().next_back().map_or(0, |s| s + 1);
        m.max(h)
    }
}
