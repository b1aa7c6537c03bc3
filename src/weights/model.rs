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
    ///
    /// Positions are computed in parallel (rayon); every value is the same sum, in the same
    /// order, as the plain loop of the equations (each score a dot product over the head's
    /// dimensions in order, each read a sum over visible positions in order, heads added in
    /// order, each unit's row in coordinate order), so the result does not depend on the
    /// number of threads.
    pub fn run(&self, r: &mut [f64], len: usize, hook: &mut dyn FnMut(usize, &[f64])) {
        use rayon::prelude::*;
        let d = self.config.d_model;
        let rows = len + 1;
        // The coordinates a sublayer writes: every other one gains exactly 0.
        let written = |coords: &mut dyn Iterator<Item = u32>| {
            let mut v: Vec<u32> = coords.collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        for (l, layer) in self.layers.iter().enumerate() {
            if !layer.heads.is_empty() {
                let prepared: Vec<Prepared> = layer
                    .heads
                    .par_iter()
                    .map(|h| Prepared::new(h, r, d, rows))
                    .collect();
                let outs = written(&mut layer.heads.iter().flat_map(|h| h.o.iter().copied()));
                // Each head's reads (`a_t / total` per value dimension), once per distinct
                // query: canvas rows with the same query bits and the same visible positions
                // compute the same numbers.
                let reads: Vec<(Vec<usize>, Vec<f64>)> = layer
                    .heads
                    .par_iter()
                    .zip(&prepared)
                    .map(|(h, p)| {
                        let (slot_of, reps) = p.distinct(h, rows);
                        let dv = h.v.len().max(1);
                        let mut out = vec![0.0; reps.len() * dv];
                        out.par_chunks_mut(dv).zip(&reps).for_each_init(
                            || vec![0.0; rows],
                            |scores, (o, &i)| p.read(h, i, rows, scores, o),
                        );
                        (slot_of, out)
                    })
                    .collect();
                // Each canvas row gains the sum of its heads' reads (in head order, from 0),
                // then is updated in place.
                r.par_chunks_mut(d).enumerate().skip(1).for_each_init(
                    || vec![0.0; d],
                    |delta, (i, x)| {
                        for &c in &outs {
                            delta[c as usize] = 0.0;
                        }
                        for (h, (slot_of, out)) in layer.heads.iter().zip(&reads) {
                            let dv = h.v.len().max(1);
                            let read = &out[slot_of[i] * dv..];
                            for (&c, &a) in h.o.iter().zip(read) {
                                delta[c as usize] += a;
                            }
                        }
                        for &c in &outs {
                            x[c as usize] += delta[c as usize];
                        }
                    },
                );
            }
            hook(2 * l, r);
            if !layer.units.is_empty() {
                let outs = written(&mut layer.units.iter().flat_map(|u| u.w2.iter().map(|e| e.0)));
                r.par_chunks_mut(d).for_each_init(
                    || vec![0.0; d],
                    |delta, x| {
                        for &c in &outs {
                            delta[c as usize] = 0.0;
                        }
                        for u in &layer.units {
                            let h = u.w1.dot(x).max(0.0);
                            if h != 0.0 {
                                for &(c, w) in &u.w2 {
                                    delta[c as usize] += w * h;
                                }
                            }
                        }
                        for &c in &outs {
                            x[c as usize] += delta[c as usize];
                        }
                    },
                );
            }
            hook(2 * l + 1, r);
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

/// Positions (scores) or dimensions (reads) computed together in registers.
const BLOCK: usize = 8;

/// Below this, `exp` is exactly +0 in f64: e^-746 < 2^-1076, under half the smallest subnormal
/// (2^-1074), so every faithful exp rounds it to 0 (checked against this libm by a test).
const UNDERFLOW: f64 = -746.0;

/// One head's keys (transposed: `[dimension][position]`), values (`[position][dimension]`) and
/// queries (`[position][dimension]`) over every model position.
struct Prepared {
    keys_t: Vec<f64>,
    values: Vec<f64>,
    queries: Vec<f64>,
}

impl Prepared {
    fn new(h: &HeadWeights, r: &[f64], d: usize, rows: usize) -> Prepared {
        let (dk, dv) = (h.k.len(), h.v.len());
        let mut keys_t = vec![0.0; dk * rows];
        let mut values = vec![0.0; dv * rows];
        let mut queries = vec![0.0; h.q.len() * rows];
        for p in 0..rows {
            let x = &r[p * d..(p + 1) * d];
            for (t, row) in h.k.iter().enumerate() {
                keys_t[t * rows + p] = row.dot(x);
            }
            for (t, row) in h.v.iter().enumerate() {
                values[p * dv + t] = row.dot(x);
            }
            let nq = h.q.len();
            for (t, row) in h.q.iter().enumerate() {
                queries[p * nq + t] = row.dot(x);
            }
        }
        Prepared {
            keys_t,
            values,
            queries,
        }
    }

    /// Per model position (the sink's entry unused), the slot of its query, and per slot the
    /// first canvas position with it: with no mask, positions whose query vectors are equal
    /// bit for bit share a slot (they see the same positions); with a mask, each its own.
    fn distinct(&self, h: &HeadWeights, rows: usize) -> (Vec<usize>, Vec<usize>) {
        let nq = h.q.len();
        let mut slot_of = vec![0; rows];
        let mut reps = Vec::new();
        if h.mask.is_some() {
            for (i, slot) in slot_of.iter_mut().enumerate().skip(1) {
                *slot = reps.len();
                reps.push(i);
            }
            return (slot_of, reps);
        }
        let mut seen: std::collections::HashMap<Vec<u64>, usize> = std::collections::HashMap::new();
        for (i, slot) in slot_of.iter_mut().enumerate().skip(1) {
            let key: Vec<u64> = self.queries[i * nq..(i + 1) * nq]
                .iter()
                .map(|v| v.to_bits())
                .collect();
            *slot = *seen.entry(key).or_insert_with(|| {
                reps.push(i);
                reps.len() - 1
            });
        }
        (slot_of, reps)
    }

    /// The head's reads at model position `i` (a canvas query): `out[t] = a_t / total`.
    fn read(&self, h: &HeadWeights, i: usize, rows: usize, scores: &mut [f64], out: &mut [f64]) {
        let nq = h.q.len();
        let dv = h.v.len();
        let q = &self.queries[i * nq..(i + 1) * nq];
        // Visible: the sink and the canvas positions j with `j mask i` (canvas indices), a
        // contiguous range for every mask.
        let (lo, hi) = match h.mask {
            None => (1, rows),
            Some(Cmp::Lt) => (1, i),
            Some(Cmp::Le) => (1, i + 1),
            Some(Cmp::Gt) => (i + 1, rows),
            Some(Cmp::Ge) => (i, rows),
            Some(Cmp::Eq) => (i, i + 1),
        };
        let scores = &mut scores[..rows];
        // s_j = sum over t in order of q_t k_jt (from 0, as the plain loop), eight positions
        // at a time in registers.
        let dot = |j: usize| {
            let mut a = 0.0;
            for (t, &qt) in q.iter().enumerate() {
                a += qt * self.keys_t[t * rows + j];
            }
            a
        };
        scores[0] = dot(0);
        let mut j = lo;
        while j + BLOCK <= hi {
            let mut a = [0.0f64; BLOCK];
            for (t, &qt) in q.iter().enumerate() {
                let k: &[f64; BLOCK] = self.keys_t[t * rows + j..][..BLOCK]
                    .try_into()
                    .expect("a block");
                for (x, &kk) in a.iter_mut().zip(k) {
                    *x += qt * kk;
                }
            }
            scores[j..j + BLOCK].copy_from_slice(&a);
            j += BLOCK;
        }
        for (j, slot) in scores.iter_mut().enumerate().take(hi).skip(j) {
            *slot = dot(j);
        }
        let best = scores[lo..hi].iter().fold(scores[0], |b: f64, &s| b.max(s));
        // a_j = exp(s_j - best) (in place) and their total, over visible j in order. Below
        // UNDERFLOW, exp is exactly +0 in f64 and is not called (libm's underflow path is slow);
        // the positions with a_j != 0 are listed, in order, for the reads.
        let mut total = 0.0;
        let mut nonzero = Vec::new();
        for j in std::iter::once(0).chain(lo..hi) {
            let x = scores[j] - best;
            let e = if x < UNDERFLOW { 0.0 } else { x.exp() };
            scores[j] = e;
            if e != 0.0 {
                total += e;
                nonzero.push(j);
            }
        }
        // Each read: the sum over visible j in order of a_j v_jt, eight dimensions at a time.
        let mut acc = [0.0f64; 128];
        let mut acc_vec;
        let acc: &mut [f64] = if dv <= acc.len() {
            &mut acc[..dv]
        } else {
            acc_vec = vec![0.0; dv];
            &mut acc_vec
        };
        let mut t0 = 0;
        while t0 < dv {
            if t0 + BLOCK <= dv {
                let mut a = [0.0f64; BLOCK];
                for &j in &nonzero {
                    let e = scores[j];
                    let v: &[f64; BLOCK] = self.values[j * dv + t0..][..BLOCK]
                        .try_into()
                        .expect("a block");
                    for (x, &vv) in a.iter_mut().zip(v) {
                        *x += e * vv;
                    }
                }
                acc[t0..t0 + BLOCK].copy_from_slice(&a);
                t0 += BLOCK;
            } else {
                for (t, slot) in acc.iter_mut().enumerate().skip(t0) {
                    let mut a = 0.0;
                    for &j in &nonzero {
                        a += scores[j] * self.values[j * dv + t];
                    }
                    *slot = a;
                }
                t0 = dv;
            }
        }
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o = a / total;
        }
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

#[cfg(test)]
mod tests {
    use super::UNDERFLOW;

    #[test]
    fn exp_is_exactly_zero_below_the_underflow_cut() {
        // The forward skips exp below UNDERFLOW and writes +0: this libm must agree, from the
        // cut down to the most negative scores and past them.
        let mut x = UNDERFLOW;
        while x > -1e300 {
            let e = x.exp();
            assert!(e == 0.0 && e.is_sign_positive(), "exp({x}) = {e:e}");
            assert!((x - 0.25).exp() == 0.0, "exp({}) is not 0", x - 0.25);
            x = if x > -2000.0 { x - 0.125 } else { x * 1.5 };
        }
        assert_eq!(f64::NEG_INFINITY.exp(), 0.0);
        // Just above the cut, exp is still a positive subnormal: the cut is not too high.
        assert!((-745.0f64).exp() > 0.0);
    }
}
