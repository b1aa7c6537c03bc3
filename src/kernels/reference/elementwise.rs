//! Reference elementwise ops: GELU, ReLU and the AdamW update.

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

/// y = x where x > 0, else +0: the definition, compared bitwise with the other backends.
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    for i in 0..x.len() {
        y[i] = if x[i] > 0.0 { x[i] } else { 0.0 };
    }
}

/// dx += dy where x > 0; relu'(x) = 0 for x <= 0 (the kink at 0 included), and there nothing is added.
pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for i in 0..x.len() {
        if x[i] > 0.0 {
            dx[i] += dy[i];
        }
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
