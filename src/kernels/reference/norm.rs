//! Reference layer norm (biased variance, epsilon inside the root, as PyTorch).

use crate::kernels::backend::{NormDims, LAYER_NORM_EPS};

pub fn forward(
    d: NormDims,
    x: &[f32],        // [rows, dim]
    weight: &[f32],   // [dim]
    bias: &[f32],     // [dim]
    y: &mut [f32],    // [rows, dim]
    mean: &mut [f32], // [rows]
    rstd: &mut [f32], // [rows]
) {
    let n = d.dim;
    for r in 0..d.rows {
        let row = &x[r * n..][..n];
        let mu = row.iter().sum::<f32>() / n as f32;
        let var = row.iter().map(|&v| (v - mu) * (v - mu)).sum::<f32>() / n as f32;
        let rs = 1.0 / (var + LAYER_NORM_EPS).sqrt();
        for c in 0..n {
            y[r * n + c] = (row[c] - mu) * rs * weight[c] + bias[c];
        }
        mean[r] = mu;
        rstd[r] = rs;
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: NormDims,
    x: &[f32],           // [rows, dim]
    weight: &[f32],      // [dim]
    mean: &[f32],        // [rows]
    rstd: &[f32],        // [rows]
    dy: &[f32],          // [rows, dim]
    dx: &mut [f32],      // [rows, dim]
    dweight: &mut [f32], // [dim]
    dbias: &mut [f32],   // [dim]
) {
    let n = d.dim;
    for r in 0..d.rows {
        // With xhat = (x - mean) rstd and g = dy · weight:
        // dx = rstd (g - mean(g) - xhat mean(g xhat)).
        let mut g_mean = 0.0f32;
        let mut gx_mean = 0.0f32;
        for c in 0..n {
            let xhat = (x[r * n + c] - mean[r]) * rstd[r];
            let g = dy[r * n + c] * weight[c];
            g_mean += g;
            gx_mean += g * xhat;
        }
        g_mean /= n as f32;
        gx_mean /= n as f32;
        for c in 0..n {
            let xhat = (x[r * n + c] - mean[r]) * rstd[r];
            let g = dy[r * n + c] * weight[c];
            dbias[c] += dy[r * n + c];
            dweight[c] += dy[r * n + c] * xhat;
            dx[r * n + c] += rstd[r] * (g - g_mean - xhat * gx_mean);
        }
    }
}
