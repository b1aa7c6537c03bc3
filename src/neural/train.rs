//! Training on transition data: the loss of EXPERIMENTS.md, AdamW with warm-up and clipping, seeded batches.
//!
//! Loss = mean cross-entropy of the target token over the positions that carry one (for the AP-MDM:
//! the masks of x_k that g unmasks; for the ARM: the answer position) + mean binary cross-entropy of
//! the three control bits over every real (non-pad) position and bit. Both terms have weight 1; a
//! batch without token targets contributes 0 for the first term.

use serde::{Deserialize, Serialize};

use crate::kernels::ops;
use crate::kernels::{AdamW, Backend, Rng, Tensor};

use super::config::ModelConfig;
use super::model::{zero_grads, Activations, Batch, Model};
use super::NeuralError;

/// One supervised example: an input sequence, the token wanted at some positions, the bits wanted
/// at every position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Input ids x_k.
    pub ids: Vec<u32>,
    /// The token to predict at a position, where there is one (same length as `ids`).
    pub targets: Vec<Option<u32>>,
    /// Wanted (remask, insert, delete) at every position; empty for models without a control head.
    pub bits: Vec<[bool; 3]>,
}

/// Optimizer and batching settings; everything a run needs besides the model and the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub lr: f32,
    /// Linear warm-up steps from lr/warmup to lr; constant afterwards.
    pub warmup: u32,
    /// Decoupled weight decay (applied to every parameter).
    pub weight_decay: f32,
    /// Examples per step, drawn with replacement.
    pub batch: usize,
    /// Global gradient-norm clip.
    pub clip: f32,
    /// Seed of the batch draws (the model's initial weights have their own seed).
    pub seed: u64,
}

impl TrainConfig {
    /// The paper's settings: AdamW lr 1e-4, weight decay 0.01, batch 256, 250 warm-up steps,
    /// clip 1.0.
    pub fn paper(seed: u64) -> Self {
        TrainConfig {
            lr: 1e-4,
            warmup: 250,
            weight_decay: 0.01,
            batch: 256,
            clip: 1.0,
            seed,
        }
    }

    /// The learning rate at 1-based `step`.
    pub fn lr_at(&self, step: u32) -> f32 {
        if self.warmup == 0 || step >= self.warmup {
            self.lr
        } else {
            self.lr * step as f32 / self.warmup as f32
        }
    }
}

/// A model under training with its optimizer state. Everything that decides the next step is
/// here (batches are drawn from a generator seeded by `(seed, step)`), so saving and restoring
/// this state resumes a run bit for bit.
#[derive(Debug)]
pub struct Trainer {
    /// The model being trained.
    pub model: Model,
    /// Optimizer settings.
    pub config: TrainConfig,
    /// Completed optimizer steps.
    pub step: u32,
    /// AdamW first moments, one per parameter.
    pub m: Vec<Tensor>,
    /// AdamW second moments, one per parameter.
    pub v: Vec<Tensor>,
    /// The loss of every completed step, in order.
    pub losses: Vec<f32>,
    grads: Vec<Tensor>,
    buffers: Option<StepBuffers>,
}

/// What one step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The 1-based step just taken.
    pub step: u32,
    /// Its loss (before the update).
    pub loss: f32,
    /// The gradient norm before clipping.
    pub grad_norm: f32,
}

#[derive(Debug)]
struct StepBuffers {
    acts: Activations,
    targets: Vec<u32>,   // [n]
    ce_weights: Tensor,  // [n]
    ce_losses: Tensor,   // [n]
    bit_targets: Tensor, // [n, 3]
    bce_weights: Tensor, // [n, 3]
    bce_losses: Tensor,  // [n, 3]
    dtoken: Tensor,      // [n, vocab]
    dcontrol: Tensor,    // [n, 3]
}

impl Trainer {
    /// A trainer at step 0 with zero moments.
    pub fn new(model: Model, config: TrainConfig) -> Result<Self, NeuralError> {
        let lr_ok = config.lr.is_finite() && config.lr >= 0.0;
        let clip_ok = config.clip.is_finite() && config.clip > 0.0;
        let decay_ok = config.weight_decay.is_finite() && config.weight_decay >= 0.0;
        if config.batch == 0 || !lr_ok || !clip_ok || !decay_ok {
            return Err(NeuralError::Config(format!(
                "batch must be at least 1, lr and weight decay finite and non-negative, clip \
                 finite and positive (batch {}, lr {}, weight decay {}, clip {})",
                config.batch, config.lr, config.weight_decay, config.clip
            )));
        }
        let m = zero_grads(&model);
        let v = zero_grads(&model);
        let grads = zero_grads(&model);
        Ok(Trainer {
            model,
            config,
            step: 0,
            m,
            v,
            losses: Vec::new(),
            grads,
            buffers: None,
        })
    }

    /// A trainer resumed from saved state; the moments must match the model's shapes.
    pub fn resume(
        model: Model,
        config: TrainConfig,
        step: u32,
        m: Vec<Tensor>,
        v: Vec<Tensor>,
        losses: Vec<f32>,
    ) -> Result<Self, NeuralError> {
        let mut t = Trainer::new(model, config)?;
        let fits = |xs: &[Tensor]| {
            xs.len() == t.model.params.len()
                && xs
                    .iter()
                    .zip(&t.model.params)
                    .all(|(a, b)| a.shape() == b.shape())
        };
        if !fits(&m) || !fits(&v) || losses.len() != step as usize {
            return Err(NeuralError::Config(
                "optimizer state does not match the model (moment shapes or loss count)".into(),
            ));
        }
        t.step = step;
        t.m = m;
        t.v = v;
        t.losses = losses;
        Ok(t)
    }

    /// Draws the batch for the next step: `batch` examples with replacement, from a generator
    /// that depends only on the seed and the step number.
    pub fn draw<'a>(&self, data: &'a [Example]) -> Vec<&'a Example> {
        let mut rng = Rng::new(
            self.config
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(u64::from(self.step) + 1),
        );
        (0..self.config.batch)
            .map(|_| &data[rng.range(0, data.len() - 1)])
            .collect()
    }

    /// One optimizer step on a batch drawn from `data`.
    pub fn train_step(
        &mut self,
        be: &impl Backend,
        data: &[Example],
    ) -> Result<StepReport, NeuralError> {
        if data.is_empty() {
            return Err(NeuralError::Batch("no training examples".into()));
        }
        let picked = self.draw(data);
        self.step_on(be, &picked)
    }

    /// The loss on exactly these examples (padded to the longest), leaving its gradients in
    /// [`Trainer::grads`]; changes no parameter.
    pub fn loss_and_grads(
        &mut self,
        be: &impl Backend,
        examples: &[&Example],
    ) -> Result<f32, NeuralError> {
        let cfg = self.model.config.clone();
        let (batch, bufs) = prepare(&cfg, &mut self.buffers, examples)?;
        self.model.forward(be, &batch, &mut bufs.acts)?;
        let n = batch.batch * batch.seq;

        // Token term.
        ops::cross_entropy_forward(
            be,
            &bufs.acts.token_logits,
            &bufs.targets,
            &mut bufs.ce_losses,
        )?;
        let mut loss = weighted_sum(bufs.ce_losses.data(), bufs.ce_weights.data());
        bufs.dtoken.zero();
        ops::cross_entropy_backward(
            be,
            &bufs.acts.token_logits,
            &bufs.targets,
            &bufs.ce_weights,
            &mut bufs.dtoken,
        )?;
        // Control term.
        bufs.dcontrol.zero();
        if cfg.control_head {
            ops::bce_forward(
                be,
                &bufs.acts.control_logits,
                &bufs.bit_targets,
                &mut bufs.bce_losses,
            )?;
            loss += weighted_sum(bufs.bce_losses.data(), bufs.bce_weights.data());
            ops::bce_backward(
                be,
                &bufs.acts.control_logits,
                &bufs.bit_targets,
                &bufs.bce_weights,
                &mut bufs.dcontrol,
            )?;
        }
        debug_assert_eq!(bufs.ce_losses.len(), n);
        for g in &mut self.grads {
            g.zero();
        }
        self.model.backward(
            be,
            &batch,
            &mut bufs.acts,
            &bufs.dtoken,
            &bufs.dcontrol,
            &mut self.grads,
        )?;
        Ok(loss)
    }

    /// The gradients of the last [`Trainer::loss_and_grads`], one per parameter.
    pub fn grads(&self) -> &[Tensor] {
        &self.grads
    }

    /// One optimizer step on exactly these examples (padded to the longest).
    pub fn step_on(
        &mut self,
        be: &impl Backend,
        examples: &[&Example],
    ) -> Result<StepReport, NeuralError> {
        let loss = self.loss_and_grads(be, examples)?;
        let mut refs: Vec<&mut Tensor> = self.grads.iter_mut().collect();
        let grad_norm = ops::clip_global_norm(be, &mut refs, self.config.clip)?;
        let step = self.step + 1;
        let adam = AdamW {
            lr: self.config.lr_at(step),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: self.config.weight_decay,
        };
        for (((p, g), m), v) in self
            .model
            .params
            .iter_mut()
            .zip(&self.grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            ops::adamw_step(be, adam, step, p, g, m, v)?;
        }
        self.step = step;
        self.losses.push(loss);
        Ok(StepReport {
            step,
            loss,
            grad_norm,
        })
    }
}

/// Pads the examples into a batch and fills the loss targets and weights, (re)using `slot`'s
/// buffers when the shape is unchanged.
fn prepare<'a>(
    cfg: &ModelConfig,
    slot: &'a mut Option<StepBuffers>,
    examples: &[&Example],
) -> Result<(Batch, &'a mut StepBuffers), NeuralError> {
    let b = examples.len();
    let t = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    if b == 0 || t == 0 {
        return Err(NeuralError::Batch("empty batch or empty sequence".into()));
    }
    for (i, e) in examples.iter().enumerate() {
        let want_bits = if cfg.control_head { e.ids.len() } else { 0 };
        if e.targets.len() != e.ids.len() || (cfg.control_head && e.bits.len() != want_bits) {
            return Err(NeuralError::Batch(format!(
                "example {i}: {} ids, {} targets, {} bit rows",
                e.ids.len(),
                e.targets.len(),
                e.bits.len()
            )));
        }
        let bad = e
            .ids
            .iter()
            .chain(e.targets.iter().flatten())
            .find(|&&id| id as usize >= cfg.vocab);
        if let Some(id) = bad {
            return Err(NeuralError::Batch(format!(
                "example {i}: token id {id} is outside the vocabulary of {}",
                cfg.vocab
            )));
        }
    }
    let n = b * t;
    let fresh = match &*slot {
        Some(bufs) => bufs.acts.shape() != (b, t),
        None => true,
    };
    if fresh {
        let z = Tensor::zeros;
        *slot = Some(StepBuffers {
            acts: Activations::new(cfg, b, t),
            targets: vec![0; n],
            ce_weights: z(&[n]),
            ce_losses: z(&[n]),
            bit_targets: z(&[n, 3]),
            bce_weights: z(&[n, 3]),
            bce_losses: z(&[n, 3]),
            dtoken: z(&[n, cfg.vocab]),
            dcontrol: z(&[n, 3]),
        });
    }
    let bufs = slot.as_mut().expect("just set");
    let mut ids = vec![0u32; n];
    let mut real = vec![false; n];
    bufs.targets.fill(0);
    bufs.ce_weights.zero();
    bufs.bit_targets.zero();
    bufs.bce_weights.zero();
    let token_rows = examples
        .iter()
        .map(|e| e.targets.iter().flatten().count())
        .sum::<usize>();
    let real_rows = examples.iter().map(|e| e.ids.len()).sum::<usize>();
    let ce_w = if token_rows == 0 {
        0.0
    } else {
        1.0 / token_rows as f32
    };
    let bce_w = 1.0 / (3 * real_rows) as f32;
    for (bi, e) in examples.iter().enumerate() {
        for (ti, &id) in e.ids.iter().enumerate() {
            let r = bi * t + ti;
            ids[r] = id;
            real[r] = true;
            if let Some(target) = e.targets[ti] {
                bufs.targets[r] = target;
                bufs.ce_weights.data_mut()[r] = ce_w;
            }
            if cfg.control_head {
                for (k, &bit) in e.bits[ti].iter().enumerate() {
                    bufs.bit_targets.data_mut()[3 * r + k] = f32::from(u8::from(bit));
                    bufs.bce_weights.data_mut()[3 * r + k] = bce_w;
                }
            }
        }
    }
    Ok((
        Batch {
            batch: b,
            seq: t,
            ids,
            real,
        },
        bufs,
    ))
}

/// Σ losses · weights, in f64 for a stable sum, returned as f32.
fn weighted_sum(losses: &[f32], weights: &[f32]) -> f32 {
    losses
        .iter()
        .zip(weights)
        .map(|(&l, &w)| f64::from(l) * f64::from(w))
        .sum::<f64>() as f32
}
