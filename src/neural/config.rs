//! `ModelConfig`: the shape of one encoder-only Transformer, its parameter layout and exact count.

use serde::{Deserialize, Serialize};

use super::NeuralError;

/// The shape of a model. Every model of the crate (AP-MDM, ARM, MDM) is this one trunk; the ARM
/// sets `causal`, and only the AP-MDM carries the control head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Token ids are `0..vocab` (id 0 is the mask token `M`, see `Vocabulary`).
    pub vocab: usize,
    /// Number of pre-LayerNorm blocks.
    pub layers: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Model width d (the MLP is d -> 4d -> d).
    pub width: usize,
    /// Whether attention is causal (query i sees keys j <= i): true for the ARM.
    pub causal: bool,
    /// Whether the 3-logit control head (remask, insert, delete) is present.
    pub control_head: bool,
    /// Rotary frequency base (10000 in the paper's model).
    pub rope_base: f32,
}

/// One named parameter tensor of the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// A readable name, e.g. `block0.qkv.weight`.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// Parameters per block, in layout order (see [`ModelConfig::layout`]).
pub(crate) const PER_BLOCK: usize = 11;
/// Offsets of a block's parameters from the block's first index.
pub(crate) mod slot {
    pub const LN1_W: usize = 0;
    pub const LN1_B: usize = 1;
    pub const QKV_W: usize = 2;
    pub const OUT_W: usize = 3;
    pub const OUT_B: usize = 4;
    pub const LN2_W: usize = 5;
    pub const LN2_B: usize = 6;
    pub const FC_W: usize = 7;
    pub const FC_B: usize = 8;
    pub const PROJ_W: usize = 9;
    pub const PROJ_B: usize = 10;
}

impl ModelConfig {
    /// The AP-MDM shape: bidirectional attention and the control head.
    pub fn ap_mdm(vocab: usize, layers: usize, heads: usize, width: usize) -> Self {
        ModelConfig {
            vocab,
            layers,
            heads,
            width,
            causal: false,
            control_head: true,
            rope_base: 10_000.0,
        }
    }

    /// The ARM shape: causal attention, token head only.
    pub fn arm(vocab: usize, layers: usize, heads: usize, width: usize) -> Self {
        ModelConfig {
            causal: true,
            control_head: false,
            ..Self::ap_mdm(vocab, layers, heads, width)
        }
    }

    /// The plain-MDM shape: bidirectional attention, token head only.
    pub fn mdm(vocab: usize, layers: usize, heads: usize, width: usize) -> Self {
        ModelConfig {
            control_head: false,
            ..Self::ap_mdm(vocab, layers, heads, width)
        }
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.width / self.heads.max(1)
    }

    /// Rejects shapes the kernels cannot run: zero sizes, a width not divisible by the heads, an
    /// odd head width (rotary pairs), a bad rotary base.
    pub fn validate(&self) -> Result<(), NeuralError> {
        let bad = |reason: String| Err(NeuralError::Config(reason));
        if self.vocab < 2 || self.layers == 0 || self.heads == 0 || self.width == 0 {
            return bad(format!(
                "vocab must be at least 2 and layers, heads, width at least 1 (got vocab {}, \
                 layers {}, heads {}, width {})",
                self.vocab, self.layers, self.heads, self.width
            ));
        }
        if self.width % self.heads != 0 {
            return bad(format!(
                "width {} is not divisible by heads {}",
                self.width, self.heads
            ));
        }
        if self.head_dim() % 2 != 0 {
            return bad(format!(
                "head width {} must be even (rotary positions rotate pairs)",
                self.head_dim()
            ));
        }
        if !(self.rope_base > 1.0 && self.rope_base.is_finite()) {
            return bad(format!("rope base {} must be above 1", self.rope_base));
        }
        Ok(())
    }

    /// Every parameter tensor in layout order: the embedding, each block's 11 tensors (LN1,
    /// fused QKV without bias, output projection with bias, LN2, MLP in and out with biases), the
    /// final LayerNorm, the token head (with bias), and the control head when present.
    pub fn layout(&self) -> Vec<ParamSpec> {
        let (v, d) = (self.vocab, self.width);
        let spec = |name: String, shape: &[usize]| ParamSpec {
            name,
            shape: shape.to_vec(),
        };
        let mut out = vec![spec("embedding".into(), &[v, d])];
        for l in 0..self.layers {
            let p = |s: &str| format!("block{l}.{s}");
            out.push(spec(p("ln1.weight"), &[d]));
            out.push(spec(p("ln1.bias"), &[d]));
            out.push(spec(p("qkv.weight"), &[3 * d, d]));
            out.push(spec(p("out.weight"), &[d, d]));
            out.push(spec(p("out.bias"), &[d]));
            out.push(spec(p("ln2.weight"), &[d]));
            out.push(spec(p("ln2.bias"), &[d]));
            out.push(spec(p("fc.weight"), &[4 * d, d]));
            out.push(spec(p("fc.bias"), &[4 * d]));
            out.push(spec(p("proj.weight"), &[d, 4 * d]));
            out.push(spec(p("proj.bias"), &[d]));
        }
        out.push(spec("ln_f.weight".into(), &[d]));
        out.push(spec("ln_f.bias".into(), &[d]));
        out.push(spec("token_head.weight".into(), &[v, d]));
        out.push(spec("token_head.bias".into(), &[v]));
        if self.control_head {
            out.push(spec("control_head.weight".into(), &[3, d]));
            out.push(spec("control_head.bias".into(), &[3]));
        }
        out
    }

    /// The exact number of scalar parameters: `V·d + L·(12d² + 10d) + 2d + V·d + V (+ 3d + 3)`.
    pub fn parameter_count(&self) -> usize {
        let (v, d, l) = (self.vocab, self.width, self.layers);
        let control = if self.control_head { 3 * d + 3 } else { 0 };
        v * d + l * (12 * d * d + 10 * d) + 2 * d + v * d + v + control
    }

    /// [`ModelConfig::parameter_count`] with checked arithmetic: `None` when the count does not
    /// fit a `usize` (a crafted or absurd config), so nothing is sized from a wrapped total.
    pub fn checked_parameter_count(&self) -> Option<usize> {
        let (v, d, l) = (self.vocab, self.width, self.layers);
        let vd = v.checked_mul(d)?;
        let per_block = d
            .checked_mul(d)?
            .checked_mul(12)?
            .checked_add(d.checked_mul(10)?)?;
        let control = if self.control_head {
            d.checked_mul(3)?.checked_add(3)?
        } else {
            0
        };
        vd.checked_mul(2)?
            .checked_add(l.checked_mul(per_block)?)?
            .checked_add(d.checked_mul(2)?)?
            .checked_add(v)?
            .checked_add(control)
    }

    /// Bytes one training step needs at `batch` sequences of `seq` positions: parameters,
    /// gradients and both AdamW moments, every activation buffer, and the loss buffers (f32s).
    /// `None` past `u64`. Callers compare it with a memory limit before building the model.
    pub fn training_bytes(&self, batch: usize, seq: usize) -> Option<u64> {
        let params = self.checked_parameter_count()?.checked_mul(4)?;
        let acts = super::model::Activations::floats(self, batch, seq)?;
        // Targets, CE weights and losses, three [n, 3] BCE buffers, dtoken, dcontrol.
        let n = batch.checked_mul(seq)?;
        let loss = n
            .checked_mul(3 + 9 + 3)?
            .checked_add(n.checked_mul(self.vocab)?)?;
        let floats = params.checked_add(acts)?.checked_add(loss)?;
        u64::try_from(floats).ok()?.checked_mul(4)
    }

    /// Bytes one decoding forward pass needs at `seq` positions: the parameters and the
    /// activation buffers of one sequence. `None` past `u64`.
    pub fn decoding_bytes(&self, seq: usize) -> Option<u64> {
        let floats = self
            .checked_parameter_count()?
            .checked_add(super::model::Activations::floats(self, 1, seq)?)?;
        u64::try_from(floats).ok()?.checked_mul(4)
    }

    /// Index of block `l`'s first parameter.
    pub(crate) fn block(&self, l: usize) -> usize {
        1 + PER_BLOCK * l
    }

    /// Index of the final LayerNorm's weight; the token head and control head follow it.
    pub(crate) fn head(&self) -> usize {
        1 + PER_BLOCK * self.layers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_layout_exactly() {
        for cfg in [
            ModelConfig::ap_mdm(5, 1, 1, 4),
            ModelConfig::ap_mdm(34, 4, 2, 128),
            ModelConfig::arm(5, 2, 2, 16),
        ] {
            let from_layout: usize = cfg
                .layout()
                .iter()
                .map(|p| p.shape.iter().product::<usize>())
                .sum();
            assert_eq!(from_layout, cfg.parameter_count());
            assert_eq!(cfg.checked_parameter_count(), Some(cfg.parameter_count()));
        }
        // The paper's parity model (1 layer, 1 head, width 4, 5 tokens) and the released
        // Sudoku configuration (4 x 2 x 128, vocab 34), by hand from the formula.
        assert_eq!(ModelConfig::ap_mdm(5, 1, 1, 4).parameter_count(), 300);
        assert_eq!(
            ModelConfig::ap_mdm(34, 4, 2, 128).parameter_count(),
            800_933
        );
    }

    #[test]
    fn a_parameter_count_that_would_wrap_is_none() {
        // 2^31 squared times 12 overflows 64 bits; so does a layer count of 2^62 at width 4.
        assert_eq!(
            ModelConfig::ap_mdm(5, 1, 2, 1 << 31).checked_parameter_count(),
            None
        );
        assert_eq!(
            ModelConfig::ap_mdm(5, 1 << 62, 1, 4).checked_parameter_count(),
            None
        );
        assert_eq!(
            ModelConfig::ap_mdm(5, 1_000_000_000_000, 1, 4).checked_parameter_count(),
            Some(5 * 4 * 2 + 1_000_000_000_000 * (12 * 16 + 40) + 8 + 5 + 15)
        );
    }

    #[test]
    fn bad_shapes_are_refused_with_a_reason() {
        let mut cfg = ModelConfig::ap_mdm(5, 1, 3, 8);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("not divisible"), "{err}");
        cfg.heads = 4; // head width 2: fine
        assert!(cfg.validate().is_ok());
        cfg.heads = 8; // head width 1: odd
        assert!(cfg.validate().unwrap_err().to_string().contains("even"));
        cfg.heads = 0;
        assert!(cfg.validate().is_err());
    }
}
