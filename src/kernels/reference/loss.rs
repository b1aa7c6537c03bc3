//! Reference cross-entropy (row softmax) and binary cross-entropy with logits.

use crate::kernels::backend::NormDims;
use crate::kernels::math;

/// The row's maximum and log-sum-exp, the stable softmax normaliser.
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
    for r in 0..d.rows {
        let row = &logits[r * d.dim..][..d.dim];
        losses[r] = log_sum_exp(row) - row[targets[r] as usize];
    }
}

pub fn cross_entropy_backward(
    d: NormDims,
    logits: &[f32],      // [rows, classes]
    targets: &[u32],     // [rows]
    dlosses: &[f32],     // [rows]
    dlogits: &mut [f32], // [rows, classes]
) {
    for r in 0..d.rows {
        let row = &logits[r * d.dim..][..d.dim];
        let lse = log_sum_exp(row);
        for c in 0..d.dim {
            let onehot = if c == targets[r] as usize { 1.0 } else { 0.0 };
            dlogits[r * d.dim + c] += dlosses[r] * ((row[c] - lse).exp() - onehot);
        }
    }
}

pub fn bce_forward(logits: &[f32], targets: &[f32], losses: &mut [f32]) {
    for i in 0..logits.len() {
        losses[i] = math::bce(logits[i], targets[i]);
    }
}

pub fn bce_backward(
    logits: &[f32],      // [n]
    targets: &[f32],     // [n]
    dlosses: &[f32],     // [n]
    dlogits: &mut [f32], // [n]
) {
    for i in 0..logits.len() {
        dlogits[i] += dlosses[i] * (math::sigmoid(logits[i]) - targets[i]);
    }
}
