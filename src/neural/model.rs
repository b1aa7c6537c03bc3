//! `Model`: the encoder-only Transformer's parameters, its forward pass and its backward pass.
//!
//! Every op runs through `kernels::ops`, so the same code trains on the reference, cpu and wgpu
//! backends. Heads are split and merged here (plain copies): the kernels know nothing of models.

use rayon::prelude::*;

use crate::kernels::ops::{self, AttentionGrads, AttentionSaved};
use crate::kernels::{Backend, Rng, Tensor};

use super::config::{slot, ModelConfig};
use super::NeuralError;

/// A model: its config and one tensor per entry of [`ModelConfig::layout`].
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The shape.
    pub config: ModelConfig,
    /// The parameters, in layout order.
    pub params: Vec<Tensor>,
}

/// Standard deviation of the initial weights (GPT-2's choice), drawn uniform with this spread.
const INIT_STD: f32 = 0.02;
/// Initial bias of the control head: sigmoid(-2) ≈ 0.12, "do nothing" by default.
pub const CONTROL_BIAS_INIT: f32 = -2.0;

impl Model {
    /// A freshly initialized model: weight matrices uniform with standard deviation 0.02,
    /// LayerNorm weights 1, biases 0, control-head bias -2. Fixed by `seed`.
    pub fn new(config: ModelConfig, seed: u64) -> Result<Self, NeuralError> {
        config.validate()?;
        let mut rng = Rng::new(seed);
        let scale = INIT_STD * 3f32.sqrt();
        let params = config
            .layout()
            .iter()
            .map(|p| {
                if p.name.ends_with("ln1.weight")
                    || p.name.ends_with("ln2.weight")
                    || p.name == "ln_f.weight"
                {
                    Tensor::from_vec(&p.shape, vec![1.0; p.shape.iter().product()])
                        .expect("shape and data agree")
                } else if p.name == "control_head.bias" {
                    Tensor::from_vec(&p.shape, vec![CONTROL_BIAS_INIT; 3])
                        .expect("shape and data agree")
                } else if p.shape.len() == 1 {
                    Tensor::zeros(&p.shape)
                } else {
                    Tensor::random(&p.shape, &mut rng, scale)
                }
            })
            .collect();
        Ok(Model { config, params })
    }

    /// Parameters with the given config, checked against its layout (used by checkpoints).
    pub fn from_params(config: ModelConfig, params: Vec<Tensor>) -> Result<Self, NeuralError> {
        config.validate()?;
        let layout = config.layout();
        if layout.len() != params.len() {
            return Err(NeuralError::Config(format!(
                "{} parameter tensors given, the config needs {}",
                params.len(),
                layout.len()
            )));
        }
        for (spec, t) in layout.iter().zip(&params) {
            if spec.shape != t.shape() {
                return Err(NeuralError::Config(format!(
                    "parameter {} has shape {}, the config needs {}",
                    spec.name,
                    dims(t.shape()),
                    dims(&spec.shape)
                )));
            }
        }
        Ok(Model { config, params })
    }

    /// The exact number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.params.iter().map(Tensor::len).sum()
    }
}

/// A shape for people: `3 x 4`.
fn dims(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    parts.join(" x ")
}

/// One batch of inputs: `batch` rows of `seq` ids, with a key mask marking real (non-pad) positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Number of sequences.
    pub batch: usize,
    /// Padded length.
    pub seq: usize,
    /// Token ids. [batch, seq]
    pub ids: Vec<u32>,
    /// True at real positions, false at padding. [batch, seq]
    pub real: Vec<bool>,
}

/// Saved forward state of one block (what its backward pass reads).
#[derive(Debug)]
struct BlockActs {
    x: Tensor,        // [n, d]: the block's input (residual stream)
    ln1: Tensor,      // [n, d]
    ln1_mean: Tensor, // [n]
    ln1_rstd: Tensor, // [n]
    qkv: Tensor,      // [n, 3d]
    q: Tensor,        // [b, h, t, hd] before rotation
    k: Tensor,        // [b, h, t, hd] before rotation
    qr: Tensor,       // [b, h, t, hd] rotated
    kr: Tensor,       // [b, h, t, hd] rotated
    v: Tensor,        // [b, h, t, hd]
    att: Tensor,      // [b, h, t, hd]
    lse: Tensor,      // [b, h, t]
    att_rows: Tensor, // [n, d]: heads merged
    proj: Tensor,     // [n, d]: output projection
    mid: Tensor,      // [n, d]: x + proj
    ln2: Tensor,      // [n, d]
    ln2_mean: Tensor, // [n]
    ln2_rstd: Tensor, // [n]
    fc: Tensor,       // [n, 4d]
    gelu: Tensor,     // [n, 4d]
    mlp: Tensor,      // [n, d]
}

/// Every buffer of one forward and backward pass at one (batch, seq) shape; reused while the shape
/// holds, so training allocates once.
#[derive(Debug)]
pub struct Activations {
    batch: usize,
    seq: usize,
    blocks: Vec<BlockActs>,
    x_final: Tensor,  // [n, d]: the residual stream after the last block
    lnf: Tensor,      // [n, d]
    lnf_mean: Tensor, // [n]
    lnf_rstd: Tensor, // [n]
    /// Token logits. [n, vocab]
    pub token_logits: Tensor,
    /// Control logits (remask, insert, delete) when the model has the head. [n, 3]
    pub control_logits: Tensor,
    zero_bias: Tensor, // [3d]: the QKV projection has no bias
    // Gradient scratch, shared by all blocks.
    g: GradScratch,
}

#[derive(Debug)]
struct GradScratch {
    dx: Tensor,         // [n, d]: gradient of the stream at the current block's output
    dx_prev: Tensor,    // [n, d]: gradient at its input
    dmid: Tensor,       // [n, d]
    dgelu: Tensor,      // [n, 4d]
    dfc: Tensor,        // [n, 4d]
    dln: Tensor,        // [n, d]
    datt_rows: Tensor,  // [n, d]
    datt: Tensor,       // [b, h, t, hd]
    dqr: Tensor,        // [b, h, t, hd]
    dkr: Tensor,        // [b, h, t, hd]
    dq: Tensor,         // [b, h, t, hd]
    dk: Tensor,         // [b, h, t, hd]
    dv: Tensor,         // [b, h, t, hd]
    dqkv: Tensor,       // [n, 3d]
    dzero_bias: Tensor, // [3d]: discarded
    dlnf: Tensor,       // [n, d]
}

impl Activations {
    /// Buffers for `batch` sequences of length `seq` under `config`.
    pub fn new(config: &ModelConfig, batch: usize, seq: usize) -> Self {
        let n = batch * seq;
        let d = config.width;
        let heads = [batch, config.heads, seq, config.head_dim()];
        let z = Tensor::zeros;
        let blocks = (0..config.layers)
            .map(|_| BlockActs {
                x: z(&[n, d]),
                ln1: z(&[n, d]),
                ln1_mean: z(&[n]),
                ln1_rstd: z(&[n]),
                qkv: z(&[n, 3 * d]),
                q: z(&heads),
                k: z(&heads),
                qr: z(&heads),
                kr: z(&heads),
                v: z(&heads),
                att: z(&heads),
                lse: z(&[batch, config.heads, seq]),
                att_rows: z(&[n, d]),
                proj: z(&[n, d]),
                mid: z(&[n, d]),
                ln2: z(&[n, d]),
                ln2_mean: z(&[n]),
                ln2_rstd: z(&[n]),
                fc: z(&[n, 4 * d]),
                gelu: z(&[n, 4 * d]),
                mlp: z(&[n, d]),
            })
            .collect();
        Activations {
            batch,
            seq,
            blocks,
            x_final: z(&[n, d]),
            lnf: z(&[n, d]),
            lnf_mean: z(&[n]),
            lnf_rstd: z(&[n]),
            token_logits: z(&[n, config.vocab]),
            control_logits: z(&[n, 3]),
            zero_bias: z(&[3 * d]),
            g: GradScratch {
                dx: z(&[n, d]),
                dx_prev: z(&[n, d]),
                dmid: z(&[n, d]),
                dgelu: z(&[n, 4 * d]),
                dfc: z(&[n, 4 * d]),
                dln: z(&[n, d]),
                datt_rows: z(&[n, d]),
                datt: z(&heads),
                dqr: z(&heads),
                dkr: z(&heads),
                dq: z(&heads),
                dk: z(&heads),
                dv: z(&heads),
                dqkv: z(&[n, 3 * d]),
                dzero_bias: z(&[3 * d]),
                dlnf: z(&[n, d]),
            },
        }
    }

    /// The number of f32s [`Activations::new`] allocates for this shape, with checked
    /// arithmetic (`None` past `usize`), so a caller can refuse a shape before allocating it.
    pub fn floats(config: &ModelConfig, batch: usize, seq: usize) -> Option<usize> {
        let n = batch.checked_mul(seq)?;
        let nd = n.checked_mul(config.width)?;
        // Per block: 24 [n, d]-sized buffers (x, ln1, qkv 3, q k qr kr v att, att_rows, proj,
        // mid, ln2, fc 4, gelu 4, mlp), four [n] statistics and lse [b, h, t].
        let per_block = nd
            .checked_mul(24)?
            .checked_add(n.checked_mul(4)?)?
            .checked_add(n.checked_mul(config.heads)?)?;
        // Outside the blocks: x_final, lnf, 23 [n, d] gradient buffers; lnf statistics, the
        // control logits [n, 3]; the token logits [n, vocab]; two [3d] bias buffers.
        config
            .layers
            .checked_mul(per_block)?
            .checked_add(nd.checked_mul(25)?)?
            .checked_add(n.checked_mul(5)?)?
            .checked_add(n.checked_mul(config.vocab)?)?
            .checked_add(config.width.checked_mul(6)?)
    }

    /// The f32s these buffers hold, counted field by field (checks [`Activations::floats`]).
    #[cfg(test)]
    pub(crate) fn allocated_floats(&self) -> usize {
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| {
                [
                    &b.x,
                    &b.ln1,
                    &b.ln1_mean,
                    &b.ln1_rstd,
                    &b.qkv,
                    &b.q,
                    &b.k,
                    &b.qr,
                    &b.kr,
                    &b.v,
                    &b.att,
                    &b.lse,
                    &b.att_rows,
                    &b.proj,
                    &b.mid,
                    &b.ln2,
                    &b.ln2_mean,
                    &b.ln2_rstd,
                    &b.fc,
                    &b.gelu,
                    &b.mlp,
                ]
                .iter()
                .map(|t| t.len())
                .sum::<usize>()
            })
            .sum();
        let g = &self.g;
        let rest = [
            &self.x_final,
            &self.lnf,
            &self.lnf_mean,
            &self.lnf_rstd,
            &self.token_logits,
            &self.control_logits,
            &self.zero_bias,
            &g.dx,
            &g.dx_prev,
            &g.dmid,
            &g.dgelu,
            &g.dfc,
            &g.dln,
            &g.datt_rows,
            &g.datt,
            &g.dqr,
            &g.dkr,
            &g.dq,
            &g.dk,
            &g.dv,
            &g.dqkv,
            &g.dzero_bias,
            &g.dlnf,
        ];
        blocks + rest.iter().map(|t| t.len()).sum::<usize>()
    }

    /// The (batch, seq) shape these buffers serve.
    pub fn shape(&self) -> (usize, usize) {
        (self.batch, self.seq)
    }
}

/// Copies the fused `[b·t, 3d]` projection into three `[b, h, t, hd]` tensors (sequences in
/// parallel: each owns its slices, so the copy is the same on any thread count).
fn split_heads(qkv: &[f32], dims: [usize; 4], q: &mut [f32], k: &mut [f32], v: &mut [f32]) {
    let [_, h, t, hd] = dims;
    let d = h * hd;
    let per = h * t * hd;
    if per == 0 {
        return;
    }
    q.par_chunks_mut(per)
        .zip(k.par_chunks_mut(per))
        .zip(v.par_chunks_mut(per))
        .zip(qkv.par_chunks(t * 3 * d))
        .for_each(|(((q, k), v), rows)| {
            for (ti, row) in rows.chunks_exact(3 * d).enumerate() {
                for hi in 0..h {
                    let dst = (hi * t + ti) * hd;
                    q[dst..dst + hd].copy_from_slice(&row[hi * hd..][..hd]);
                    k[dst..dst + hd].copy_from_slice(&row[d + hi * hd..][..hd]);
                    v[dst..dst + hd].copy_from_slice(&row[2 * d + hi * hd..][..hd]);
                }
            }
        });
}

/// The inverse of [`split_heads`]: three `[b, h, t, hd]` gradients into one `[b·t, 3d]` buffer.
fn merge_qkv(dims: [usize; 4], q: &[f32], k: &[f32], v: &[f32], qkv: &mut [f32]) {
    let [_, h, t, hd] = dims;
    let d = h * hd;
    let per = h * t * hd;
    if per == 0 {
        return;
    }
    qkv.par_chunks_mut(t * 3 * d)
        .zip(
            q.par_chunks(per)
                .zip(k.par_chunks(per))
                .zip(v.par_chunks(per)),
        )
        .for_each(|(rows, ((q, k), v))| {
            for (ti, row) in rows.chunks_exact_mut(3 * d).enumerate() {
                for hi in 0..h {
                    let src = (hi * t + ti) * hd;
                    row[hi * hd..][..hd].copy_from_slice(&q[src..src + hd]);
                    row[d + hi * hd..][..hd].copy_from_slice(&k[src..src + hd]);
                    row[2 * d + hi * hd..][..hd].copy_from_slice(&v[src..src + hd]);
                }
            }
        });
}

/// `[b, h, t, hd]` to `[b·t, h·hd]` (`to_rows`) or back, sequences in parallel.
fn transpose_heads(dims: [usize; 4], src: &[f32], dst: &mut [f32], to_rows: bool) {
    let [_, h, t, hd] = dims;
    let d = h * hd;
    let per = h * t * hd;
    if per == 0 {
        return;
    }
    dst.par_chunks_mut(per)
        .zip(src.par_chunks(per))
        .for_each(|(dst, src)| {
            for hi in 0..h {
                for ti in 0..t {
                    let heads_at = (hi * t + ti) * hd;
                    let rows_at = ti * d + hi * hd;
                    if to_rows {
                        dst[rows_at..rows_at + hd].copy_from_slice(&src[heads_at..heads_at + hd]);
                    } else {
                        dst[heads_at..heads_at + hd].copy_from_slice(&src[rows_at..rows_at + hd]);
                    }
                }
            }
        });
}

impl Model {
    fn check_batch(&self, input: &Batch, acts: &Activations) -> Result<(), NeuralError> {
        let n = input.batch * input.seq;
        if input.ids.len() != n || input.real.len() != n || n == 0 {
            return Err(NeuralError::Batch(format!(
                "batch of {} x {} needs {n} ids and mask entries, got {} and {}",
                input.batch,
                input.seq,
                input.ids.len(),
                input.real.len()
            )));
        }
        if acts.shape() != (input.batch, input.seq) || acts.blocks.len() != self.config.layers {
            return Err(NeuralError::Batch(format!(
                "activation buffers are for {} sequences of {} positions, the batch is {} of {}",
                acts.shape().0,
                acts.shape().1,
                input.batch,
                input.seq
            )));
        }
        Ok(())
    }

    /// The forward pass: fills `acts.token_logits` (and `acts.control_logits`).
    pub fn forward(
        &self,
        be: &impl Backend,
        input: &Batch,
        acts: &mut Activations,
    ) -> Result<(), NeuralError> {
        self.check_batch(input, acts)?;
        let cfg = &self.config;
        let p = &self.params;
        let dims = [input.batch, cfg.heads, input.seq, cfg.head_dim()];
        let base = cfg.rope_base;
        let layers = cfg.layers;
        for l in 0..layers {
            let w = cfg.block(l);
            let (done, rest) = acts.blocks.split_at_mut(l);
            let a = &mut rest[0];
            if l == 0 {
                ops::embedding_forward(be, &input.ids, &p[0], &mut a.x)?;
            } else {
                let prev = &done[l - 1];
                ops::residual_forward(be, &prev.mid, &prev.mlp, &mut a.x)?;
            }
            ops::layernorm_forward(
                be,
                &a.x,
                &p[w + slot::LN1_W],
                &p[w + slot::LN1_B],
                &mut a.ln1,
                &mut a.ln1_mean,
                &mut a.ln1_rstd,
            )?;
            ops::linear_forward(be, &a.ln1, &p[w + slot::QKV_W], &acts.zero_bias, &mut a.qkv)?;
            split_heads(
                a.qkv.data(),
                dims,
                a.q.data_mut(),
                a.k.data_mut(),
                a.v.data_mut(),
            );
            ops::rope_forward(be, &a.q, base, &mut a.qr)?;
            ops::rope_forward(be, &a.k, base, &mut a.kr)?;
            ops::attention_forward(
                be,
                &a.qr,
                &a.kr,
                &a.v,
                &input.real,
                cfg.causal,
                &mut a.att,
                &mut a.lse,
            )?;
            transpose_heads(dims, a.att.data(), a.att_rows.data_mut(), true);
            ops::linear_forward(
                be,
                &a.att_rows,
                &p[w + slot::OUT_W],
                &p[w + slot::OUT_B],
                &mut a.proj,
            )?;
            ops::residual_forward(be, &a.x, &a.proj, &mut a.mid)?;
            ops::layernorm_forward(
                be,
                &a.mid,
                &p[w + slot::LN2_W],
                &p[w + slot::LN2_B],
                &mut a.ln2,
                &mut a.ln2_mean,
                &mut a.ln2_rstd,
            )?;
            ops::linear_forward(
                be,
                &a.ln2,
                &p[w + slot::FC_W],
                &p[w + slot::FC_B],
                &mut a.fc,
            )?;
            ops::gelu_forward(be, &a.fc, &mut a.gelu)?;
            ops::linear_forward(
                be,
                &a.gelu,
                &p[w + slot::PROJ_W],
                &p[w + slot::PROJ_B],
                &mut a.mlp,
            )?;
        }
        let last = &acts.blocks[layers - 1];
        ops::residual_forward(be, &last.mid, &last.mlp, &mut acts.x_final)?;
        let h = cfg.head();
        ops::layernorm_forward(
            be,
            &acts.x_final,
            &p[h],
            &p[h + 1],
            &mut acts.lnf,
            &mut acts.lnf_mean,
            &mut acts.lnf_rstd,
        )?;
        ops::linear_forward(be, &acts.lnf, &p[h + 2], &p[h + 3], &mut acts.token_logits)?;
        if cfg.control_head {
            ops::linear_forward(
                be,
                &acts.lnf,
                &p[h + 4],
                &p[h + 5],
                &mut acts.control_logits,
            )?;
        }
        Ok(())
    }

    /// The backward pass from the logits' gradients, after [`Model::forward`] on the same batch
    /// and buffers. Adds into `grads` (one tensor per parameter; the caller zeroes them).
    pub fn backward(
        &self,
        be: &impl Backend,
        input: &Batch,
        acts: &mut Activations,
        dtoken_logits: &Tensor,   // [n, vocab]
        dcontrol_logits: &Tensor, // [n, 3] (ignored without the control head)
        grads: &mut [Tensor],
    ) -> Result<(), NeuralError> {
        self.check_batch(input, acts)?;
        if grads.len() != self.params.len() {
            return Err(NeuralError::Batch(format!(
                "{} gradient tensors for {} parameters",
                grads.len(),
                self.params.len()
            )));
        }
        let cfg = &self.config;
        let p = &self.params;
        let dims = [input.batch, cfg.heads, input.seq, cfg.head_dim()];
        let base = cfg.rope_base;
        let h = cfg.head();
        let g = &mut acts.g;

        g.dlnf.zero();
        {
            let (gw, gb) = split_pair(grads, h + 2);
            ops::linear_backward(be, &acts.lnf, &p[h + 2], dtoken_logits, &mut g.dlnf, gw, gb)?;
        }
        if cfg.control_head {
            let (gw, gb) = split_pair(grads, h + 4);
            ops::linear_backward(
                be,
                &acts.lnf,
                &p[h + 4],
                dcontrol_logits,
                &mut g.dlnf,
                gw,
                gb,
            )?;
        }
        g.dx.zero();
        {
            let (gw, gb) = split_pair(grads, h);
            ops::layernorm_backward(
                be,
                &acts.x_final,
                &p[h],
                &acts.lnf_mean,
                &acts.lnf_rstd,
                &g.dlnf,
                &mut g.dx,
                gw,
                gb,
            )?;
        }
        for l in (0..cfg.layers).rev() {
            let w = cfg.block(l);
            let a = &acts.blocks[l];
            // Stream: out = mid + mlp. Both branches receive dx itself: the MLP reads it, and
            // mid's gradient starts as a copy that layer norm's backward adds into.
            g.dmid.copy_from(&g.dx);
            g.dgelu.zero();
            {
                let (gw, gb) = split_pair(grads, w + slot::PROJ_W);
                ops::linear_backward(
                    be,
                    &a.gelu,
                    &p[w + slot::PROJ_W],
                    &g.dx,
                    &mut g.dgelu,
                    gw,
                    gb,
                )?;
            }
            g.dfc.zero();
            ops::gelu_backward(be, &a.fc, &g.dgelu, &mut g.dfc)?;
            g.dln.zero();
            {
                let (gw, gb) = split_pair(grads, w + slot::FC_W);
                ops::linear_backward(be, &a.ln2, &p[w + slot::FC_W], &g.dfc, &mut g.dln, gw, gb)?;
            }
            {
                let (gw, gb) = split_pair(grads, w + slot::LN2_W);
                ops::layernorm_backward(
                    be,
                    &a.mid,
                    &p[w + slot::LN2_W],
                    &a.ln2_mean,
                    &a.ln2_rstd,
                    &g.dln,
                    &mut g.dmid,
                    gw,
                    gb,
                )?;
            }
            // Stream: mid = x + proj, the same way.
            g.dx_prev.copy_from(&g.dmid);
            g.datt_rows.zero();
            {
                let (gw, gb) = split_pair(grads, w + slot::OUT_W);
                ops::linear_backward(
                    be,
                    &a.att_rows,
                    &p[w + slot::OUT_W],
                    &g.dmid,
                    &mut g.datt_rows,
                    gw,
                    gb,
                )?;
            }
            transpose_heads(dims, g.datt_rows.data(), g.datt.data_mut(), false);
            g.dqr.zero();
            g.dkr.zero();
            g.dv.zero();
            ops::attention_backward(
                be,
                &a.qr,
                &a.kr,
                &a.v,
                &input.real,
                cfg.causal,
                AttentionSaved {
                    out: &a.att,
                    lse: &a.lse,
                },
                &g.datt,
                AttentionGrads {
                    dq: &mut g.dqr,
                    dk: &mut g.dkr,
                    dv: &mut g.dv,
                },
            )?;
            g.dq.zero();
            g.dk.zero();
            ops::rope_backward(be, &g.dqr, base, &mut g.dq)?;
            ops::rope_backward(be, &g.dkr, base, &mut g.dk)?;
            merge_qkv(
                dims,
                g.dq.data(),
                g.dk.data(),
                g.dv.data(),
                g.dqkv.data_mut(),
            );
            g.dln.zero();
            ops::linear_backward(
                be,
                &a.ln1,
                &p[w + slot::QKV_W],
                &g.dqkv,
                &mut g.dln,
                &mut grads[w + slot::QKV_W],
                &mut g.dzero_bias,
            )?;
            {
                let (gw, gb) = split_pair(grads, w + slot::LN1_W);
                ops::layernorm_backward(
                    be,
                    &a.x,
                    &p[w + slot::LN1_W],
                    &a.ln1_mean,
                    &a.ln1_rstd,
                    &g.dln,
                    &mut g.dx_prev,
                    gw,
                    gb,
                )?;
            }
            std::mem::swap(&mut g.dx, &mut g.dx_prev);
        }
        ops::embedding_backward(be, &input.ids, &g.dx, &mut grads[0])?;
        Ok(())
    }
}

/// Two adjacent gradient tensors (a weight and its bias) borrowed mutably at once.
fn split_pair(grads: &mut [Tensor], at: usize) -> (&mut Tensor, &mut Tensor) {
    let (a, b) = grads[at..].split_at_mut(1);
    (&mut a[0], &mut b[0])
}

/// Zero gradient tensors shaped like the model's parameters.
pub fn zero_grads(model: &Model) -> Vec<Tensor> {
    model
        .params
        .iter()
        .map(|t| Tensor::zeros(t.shape()))
        .collect()
}
