//! `Cpu`: the fast CPU backend (`gemm` for products, rayon with fixed chunking for the rest).
//!
//! Invariants: results are bitwise identical across runs at a given rayon thread count (row-wise
//! kernels do not even depend on it); after the first call at a given size no op allocates, because
//! scratch space lives in a workspace that only grows.

// Kernels take every buffer they touch as a separate slice, as llm.c does; that is many arguments.
#![allow(clippy::too_many_arguments)]

mod attention;
mod dense;
pub mod gemm;
mod rowwise;

use std::sync::{Mutex, MutexGuard};

use super::backend::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MaskedAttentionDims, MatmulDims,
    NormDims, RopeDims,
};
use rayon::prelude::*;

/// The fast CPU backend. Holds reusable scratch space, so share one per training run.
#[derive(Debug, Default)]
pub struct Cpu {
    workspace: Mutex<Vec<f32>>,
    partials: Mutex<Vec<f64>>,
}

/// Locks a scratch buffer, growing it (the only allocation) when an op needs more than before.
fn grow<T: Clone + Default>(buf: &Mutex<Vec<T>>, len: usize) -> MutexGuard<'_, Vec<T>> {
    // A panic in another op cannot leave scratch space in a state that matters: it is overwritten.
    let mut guard = buf.lock().unwrap_or_else(|e| e.into_inner());
    if guard.len() < len {
        guard.resize(len, T::default());
    }
    guard
}

impl Cpu {
    /// A backend with empty scratch space; it grows to the largest op it has run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current scratch size in bytes (for tests of the no-allocation promise and for reports).
    pub fn workspace_bytes(&self) -> usize {
        grow(&self.workspace, 0).capacity() * 4 + grow(&self.partials, 0).capacity() * 8
    }
}

impl Backend for Cpu {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
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
        if d.dim == 0 {
            return;
        }
        out.par_chunks_mut(d.dim)
            .zip(ids.par_iter())
            .for_each(|(o, &id)| o.copy_from_slice(&table[id as usize * d.dim..][..d.dim]));
    }

    fn embedding_backward(&self, d: EmbeddingDims, ids: &[u32], dout: &[f32], dtable: &mut [f32]) {
        // Serial on purpose: two positions may share an id, and a fixed row order keeps the sum
        // reproducible. It is O(rows × dim), negligible next to any matmul.
        if d.dim == 0 {
            return;
        }
        for (g, &id) in dout.chunks_exact(d.dim).zip(ids) {
            for (t, &g) in dtable[id as usize * d.dim..][..d.dim].iter_mut().zip(g) {
                *t += g;
            }
        }
    }

    fn rope_forward(&self, d: RopeDims, x: &[f32], out: &mut [f32]) {
        let mut ws = grow(&self.workspace, attention::rope_workspace(d));
        attention::rope(d, x, out, &mut ws, false)
    }

    fn rope_backward(&self, d: RopeDims, dout: &[f32], dx: &mut [f32]) {
        let mut ws = grow(&self.workspace, attention::rope_workspace(d));
        attention::rope(d, dout, dx, &mut ws, true)
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
        let mut ws = grow(&self.workspace, attention::forward_workspace(d));
        attention::forward(d, q, k, v, key_mask, out, lse, &mut ws)
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
        let mut ws = grow(&self.workspace, attention::backward_workspace(d));
        attention::backward(d, q, k, v, key_mask, out, lse, dout, dq, dk, dv, &mut ws)
    }

    fn masked_attention_forward(
        &self,
        d: MaskedAttentionDims,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        mask: &[bool],
        out: &mut [f32],
    ) {
        // Heads in parallel, each with one score row of the workspace; every row is the
        // reference's own arithmetic, so the result is bitwise the reference's.
        let (seq, hd) = (d.seq, d.head_dim);
        if seq == 0 || hd == 0 || d.heads == 0 {
            out.fill(0.0);
            return;
        }
        let mut ws = grow(&self.workspace, d.heads * seq);
        out.par_chunks_mut(seq * hd)
            .zip(ws[..d.heads * seq].par_chunks_mut(seq))
            .enumerate()
            .for_each(|(h, (o, scores))| {
                let span = h * seq * hd..(h + 1) * seq * hd;
                let (qh, kh, vh) = (&q[span.clone()], &k[span.clone()], &v[span]);
                for (i, oi) in o.chunks_exact_mut(hd).enumerate() {
                    let m = &mask[(h * seq + i) * seq..][..seq];
                    crate::kernels::reference::attention::masked_row(
                        d, qh, kh, vh, m, i, scores, oi,
                    );
                }
            });
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
        rowwise::layernorm_forward(d, x, weight, bias, y, mean, rstd)
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
        let mut ws = grow(&self.workspace, rowwise::layernorm_workspace(d));
        rowwise::layernorm_backward(d, x, weight, mean, rstd, dy, dx, dweight, dbias, &mut ws)
    }

    fn gelu_forward(&self, x: &[f32], y: &mut [f32]) {
        rowwise::gelu_forward(x, y)
    }

    fn gelu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        rowwise::gelu_backward(x, dy, dx)
    }

    fn relu_forward(&self, x: &[f32], y: &mut [f32]) {
        rowwise::relu_forward(x, y)
    }

    fn relu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        rowwise::relu_backward(x, dy, dx)
    }

    fn residual_forward(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        rowwise::residual_forward(a, b, out)
    }

    fn residual_backward(&self, dout: &[f32], da: &mut [f32], db: &mut [f32]) {
        rowwise::residual_backward(dout, da, db)
    }

    fn cross_entropy_forward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        losses: &mut [f32],
    ) {
        rowwise::cross_entropy_forward(d, logits, targets, losses)
    }

    fn cross_entropy_backward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        dlosses: &[f32],
        dlogits: &mut [f32],
    ) {
        rowwise::cross_entropy_backward(d, logits, targets, dlosses, dlogits)
    }

    fn bce_forward(&self, logits: &[f32], targets: &[f32], losses: &mut [f32]) {
        rowwise::bce_forward(logits, targets, losses)
    }

    fn bce_backward(&self, logits: &[f32], targets: &[f32], dlosses: &[f32], dlogits: &mut [f32]) {
        rowwise::bce_backward(logits, targets, dlosses, dlogits)
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
        rowwise::adamw_step(cfg, step, params, grads, m, v)
    }

    fn sum_of_squares(&self, x: &[f32]) -> f64 {
        let mut partials = grow(&self.partials, rowwise::norm_partials(x.len()));
        rowwise::sum_of_squares(x, &mut partials)
    }

    fn scale(&self, grads: &mut [f32], factor: f32) {
        rowwise::scale(grads, factor)
    }
}

/// Runs `f` compiled for the widest vector instructions this CPU has (pulp's runtime dispatch:
/// AVX-512, AVX2 with FMA, or the baseline), so the elementwise and softmax loops inside use 16 or
/// 8 lanes instead of SSE2's 4. The operations are the same IEEE ones in the same order (Rust never
/// contracts a multiply and an add into an FMA), so results are bitwise those of the baseline.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}
