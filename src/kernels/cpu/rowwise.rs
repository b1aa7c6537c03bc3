//! Fast row-wise and elementwise kernels on rayon with fixed chunk sizes (results are independent
//! of the thread count: every reduction is split at fixed boundaries and summed in a fixed order).

use rayon::prelude::*;

use crate::kernels::backend::{AdamW, NormDims, LAYER_NORM_EPS};
use crate::kernels::math;

use super::wide;

/// Elements per task for elementwise kernels: large enough to amortise scheduling.
pub const ELEMENT_CHUNK: usize = 1 << 14;
/// Rows per partial sum in layer norm's weight gradient.
pub const ROW_CHUNK: usize = 32;

/// Workspace floats layer norm's backward pass needs: one partial (dweight, dbias) per row chunk.
pub fn layernorm_workspace(d: NormDims) -> usize {
    d.rows.div_ceil(ROW_CHUNK) * 2 * d.dim
}

/// Chunks needed by `sum_of_squares` partial sums for a slice of `n` elements.
pub fn norm_partials(n: usize) -> usize {
    n.div_ceil(ELEMENT_CHUNK)
}

/// Lanes of the row sums in layer norm: one AVX-512 register (two AVX2 ones).
const LANES: usize = 16;

/// Sum over c of f(a[c], b[c]) in `LANES` interleaved partial sums added in a fixed order, so the
/// loop vectorises and the result does not depend on the thread count or the instruction set.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (ca, cb) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += f(ca[l], cb[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// [`lane_sum`] over three slices.
#[inline(always)]
fn lane_sum2(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (ca, cb, cc) = (
        a.chunks_exact(LANES),
        b.chunks_exact(LANES),
        c.chunks_exact(LANES),
    );
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .zip(cc.remainder())
        .map(|((&x, &y), &z)| f(x, y, z))
        .sum();
    for ((ca, cb), cc) in ca.zip(cb).zip(cc) {
        for l in 0..LANES {
            acc[l] += f(ca[l], cb[l], cc[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

pub fn layernorm_forward(
    d: NormDims,
    x: &[f32],        // [rows, dim]
    weight: &[f32],   // [dim]
    bias: &[f32],     // [dim]
    y: &mut [f32],    // [rows, dim]
    mean: &mut [f32], // [rows]
    rstd: &mut [f32], // [rows]
) {
    let n = d.dim;
    if x.is_empty() {
        return;
    }
    y.par_chunks_mut(n)
        .zip(x.par_chunks(n))
        .zip(mean.par_iter_mut().zip(rstd.par_iter_mut()))
        .for_each(|((y, x), (mean, rstd))| {
            wide(
                #[inline(always)]
                || {
                    let mu = lane_sum(x, x, |a, _| a) / n as f32;
                    let var = lane_sum(x, x, |a, _| (a - mu) * (a - mu)) / n as f32;
                    let rs = 1.0 / (var + LAYER_NORM_EPS).sqrt();
                    for c in 0..n {
                        y[c] = (x[c] - mu) * rs * weight[c] + bias[c];
                    }
                    *mean = mu;
                    *rstd = rs;
                },
            )
        });
}

#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    d: NormDims,
    x: &[f32],             // [rows, dim]
    weight: &[f32],        // [dim]
    mean: &[f32],          // [rows]
    rstd: &[f32],          // [rows]
    dy: &[f32],            // [rows, dim]
    dx: &mut [f32],        // [rows, dim]
    dweight: &mut [f32],   // [dim]
    dbias: &mut [f32],     // [dim]
    workspace: &mut [f32], // [row chunks, 2, dim]
) {
    let n = d.dim;
    if x.is_empty() {
        return;
    }
    let partials = &mut workspace[..layernorm_workspace(d)];
    dx.par_chunks_mut(ROW_CHUNK * n)
        .zip(partials.par_chunks_mut(2 * n))
        .enumerate()
        .for_each(|(chunk, (dx, partial))| {
            wide(
                #[inline(always)]
                || {
                    partial.fill(0.0);
                    let (pw, pb) = partial.split_at_mut(n);
                    for (local, dx) in dx.chunks_exact_mut(n).enumerate() {
                        let r = chunk * ROW_CHUNK + local;
                        let (x, dy) = (&x[r * n..][..n], &dy[r * n..][..n]);
                        let (mu, rs) = (mean[r], rstd[r]);
                        let g_mean = lane_sum(dy, weight, |g, w| g * w) / n as f32;
                        let gx_mean =
                            lane_sum2(dy, weight, x, |g, w, x| g * w * ((x - mu) * rs)) / n as f32;
                        for c in 0..n {
                            let xhat = (x[c] - mu) * rs;
                            let g = dy[c] * weight[c];
                            pb[c] += dy[c];
                            pw[c] += dy[c] * xhat;
                            dx[c] += rs * (g - g_mean - xhat * gx_mean);
                        }
                    }
                },
            )
        });
    // Chunks are summed in their index order, whatever thread produced them.
    for partial in partials.chunks_exact(2 * n) {
        let (pw, pb) = partial.split_at(n);
        for c in 0..n {
            dweight[c] += pw[c];
            dbias[c] += pb[c];
        }
    }
}

pub fn gelu_forward(x: &[f32], y: &mut [f32]) {
    y.par_chunks_mut(ELEMENT_CHUNK)
        .zip(x.par_chunks(ELEMENT_CHUNK))
        .for_each(|(y, x)| {
            wide(
                #[inline(always)]
                || {
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = math::gelu(x);
                    }
                },
            )
        });
}

pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.par_chunks_mut(ELEMENT_CHUNK)
        .zip(
            x.par_chunks(ELEMENT_CHUNK)
                .zip(dy.par_chunks(ELEMENT_CHUNK)),
        )
        .for_each(|(dx, (x, dy))| {
            wide(
                #[inline(always)]
                || {
                    for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                        *dx += math::gelu_grad(x) * dy;
                    }
                },
            )
        });
}

pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    y.par_chunks_mut(ELEMENT_CHUNK)
        .zip(x.par_chunks(ELEMENT_CHUNK))
        .for_each(|(y, x)| {
            wide(
                #[inline(always)]
                || {
                    for (y, &x) in y.iter_mut().zip(x) {
                        // Not `x.max(0.0)`: its result for -0 is unspecified, and -0 must give +0.
                        *y = if x > 0.0 { x } else { 0.0 };
                    }
                },
            )
        });
}

pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.par_chunks_mut(ELEMENT_CHUNK)
        .zip(
            x.par_chunks(ELEMENT_CHUNK)
                .zip(dy.par_chunks(ELEMENT_CHUNK)),
        )
        .for_each(|(dx, (x, dy))| {
            wide(
                #[inline(always)]
                || {
                    for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                        // Nothing is added where the derivative is 0: adding +0 would turn a -0 into +0.
                        if x > 0.0 {
                            *dx += dy;
                        }
                    }
                },
            )
        });
}

pub fn residual_forward(a: &[f32], b: &[f32], out: &mut [f32]) {
    out.par_chunks_mut(ELEMENT_CHUNK)
        .zip(a.par_chunks(ELEMENT_CHUNK).zip(b.par_chunks(ELEMENT_CHUNK)))
        .for_each(|(o, (a, b))| {
            wide(
                #[inline(always)]
                || {
                    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                        *o = a + b;
                    }
                },
            )
        });
}

pub fn residual_backward(dout: &[f32], da: &mut [f32], db: &mut [f32]) {
    da.par_chunks_mut(ELEMENT_CHUNK)
        .zip(db.par_chunks_mut(ELEMENT_CHUNK))
        .zip(dout.par_chunks(ELEMENT_CHUNK))
        .for_each(|((da, db), g)| {
            wide(
                #[inline(always)]
                || {
                    for ((a, b), &g) in da.iter_mut().zip(db.iter_mut()).zip(g) {
                        *a += g;
                        *b += g;
                    }
                },
            )
        });
}

/// The stable log-sum-exp of one row of logits.
fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    max + row.iter().map(|&x| (x - max).exp()).sum::<f32>().ln()
}

pub fn cross_entropy_forward(
    d: NormDims,
    logits: &[f32],     // [rows, classes]
    targets: &[u32],    // [rows]
    losses: &mut [f32], // [rows]
) {
    if logits.is_empty() {
        return;
    }
    losses
        .par_iter_mut()
        .zip(logits.par_chunks(d.dim).zip(targets.par_iter()))
        .for_each(|(loss, (row, &t))| *loss = log_sum_exp(row) - row[t as usize]);
}

pub fn cross_entropy_backward(
    d: NormDims,
    logits: &[f32],      // [rows, classes]
    targets: &[u32],     // [rows]
    dlosses: &[f32],     // [rows]
    dlogits: &mut [f32], // [rows, classes]
) {
    if logits.is_empty() {
        return;
    }
    dlogits
        .par_chunks_mut(d.dim)
        .zip(logits.par_chunks(d.dim))
        .zip(targets.par_iter().zip(dlosses.par_iter()))
        .for_each(|((dl, row), (&t, &g))| {
            let lse = log_sum_exp(row);
            for (c, (dl, &x)) in dl.iter_mut().zip(row).enumerate() {
                let onehot = if c == t as usize { 1.0 } else { 0.0 };
                *dl += g * ((x - lse).exp() - onehot);
            }
        });
}

pub fn bce_forward(logits: &[f32], targets: &[f32], losses: &mut [f32]) {
    losses
        .par_chunks_mut(ELEMENT_CHUNK)
        .zip(
            logits
                .par_chunks(ELEMENT_CHUNK)
                .zip(targets.par_chunks(ELEMENT_CHUNK)),
        )
        .for_each(|(l, (x, t))| {
            for ((l, &x), &t) in l.iter_mut().zip(x).zip(t) {
                *l = math::bce(x, t);
            }
        });
}

pub fn bce_backward(logits: &[f32], targets: &[f32], dlosses: &[f32], dlogits: &mut [f32]) {
    dlogits
        .par_chunks_mut(ELEMENT_CHUNK)
        .zip(logits.par_chunks(ELEMENT_CHUNK))
        .zip(
            targets
                .par_chunks(ELEMENT_CHUNK)
                .zip(dlosses.par_chunks(ELEMENT_CHUNK)),
        )
        .for_each(|((dl, x), (t, g))| {
            for (((dl, &x), &t), &g) in dl.iter_mut().zip(x).zip(t).zip(g) {
                *dl += g * (math::sigmoid(x) - t);
            }
        });
}

pub fn adamw_step(
    cfg: AdamW,
    step: u32,
    params: &mut [f32], // [n]
    grads: &[f32],      // [n]
    m: &mut [f32],      // [n]
    v: &mut [f32],      // [n]
) {
    let (c1, c2) = math::adamw_corrections(cfg, step);
    params
        .par_chunks_mut(ELEMENT_CHUNK)
        .zip(grads.par_chunks(ELEMENT_CHUNK))
        .zip(
            m.par_chunks_mut(ELEMENT_CHUNK)
                .zip(v.par_chunks_mut(ELEMENT_CHUNK)),
        )
        .for_each(|((p, g), (m, v))| {
            wide(
                #[inline(always)]
                || {
                    for i in 0..p.len() {
                        math::adamw_element(cfg, c1, c2, &mut p[i], g[i], &mut m[i], &mut v[i]);
                    }
                },
            )
        });
}

/// Sum of squares of `g` in f64, split at fixed chunk boundaries and added in chunk order.
pub fn sum_of_squares(g: &[f32], partials: &mut [f64]) -> f64 {
    let partials = &mut partials[..norm_partials(g.len())];
    partials
        .par_iter_mut()
        .zip(g.par_chunks(ELEMENT_CHUNK))
        .for_each(|(p, g)| *p = g.iter().map(|&x| x as f64 * x as f64).sum());
    partials.iter().sum()
}

pub fn scale(grads: &mut [f32], factor: f32) {
    grads.par_chunks_mut(ELEMENT_CHUNK).for_each(|g| {
        wide(
            #[inline(always)]
            || {
                for x in g {
                    *x *= factor;
                }
            },
        )
    });
}
