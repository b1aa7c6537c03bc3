//! The wgpu backend agrees with the reference on every op, forward and backward, on small random
//! shapes (llvmpipe in CI is a CPU rasterizer, so shapes stay small). With CI=true a missing adapter
//! fails the tests; elsewhere they are skipped with a printed notice.

use crate::kernel_cases;

use std::sync::OnceLock;

use apmdm::kernels::{Reference, Tensor, Wgpu};
use kernel_cases::*;

const TOL: f32 = 1e-4;
const ATTENTION_TOL: f32 = 5e-4;
const SEEDS: u64 = 4;

/// The shared device, opened once for all tests in this file.
fn gpu() -> Option<&'static Wgpu> {
    static GPU: OnceLock<Option<Wgpu>> = OnceLock::new();
    let gpu = GPU.get_or_init(Wgpu::new).as_ref();
    match gpu {
        Some(g) => eprintln!("wgpu tests run on adapter: {}", g.adapter()),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but wgpu found no adapter: install mesa-vulkan-drivers (llvmpipe)")
        }
        None => eprintln!("NOTICE: no wgpu adapter found; wgpu kernel tests skipped"),
    }
    gpu
}

fn agree(what: &str, seed: u64, tol: f32, fast: Vec<Tensor>, reference: Vec<Tensor>) {
    assert_close(
        &format!("{what} on wgpu (seed {seed})"),
        &fast,
        &reference,
        tol,
    );
}

#[test]
fn dense_ops_agree() {
    let Some(g) = gpu() else { return };
    for seed in 0..SEEDS {
        let m = MatmulCase::new(seed, 21);
        agree("matmul", seed, TOL, m.run(g), m.run(&Reference));
        let l = LinearCase::new(seed, 23);
        agree("linear", seed, TOL, l.run(g), l.run(&Reference));
    }
}

#[test]
fn attention_agrees() {
    let Some(g) = gpu() else { return };
    for seed in 0..SEEDS {
        for causal in [false, true] {
            let case = AttentionCase::new(seed, 37, causal);
            agree(
                "attention",
                seed,
                ATTENTION_TOL,
                case.run(g),
                case.run(&Reference),
            );
        }
    }
}

#[test]
fn rowwise_ops_agree() {
    let Some(g) = gpu() else { return };
    for seed in 0..SEEDS {
        let c = RowCase::new(seed, 33);
        agree(
            "layernorm",
            seed,
            TOL,
            c.run_layernorm(g),
            c.run_layernorm(&Reference),
        );
        agree("gelu", seed, TOL, c.run_gelu(g), c.run_gelu(&Reference));
        // ReLU is exact: bitwise, not within TOL (+0 and -0 inputs included).
        assert_bitwise(
            &format!("relu on wgpu (seed {seed})"),
            &c.run_relu(g),
            &c.run_relu(&Reference),
        );
        agree(
            "residual",
            seed,
            TOL,
            c.run_residual(g),
            c.run_residual(&Reference),
        );
        agree(
            "cross-entropy",
            seed,
            TOL,
            c.run_cross_entropy(g),
            c.run_cross_entropy(&Reference),
        );
        agree("bce", seed, TOL, c.run_bce(g), c.run_bce(&Reference));
        let e = EmbeddingCase::new(seed);
        // The GPU sums an id's rows before adding them to the table: rounding differs slightly.
        agree("embedding", seed, TOL, e.run(g), e.run(&Reference));
        let r = RopeCase::new(seed);
        agree("rope", seed, TOL, r.run(g), r.run(&Reference));
    }
}

#[test]
fn optimizer_agrees() {
    let Some(g) = gpu() else { return };
    for seed in 0..2 {
        agree(
            "adamw + clip",
            seed,
            TOL,
            optimise_case(9000, 2, 5, g, seed),
            optimise_case(9000, 2, 5, &Reference, seed),
        );
    }
}
