//! `apmdm bench train --profile`: a backend that forwards every op to another and adds up, per op
//! and shape, the calls, the wall time and the process CPU time (all threads), with the op's
//! floating-point work where it has a count, so the step's time can be laid out op by op.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use apmdm::kernels::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MaskedAttentionDims, MatmulDims,
    NormDims, RopeDims,
};
use serde::Serialize;

/// CPU time of this process so far, all threads, in nanoseconds: the sum of the first field of
/// `/proc/self/task/*/schedstat` (time on a CPU). `None` where that file does not exist.
pub fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path().join("schedstat");
        // A thread may exit between the listing and the read; it then no longer counts.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Totals of one (op, shape) row.
#[derive(Debug, Default, Clone, Serialize)]
pub struct OpStat {
    /// Op name, e.g. `linear_forward`.
    pub op: String,
    /// Shape in words, e.g. `10368 x 128 -> 384`.
    pub shape: String,
    /// Calls over the profiled steps.
    pub calls: u64,
    /// Floating-point operations of all calls (multiply and add counted apart), where counted.
    pub flop: Option<f64>,
    /// Wall milliseconds of all calls.
    pub wall_ms: f64,
    /// Process CPU milliseconds (all threads) of all calls.
    pub cpu_ms: f64,
}

/// Forwards to `inner`, timing each call.
#[derive(Debug)]
pub struct Profiled<'a, B: Backend> {
    inner: &'a B,
    stats: Mutex<BTreeMap<(String, String), OpStat>>,
    on: Mutex<bool>,
}

impl<'a, B: Backend> Profiled<'a, B> {
    /// A profiler around `inner`, recording from the start.
    pub fn new(inner: &'a B) -> Self {
        Profiled {
            inner,
            stats: Mutex::new(BTreeMap::new()),
            on: Mutex::new(true),
        }
    }

    /// Starts or stops recording (warm-up steps are not recorded).
    pub fn record(&self, on: bool) {
        *self.on.lock().unwrap_or_else(|e| e.into_inner()) = on;
    }

    /// The rows recorded so far, in (op, shape) order.
    pub fn rows(&self) -> Vec<OpStat> {
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.values().cloned().collect()
    }

    fn time<R>(&self, op: &str, shape: String, flop: Option<f64>, f: impl FnOnce() -> R) -> R {
        if !*self.on.lock().unwrap_or_else(|e| e.into_inner()) {
            return f();
        }
        let (c0, t0) = (process_cpu_ns(), Instant::now());
        let r = f();
        let wall = t0.elapsed().as_secs_f64() * 1e3;
        let cpu = match (c0, process_cpu_ns()) {
            (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e6,
            _ => f64::NAN,
        };
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let s = stats
            .entry((op.to_string(), shape.clone()))
            .or_insert_with(|| OpStat {
                op: op.to_string(),
                shape,
                ..OpStat::default()
            });
        s.calls += 1;
        s.flop = flop.map(|f| f + s.flop.unwrap_or(0.0));
        s.wall_ms += wall;
        s.cpu_ms += cpu;
        r
    }
}

fn linear_shape(d: LinearDims) -> String {
    format!("{} x {} -> {}", d.rows, d.input, d.output)
}

fn linear_flop(d: LinearDims) -> f64 {
    2.0 * d.rows as f64 * d.input as f64 * d.output as f64
}

fn attention_shape(d: AttentionDims) -> String {
    format!(
        "{} x {} heads x seq {} x {}",
        d.batch, d.heads, d.seq, d.head_dim
    )
}

/// One product of a score block: 2 · batch · heads · seq · keys · head_dim (keys = seq, or about
/// half of it under the causal mask).
fn attention_product(d: AttentionDims) -> f64 {
    let keys = if d.causal {
        (d.seq as f64 + 1.0) / 2.0
    } else {
        d.seq as f64
    };
    2.0 * (d.batch * d.heads) as f64 * d.seq as f64 * keys * d.head_dim as f64
}

fn elems(n: usize) -> String {
    format!("{n} elements")
}

impl<B: Backend> Backend for Profiled<'_, B> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn matmul_forward(&self, d: MatmulDims, a: &[f32], b: &[f32], c: &mut [f32]) {
        let flop = 2.0 * (d.batch * d.m * d.k) as f64 * d.n as f64;
        let shape = format!("{} x {} x {} x {}", d.batch, d.m, d.k, d.n);
        self.time("matmul_forward", shape, Some(flop), || {
            self.inner.matmul_forward(d, a, b, c)
        })
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
        let flop = 4.0 * (d.batch * d.m * d.k) as f64 * d.n as f64;
        let shape = format!("{} x {} x {} x {}", d.batch, d.m, d.k, d.n);
        self.time("matmul_backward", shape, Some(flop), || {
            self.inner.matmul_backward(d, a, b, dc, da, db)
        })
    }

    fn linear_forward(&self, d: LinearDims, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
        self.time(
            "linear_forward",
            linear_shape(d),
            Some(linear_flop(d)),
            || self.inner.linear_forward(d, x, w, bias, y),
        )
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
        // dx and dw: two products of the forward's size.
        self.time(
            "linear_backward",
            linear_shape(d),
            Some(2.0 * linear_flop(d)),
            || self.inner.linear_backward(d, x, w, dy, dx, dw, dbias),
        )
    }

    fn embedding_forward(&self, d: EmbeddingDims, ids: &[u32], table: &[f32], out: &mut [f32]) {
        self.time("embedding_forward", elems(d.rows * d.dim), None, || {
            self.inner.embedding_forward(d, ids, table, out)
        })
    }

    fn embedding_backward(&self, d: EmbeddingDims, ids: &[u32], dout: &[f32], dtable: &mut [f32]) {
        self.time("embedding_backward", elems(d.rows * d.dim), None, || {
            self.inner.embedding_backward(d, ids, dout, dtable)
        })
    }

    fn rope_forward(&self, d: RopeDims, x: &[f32], out: &mut [f32]) {
        self.time("rope_forward", elems(x.len()), None, || {
            self.inner.rope_forward(d, x, out)
        })
    }

    fn rope_backward(&self, d: RopeDims, dout: &[f32], dx: &mut [f32]) {
        self.time("rope_backward", elems(dout.len()), None, || {
            self.inner.rope_backward(d, dout, dx)
        })
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
        // Q·Kᵀ and P·V.
        let flop = 2.0 * attention_product(d);
        self.time("attention_forward", attention_shape(d), Some(flop), || {
            self.inner.attention_forward(d, q, k, v, key_mask, out, lse)
        })
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
        // Q·Kᵀ recomputed, dO·Vᵀ, Pᵀ·dO, dS·K, dSᵀ·Q: five products of the forward's size.
        let flop = 5.0 * attention_product(d);
        self.time("attention_backward", attention_shape(d), Some(flop), || {
            self.inner
                .attention_backward(d, q, k, v, key_mask, out, lse, dout, dq, dk, dv)
        })
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
        self.time("masked_attention_forward", elems(q.len()), None, || {
            self.inner.masked_attention_forward(d, q, k, v, mask, out)
        })
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
        self.time("layernorm_forward", elems(x.len()), None, || {
            self.inner
                .layernorm_forward(d, x, weight, bias, y, mean, rstd)
        })
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
        self.time("layernorm_backward", elems(x.len()), None, || {
            self.inner
                .layernorm_backward(d, x, weight, mean, rstd, dy, dx, dweight, dbias)
        })
    }

    fn gelu_forward(&self, x: &[f32], y: &mut [f32]) {
        self.time("gelu_forward", elems(x.len()), None, || {
            self.inner.gelu_forward(x, y)
        })
    }

    fn gelu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        self.time("gelu_backward", elems(x.len()), None, || {
            self.inner.gelu_backward(x, dy, dx)
        })
    }

    fn relu_forward(&self, x: &[f32], y: &mut [f32]) {
        self.time("relu_forward", elems(x.len()), None, || {
            self.inner.relu_forward(x, y)
        })
    }

    fn relu_backward(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        self.time("relu_backward", elems(x.len()), None, || {
            self.inner.relu_backward(x, dy, dx)
        })
    }

    fn residual_forward(&self, a: &[f32], b: &[f32], out: &mut [f32]) {
        self.time("residual_forward", elems(a.len()), None, || {
            self.inner.residual_forward(a, b, out)
        })
    }

    fn residual_backward(&self, dout: &[f32], da: &mut [f32], db: &mut [f32]) {
        self.time("residual_backward", elems(dout.len()), None, || {
            self.inner.residual_backward(dout, da, db)
        })
    }

    fn cross_entropy_forward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        losses: &mut [f32],
    ) {
        self.time("cross_entropy_forward", elems(logits.len()), None, || {
            self.inner.cross_entropy_forward(d, logits, targets, losses)
        })
    }

    fn cross_entropy_backward(
        &self,
        d: NormDims,
        logits: &[f32],
        targets: &[u32],
        dlosses: &[f32],
        dlogits: &mut [f32],
    ) {
        self.time("cross_entropy_backward", elems(logits.len()), None, || {
            self.inner
                .cross_entropy_backward(d, logits, targets, dlosses, dlogits)
        })
    }

    fn bce_forward(&self, logits: &[f32], targets: &[f32], losses: &mut [f32]) {
        self.time("bce_forward", elems(logits.len()), None, || {
            self.inner.bce_forward(logits, targets, losses)
        })
    }

    fn bce_backward(&self, logits: &[f32], targets: &[f32], dlosses: &[f32], dlogits: &mut [f32]) {
        self.time("bce_backward", elems(logits.len()), None, || {
            self.inner.bce_backward(logits, targets, dlosses, dlogits)
        })
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
        // One row for the whole optimizer, whatever the tensor's size.
        self.time("adamw_step", "all parameters".into(), None, || {
            self.inner.adamw_step(cfg, step, params, grads, m, v)
        })
    }

    fn sum_of_squares(&self, x: &[f32]) -> f64 {
        self.time("sum_of_squares", "all parameters".into(), None, || {
            self.inner.sum_of_squares(x)
        })
    }

    fn scale(&self, grads: &mut [f32], factor: f32) {
        self.time("scale", "all parameters".into(), None, || {
            self.inner.scale(grads, factor)
        })
    }
}
