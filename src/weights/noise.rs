//! The derived noise tolerance (`proofs/weights.md`, Lemmas 7 and 8): for a relative noise
//! epsilon on every weight (each stored weight w becomes `w (1 + eta)`, `|eta| <= epsilon`,
//! independently) and a unit roundoff `u` of the activations' arithmetic, a bound on every
//! wire's deviation from its ideal value, propagated through the model sublayer by sublayer,
//! and the margins that keep every comparison, every selecting head and every read-out bit
//! right. The tolerance is the largest `2^-k` for which every margin holds.
//!
//! The bound is first-order exact per operation (every product of two small quantities is kept,
//! not dropped) and follows coordinates: a wire born on a coordinate inherits what the clearing
//! of its previous wire left there.

use std::collections::BTreeMap;

use super::circuit::{Expect, Form, Head, Source, Unit, Wire};
use super::model::{Model, CLEAR_AGAIN};

/// The f64 unit roundoff.
pub const F64_ROUNDOFF: f64 = 1.0 / 9_007_199_254_740_992.0; // 2^-53
/// The f32 unit roundoff.
pub const F32_ROUNDOFF: f64 = 1.0 / 16_777_216.0; // 2^-24

/// A propagated bound for one noise level.
#[derive(Clone, Debug)]
pub struct Bound {
    /// The relative weight noise.
    pub epsilon: f64,
    /// The unit roundoff of the activations.
    pub roundoff: f64,
    /// Per wire: a bound on the magnitude of its ideal value.
    pub magnitude: Vec<f64>,
    /// Per wire: a bound on the distance of its coordinate from its ideal value while it lives.
    pub error: Vec<f64>,
    /// The first margin that does not hold (`None`: every margin holds).
    pub failure: Option<String>,
    /// The largest ratio of an error to the margin it must stay under (below 1 when every
    /// margin holds).
    pub worst_ratio: f64,
}

/// `n u / (1 - n u)`: the relative error of a sum of n terms in arithmetic of roundoff u.
fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    if nu >= 1.0 {
        f64::INFINITY
    } else {
        nu / (1.0 - nu)
    }
}

/// A form's sizes over the current bounds: `a` = sum |c| (M + E) + |bias|, `p` = sum |c| M +
/// |bias| (the ideal value's magnitude), `e` = sum |c| E (the inherited error), and its terms.
struct Sizes {
    a: f64,
    p: f64,
    e: f64,
    n: usize,
}

impl Bound {
    fn sizes(&self, f: &Form) -> Sizes {
        let mut s = Sizes {
            a: f.bias.abs(),
            p: f.bias.abs(),
            e: 0.0,
            n: f.terms.len() + 1,
        };
        for &(w, c) in &f.terms {
            let (m, e) = (self.magnitude[w as usize], self.error[w as usize]);
            s.a += c.abs() * (m + e);
            s.p += c.abs() * m;
            s.e += c.abs() * e;
        }
        s
    }

    /// The error of a noisy dot product: each weight (and the bias, and `extra` more weight
    /// mass on exact unit inputs) off by a relative epsilon, the sum rounded.
    fn dot_error(&self, s: &Sizes, extra: f64) -> f64 {
        let (eps, g) = (self.epsilon, gamma(s.n + 2, self.roundoff));
        (eps + g * (1.0 + eps)) * (s.a + extra) + s.e * (1.0 + eps)
    }

    fn margin(&mut self, err: f64, allowed: f64, what: impl FnOnce() -> String) {
        let ratio = if err.is_finite() {
            err / allowed
        } else {
            f64::INFINITY
        };
        self.worst_ratio = self.worst_ratio.max(ratio);
        if ratio >= 1.0 && self.failure.is_none() {
            self.failure = Some(what());
        }
    }
}

/// Whether units `a` and `b` form a comparison pair `c relu(y + 1) - c relu(y)` of `ge`: the
/// same input terms, biases 1 apart and off the integers by 1/2 (so that on integer inputs
/// both pre-activations are at least 1/2 from 0 and the two units share their regime), one
/// output with opposite coefficients.
pub(crate) fn is_pair(a: &Unit, b: &Unit) -> bool {
    let half = |x: f64| x - x.floor() == 0.5;
    half(a.pre.bias)
        && a.out.len() == 1
        && b.out.len() == 1
        && a.out[0].0 == b.out[0].0
        && a.out[0].1 == -b.out[0].1
        && a.pre.terms == b.pre.terms
        && a.pre.bias - b.pre.bias == 1.0
}

/// Whether units `a` and `b` may be a gate of `gated`, `c relu(A + off) - c relu(-A + off)`:
/// one output, opposite coefficients (whether `off <= 0` is checked on the bounds).
fn is_gate(a: &Unit, b: &Unit) -> bool {
    a.out.len() == 1 && b.out.len() == 1 && a.out[0].0 == b.out[0].0 && a.out[0].1 == -b.out[0].1
}

/// Propagates the bound through `model` for relative weight noise `epsilon` and roundoff `u`.
pub fn propagate(model: &Model, epsilon: f64, roundoff: f64) -> Bound {
    let c = &model.lowered.circuit;
    let n = c.wires.len();
    let mut b = Bound {
        epsilon,
        roundoff,
        magnitude: vec![0.0; n],
        error: vec![0.0; n],
        failure: None,
        worst_ratio: 0.0,
    };
    for (w, info) in c.wires.iter().enumerate() {
        if matches!(info.source, Source::Input(_)) {
            b.magnitude[w] = 1.0;
        }
    }
    let mut garbage = vec![0.0f64; model.config.d_model];
    let mut clears: BTreeMap<usize, Vec<Wire>> = BTreeMap::new();
    for (w, p) in model.placement.iter().enumerate() {
        if let Some(s) = p.cleared {
            clears.entry(s).or_default().push(w as Wire);
        }
    }
    let sublayers = 2 * model.layers.len();
    for s in 0..sublayers {
        if s % 2 == 0 {
            if let Some(heads) = c.heads.get(&s) {
                for h in heads {
                    head(model, &mut b, &mut garbage, h);
                }
            }
        } else {
            if let Some(units) = c.mlp.get(&s) {
                mlp(model, &mut b, &mut garbage, units);
            }
            // A clearing pair multiplies what the coordinate holds by at most k.
            let k = if epsilon == 0.0 {
                0.0 // without weight noise it is exact: x - 1 * relu(x) * 1 = 0
            } else {
                let f = (1.0 + epsilon) * (1.0 + roundoff);
                (f * f - 1.0) * (1.0 + roundoff)
            };
            if let Some(again) = s.checked_sub(CLEAR_AGAIN).and_then(|t| clears.get(&t)) {
                for &w in again {
                    let coord = model.placement[w as usize].coord as usize;
                    garbage[coord] *= k;
                }
            }
            for &w in clears.get(&s).map_or(&[][..], Vec::as_slice) {
                let coord = model.placement[w as usize].coord as usize;
                // x - (1 + a)(1 + b) x with |a|, |b| <= epsilon, rounded.
                garbage[coord] = k * (b.magnitude[w as usize] + b.error[w as usize]);
            }
        }
    }
    // The read-out: logit 2 f - 1 keeps its sign while its error stays under 1.
    let r = &model.lowered.readout;
    let forms: Vec<&Form> = r.fields.iter().flatten().chain(r.control.iter()).collect();
    for (i, f) in forms.into_iter().enumerate() {
        let s = b.sizes(&f.scaled(2.0).shifted(-1.0));
        let err = b.dot_error(&s, 0.0);
        b.margin(err, 1.0, || {
            format!("read-out row {i}: logit error {err:.3e} over 1")
        });
    }
    b
}

/// The exact bound of a wire's ideal value from what it means, where that is known.
fn meaning_cap(model: &Model, w: Wire) -> Option<f64> {
    match model.lowered.circuit.wires[w as usize].expect {
        Expect::Bit { .. } | Expect::Digit { .. } | Expect::Zero(_) | Expect::NonZero(_) => {
            Some(1.0)
        }
        Expect::Node(n) => model
            .lowered
            .ranges
            .get(n)
            .map(|&(lo, hi)| (lo as f64).abs().max((hi as f64).abs())),
        _ => None,
    }
}

fn mlp(model: &Model, b: &mut Bound, garbage: &mut [f64], units: &[Unit]) {
    let eps = b.epsilon;
    let mut add_err: BTreeMap<Wire, (f64, f64, usize)> = BTreeMap::new();
    let mut i = 0;
    while i < units.len() {
        if i + 1 < units.len() && is_pair(&units[i], &units[i + 1]) {
            let (u1, u2) = (&units[i], &units[i + 1]);
            let s = b.sizes(&u1.pre);
            let extra = 2.0 * u1.gate.max(u2.gate) + 1.0;
            let pre_err = b.dot_error(&s, extra);
            let (w, coef) = u1.out[0];
            let worst = u1
                .pre
                .terms
                .iter()
                .map(|&(x, c)| (c.abs() * b.error[x as usize], x))
                .fold((0.0, 0), |a, t| if t.0 > a.0 { t } else { a });
            let info = &model.lowered.circuit.wires[worst.1 as usize];
            let worst_mag = b.magnitude[worst.1 as usize];
            b.margin(pre_err, 0.5, || {
                format!(
                    "comparison for node {} (wire {w}): pre-activation error {pre_err:.3e} over \
                     1/2 (most from wire {} ({:?}, {:?}, magnitude {:.3e}): {:.3e})",
                    node_of(model, w),
                    worst.1,
                    info.expect,
                    info.source,
                    worst_mag,
                    worst.0
                )
            });
            // Both units in the same regime: 0, or coef ((1 + a) p1 - (1 + b) p2) with the
            // input error common to both and only the weights' own noise differing.
            let g = gamma(s.n + 2, b.roundoff);
            let diff = 2.0 * (eps + g * (1.0 + eps)) * (s.a + extra);
            let p1 = s.p + 1.0;
            let out = coef.abs() * (diff + eps * (2.0 * p1 + 2.0 * pre_err));
            let e = add_err.entry(w).or_insert((0.0, 0.0, 0));
            e.0 += out;
            e.1 += coef.abs();
            e.2 += 2;
            i += 2;
            continue;
        }
        let off = units
            .get(i + 1)
            .map(|u2| units[i].pre.plus(1.0, &u2.pre).scaled(0.5));
        let gate = off.is_some_and(|off| {
            is_gate(&units[i], &units[i + 1])
                && off.bias + b.sizes(&off.shifted(-off.bias)).p <= 0.0
        });
        if gate {
            // c (relu(A + off) - relu(-A + off)) with every ideal off <= 0: at most |c| |A| in
            // magnitude; the error as for two single units.
            let (u1, u2) = (&units[i], &units[i + 1]);
            let a = u1.pre.plus(-1.0, &u2.pre).scaled(0.5);
            let mag_a = b.sizes(&a).p;
            let (w, coef) = u1.out[0];
            // On integer A and off in {0} or <= -|A|, at most one unit is active by 1/2 or
            // more: with both pre-activation errors under 1/2 the output is off by the larger.
            let (s1, s2) = (b.sizes(&u1.pre), b.sizes(&u2.pre));
            let e1 = b.dot_error(&s1, 2.0 * u1.gate);
            let e2 = b.dot_error(&s2, 2.0 * u2.gate);
            let pre_err = e1.max(e2);
            b.margin(pre_err, 0.5, || {
                format!(
                    "gate for node {} (wire {w}): pre-activation error {pre_err:.3e} over 1/2",
                    node_of(model, w)
                )
            });
            let e = add_err.entry(w).or_insert((0.0, 0.0, 0));
            e.0 += coef.abs() * ((1.0 + eps) * pre_err + eps * s1.p.max(s2.p));
            e.1 += coef.abs() * mag_a;
            e.2 += 2;
            i += 2;
            continue;
        }
        let u = &units[i];
        let s = b.sizes(&u.pre);
        let pre_err = b.dot_error(&s, 2.0 * u.gate);
        for &(w, coef) in &u.out {
            let e = add_err.entry(w).or_insert((0.0, 0.0, 0));
            e.0 += coef.abs() * ((1.0 + eps) * pre_err + eps * s.p);
            e.1 += coef.abs() * s.p;
            e.2 += 1;
        }
        i += 1;
    }
    for (w, (err, mag, count)) in add_err {
        let mag = meaning_cap(model, w).map_or(mag, |m| m.min(mag));
        let coord = model.placement[w as usize].coord as usize;
        let g = gamma(count + 1, b.roundoff);
        b.magnitude[w as usize] = mag;
        b.error[w as usize] = err * (1.0 + g) + g * mag + garbage[coord];
        garbage[coord] = 0.0;
    }
}

/// The seq node a wire serves (`usize::MAX` for an input feature).
pub(crate) fn node_of(model: &Model, w: Wire) -> usize {
    match model.lowered.circuit.wires[w as usize].expect {
        Expect::Node(n)
        | Expect::Bit { node: n, .. }
        | Expect::Digit { node: n, .. }
        | Expect::Zero(n)
        | Expect::NonZero(n)
        | Expect::Internal(n)
        | Expect::Read(n) => n,
        Expect::Feature(_) => usize::MAX,
    }
}

fn head(model: &Model, b: &mut Bound, garbage: &mut [f64], h: &Head) {
    let eps = b.epsilon;
    let len = model.options.max_len as f64;
    let rows = model.options.max_len + 1;
    let g_soft = gamma(2 * rows + 2, b.roundoff);
    let uniform = h.q.iter().all(|f| f.is_constant() && f.bias == 0.0);
    let reads: Vec<(f64, f64)> = if uniform {
        // Scores are exactly 0 (no weights to perturb): every weight is 1 / D up to rounding.
        h.v.iter()
            .map(|f| {
                let s = b.sizes(f);
                let verr = b.dot_error(&s, 0.0);
                let err = verr * (1.0 + eps) + eps * s.p + 2.0 * g_soft * (s.p + verr);
                (s.p, err)
            })
            .collect()
    } else {
        let mut sigma = 0.0;
        let mut mass = 0.0;
        for (qf, kf) in h.q.iter().zip(&h.k) {
            let (qs, ks) = (b.sizes(qf), b.sizes(kf));
            let (qe, ke) = (b.dot_error(&qs, 0.0), b.dot_error(&ks, 0.0));
            sigma += qs.p * ke + ks.p * qe + qe * ke;
            mass += (qs.p + qe) * (ks.p + ke);
        }
        sigma += gamma(h.q.len() + 1, b.roundoff) * mass;
        let beta = model.options.beta();
        let gap = beta - 2.0 * sigma;
        b.margin(2.0 * sigma, beta, || {
            format!(
                "head of node {}: score error {sigma:.3e} leaves no margin (beta {beta})",
                h.node
            )
        });
        // Every loser's total weight (Lemma 3 with the gap shrunk by 2 sigma).
        let leak = (len * (-gap).exp()).min(1.0);
        h.v.iter()
            .map(|f| {
                let s = b.sizes(f);
                let verr = b.dot_error(&s, 0.0);
                // Values are 0/1 bits: the read is within leak (1 + verr) + verr of the winner's.
                let err = leak * (1.0 + verr) + verr + eps * (1.0 + verr) + 2.0 * g_soft;
                (1.0, err)
            })
            .collect()
    };
    for (&w, (mag, err)) in h.out.iter().zip(reads) {
        let coord = model.placement[w as usize].coord as usize;
        b.magnitude[w as usize] = mag;
        b.error[w as usize] = err * (1.0 + b.roundoff) + b.roundoff * mag + garbage[coord];
        garbage[coord] = 0.0;
    }
}

/// The derived tolerance: the largest `2^-k` (k in 1..=120) at which every margin holds with
/// roundoff `u`, and the bound there. `Err`: the margin that fails even without weight noise.
pub fn tolerance(model: &Model, roundoff: f64) -> Result<Bound, String> {
    let at = |k: i32| propagate(model, 2f64.powi(-k), roundoff);
    let zero = propagate(model, 0.0, roundoff);
    if let Some(f) = zero.failure {
        return Err(f);
    }
    // Bisection on k: every bound grows with epsilon, so failures are monotone in it.
    let (mut lo, mut hi) = (0i32, 120i32); // 2^-lo is assumed to fail; 2^-hi must hold
    if let Some(f) = at(hi).failure {
        return Err(f);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if at(mid).failure.is_none() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(at(hi))
}
