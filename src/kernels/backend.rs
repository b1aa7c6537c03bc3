//! `Backend`: the one interface every kernel implementation provides, over flat slices and checked dims.
//!
//! Methods here are called by `ops` only after every slice length has been checked against the dims,
//! so an implementation may index freely. Gradient outputs are added into, never overwritten.

// Kernels take every buffer they touch as a separate slice, as llm.c does; that is many arguments.
#![allow(clippy::too_many_arguments)]

/// Batched matrix product `c[b] = a[b] · w[b]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulDims {
    /// Number of independent products.
    pub batch: usize,
    /// Rows of `a` and `c`.
    pub m: usize,
    /// Shared inner dimension.
    pub k: usize,
    /// Columns of `b` and `c`.
    pub n: usize,
}

/// Linear layer `y = x · wᵀ + bias` with `w` stored `[output, input]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearDims {
    /// Number of rows (batch × sequence positions).
    pub rows: usize,
    /// Input features.
    pub input: usize,
    /// Output features.
    pub output: usize,
}

/// Embedding lookup of `rows` ids into a `[vocab, dim]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingDims {
    /// Number of ids looked up.
    pub rows: usize,
    /// Rows of the table.
    pub vocab: usize,
    /// Width of one embedding.
    pub dim: usize,
}

/// Rotary position encoding over `[batch, heads, seq, head_dim]`, position = sequence index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeDims {
    /// Batch size.
    pub batch: usize,
    /// Attention heads.
    pub heads: usize,
    /// Sequence length.
    pub seq: usize,
    /// Head width; even, rotated in pairs (2i, 2i+1).
    pub head_dim: usize,
    /// Frequency base (10000 in the paper's model).
    pub base: f32,
}

/// Softmax attention over `[batch, heads, seq, head_dim]` with a `[batch, seq]` key mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionDims {
    /// Batch size.
    pub batch: usize,
    /// Attention heads.
    pub heads: usize,
    /// Sequence length (queries and keys alike).
    pub seq: usize,
    /// Head width.
    pub head_dim: usize,
    /// Whether query i may only see keys j <= i.
    pub causal: bool,
}

/// Softmax attention over `[heads, seq, head_dim]` with an explicit `[heads, seq, seq]` mask and
/// score scale (forward only: the hand-set weights of `weights` are not trained).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskedAttentionDims {
    /// Attention heads.
    pub heads: usize,
    /// Sequence length (queries and keys alike).
    pub seq: usize,
    /// Head width.
    pub head_dim: usize,
    /// Every score is multiplied by this (1: the scale is folded into the queries).
    pub scale: f32,
}

/// A row-wise op over `[rows, dim]` (layer norm, cross-entropy over `dim` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormDims {
    /// Independent rows.
    pub rows: usize,
    /// Width of one row.
    pub dim: usize,
}

/// AdamW settings (decoupled weight decay, bias-corrected moments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    /// Learning rate.
    pub lr: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to the root of the second moment.
    pub eps: f32,
    /// Decoupled weight decay, scaled by the learning rate.
    pub weight_decay: f32,
}

/// Layer-norm epsilon, shared by every backend so they compute the same function.
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// Every op of the Transformer, forward and backward. Shapes in comments are those `ops` checked.
pub trait Backend {
    /// A short name for reports ("reference", "cpu").
    fn name(&self) -> String;

    /// c = a · b per batch.
    fn matmul_forward(
        &self,
        d: MatmulDims,
        a: &[f32],     // [batch, m, k]
        b: &[f32],     // [batch, k, n]
        c: &mut [f32], // [batch, m, n]
    );

    /// da += dc · bᵀ, db += aᵀ · dc.
    fn matmul_backward(
        &self,
        d: MatmulDims,
        a: &[f32],      // [batch, m, k]
        b: &[f32],      // [batch, k, n]
        dc: &[f32],     // [batch, m, n]
        da: &mut [f32], // [batch, m, k]
        db: &mut [f32], // [batch, k, n]
    );

    /// y = x · wᵀ + bias.
    fn linear_forward(
        &self,
        d: LinearDims,
        x: &[f32],     // [rows, input]
        w: &[f32],     // [output, input]
        bias: &[f32],  // [output]
        y: &mut [f32], // [rows, output]
    );

    /// dx += dy · w, dw += dyᵀ · x, dbias += column sums of dy.
    fn linear_backward(
        &self,
        d: LinearDims,
        x: &[f32],         // [rows, input]
        w: &[f32],         // [output, input]
        dy: &[f32],        // [rows, output]
        dx: &mut [f32],    // [rows, input]
        dw: &mut [f32],    // [output, input]
        dbias: &mut [f32], // [output]
    );

    /// out[r] = table[ids[r]]; ids already checked to be < vocab.
    fn embedding_forward(
        &self,
        d: EmbeddingDims,
        ids: &[u32],     // [rows]
        table: &[f32],   // [vocab, dim]
        out: &mut [f32], // [rows, dim]
    );

    /// dtable[ids[r]] += dout[r].
    fn embedding_backward(
        &self,
        d: EmbeddingDims,
        ids: &[u32],        // [rows]
        dout: &[f32],       // [rows, dim]
        dtable: &mut [f32], // [vocab, dim]
    );

    /// Rotates each pair (2i, 2i+1) of every head by angle pos · base^(-2i/head_dim).
    fn rope_forward(
        &self,
        d: RopeDims,
        x: &[f32],       // [batch, heads, seq, head_dim]
        out: &mut [f32], // [batch, heads, seq, head_dim]
    );

    /// dx += the inverse rotation of dout (a rotation's transpose is its inverse).
    fn rope_backward(
        &self,
        d: RopeDims,
        dout: &[f32],   // [batch, heads, seq, head_dim]
        dx: &mut [f32], // [batch, heads, seq, head_dim]
    );

    /// out = softmax(q kᵀ / sqrt(head_dim), masked) v; lse keeps each row's log-sum-exp so the
    /// backward pass recomputes probabilities instead of storing the seq × seq matrix.
    #[allow(clippy::too_many_arguments)]
    fn attention_forward(
        &self,
        d: AttentionDims,
        q: &[f32],         // [batch, heads, seq, head_dim]
        k: &[f32],         // [batch, heads, seq, head_dim]
        v: &[f32],         // [batch, heads, seq, head_dim]
        key_mask: &[bool], // [batch, seq]: true = a real key
        out: &mut [f32],   // [batch, heads, seq, head_dim]
        lse: &mut [f32],   // [batch, heads, seq]
    );

    /// dq, dk, dv += gradients of attention, from the saved out and lse.
    #[allow(clippy::too_many_arguments)]
    fn attention_backward(
        &self,
        d: AttentionDims,
        q: &[f32],         // [batch, heads, seq, head_dim]
        k: &[f32],         // [batch, heads, seq, head_dim]
        v: &[f32],         // [batch, heads, seq, head_dim]
        key_mask: &[bool], // [batch, seq]
        out: &[f32],       // [batch, heads, seq, head_dim]
        lse: &[f32],       // [batch, heads, seq]
        dout: &[f32],      // [batch, heads, seq, head_dim]
        dq: &mut [f32],    // [batch, heads, seq, head_dim]
        dk: &mut [f32],    // [batch, heads, seq, head_dim]
        dv: &mut [f32],    // [batch, heads, seq, head_dim]
    );

    /// out = softmax(scale q kᵀ over the keys `mask` allows) v per head and query, forward only;
    /// `mask[(h * seq + i) * seq + j]`: query i of head h sees key j. A query that sees no key
    /// gets 0. Scores, exponentials (`f32::exp`) and sums in f32, keys in ascending order. The
    /// default runs the reference loops on the host (the wgpu backend has no kernel for it).
    #[allow(clippy::too_many_arguments)]
    fn masked_attention_forward(
        &self,
        d: MaskedAttentionDims,
        q: &[f32],       // [heads, seq, head_dim]
        k: &[f32],       // [heads, seq, head_dim]
        v: &[f32],       // [heads, seq, head_dim]
        mask: &[bool],   // [heads, seq, seq]
        out: &mut [f32], // [heads, seq, head_dim]
    ) {
        super::reference::attention::masked_forward(d, q, k, v, mask, out)
    }

    /// y = (x - mean) · rstd · weight + bias per row; saves mean and rstd for the backward pass.
    #[allow(clippy::too_many_arguments)]
    fn layernorm_forward(
        &self,
        d: NormDims,
        x: &[f32],        // [rows, dim]
        weight: &[f32],   // [dim]
        bias: &[f32],     // [dim]
        y: &mut [f32],    // [rows, dim]
        mean: &mut [f32], // [rows]
        rstd: &mut [f32], // [rows]
    );

    /// dx, dweight, dbias += gradients of layer norm.
    #[allow(clippy::too_many_arguments)]
    fn layernorm_backward(
        &self,
        d: NormDims,
        x: &[f32],           // [rows, dim]
        weight: &[f32],      // [dim]
        mean: &[f32],        // [rows]
        rstd: &[f32],        // [rows]
        dy: &[f32],          // [rows, dim]
        dx: &mut [f32],      // [rows, dim]
        dweight: &mut [f32], // [dim]
        dbias: &mut [f32],   // [dim]
    );

    /// y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³))), elementwise.
    fn gelu_forward(&self, x: &[f32], y: &mut [f32]); // [n], [n]

    /// dx += gelu'(x) · dy, elementwise.
    fn gelu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]); // [n], [n], [n]

    /// y = x if x > 0 else +0, elementwise (exact: no rounding, -0 and NaN map to +0).
    fn relu_forward(&self, x: &[f32], y: &mut [f32]); // [n], [n]

    /// dx += dy where x > 0; elsewhere (x <= 0, the kink included, and NaN) dx is left as it is.
    fn relu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]); // [n], [n], [n]

    /// out = a + b, elementwise (the residual stream).
    fn residual_forward(&self, a: &[f32], b: &[f32], out: &mut [f32]); // [n] each

    /// da += dout, db += dout.
    fn residual_backward(&self, dout: &[f32], da: &mut [f32], db: &mut [f32]); // [n] each

    /// losses[r] = -log softmax(logits[r])[targets[r]]; targets already checked < dim.
    fn cross_entropy_forward(
        &self,
        d: NormDims,
        logits: &[f32],     // [rows, classes]
        targets: &[u32],    // [rows]
        losses: &mut [f32], // [rows]
    );

    /// dlogits += dlosses[r] · (softmax(logits[r]) - onehot(targets[r])).
    fn cross_entropy_backward(
        &self,
        d: NormDims,
        logits: &[f32],      // [rows, classes]
        targets: &[u32],     // [rows]
        dlosses: &[f32],     // [rows]
        dlogits: &mut [f32], // [rows, classes]
    );

    /// losses = max(x, 0) - x t + log(1 + exp(-|x|)), the stable form of BCE with logits.
    fn bce_forward(&self, logits: &[f32], targets: &[f32], losses: &mut [f32]); // [n] each

    /// dlogits += dlosses · (sigmoid(x) - t).
    fn bce_backward(
        &self,
        logits: &[f32],      // [n]
        targets: &[f32],     // [n]
        dlosses: &[f32],     // [n]
        dlogits: &mut [f32], // [n]
    );

    /// One AdamW update at 1-based `step`; moments m and v are updated in place.
    fn adamw_step(
        &self,
        cfg: AdamW,
        step: u32,
        params: &mut [f32], // [n]
        grads: &[f32],      // [n]
        m: &mut [f32],      // [n]
        v: &mut [f32],      // [n]
    );

    /// The sum of squares of one gradient, accumulated in f64 (clipping adds these over all
    /// gradients, so a step needs no list of them).
    fn sum_of_squares(&self, x: &[f32]) -> f64; // [n]

    /// Multiplies every gradient by `factor` (used by clipping).
    fn scale(&self, grads: &mut [f32], factor: f32); // [n]
}
