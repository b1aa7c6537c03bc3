//! The Transformer itself: residual coordinates allocated to the circuit's wires (with reuse
//! once a wire is dead), the weights of every layer, and the f64 forward pass that defines it
//! (`docs/weights.md`).
//!
//! Layer l is an attention sublayer (every head reads the same residual; their outputs are added
//! together) followed by a Linear-ReLU-Linear MLP, both residual, no normalisation. Position 0
//! of the model's sequence is the sink (features `one` only); canvas position p is model position
//! p + 1. A canvas query attends the sink and the canvas positions its head's mask allows; the
//! sink attends itself only.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use super::circuit::{Circuit, Feature, Form, Wire};
use super::lower::{Lowered, Options, Readout};
use crate::machine::Token;
use crate::seq::{Cmp, Word};

/// A sparse row of a weight matrix: `(coordinate, weight)` plus a bias.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    /// Non-zero weights by residual coordinate, ascending.
    pub entries: Vec<(u32, f64)>,
    /// The bias.
    pub bias: f64,
}

impl Row {
    /// The row applied to one residual vector.
    pub fn dot(&self, x: &[f64]) -> f64 {
        self.entries
            .iter()
            .fold(self.bias, |acc, &(c, w)| acc + w * x[c as usize])
    }
}

/// One attention head's weights.
#[derive(Clone, Debug)]
pub struct HeadWeights {
    /// Its mask on canvas positions.
    pub mask: Option<Cmp>,
    /// Query rows (no bias: constants read the `one` coordinate).
    pub q: Vec<Row>,
    /// Key rows.
    pub k: Vec<Row>,
    /// Value rows.
    pub v: Vec<Row>,
    /// The coordinate each value dimension is added to (the output projection: weight 1).
    pub o: Vec<u32>,
    /// The seq node served.
    pub node: usize,
}

/// One hidden unit: `relu(w1 . x + b1)` added to the residual with weights `w2`.
#[derive(Clone, Debug)]
pub struct UnitWeights {
    /// Input row and bias.
    pub w1: Row,
    /// `(coordinate, weight)` of the output.
    pub w2: Vec<(u32, f64)>,
}

/// One layer.
#[derive(Clone, Debug, Default)]
pub struct Layer {
    /// Heads.
    pub heads: Vec<HeadWeights>,
    /// Hidden units.
    pub units: Vec<UnitWeights>,
}

/// The uniform shape every layer is stored at (`docs/weights.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Config {
    /// Residual width.
    pub d_model: usize,
    /// Layers.
    pub layers: usize,
    /// Heads per layer (the most any layer uses; at least 1).
    pub heads: usize,
    /// Width of each head's query, key and value (the most any head uses).
    pub d_head: usize,
    /// MLP hidden width (the most any layer uses; at least 1).
    pub d_ff: usize,
    /// Read-out logits.
    pub outputs: usize,
}

impl Config {
    /// Parameters: per layer 4 H d_head d_model (Q, K, V, O) + 2 d_model d_ff + d_ff (W1, W2,
    /// b1); then the read-out d_model * outputs + outputs.
    pub fn parameters(&self) -> u64 {
        let (d, l, h, dh, ff, o) = (
            self.d_model as u64,
            self.layers as u64,
            self.heads as u64,
            self.d_head as u64,
            self.d_ff as u64,
            self.outputs as u64,
        );
        l * (4 * h * dh * d + 2 * d * ff + ff) + d * o + o
    }
}

/// Where a model's parameters go (`Model::profile`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Profile {
    /// Heads of each layer.
    pub heads: Vec<usize>,
    /// Hidden units of each layer (clearing units included).
    pub units: Vec<usize>,
    /// Parameters if every layer were stored at its own heads and MLP width (same d_model and
    /// d_head) instead of the uniform shape.
    pub per_layer_parameters: u64,
    /// The first layer with the most heads.
    pub widest_heads_layer: usize,
    /// The first layer with the widest MLP.
    pub widest_mlp_layer: usize,
    /// Non-zero weights (Q, K, V rows, O, W1 rows and biases, W2, the read-out).
    pub nonzero: u64,
}

/// Where each wire lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Its residual coordinate.
    pub coord: u32,
    /// The first sublayer after which it holds its value (`None`: an input).
    pub born: Option<usize>,
    /// The sublayer whose MLP clears it (`None`: never cleared).
    pub cleared: Option<usize>,
}

impl Placement {
    /// Whether the wire holds its value after sublayer `s` (`None`: before the first).
    pub fn live_after(&self, s: Option<usize>) -> bool {
        let born_ok = match (self.born, s) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(b), Some(s)) => b <= s,
        };
        let not_cleared = match (self.cleared, s) {
            (None, _) | (_, None) => true,
            (Some(c), Some(s)) => c > s,
        };
        born_ok && not_cleared
    }
}

/// A compiled model: weights, shapes, and the circuit facts the shadow check reads.
#[derive(Clone, Debug)]
pub struct Model {
    /// The stored shape.
    pub config: Config,
    /// Input features and their coordinates.
    pub inputs: Vec<(Feature, u32)>,
    /// Layers.
    pub layers: Vec<Layer>,
    /// Read-out rows: per field its bits (LSB first), then remask, insert, delete.
    pub readout: Vec<Row>,
    /// Bits per field.
    pub field_widths: Vec<u32>,
    /// Bits of the position features.
    pub position_bits: u32,
    /// Options of the lowering.
    pub options: Options,
    /// Per wire: where it lives.
    pub placement: Vec<Placement>,
    /// The circuit (wires' meanings) and node forms.
    pub lowered: Lowered,
}

/// The forward pass cannot run on this input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// The canvas is longer than the model was built for.
    #[error("the canvas has {len} positions; the model was built for at most {max}")]
    TooLong {
        /// The canvas length.
        len: usize,
        /// The model's longest canvas.
        max: usize,
    },
    /// A word does not fit the model's input encoding.
    #[error("position {position}: field {field} = {value} does not fit {width} bits")]
    FieldRange {
        /// The position.
        position: usize,
        /// The field.
        field: usize,
        /// The value.
        value: i64,
        /// The field's width.
        width: u32,
    },
    /// A word has the wrong number of fields.
    #[error("position {position}: the word has {found} fields; the model reads {expected}")]
    Shape {
        /// The position.
        position: usize,
        /// Fields found.
        found: usize,
        /// Fields expected.
        expected: usize,
    },
}

fn row(form: &Form, coord: &[u32], one: u32, bias_to_one: bool) -> Row {
    let mut entries: Vec<(u32, f64)> = form
        .terms
        .iter()
        .map(|&(w, c)| (coord[w as usize], c))
        .collect();
    let mut bias = form.bias;
    if bias_to_one && bias != 0.0 {
        entries.push((one, bias));
        bias = 0.0;
    }
    entries.sort_by_key(|e| e.0);
    // Two wires never share a coordinate while both are live, so no merge is needed; merge
    // anyway to keep rows canonical.
    let mut merged: Vec<(u32, f64)> = Vec::with_capacity(entries.len());
    for (c, w) in entries {
        match merged.last_mut() {
            Some(last) if last.0 == c => last.1 += w,
            _ => merged.push((c, w)),
        }
    }
    merged.retain(|e| e.1 != 0.0);
    Row {
        entries: merged,
        bias,
    }
}

/// `v` as a sum of f32-exact parts, largest first: `v` rounded to f32, then what is left,
/// rounded, and so on (each remainder is exact in f64: the error of rounding an f64 to f32 is
/// an f64). One part when `v` is exact in f32 (`[0.0]` for 0).
pub fn f32_parts(v: f64) -> Vec<f64> {
    let mut parts = vec![f64::from(v as f32)];
    let mut rest = v - parts[0];
    while rest != 0.0 {
        let p = f64::from(rest as f32);
        parts.push(p);
        rest -= p;
    }
    parts
}

/// Makes every constant term exact in f32 without changing the function in f64: a row's
/// constant (its bias plus its weight on `one`) and its weight on `real`, when not exact in f32,
/// are split by [`f32_parts`] over the bias (MLP rows only), `one` and further constant features
/// (`Feature::OnePart`, 1 at every position) and over `real` and further copies of it
/// (`Feature::RealPart`, 0 at the sink). The new features take fresh coordinates from
/// `d_model` on (none when every constant is exact). Returns them.
fn split_constants(
    layers: &mut [Layer],
    readout: &mut [Row],
    one: u32,
    real: u32,
    d_model: &mut u32,
) -> Vec<(Feature, u32)> {
    let mut one_parts: Vec<u32> = Vec::new();
    let mut real_parts: Vec<u32> = Vec::new();
    let mut features: Vec<(Feature, u32)> = Vec::new();
    let mut fresh = |kind: bool, k: usize, features: &mut Vec<(Feature, u32)>| -> u32 {
        let list = if kind {
            &mut real_parts
        } else {
            &mut one_parts
        };
        while list.len() < k {
            let part = list.len() as u32 + 1;
            list.push(*d_model);
            features.push((
                if kind {
                    Feature::RealPart { part }
                } else {
                    Feature::OnePart { part }
                },
                *d_model,
            ));
            *d_model += 1;
        }
        list[k - 1]
    };
    let exact = |v: f64| f64::from(v as f32) == v;
    let mut split = |r: &mut Row, with_bias: bool, features: &mut Vec<(Feature, u32)>| {
        let weight = |r: &Row, c: u32| r.entries.iter().find(|e| e.0 == c).map_or(0.0, |e| e.1);
        let constant = weight(r, one) + if with_bias { r.bias } else { 0.0 };
        let on_real = weight(r, real);
        let split_one = !exact(constant) || (with_bias && weight(r, one) != 0.0 && !exact(r.bias));
        let split_real = !exact(on_real);
        if !split_one && !split_real {
            return;
        }
        let mut add: Vec<(u32, f64)> = Vec::new();
        if split_one {
            r.entries.retain(|e| e.0 != one);
            let parts = f32_parts(constant);
            let mut it = parts.into_iter();
            if with_bias {
                r.bias = it.next().unwrap_or(0.0);
            }
            for (k, p) in it.enumerate() {
                let c = if k == 0 {
                    one
                } else {
                    fresh(false, k, features)
                };
                add.push((c, p));
            }
        }
        if split_real {
            r.entries.retain(|e| e.0 != real);
            for (k, p) in f32_parts(on_real).into_iter().enumerate() {
                let c = if k == 0 {
                    real
                } else {
                    fresh(true, k, features)
                };
                add.push((c, p));
            }
        }
        r.entries.extend(add.into_iter().filter(|e| e.1 != 0.0));
        r.entries.sort_by_key(|e| e.0);
    };
    for l in layers.iter_mut() {
        for h in &mut l.heads {
            for r in h.q.iter_mut().chain(&mut h.k).chain(&mut h.v) {
                split(r, false, &mut features);
            }
        }
        for u in &mut l.units {
            split(&mut u.w1, true, &mut features);
        }
    }
    for r in readout.iter_mut() {
        split(r, false, &mut features);
    }
    features
}

/// Every coordinate is cleared twice: after its wire's last reader and again this many
/// sublayers later (the next MLP), before another wire takes it. Exact weights leave 0 after the
/// first; weights with a relative noise epsilon leave about `2 epsilon |x|` after the first and
/// `2 epsilon` times that after the second (`proofs/weights.md`, Lemma 8).
pub const CLEAR_AGAIN: usize = 2;

/// The first MLP sublayer at or after `s`.
fn mlp_at_or_after(s: usize) -> usize {
    if s % 2 == 1 {
        s
    } else {
        s + 1
    }
}

impl Model {
    /// Allocates coordinates and writes the weights of a lowered circuit.
    pub fn build(lowered: Lowered) -> Model {
        let c: &Circuit = &lowered.circuit;
        let n = c.wires.len();
        // Last sublayer reading each wire; `usize::MAX`: read by the read-out (never cleared).
        let mut last: Vec<Option<usize>> = vec![None; n];
        let read = |forms: &[&Form], s: usize, last: &mut Vec<Option<usize>>| {
            for f in forms {
                for &(w, _) in &f.terms {
                    let l = &mut last[w as usize];
                    *l = Some(l.map_or(s, |x| x.max(s)));
                }
            }
        };
        for (&s, units) in &c.mlp {
            for u in units {
                read(&[&u.pre], s, &mut last);
            }
        }
        for (&s, heads) in &c.heads {
            for h in heads {
                let forms: Vec<&Form> = h.q.iter().chain(&h.k).chain(&h.v).collect();
                read(&forms, s, &mut last);
            }
        }
        let Readout { fields, control } = &lowered.readout;
        let outs: Vec<&Form> = fields.iter().flatten().chain(control.iter()).collect();
        read(&outs, usize::MAX, &mut last);
        let mut keep = vec![false; n];
        for (f, w) in &c.features {
            if matches!(f, Feature::One | Feature::Real) {
                keep[*w as usize] = true;
            }
        }
        let mut placement: Vec<Placement> = Vec::with_capacity(n);
        let mut clears: Vec<(usize, Wire)> = Vec::new();
        for (w, info) in c.wires.iter().enumerate() {
            let cleared = if keep[w] || last[w] == Some(usize::MAX) {
                None
            } else {
                let after = info.born.map_or(0, |b| b + 1);
                let s = mlp_at_or_after(last[w].unwrap_or(after).max(after));
                clears.push((s, w as Wire));
                Some(s)
            };
            placement.push(Placement {
                coord: 0,
                born: info.born,
                cleared,
            });
        }
        // Interval colouring in order of birth: a coordinate is free from the sublayer after
        // its previous wire was cleared.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&w| (placement[w].born.map_or(0, |b| b + 1), w));
        let mut busy: BinaryHeap<Reverse<(usize, u32)>> = BinaryHeap::new();
        let mut free: BTreeSet<u32> = BTreeSet::new();
        let mut d_model = 0u32;
        for w in order {
            // A wire born at sublayer b is written during b: the coordinate must be 0 before b,
            // so the previous wire must have been cleared at a sublayer < b.
            let born_at = placement[w].born.map_or(0, |b| b);
            while let Some(&Reverse((free_at, coord))) = busy.peek() {
                if free_at <= born_at && placement[w].born.is_some() {
                    busy.pop();
                    free.insert(coord);
                } else {
                    break;
                }
            }
            let coord = match free.iter().next().copied() {
                Some(coord) => {
                    free.remove(&coord);
                    coord
                }
                None => {
                    d_model += 1;
                    d_model - 1
                }
            };
            placement[w].coord = coord;
            if let Some(s) = placement[w].cleared {
                // Cleared at s and again at s + 2 (what noisy weights leave of the first).
                busy.push(Reverse((s + CLEAR_AGAIN + 1, coord)));
            }
        }
        let coord: Vec<u32> = placement.iter().map(|p| p.coord).collect();
        let one = c
            .features
            .iter()
            .find(|(f, _)| *f == Feature::One)
            .map(|&(_, w)| coord[w as usize])
            .expect("the circuit has the one feature");
        let sublayers = c.sublayers().max(1);
        let layers_n = sublayers.div_ceil(2);
        let mut layers: Vec<Layer> = vec![Layer::default(); layers_n];
        for (&s, heads) in &c.heads {
            for h in heads {
                layers[s / 2].heads.push(HeadWeights {
                    mask: h.mask,
                    q: h.q.iter().map(|f| row(f, &coord, one, true)).collect(),
                    k: h.k.iter().map(|f| row(f, &coord, one, true)).collect(),
                    v: h.v.iter().map(|f| row(f, &coord, one, true)).collect(),
                    o: h.out.iter().map(|&w| coord[w as usize]).collect(),
                    node: h.node,
                });
            }
        }
        let real = c
            .features
            .iter()
            .find(|(f, _)| *f == Feature::Real)
            .map(|&(_, w)| coord[w as usize])
            .expect("the circuit has the real feature");
        for (&s, units) in &c.mlp {
            for u in units {
                let mut w1 = row(&u.pre, &coord, one, false);
                if u.gate != 0.0 {
                    // relu(pre - gate (one - real)): the bias carries -gate, real adds it back.
                    w1.bias -= u.gate;
                    match w1.entries.iter_mut().find(|e| e.0 == real) {
                        Some(e) => e.1 += u.gate,
                        None => {
                            w1.entries.push((real, u.gate));
                            w1.entries.sort_by_key(|e| e.0);
                        }
                    }
                }
                layers[s / 2].units.push(UnitWeights {
                    w1,
                    w2: u.out.iter().map(|&(w, k)| (coord[w as usize], k)).collect(),
                });
            }
        }
        let again: Vec<(usize, Wire)> = clears.iter().map(|&(s, w)| (s + CLEAR_AGAIN, w)).collect();
        clears.extend(again);
        clears.sort();
        for (s, w) in clears {
            if s / 2 >= layers.len() {
                layers.resize(s / 2 + 1, Layer::default());
            }
            let x = coord[w as usize];
            let r = Row {
                entries: vec![(x, 1.0)],
                bias: 0.0,
            };
            let neg = Row {
                entries: vec![(x, -1.0)],
                bias: 0.0,
            };
            layers[s / 2].units.push(UnitWeights {
                w1: r,
                w2: vec![(x, -1.0)],
            });
            layers[s / 2].units.push(UnitWeights {
                w1: neg,
                w2: vec![(x, 1.0)],
            });
        }
        let mut readout = Vec::new();
        for f in outs {
            // logit = 2 form - 1.
            readout.push(row(&f.scaled(2.0).shifted(-1.0), &coord, one, true));
        }
        let mut d_model = d_model;
        let parts = split_constants(&mut layers, &mut readout, one, real, &mut d_model);
        let heads = layers
            .iter()
            .map(|l| l.heads.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let d_head = layers
            .iter()
            .flat_map(|l| l.heads.iter())
            .map(|h| h.q.len().max(h.v.len()))
            .max()
            .unwrap_or(1);
        let d_ff = layers
            .iter()
            .map(|l| l.units.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let config = Config {
            d_model: d_model as usize,
            layers: layers.len(),
            heads,
            d_head,
            d_ff,
            outputs: readout.len(),
        };
        let inputs = c
            .features
            .iter()
            .map(|&(f, w)| (f, coord[w as usize]))
            .chain(parts)
            .collect();
        Model {
            config,
            inputs,
            layers,
            readout,
            field_widths: lowered.field_widths.clone(),
            position_bits: lowered.position_bits,
            options: lowered.options.clone(),
            placement,
            lowered,
        }
    }

    /// The residual stream before layer 0: `(L + 1) * d_model` values, row-major by position.
    pub fn embed(&self, x: &[Token<Word>]) -> Result<Vec<f64>, ForwardError> {
        let d = self.config.d_model;
        let max = self.options.max_len;
        if x.len() > max {
            return Err(ForwardError::TooLong { len: x.len(), max });
        }
        let mut r = vec![0.0; (x.len() + 1) * d];
        for &(f, c) in &self.inputs {
            if matches!(f, Feature::One | Feature::OnePart { .. }) {
                r[c as usize] = 1.0;
            }
        }
        for (p, t) in x.iter().enumerate() {
            let row = &mut r[(p + 1) * d..(p + 2) * d];
            let word = match t {
                Token::Mask => None,
                Token::Sym(w) => {
                    if w.0.len() != self.field_widths.len() {
                        return Err(ForwardError::Shape {
                            position: p,
                            found: w.0.len(),
                            expected: self.field_widths.len(),
                        });
                    }
                    for (k, (&v, &width)) in w.0.iter().zip(&self.field_widths).enumerate() {
                        let lo = -(1i128 << (width - 1));
                        let hi = (1i128 << (width - 1)) - 1;
                        if i128::from(v) < lo || i128::from(v) > hi {
                            return Err(ForwardError::FieldRange {
                                position: p,
                                field: k,
                                value: v,
                                width,
                            });
                        }
                    }
                    Some(w)
                }
            };
            let pm = |b: bool| if b { 1.0 } else { -1.0 };
            for &(f, c) in &self.inputs {
                row[c as usize] = match f {
                    Feature::One
                    | Feature::Real
                    | Feature::OnePart { .. }
                    | Feature::RealPart { .. } => 1.0,
                    Feature::Mask => f64::from(u8::from(word.is_none())),
                    Feature::FieldBit { field, bit } => {
                        let v = word.map_or(0, |w| w.0[field]);
                        pm((v >> bit) & 1 == 1)
                    }
                    Feature::PosBit { bit } => pm((p >> bit) & 1 == 1),
                };
            }
        }
        Ok(r)
    }

    /// Runs every layer on the residual `r` of `len` canvas positions, calling `hook` after
    /// every sublayer with its index and the residual.
    pub fn run(&self, r: &mut [f64], len: usize, hook: &mut dyn FnMut(usize, &[f64])) {
        let d = self.config.d_model;
        let rows = len + 1;
        let mut delta = vec![0.0; rows * d];
        for (l, layer) in self.layers.iter().enumerate() {
            delta.iter_mut().for_each(|v| *v = 0.0);
            for h in &layer.heads {
                self.head(h, r, len, &mut delta);
            }
            for (x, dx) in r.iter_mut().zip(&delta) {
                *x += dx;
            }
            hook(2 * l, r);
            delta.iter_mut().for_each(|v| *v = 0.0);
            for p in 0..rows {
                let x = &r[p * d..(p + 1) * d];
                let out = &mut delta[p * d..(p + 1) * d];
                for u in &layer.units {
                    let h = u.w1.dot(x).max(0.0);
                    if h != 0.0 {
                        for &(c, w) in &u.w2 {
                            out[c as usize] += w * h;
                        }
                    }
                }
            }
            for (x, dx) in r.iter_mut().zip(&delta) {
                *x += dx;
            }
            hook(2 * l + 1, r);
        }
    }

    fn head(&self, h: &HeadWeights, r: &[f64], len: usize, delta: &mut [f64]) {
        let d = self.config.d_model;
        let rows = len + 1;
        let at = |p: usize| &r[p * d..(p + 1) * d];
        let keys: Vec<Vec<f64>> = (0..rows)
            .map(|p| h.k.iter().map(|row| row.dot(at(p))).collect())
            .collect();
        let values: Vec<Vec<f64>> = (0..rows)
            .map(|p| h.v.iter().map(|row| row.dot(at(p))).collect())
            .collect();
        let mut scores = vec![0.0; rows];
        let mut visible = vec![false; rows];
        for i in 1..rows {
            let q: Vec<f64> = h.q.iter().map(|row| row.dot(at(i))).collect();
            let mut best = f64::NEG_INFINITY;
            for j in 0..rows {
                visible[j] = j == 0 || h.mask.is_none_or(|m| m.holds(j - 1, i - 1));
                if visible[j] {
                    scores[j] = q.iter().zip(&keys[j]).map(|(a, b)| a * b).sum();
                    best = best.max(scores[j]);
                }
            }
            let mut total = 0.0;
            let mut acc = vec![0.0; h.v.len()];
            for j in 0..rows {
                if visible[j] {
                    let e = (scores[j] - best).exp();
                    total += e;
                    for (a, v) in acc.iter_mut().zip(&values[j]) {
                        *a += e * v;
                    }
                }
            }
            let out = &mut delta[i * d..(i + 1) * d];
            for (&c, a) in h.o.iter().zip(&acc) {
                out[c as usize] += a / total;
            }
        }
    }

    /// Where the parameters go: each layer's heads and width, and what per-layer shapes would
    /// store.
    pub fn profile(&self) -> Profile {
        let c = self.config;
        let heads: Vec<usize> = self.layers.iter().map(|l| l.heads.len()).collect();
        let units: Vec<usize> = self.layers.iter().map(|l| l.units.len()).collect();
        let (d, dh) = (c.d_model as u64, c.d_head as u64);
        let per_layer_parameters = heads
            .iter()
            .zip(&units)
            .map(|(&h, &ff)| 4 * h as u64 * dh * d + 2 * d * ff as u64 + ff as u64)
            .sum::<u64>()
            + (c.outputs as u64) * (d + 1);
        let first_max = |v: &[usize]| {
            let most = v.iter().copied().max().unwrap_or(0);
            v.iter().position(|&x| x == most).unwrap_or(0)
        };
        let nonzero = self
            .layers
            .iter()
            .map(|l| {
                let heads: usize = l
                    .heads
                    .iter()
                    .map(|h| {
                        h.q.iter()
                            .chain(&h.k)
                            .chain(&h.v)
                            .map(|r| r.entries.len())
                            .sum::<usize>()
                            + h.o.len()
                    })
                    .sum();
                let units: usize = l
                    .units
                    .iter()
                    .map(|u| u.w1.entries.len() + 1 + u.w2.len())
                    .sum();
                (heads + units) as u64
            })
            .sum::<u64>()
            + self
                .readout
                .iter()
                .map(|r| r.entries.len() as u64 + 1)
                .sum::<u64>();
        Profile {
            widest_heads_layer: first_max(&heads),
            widest_mlp_layer: first_max(&units),
            heads,
            units,
            per_layer_parameters,
            nonzero,
        }
    }

    /// The read-out logits of canvas position p (0-based) from the final residual.
    pub fn logits(&self, r: &[f64], p: usize) -> Vec<f64> {
        let d = self.config.d_model;
        let x = &r[(p + 1) * d..(p + 2) * d];
        self.readout.iter().map(|row| row.dot(x)).collect()
    }

    /// Decodes logits into a word and control bits (a bit is set iff its logit is > 0).
    pub fn decode(&self, logits: &[f64]) -> (Word, [bool; 3]) {
        let mut fields = Vec::with_capacity(self.field_widths.len());
        let mut at = 0;
        for &w in &self.field_widths {
            let mut v: i64 = 0;
            for b in 0..w {
                if logits[at + b as usize] > 0.0 {
                    if b + 1 == w {
                        v -= 1i64 << b;
                    } else {
                        v += 1i64 << b;
                    }
                }
            }
            at += w as usize;
            fields.push(v);
        }
        let bits = [logits[at] > 0.0, logits[at + 1] > 0.0, logits[at + 2] > 0.0];
        (Word(fields), bits)
    }
}

/// Fault injection (tests and the fault checks of `docs/weights.md`): deliberate changes to a
/// built model.
impl Model {
    /// Multiplies every weight and bias (Q, K, V, O, W1, b1, W2, the read-out) by
    /// `1 + relative * u`, u uniform in [-1, 1] from a SplitMix64 stream seeded with `seed`.
    /// O is stored as one weight 1 per value dimension, so its factor is applied to that
    /// dimension's V row (the same product).
    pub fn perturb(&mut self, relative: f64, seed: u64) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let mut factor = move || 1.0 + relative * next();
        let row = |r: &mut Row, factor: &mut dyn FnMut() -> f64| {
            for e in &mut r.entries {
                e.1 *= factor();
            }
            r.bias *= factor();
        };
        for l in &mut self.layers {
            for h in &mut l.heads {
                for r in h.q.iter_mut().chain(&mut h.k).chain(&mut h.v) {
                    row(r, &mut factor);
                }
                for r in &mut h.v {
                    // O's weight for this dimension.
                    let o = factor();
                    for e in &mut r.entries {
                        e.1 *= o;
                    }
                    r.bias *= o;
                }
            }
            for u in &mut l.units {
                row(&mut u.w1, &mut factor);
                for e in &mut u.w2 {
                    e.1 *= factor();
                }
            }
        }
        for r in &mut self.readout {
            row(r, &mut factor);
        }
    }

    /// Scales the query of head `head` of layer `layer` (its inverse temperature) by `factor`.
    pub fn scale_query(&mut self, layer: usize, head: usize, factor: f64) {
        for r in &mut self.layers[layer].heads[head].q {
            for e in &mut r.entries {
                e.1 *= factor;
            }
            r.bias *= factor;
        }
    }

    /// Negates the output weights of hidden unit `unit` of layer `layer`.
    pub fn negate_unit(&mut self, layer: usize, unit: usize) {
        for e in &mut self.layers[layer].units[unit].w2 {
            e.1 = -e.1;
        }
    }
}
