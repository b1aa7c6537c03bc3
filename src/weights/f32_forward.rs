//! The f32 executor: the model's forward pass in f32 on the kernel layer (`kernels::Cpu`), the
//! same equations as the f64 definition in `model.rs` (`docs/weights.md`).
//!
//! Each layer's weights are stored dense over the coordinates they touch: a head block reads the
//! columns its Q, K and V rows read, an MLP the columns its W1 rows read and writes the columns
//! its W2 entries write. Coordinates outside those sets have zero weights in the uniform-shape
//! model, and a zero weight adds an exact 0, so the result is the dense model's up to the order of
//! f32 summation. Per layer: Q, K, V by `linear_forward` on the gathered columns, every head of
//! the layer in one `masked_attention_forward` (each head's mask and the sink in the mask, score
//! scale 1: beta is in Q), the outputs added by `residual_forward`; then W1 by `linear_forward`,
//! `relu_forward`, W2 by `linear_forward`, added by `residual_forward`. No normalisation.
//!
//! `WeightsStep` runs this in lockstep with the f64 forward: after each attention sublayer it
//! compares the f32 MLP pre-activations of every comparison unit (the rounding units of
//! `noise::is_pair`) with the f64 ones, and at the end the f32 read-out logits with the f64 ones.
//! A comparison keeps its regime while its pre-activation error stays under 1/2 and a logit its
//! sign while its error stays under 1 (`proofs/weights.md`, Lemma 7); the margin of one is the
//! fraction of that allowance left, `1 - 2 |error|` and `1 - |error|`.

use super::model::{HeadWeights, Model, Row};
use super::noise;
use crate::kernels::{ops, Cpu, KernelError, Tensor};
use crate::seq::Cmp;

/// Every head's rows picked by `pick`, each head padded to `dh` rows (`None`: a zero row).
fn padded(
    heads: &[HeadWeights],
    dh: usize,
    pick: fn(&HeadWeights) -> &Vec<Row>,
) -> Vec<Option<&Row>> {
    heads
        .iter()
        .flat_map(|h| {
            let r = pick(h);
            (0..dh).map(move |t| r.get(t))
        })
        .collect()
}

/// Rows of a weight matrix stored dense over the columns (residual coordinates) they read.
#[derive(Clone, Debug)]
struct Gathered {
    /// The residual coordinates read, ascending.
    cols: Vec<u32>,
    /// `[rows, cols]`.
    w: Tensor,
    /// `[rows]`.
    b: Tensor,
}

impl Gathered {
    fn new(rows: &[Option<&Row>]) -> Gathered {
        let mut cols: Vec<u32> = rows
            .iter()
            .flatten()
            .flat_map(|r| r.entries.iter().map(|e| e.0))
            .collect();
        cols.sort_unstable();
        cols.dedup();
        let n = cols.len();
        let mut w = vec![0.0f32; rows.len() * n];
        let mut b = vec![0.0f32; rows.len()];
        for (i, r) in rows.iter().enumerate() {
            if let Some(r) = r {
                for &(c, x) in &r.entries {
                    let j = cols.binary_search(&c).expect("a column of the union");
                    w[i * n + j] = x as f32;
                }
                b[i] = r.bias as f32;
            }
        }
        Gathered {
            w: Tensor::from_vec(&[rows.len(), n], w).expect("rows x cols"),
            b: Tensor::from_vec(&[rows.len()], b).expect("rows"),
            cols,
        }
    }

    /// `y = W x[cols] + b` for every row of the residual `r` (`rows x d`).
    fn apply(&self, be: &Cpu, r: &[f32], d: usize, rows: usize) -> Result<Tensor, KernelError> {
        let n = self.cols.len();
        let mut x = vec![0.0f32; rows * n];
        for p in 0..rows {
            for (j, &c) in self.cols.iter().enumerate() {
                x[p * n + j] = r[p * d + c as usize];
            }
        }
        let x = Tensor::from_vec(&[rows, n], x)?;
        let mut y = Tensor::zeros(&[rows, self.b.len()]);
        ops::linear_forward(be, &x, &self.w, &self.b, &mut y)?;
        Ok(y)
    }
}

/// One layer's heads, all at the layer's widest head width (padding rows are zero).
#[derive(Clone, Debug)]
struct Heads {
    masks: Vec<Option<Cmp>>,
    d_head: usize,
    q: Gathered,
    k: Gathered,
    v: Gathered,
    /// Per head, the coordinate of each value dimension (O: weight 1).
    o: Vec<Vec<u32>>,
}

/// One layer's MLP.
#[derive(Clone, Debug)]
struct Mlp {
    w1: Gathered,
    /// `[outputs, units]`.
    w2: Tensor,
    /// The coordinates W2 writes, ascending.
    out: Vec<u32>,
    /// Per unit, whether it belongs to a comparison pair, and the node it serves.
    rounding: Vec<Option<usize>>,
}

/// Where the smallest margin was seen.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MarginSite {
    /// The step (1-based).
    pub step: usize,
    /// The sublayer whose input it is (2l + 1: layer l's MLP), `None` for the read-out.
    pub sublayer: Option<usize>,
    /// The canvas position (`None`: the sink).
    pub position: Option<usize>,
    /// The seq node served (a comparison's), or the read-out row.
    pub what: String,
    /// The f64 (exact) value.
    pub exact: f64,
    /// The f32 value.
    pub found: f64,
}

/// What the f32 executor measured over a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct F32Report {
    /// The smallest margin left by any comparison unit or read-out logit (1: the f32 values
    /// equal the f64 ones; <= 0: an error reached Lemma 7's allowance, 1/2 for a comparison unit
    /// and 1 for a logit, past which exactness is no longer guaranteed).
    pub min_margin: Option<f64>,
    /// Where it was.
    pub site: Option<MarginSite>,
    /// The first comparison unit or logit, in execution order, whose margin was <= 0: where f32
    /// first left what the proof allows (the unit may still have computed the right value, e.g.
    /// at the sink, where both units of a pair are far below 0).
    pub first_violation: Option<MarginSite>,
    /// Seconds in the f32 forward passes.
    pub seconds: f64,
}

impl F32Report {
    fn note(&mut self, margin: f64, site: impl Fn() -> MarginSite) {
        let margin = if margin.is_nan() {
            f64::NEG_INFINITY
        } else {
            margin
        };
        if margin <= 0.0 && self.first_violation.is_none() {
            self.first_violation = Some(site());
        }
        if self.min_margin.is_none_or(|m| margin < m) {
            self.min_margin = Some(margin);
            self.site = Some(site());
        }
    }
}

/// The model in f32 on the cpu backend.
#[derive(Debug)]
pub struct F32Model {
    d_model: usize,
    heads: Vec<Option<Heads>>,
    mlps: Vec<Option<Mlp>>,
    readout: Gathered,
    backend: Cpu,
    /// The residual between sublayers, `(len + 1) x d_model`.
    residual: Vec<f32>,
    /// What was measured.
    pub report: F32Report,
}

impl F32Model {
    /// Converts `model`'s weights to f32 (rounding to nearest; `export::inexact_in_f32` counts
    /// those that change).
    pub fn new(model: &Model) -> F32Model {
        let c = &model.lowered.circuit;
        let mut heads = Vec::with_capacity(model.layers.len());
        let mut mlps = Vec::with_capacity(model.layers.len());
        for (l, layer) in model.layers.iter().enumerate() {
            if layer.heads.is_empty() {
                heads.push(None);
            } else {
                let dh = layer
                    .heads
                    .iter()
                    .map(|h| h.q.len().max(h.v.len()))
                    .max()
                    .unwrap_or(1)
                    .max(1);
                heads.push(Some(Heads {
                    masks: layer.heads.iter().map(|h| h.mask).collect(),
                    d_head: dh,
                    q: Gathered::new(&padded(&layer.heads, dh, |h| &h.q)),
                    k: Gathered::new(&padded(&layer.heads, dh, |h| &h.k)),
                    v: Gathered::new(&padded(&layer.heads, dh, |h| &h.v)),
                    o: layer.heads.iter().map(|h| h.o.clone()).collect(),
                }));
            }
            if layer.units.is_empty() {
                mlps.push(None);
                continue;
            }
            let w1 = Gathered::new(&layer.units.iter().map(|u| Some(&u.w1)).collect::<Vec<_>>());
            let mut out: Vec<u32> = layer
                .units
                .iter()
                .flat_map(|u| u.w2.iter().map(|e| e.0))
                .collect();
            out.sort_unstable();
            out.dedup();
            let units = layer.units.len();
            let mut w2 = vec![0.0f32; out.len() * units];
            for (u, unit) in layer.units.iter().enumerate() {
                for &(coord, x) in &unit.w2 {
                    let i = out.binary_search(&coord).expect("an output coordinate");
                    w2[i * units + u] += x as f32;
                }
            }
            // The circuit's units come first in the layer (clearing units after them).
            let mut rounding = vec![None; units];
            if let Some(cu) = c.mlp.get(&(2 * l + 1)) {
                for i in 0..cu.len().saturating_sub(1) {
                    if noise::is_pair(&cu[i], &cu[i + 1]) {
                        let node = noise::node_of(model, cu[i].out[0].0);
                        rounding[i] = Some(node);
                        rounding[i + 1] = Some(node);
                    }
                }
            }
            mlps.push(Some(Mlp {
                w1,
                w2: Tensor::from_vec(&[out.len(), units], w2).expect("outputs x units"),
                out,
                rounding,
            }));
        }
        let readout = Gathered::new(&model.readout.iter().map(Some).collect::<Vec<_>>());
        F32Model {
            d_model: model.config.d_model,
            heads,
            mlps,
            readout,
            backend: Cpu::new(),
            residual: Vec::new(),
            report: F32Report::default(),
        }
    }

    /// Starts a forward pass from the f64 input residual (its features are 0, +-1: exact).
    pub fn start(&mut self, r: &[f64]) {
        self.residual = r.iter().map(|&x| x as f32).collect();
    }

    fn add(&mut self, delta: &[f32]) -> Result<(), KernelError> {
        let n = self.residual.len();
        let a = Tensor::from_vec(&[n], std::mem::take(&mut self.residual))?;
        let b = Tensor::from_vec(&[n], delta.to_vec())?;
        let mut out = Tensor::zeros(&[n]);
        ops::residual_forward(&self.backend, &a, &b, &mut out)?;
        self.residual = out.data().to_vec();
        Ok(())
    }

    /// Layer `l`'s attention sublayer on a canvas of `len` positions.
    pub fn attention(&mut self, l: usize, len: usize) -> Result<(), KernelError> {
        let started = std::time::Instant::now();
        let Some(h) = &self.heads[l] else {
            return Ok(());
        };
        let (d, rows, dh, nh) = (self.d_model, len + 1, h.d_head, h.masks.len());
        let be = &self.backend;
        // [rows, heads * dh] -> [heads, rows, dh].
        let split = |y: Tensor| -> Result<Tensor, KernelError> {
            let y = y.data();
            let mut t = vec![0.0f32; nh * rows * dh];
            for p in 0..rows {
                for hh in 0..nh {
                    t[(hh * rows + p) * dh..][..dh]
                        .copy_from_slice(&y[p * nh * dh + hh * dh..][..dh]);
                }
            }
            Tensor::from_vec(&[nh, rows, dh], t)
        };
        let q = split(h.q.apply(be, &self.residual, d, rows)?)?;
        let k = split(h.k.apply(be, &self.residual, d, rows)?)?;
        let v = split(h.v.apply(be, &self.residual, d, rows)?)?;
        // Model position 0 is the sink: every query sees it; the sink sees only itself.
        let mut mask = vec![false; nh * rows * rows];
        for (hh, m) in h.masks.iter().enumerate() {
            let at = &mut mask[hh * rows * rows..][..rows * rows];
            at[0] = true;
            for i in 1..rows {
                at[i * rows] = true;
                for j in 1..rows {
                    at[i * rows + j] = m.is_none_or(|m| m.holds(j - 1, i - 1));
                }
            }
        }
        let mut out = Tensor::zeros(&[nh, rows, dh]);
        ops::masked_attention_forward(be, &q, &k, &v, &mask, 1.0, &mut out)?;
        let mut delta = vec![0.0f32; rows * d];
        let o = out.data();
        for (hh, coords) in h.o.iter().enumerate() {
            for p in 0..rows {
                for (t, &c) in coords.iter().enumerate() {
                    delta[p * d + c as usize] += o[(hh * rows + p) * dh + t];
                }
            }
        }
        self.add(&delta)?;
        self.report.seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// Layer `l`'s MLP sublayer. `exact`, the f64 residual at the same point (the MLP's input),
    /// gives the comparison units' exact pre-activations, and `model` their rows.
    pub fn mlp(
        &mut self,
        model: &Model,
        l: usize,
        len: usize,
        exact: &[f64],
        step: usize,
    ) -> Result<(), KernelError> {
        let started = std::time::Instant::now();
        let Some(m) = &self.mlps[l] else {
            return Ok(());
        };
        let (d, rows) = (self.d_model, len + 1);
        let be = &self.backend;
        let pre = m.w1.apply(be, &self.residual, d, rows)?;
        let mut hidden = Tensor::zeros(pre.shape());
        ops::relu_forward(be, &pre, &mut hidden)?;
        let mut y = Tensor::zeros(&[rows, m.out.len()]);
        let zero = Tensor::zeros(&[m.out.len()]);
        ops::linear_forward(be, &hidden, &m.w2, &zero, &mut y)?;
        let mut delta = vec![0.0f32; rows * d];
        let no = m.out.len();
        for p in 0..rows {
            for (i, &c) in m.out.iter().enumerate() {
                delta[p * d + c as usize] = y.data()[p * no + i];
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        // Margins (not timed): each comparison unit against its f64 pre-activation.
        let units = m.rounding.len();
        let pre = pre.data();
        for (u, node) in m.rounding.iter().enumerate() {
            let Some(node) = node else { continue };
            let row = &model.layers[l].units[u].w1;
            for p in 0..rows {
                let e = row.dot(&exact[p * d..(p + 1) * d]);
                let f = f64::from(pre[p * units + u]);
                self.report.note(1.0 - 2.0 * (f - e).abs(), || MarginSite {
                    step,
                    sublayer: Some(2 * l + 1),
                    position: p.checked_sub(1),
                    what: format!("comparison unit for node {node}"),
                    exact: e,
                    found: f,
                });
            }
        }
        let started = std::time::Instant::now();
        self.add(&delta)?;
        self.report.seconds += seconds + started.elapsed().as_secs_f64();
        Ok(())
    }

    /// The read-out logits of every canvas position, `[len, outputs]` row-major, with each
    /// logit's margin against the f64 logits of `exact` (the final f64 residual).
    pub fn logits(
        &mut self,
        model: &Model,
        len: usize,
        exact: &[f64],
        step: usize,
    ) -> Result<Vec<Vec<f64>>, KernelError> {
        let started = std::time::Instant::now();
        let d = self.d_model;
        let canvas = &self.residual[d..];
        let y = self.readout.apply(&self.backend, canvas, d, len)?;
        self.report.seconds += started.elapsed().as_secs_f64();
        let outputs = self.readout.b.len();
        let mut all = Vec::with_capacity(len);
        for p in 0..len {
            let got: Vec<f64> = y.data()[p * outputs..(p + 1) * outputs]
                .iter()
                .map(|&x| f64::from(x))
                .collect();
            let want = model.logits(exact, p);
            for (i, (&f, &e)) in got.iter().zip(&want).enumerate() {
                self.report.note(1.0 - (f - e).abs(), || MarginSite {
                    step,
                    sublayer: None,
                    position: Some(p),
                    what: format!("read-out row {i}"),
                    exact: e,
                    found: f,
                });
            }
            all.push(got);
        }
        Ok(all)
    }
}

/// The f32 error bound of `proofs/weights.md` (Lemma 8 with f32 arithmetic): weights rounded to
/// f32 (relative error 2^-24, or none when every weight is exact in f32) and roundoff 2^-23 for
/// the activations (twice f32's unit roundoff, covering `f32::exp` within one ulp). `Ok(())`:
/// every margin holds, the f32 forward is proved to propose what the seq evaluator does; `Err`:
/// the first margin that fails and the worst ratio of an error to its margin.
pub fn proof(model: &Model) -> Result<(), (String, f64)> {
    let epsilon = if super::export::inexact_in_f32(model) == 0 {
        0.0
    } else {
        noise::F32_ROUNDOFF
    };
    let b = noise::propagate(model, epsilon, 2.0 * noise::F32_ROUNDOFF);
    match b.failure {
        None => Ok(()),
        Some(f) => Err((f, b.worst_ratio)),
    }
}
