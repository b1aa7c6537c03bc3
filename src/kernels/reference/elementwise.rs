//! Reference elementwise ops: GELU and the AdamW update.

use crate::kernels::backend::AdamW;
use crate::kernels::math;

pub fn gelu_forward(x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = math::gelu(x);
    }
}

pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for i in 0..x.len() {
        dx[i] += math::gelu_grad(x[i]) * dy[i];
    }
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
    for i in 0..params.len() {
        math::adamw_element(cfg, c1, c2, &mut params[i], grads[i], &mut m[i], &mut v[i]);
    }
}
