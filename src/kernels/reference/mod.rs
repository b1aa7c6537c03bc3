//! `Reference`: the plain-loop backend; the definition every other backend is checked against.

// The reference is written as index loops on purpose: they read like the formulas they define.
#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

pub(crate) mod attention;
mod dense;
mod elementwise;
mod loss;
mod norm;

use super::backend::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MatmulDims, NormDims, RopeDims,
};

/// Single-threaded, allocation-light, obviously-correct loops; speed is not a goal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl Backend for Reference {
    fn name(&self) -> String {
        "reference".into()
    }

    fn matmul_forward(&self, d: MatmulDims, a: &[f32], b: &[f32], c: &mut [f32]) {
        dense::matmul_forward(d, a, b, c)
    }

    fn matmul_backward(
        &self,
        d: MatmulDims,
        a: &[f32],
        b: &[f32],
        dc: &[f32],
        da: &mut [f32],
        db: &mut [f32],
    ) {
        dense::matmul_backward(d, a, b, dc, da, db)
    }

    fn linear_forward(&self, d: LinearDims, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
        dense::linear_forward(d, x, w, bias, y)
    }

    fn linear_backward(
        &self,
        d: LinearDims,
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dw: &mut [f32],
        dbias: &mut [f32],
    ) {
        dense::linear_backward(d, x, w, dy, dx, dw, dbias)
    }

    fn embedding_forward(&self, d: EmbeddingDims, ids: &[u32], table: &[f32], out: &mut [f32]) {
        for (r, &id) in ids.iter().enumerate() {
            let src = &table[id as usize * d.dim..][..d.dim];
            out[r * d.dim..][..d.dim].copy_from_slice(src);
        }
    }

    fn embedding_backward(&self, d: EmbeddingDims, ids: &[u32], dout: &[f32], dtable: &mut [f32]) {
        for (r, &id) in ids.iter().enumerate() {
            for c in 0..d.dim {
                dtable[id as usize * d.dim + c] += dout[r * d.dim + c];
            }
        }
    }

    fn rope_forward(&self, d: RopeDims, x: &[f32], out: &mut [f32]) {
        attention::rope(d, x, out, false)
    }

    fn rope_backward(&self, d: RopeDims, dout: &[f32], dx: &mut [f32]) {
        attention::rope(d, dout, dx, true)
    }

    fn attention_forward(
        &self,
        d: AttentionDims,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        key_mask: &[bool],
        out: &mut [f32],
        lse: &mut [f32],
    ) {
        attention::forward(d, q, k, v, key_mask, out, lse)
    }

    fn attention_backward(
        &self,
        d: AttentionDims,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        key_mask: &[bool],
        out: &[f32],
        lse: &[f32],
        dout: &[f32],
        dq: &mut [f32],
        dk: &mut [f32],
        dv: &mut [f32],
    ) {
        attention::backward(d, q, k, v, key_mask, out, lse, dout, dq, dk, dv)
    }

    fn layernorm_forward(
        &self,
        d: NormDims,
        x: &[f32],
        weight: &[f32],
        bias: &[f32],
        y: &mut [f32],
        mean: &mut [f32],
        rstd: &mut [f32],
    ) {
        norm::forward(d, x, weight, bias, y, mean, rstd)
    }

    fn layernorm_backward(
        &self,
        d: NormDims,
        x: &[f32],
        weight: &[f32],
        mean: &[f32],
        rstd: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dweight: &mut [f32],
        dbias: &mut [f32],
    ) {
        norm::backward(d, x, weight, mean, rstd, dy, dx, dweight, dbias)
    }

    fn gelu_forward(&self, x: &[f32], y: &mut [f32]) {
        elementwise::gelu_forward(x, y)
    }

    fn gelu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        elementwise::gelu_backward(x, dy, dx)
    }

    fn relu_forward(&self, x: &[f32], y: &mut [f32]) {
        elementwise::relu_forward(x, y)
    }

    fn relu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        elementwise::relu_backward(x, dy, dx)
    }

    fn residual_forward(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        for i in 0..out.len() {
            out[i] = a[i] + b[i];
        }
    }

    fn residual_backward(&self, dout: &[f32], da: &mut [f32], db: &mut [f32]) {
        for i in 0..dout.len() {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }

    fn cross_entropy_forward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        losses: &mut [f32],
    ) {
        loss::cross_entropy_forward(d, logits, targets, losses)
    }

    fn cross_entropy_backward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        dlosses: &[f32],
        dlogits: &mut [f32],
    ) {
        loss::cross_entropy_backward(d, logits, targets, dlosses, dlogits)
    }

    fn bce_forward(&self, logits: &[f32], targets: &[f32], losses: &mut [f32]) {
        loss::bce_forward(logits, targets, losses)
    }

    fn bce_backward(&self, logits: &[f32], targets: &[f32], dlosses: &[f32], dlogits: &mut [f32]) {
        loss::bce_backward(logits, targets, dlosses, dlogits)
    }

    fn adamw_step(
        &self,
        cfg: AdamW,
        step: u32,
        params: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        elementwise::adamw_step(cfg, step, params, grads, m, v)
    }

    fn sum_of_squares(&self, x: &[f32]) -> f64 {
        let mut sum = 0.0f64;
        for &v in x {
            sum += v as f64 * v as f64;
        }
        sum
    }

    fn scale(&self, grads: &mut [f32], factor: f32) {
        for g in grads.iter_mut() {
            *g *= factor;
        }
    }
}
