//! Scalar formulas shared by every backend (GELU, RoPE angles, stable BCE), so all compute one function.

use super::backend::AdamW;

/// sqrt(2 / pi), the tanh-GELU input scale.
const GELU_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation.
const GELU_CUBIC: f32 = 0.044_715;

/// tanh without libm, written so that loops over it vectorise (libm's `tanhf` is a scalar call and
/// was a fifth of a training step): tanh|z| = (1 - e)/(1 + e) with e = exp(-2|z|), and exp as
/// 2^n · p(r) with |r| <= ln2/2 and a degree-6 Taylor polynomial. Absolute error below 4e-7.
#[inline]
pub fn tanh(z: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5 · 2^23 rounds to the nearest integer n and leaves n in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const ROUND_BITS: u32 = 0x4B40_0000;
    // Beyond |z| = 9, tanh is 1 in f32; clamping keeps 2^n a normal number.
    let x = -2.0 * z.abs().min(9.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let poly = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND_BITS).wrapping_add(127) << 23);
    let e = poly * scale;
    ((1.0 - e) / (1.0 + e)).copysign(z)
}

/// Tanh-form GELU of one value.
#[inline]
pub fn gelu(x: f32) -> f32 {
    let t = tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
    0.5 * x * (1.0 + t)
}

/// Derivative of [`gelu`] at x.
#[inline]
pub fn gelu_grad(x: f32) -> f32 {
    let t = tanh(GELU_SCALE * (x + GELU_CUBIC * x * x * x));
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

#[cfg(test)]
mod tests {
    #[test]
    fn tanh_matches_libm_within_4e_7() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let z = i as f32 * 1e-4;
            worst = worst.max((super::tanh(z) - z.tanh()).abs());
        }
        for z in [-1e6, -30.0, 1e-30, 0.0, -0.0, 30.0, 1e6] {
            worst = worst.max((super::tanh(z) - f32::tanh(z)).abs());
        }
        assert!(worst < 4e-7, "max abs error {worst}");
        assert_eq!(super::tanh(0.0), 0.0);
    }
}
