//! Every backward pass of the reference backend matches central finite differences of its forward
//! pass, on random shapes; the fast backends are then checked against the reference.

use crate::kernel_cases;

use apmdm::kernels::{Reference, Rng, Tensor};
use kernel_cases::*;

/// Step for central differences; f32 forward passes make smaller steps drown in rounding.
const EPS: f32 = 1e-2;
/// |analytic - numeric| <= ABS + REL · |numeric|: O(EPS²) truncation plus f32 rounding / EPS.
const ABS: f64 = 3e-3;
const REL: f64 = 2e-2;
/// Coordinates probed per input tensor.
const PROBES: usize = 16;

/// Checks `grads[i]` (the analytic gradient of L = Σ forward(inputs) · weights for input i) against
/// central differences at random coordinates of each input.
fn check(
    what: &str,
    seed: u64,
    inputs: &[Tensor],
    weights: &Tensor,
    grads: &[Tensor],
    forward: impl Fn(&[Tensor]) -> Tensor,
) {
    let loss = |xs: &[Tensor]| -> f64 {
        let out = forward(xs);
        assert_eq!(
            out.shape(),
            weights.shape(),
            "{what}: weights must match the output"
        );
        out.data()
            .iter()
            .zip(weights.data())
            .map(|(&o, &w)| o as f64 * w as f64)
            .sum()
    };
    let mut rng = Rng::new(seed ^ 0xF1D1);
    for (i, grad) in grads.iter().enumerate() {
        assert_eq!(
            grad.shape(),
            inputs[i].shape(),
            "{what}: gradient {i} shape"
        );
        for _ in 0..PROBES.min(inputs[i].len()) {
            let at = rng.range(0, inputs[i].len() - 1);
            let mut xs = inputs.to_vec();
            xs[i].data_mut()[at] += EPS;
            let up = loss(&xs);
            xs[i].data_mut()[at] -= 2.0 * EPS;
            let down = loss(&xs);
            let numeric = (up - down) / (2.0 * EPS as f64);
            let analytic = grad.data()[at] as f64;
            assert!(
                (analytic - numeric).abs() <= ABS + REL * numeric.abs(),
                "{what} (seed {seed}): d/d input {i}[{at}]: analytic {analytic} vs numeric {numeric}"
            );
        }
    }
}

/// Gradients the runners return are "initial + true gradient"; this recovers the true part.
fn minus(a: &Tensor, b: &Tensor) -> Tensor {
    let data = a.data().iter().zip(b.data()).map(|(x, y)| x - y).collect();
    Tensor::from_vec(a.shape(), data).unwrap()
}

const SEEDS: u64 = 6;

#[test]
fn matmul_gradients() {
    for seed in 0..SEEDS {
        let c = MatmulCase::new(seed, 9);
        let outs = c.run(&Reference);
        let grads = [minus(&outs[1], &c.da), minus(&outs[2], &c.db)];
        check(
            "matmul",
            seed,
            &[c.a.clone(), c.b.clone()],
            &c.dc,
            &grads,
            |xs| c.forward(&Reference, &xs[0], &xs[1]),
        );
    }
}

#[test]
fn linear_gradients() {
    for seed in 0..SEEDS {
        let c = LinearCase::new(seed, 9);
        let outs = c.run(&Reference);
        let mut rng = Rng::new(99);
        let init = [
            rand(&mut rng, c.x.shape()),
            rand(&mut rng, c.w.shape()),
            rand(&mut rng, c.bias.shape()),
        ];
        let grads = [
            minus(&outs[1], &init[0]),
            minus(&outs[2], &init[1]),
            minus(&outs[3], &init[2]),
        ];
        check(
            "linear",
            seed,
            &[c.x.clone(), c.w.clone(), c.bias.clone()],
            &c.dy,
            &grads,
            |xs| c.forward(&Reference, &xs[0], &xs[1], &xs[2]),
        );
    }
}

#[test]
fn attention_gradients() {
    for seed in 0..SEEDS {
        for causal in [false, true] {
            let c = AttentionCase::new(seed, 9, causal);
            let outs = c.run(&Reference);
            let mut rng = Rng::new(7);
            let init: Vec<Tensor> = (0..3).map(|_| rand(&mut rng, c.q.shape())).collect();
            let grads: Vec<Tensor> = (0..3).map(|i| minus(&outs[2 + i], &init[i])).collect();
            let what = if causal {
                "attention causal"
            } else {
                "attention"
            };
            check(
                what,
                seed,
                &[c.q.clone(), c.k.clone(), c.v.clone()],
                &c.dout,
                &grads,
                |xs| c.forward(&Reference, &xs[0], &xs[1], &xs[2]).0,
            );
        }
    }
}

#[test]
fn layernorm_gradients() {
    for seed in 0..SEEDS {
        let c = RowCase::new(seed, 9);
        let outs = c.run_layernorm(&Reference);
        let mut rng = Rng::new(5);
        let init = [
            rand(&mut rng, c.x.shape()),
            rand(&mut rng, c.weight.shape()),
            rand(&mut rng, c.bias.shape()),
        ];
        let grads = [
            minus(&outs[3], &init[0]),
            minus(&outs[4], &init[1]),
            minus(&outs[5], &init[2]),
        ];
        check(
            "layernorm",
            seed,
            &[c.x.clone(), c.weight.clone(), c.bias.clone()],
            &c.dy,
            &grads,
            |xs| {
                c.layernorm(&Reference, &xs[0], &xs[1], &xs[2])
                    .swap_remove(0)
            },
        );
    }
}

#[test]
fn elementwise_and_loss_gradients() {
    for seed in 0..SEEDS {
        let c = RowCase::new(seed, 9);
        let g = c.run_gelu(&Reference);
        check(
            "gelu",
            seed,
            std::slice::from_ref(&c.x),
            &c.dy,
            &[minus(&g[1], &c.other)],
            |xs| c.gelu(&Reference, &xs[0]),
        );
        // ReLU away from its kink: every |x| >= 0.1, ten steps from 0.
        let x = c.relu_input_away_from_zero();
        let g = c.run_relu_at(&Reference, &x);
        check(
            "relu",
            seed,
            std::slice::from_ref(&x),
            &c.dy,
            &[minus(&g[1], &c.relu_dx_init())],
            |xs| c.relu(&Reference, &xs[0]),
        );
        let r = c.run_residual(&Reference);
        let grads = [minus(&r[1], &c.other), minus(&r[2], &c.x)];
        check(
            "residual",
            seed,
            &[c.x.clone(), c.other.clone()],
            &c.dy,
            &grads,
            |xs| c.residual(&Reference, &xs[0], &xs[1]),
        );
        let ce = c.run_cross_entropy(&Reference);
        check(
            "cross-entropy",
            seed,
            std::slice::from_ref(&c.x),
            &c.dloss,
            &[minus(&ce[1], &c.other)],
            |xs| c.cross_entropy(&Reference, &xs[0]),
        );
        let b = c.run_bce(&Reference);
        check(
            "bce",
            seed,
            std::slice::from_ref(&c.x),
            &c.dy,
            &[minus(&b[1], &c.other)],
            |xs| c.bce(&Reference, &xs[0]),
        );
    }
}

#[test]
fn embedding_and_rope_gradients() {
    for seed in 0..SEEDS {
        let e = EmbeddingCase::new(seed);
        let outs = e.run(&Reference);
        check(
            "embedding",
            seed,
            std::slice::from_ref(&e.table),
            &e.dout,
            &[minus(&outs[1], &e.table)],
            |xs| e.forward(&Reference, &xs[0]),
        );
        let r = RopeCase::new(seed);
        let outs = r.run(&Reference);
        check(
            "rope",
            seed,
            std::slice::from_ref(&r.x),
            &r.dout,
            &[minus(&outs[1], &r.x)],
            |xs| r.forward(&Reference, &xs[0]),
        );
    }
}
