//! Scalar formulas shared by every backend (GELU, RoPE angles, stable BCE), so all compute one function.

use super::backend::AdamW;

/// sqrt(2 / pi), the tanh-GELU input scale.
const GELU_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation.
const GELU_CUBIC: f32 = 0.044_715;

/// Tanh-form GELU of one value.
pub fn gelu(x: f32) -> f32 {
    let t = (GELU_SCALE * (x + GELU_CUBIC * x * x * x)).tanh();
    0.5 * x * (1.0 + t)
}

/// Derivative of [`gelu`] at x.
pub fn gelu_grad(x: f32) -> f32 {
    let t = (GELU_SCALE * (x + GELU_CUBIC * x * x * x)).tanh();
    let inner_grad = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * x * x);
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_grad
}

/// (cos, sin) of the RoPE angle for sequence position `pos` and pair `pair` of a head of width
/// `head_dim`. Computed in f64 and rounded once, so table-driven and direct backends agree exactly.
pub fn rope_angle(pos: usize, pair: usize, head_dim: usize, base: f32) -> (f32, f32) {
    let freq = (base as f64).powf(-2.0 * pair as f64 / head_dim as f64);
    let angle = pos as f64 * freq;
    (angle.cos() as f32, angle.sin() as f32)
}

/// Binary cross-entropy with logit x and target t, in the form that never overflows.
pub fn bce(x: f32, t: f32) -> f32 {
    x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()
}

/// The logistic sigmoid, evaluated on the side that cannot overflow.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Bias-corrected AdamW with decoupled weight decay; the same arithmetic on every backend.
pub fn adamw_element(
    cfg: AdamW,
    corr1: f32,
    corr2: f32,
    p: &mut f32,
    g: f32,
    m: &mut f32,
    v: &mut f32,
) {
    *m = cfg.beta1 * *m + (1.0 - cfg.beta1) * g;
    *v = cfg.beta2 * *v + (1.0 - cfg.beta2) * g * g;
    let m_hat = *m / corr1;
    let v_hat = *v / corr2;
    *p -= cfg.lr * (m_hat / (v_hat.sqrt() + cfg.eps) + cfg.weight_decay * *p);
}

/// The bias corrections 1 - beta^step for both moments.
pub fn adamw_corrections(cfg: AdamW, step: u32) -> (f32, f32) {
    let t = step as i32;
    (1.0 - cfg.beta1.powi(t), 1.0 - cfg.beta2.powi(t))
}
