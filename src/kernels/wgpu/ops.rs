//! The `Backend` implementation of `Wgpu`: each op packs its dims into parameters and launches one
//! kernel (the dense ops all reduce to the strided `gemm` kernel).

// Kernels take every buffer they touch as a separate slice, as llm.c does; that is many arguments.
#![allow(clippy::too_many_arguments)]

use super::{Arg, Kernel, Wgpu};
use crate::kernels::backend::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MatmulDims, NormDims, RopeDims,
    LAYER_NORM_EPS,
};
use crate::kernels::math;

/// (batch, row, column) strides of one gemm operand.
type Strides = (usize, usize, usize);

/// Elements per partial sum in `sum_of_squares`.
const NORM_CHUNK: usize = 4096;

fn u(x: usize) -> u32 {
    x as u32
}

impl Wgpu {
    /// dst (+)= lhs · rhs over `batch` products of [m, k] · [k, n], every operand strided.
    fn gemm(
        &self,
        (batch, m, n, k): (usize, usize, usize, usize),
        lhs: &[f32],
        ls: Strides,
        rhs: &[f32],
        rs: Strides,
        dst: &mut [f32],
        ds: Strides,
        accumulate: bool,
    ) {
        let params = [
            u(batch),
            u(m),
            u(n),
            u(k),
            u(ls.0),
            u(ls.1),
            u(ls.2),
            u(rs.0),
            u(rs.1),
            u(rs.2),
            u(ds.0),
            u(ds.1),
            u(ds.2),
            accumulate as u32,
            1.0f32.to_bits(),
        ];
        let args = &mut [Arg::F32(lhs), Arg::F32(rhs), Arg::Rw(dst)];
        self.launch(Kernel::Gemm, &params, batch * m * n, args);
    }

    /// One elementwise op over `n` threads with float settings appended to the parameters.
    fn elementwise(&self, op: u32, n: usize, floats: &[f32], args: &mut [Arg<'_>]) {
        let mut params = vec![u(n), op];
        params.extend(floats.iter().map(|f| f.to_bits()));
        self.launch(Kernel::Elementwise, &params, n, args);
    }

    /// One gather-family op (embedding, RoPE, cross-entropy).
    fn gather(&self, op: u32, threads: usize, dim: usize, extent: usize, args: &mut [Arg<'_>]) {
        let params = [u(threads), op, u(dim), u(extent)];
        self.launch(Kernel::Gather, &params, threads, args);
    }

    fn attention_params(d: AttentionDims) -> [u32; 6] {
        let scale = 1.0 / (d.head_dim as f32).sqrt();
        [
            u(d.batch * d.heads),
            u(d.heads),
            u(d.seq),
            u(d.head_dim),
            d.causal as u32,
            scale.to_bits(),
        ]
    }

    /// The RoPE (cos, sin) table, from the same formula as every other backend.
    fn rope_table(d: RopeDims) -> Vec<f32> {
        let half = d.head_dim / 2;
        let mut table = Vec::with_capacity(d.seq * half * 2);
        for pos in 0..d.seq {
            for pair in 0..half {
                let (cos, sin) = math::rope_angle(pos, pair, d.head_dim, d.base);
                table.extend([cos, sin]);
            }
        }
        table
    }
}

fn mask_words(mask: &[bool]) -> Vec<u32> {
    mask.iter().map(|&m| m as u32).collect()
}

impl Backend for Wgpu {
    fn name(&self) -> String {
        format!("wgpu on {}", self.adapter)
    }

    fn matmul_forward(&self, d: MatmulDims, a: &[f32], b: &[f32], c: &mut [f32]) {
        let MatmulDims { batch, m, k, n } = d;
        self.gemm(
            (batch, m, n, k),
            a,
            (m * k, k, 1),
            b,
            (k * n, n, 1),
            c,
            (m * n, n, 1),
            false,
        );
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
        let MatmulDims { batch, m, k, n } = d;
        // da = dc · bᵀ: bᵀ is b read with row and column strides swapped.
        self.gemm(
            (batch, m, k, n),
            dc,
            (m * n, n, 1),
            b,
            (k * n, 1, n),
            da,
            (m * k, k, 1),
            true,
        );
        // db = aᵀ · dc.
        self.gemm(
            (batch, k, n, m),
            a,
            (m * k, 1, k),
            dc,
            (m * n, n, 1),
            db,
            (k * n, n, 1),
            true,
        );
    }

    fn linear_forward(&self, d: LinearDims, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
        let LinearDims {
            rows,
            input,
            output,
        } = d;
        for row in y.chunks_exact_mut(output) {
            row.copy_from_slice(bias);
        }
        self.gemm(
            (1, rows, output, input),
            x,
            (0, input, 1),
            w,
            (0, 1, input),
            y,
            (0, output, 1),
            true,
        );
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
        let LinearDims {
            rows,
            input,
            output,
        } = d;
        self.gemm(
            (1, rows, input, output),
            dy,
            (0, output, 1),
            w,
            (0, input, 1),
            dx,
            (0, input, 1),
            true,
        );
        self.gemm(
            (1, output, input, rows),
            dy,
            (0, 1, output),
            x,
            (0, input, 1),
            dw,
            (0, input, 1),
            true,
        );
        // The bias gradient is a product with a row of ones: column sums in a fixed order.
        let ones = vec![1.0f32; rows];
        self.gemm(
            (1, 1, output, rows),
            &ones,
            (0, rows, 1),
            dy,
            (0, output, 1),
            dbias,
            (0, output, 1),
            true,
        );
    }

    fn embedding_forward(&self, d: EmbeddingDims, ids: &[u32], table: &[f32], out: &mut [f32]) {
        let args = &mut [Arg::U32(ids), Arg::F32(table), Arg::F32(&[]), Arg::Rw(out)];
        self.gather(0, d.rows * d.dim, d.dim, d.vocab, args);
    }

    fn embedding_backward(&self, d: EmbeddingDims, ids: &[u32], dout: &[f32], dtable: &mut [f32]) {
        let args = &mut [
            Arg::U32(ids),
            Arg::F32(dout),
            Arg::F32(&[]),
            Arg::Rw(dtable),
        ];
        self.gather(1, d.vocab * d.dim, d.dim, d.vocab, args);
    }

    fn rope_forward(&self, d: RopeDims, x: &[f32], out: &mut [f32]) {
        let table = Self::rope_table(d);
        let args = &mut [Arg::U32(&[]), Arg::F32(x), Arg::F32(&table), Arg::Rw(out)];
        self.gather(2, x.len() / 2, d.head_dim, d.seq, args);
    }

    fn rope_backward(&self, d: RopeDims, dout: &[f32], dx: &mut [f32]) {
        let table = Self::rope_table(d);
        let args = &mut [Arg::U32(&[]), Arg::F32(dout), Arg::F32(&table), Arg::Rw(dx)];
        self.gather(3, dout.len() / 2, d.head_dim, d.seq, args);
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
        let mask = mask_words(key_mask);
        let args = &mut [
            Arg::F32(q),
            Arg::F32(k),
            Arg::F32(v),
            Arg::U32(&mask),
            Arg::Rw(out),
            Arg::Rw(lse),
        ];
        self.launch(
            Kernel::AttentionForward,
            &Self::attention_params(d),
            d.batch * d.heads * d.seq,
            args,
        );
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
        let mask = mask_words(key_mask);
        let args = &mut [
            Arg::F32(q),
            Arg::F32(k),
            Arg::F32(v),
            Arg::U32(&mask),
            Arg::F32(out),
            Arg::F32(lse),
            Arg::F32(dout),
            Arg::Rw(dq),
            Arg::Rw(dk),
            Arg::Rw(dv),
        ];
        let rows = d.batch * d.heads * d.seq;
        self.launch(
            Kernel::AttentionBackward,
            &Self::attention_params(d),
            2 * rows,
            args,
        );
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
        let params = [u(d.rows), u(d.dim), LAYER_NORM_EPS.to_bits()];
        let args = &mut [
            Arg::F32(x),
            Arg::F32(weight),
            Arg::F32(bias),
            Arg::Rw(y),
            Arg::Rw(mean),
            Arg::Rw(rstd),
        ];
        self.launch(Kernel::LayerNormForward, &params, d.rows, args);
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
        let params = [u(d.rows), u(d.dim)];
        let args = &mut [
            Arg::F32(x),
            Arg::F32(weight),
            Arg::F32(mean),
            Arg::F32(rstd),
            Arg::F32(dy),
            Arg::Rw(dx),
            Arg::Rw(dweight),
            Arg::Rw(dbias),
        ];
        self.launch(Kernel::LayerNormBackward, &params, d.rows + d.dim, args);
    }

    fn gelu_forward(&self, x: &[f32], y: &mut [f32]) {
        let n = x.len();
        let args = &mut [
            Arg::F32(x),
            Arg::F32(&[]),
            Arg::Rw(y),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(0, n, &[], args);
    }

    fn gelu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let n = x.len();
        let args = &mut [
            Arg::F32(x),
            Arg::F32(dy),
            Arg::Rw(dx),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(1, n, &[], args);
    }

    fn relu_forward(&self, x: &[f32], y: &mut [f32]) {
        let n = x.len();
        let args = &mut [
            Arg::F32(x),
            Arg::F32(&[]),
            Arg::Rw(y),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(9, n, &[], args);
    }

    fn relu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let n = x.len();
        let args = &mut [
            Arg::F32(x),
            Arg::F32(dy),
            Arg::Rw(dx),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(10, n, &[], args);
    }

    fn residual_forward(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        let n = a.len();
        let args = &mut [
            Arg::F32(a),
            Arg::F32(b),
            Arg::Rw(out),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(2, n, &[], args);
    }

    fn residual_backward(&self, dout: &[f32], da: &mut [f32], db: &mut [f32]) {
        let n = dout.len();
        let args = &mut [
            Arg::F32(dout),
            Arg::F32(&[]),
            Arg::Rw(da),
            Arg::Rw(db),
            Arg::Rw(&mut []),
        ];
        self.elementwise(3, n, &[], args);
    }

    fn cross_entropy_forward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        losses: &mut [f32],
    ) {
        let args = &mut [
            Arg::U32(targets),
            Arg::F32(logits),
            Arg::F32(&[]),
            Arg::Rw(losses),
        ];
        self.gather(4, d.rows, d.dim, 0, args);
    }

    fn cross_entropy_backward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        dlosses: &[f32],
        dlogits: &mut [f32],
    ) {
        let args = &mut [
            Arg::U32(targets),
            Arg::F32(logits),
            Arg::F32(dlosses),
            Arg::Rw(dlogits),
        ];
        self.gather(5, d.rows, d.dim, 0, args);
    }

    fn bce_forward(&self, logits: &[f32], targets: &[f32], losses: &mut [f32]) {
        let n = logits.len();
        let args = &mut [
            Arg::F32(logits),
            Arg::F32(targets),
            Arg::Rw(losses),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(4, n, &[], args);
    }

    fn bce_backward(&self, logits: &[f32], targets: &[f32], dlosses: &[f32], dlogits: &mut [f32]) {
        let n = logits.len();
        // dlosses is only read, but it sits in a read-write slot of the shared elementwise layout.
        let mut upstream = dlosses.to_vec();
        let args = &mut [
            Arg::F32(logits),
            Arg::F32(targets),
            Arg::Rw(&mut upstream),
            Arg::Rw(dlogits),
            Arg::Rw(&mut []),
        ];
        self.elementwise(5, n, &[], args);
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
        let n = params.len();
        let (c1, c2) = math::adamw_corrections(cfg, step);
        let floats = [
            cfg.lr,
            cfg.beta1,
            cfg.beta2,
            cfg.eps,
            cfg.weight_decay,
            c1,
            c2,
        ];
        let args = &mut [
            Arg::F32(grads),
            Arg::F32(&[]),
            Arg::Rw(params),
            Arg::Rw(m),
            Arg::Rw(v),
        ];
        self.elementwise(6, n, &floats, args);
    }

    fn sum_of_squares(&self, g: &[f32]) -> f64 {
        let chunks = g.len().div_ceil(NORM_CHUNK);
        let mut partials = vec![0.0f32; chunks];
        let params = [u(chunks), 8, u(NORM_CHUNK), u(g.len())];
        let args = &mut [
            Arg::F32(g),
            Arg::F32(&[]),
            Arg::Rw(&mut partials),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.launch(Kernel::Elementwise, &params, chunks, args);
        // Partials are added on the host in f64, in chunk order.
        partials.iter().map(|&p| p as f64).sum()
    }

    fn scale(&self, grads: &mut [f32], factor: f32) {
        let n = grads.len();
        let args = &mut [
            Arg::F32(&[]),
            Arg::F32(&[]),
            Arg::Rw(grads),
            Arg::Rw(&mut []),
            Arg::Rw(&mut []),
        ];
        self.elementwise(7, n, &[factor], args);
    }
}
