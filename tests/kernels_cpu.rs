//! The fast CPU backend agrees with the reference on every op, forward and backward, over random
//! shapes (odd sizes, sizes that are not multiples of gemm tiles or of the attention block), and
//! gives bitwise identical results when run twice.

use crate::kernel_cases;

use apmdm::kernels::ops;
use apmdm::kernels::{Backend, Cpu, Reference, Rng, Tensor};
use kernel_cases::*;

/// Tolerance for ops that sum at most a few hundred products in a different order than the reference.
const TOL: f32 = 1e-4;
/// Attention sums over keys, then over head_dim, then again in backward: two orders of rounding.
const ATTENTION_TOL: f32 = 5e-4;
const SEEDS: u64 = 12;

/// Compares the cpu run with the reference run and with a second cpu run (bitwise).
fn agree(
    what: &str,
    seed: u64,
    tol: f32,
    fast: Vec<Tensor>,
    again: Vec<Tensor>,
    reference: Vec<Tensor>,
) {
    assert_close(&format!("{what} (seed {seed})"), &fast, &reference, tol);
    assert_eq!(fast, again, "{what} (seed {seed}): two cpu runs differ");
}

#[test]
fn matmul_agrees() {
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let case = MatmulCase::new(seed, 70);
        agree(
            "matmul",
            seed,
            TOL,
            case.run(&cpu),
            case.run(&cpu),
            case.run(&Reference),
        );
    }
    // Sizes straddling gemm's register and cache tiles.
    for (i, (m, k, n)) in [(65, 129, 33), (1, 300, 7), (200, 3, 130)]
        .into_iter()
        .enumerate()
    {
        let mut rng = Rng::new(100 + i as u64);
        let case = MatmulCase {
            a: rand(&mut rng, &[1, m, k]),
            b: rand(&mut rng, &[1, k, n]),
            dc: rand(&mut rng, &[1, m, n]),
            da: rand(&mut rng, &[1, m, k]),
            db: rand(&mut rng, &[1, k, n]),
        };
        agree(
            "matmul fixed",
            i as u64,
            3e-4,
            case.run(&cpu),
            case.run(&cpu),
            case.run(&Reference),
        );
    }
}

#[test]
fn linear_agrees() {
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let case = LinearCase::new(seed, 90);
        agree(
            "linear",
            seed,
            TOL,
            case.run(&cpu),
            case.run(&cpu),
            case.run(&Reference),
        );
    }
}

#[test]
fn attention_agrees() {
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        // Up to 150 positions: several 64-row blocks, the last one partial.
        for causal in [false, true] {
            let case = AttentionCase::new(seed, 150, causal);
            let what = if causal {
                "attention causal"
            } else {
                "attention"
            };
            agree(
                what,
                seed,
                ATTENTION_TOL,
                case.run(&cpu),
                case.run(&cpu),
                case.run(&Reference),
            );
        }
    }
}

fn all_masked(be: &impl Backend) {
    let mut case = AttentionCase::new(3, 20, true);
    case.mask.iter_mut().for_each(|m| *m = false);
    let outs = case.run(be);
    assert!(
        outs[0].data().iter().all(|&x| x == 0.0),
        "{}: output must be zero",
        be.name()
    );
    assert!(outs[1].data().iter().all(|&x| x == f32::NEG_INFINITY));
    // The gradients were seeded with random values; nothing may be added to them.
    let again = case.run(&Reference);
    assert_eq!(outs[2..], again[2..]);
}

#[test]
fn attention_with_no_visible_key_is_zero() {
    all_masked(&Cpu::new());
    all_masked(&Reference);
}

#[test]
fn rowwise_ops_agree() {
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let case = RowCase::new(seed, 80);
        agree(
            "layernorm",
            seed,
            TOL,
            case.run_layernorm(&cpu),
            case.run_layernorm(&cpu),
            case.run_layernorm(&Reference),
        );
        agree(
            "gelu",
            seed,
            TOL,
            case.run_gelu(&cpu),
            case.run_gelu(&cpu),
            case.run_gelu(&Reference),
        );
        agree(
            "residual",
            seed,
            TOL,
            case.run_residual(&cpu),
            case.run_residual(&cpu),
            case.run_residual(&Reference),
        );
        agree(
            "cross-entropy",
            seed,
            TOL,
            case.run_cross_entropy(&cpu),
            case.run_cross_entropy(&cpu),
            case.run_cross_entropy(&Reference),
        );
        agree(
            "bce",
            seed,
            TOL,
            case.run_bce(&cpu),
            case.run_bce(&cpu),
            case.run_bce(&Reference),
        );
    }
}

#[test]
fn relu_agrees_bitwise() {
    // ReLU is exact (a copy or a +0; an add of dy or nothing), so no tolerance: every bit agrees,
    // the +0 and -0 inputs of `relu_input` included.
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let case = RowCase::new(seed, 80);
        let what = format!("relu (seed {seed})");
        let fast = case.run_relu(&cpu);
        assert_bitwise(&what, &fast, &case.run_relu(&Reference));
        assert_bitwise(&what, &fast, &case.run_relu(&cpu));
    }
    // More than one rayon chunk of 2^14 elements, the last one partial.
    let mut rng = Rng::new(61);
    let mut case = RowCase::new(61, 8);
    case.x = rand(&mut rng, &[3, 12_345]);
    case.other = rand(&mut rng, &[3, 12_345]);
    case.dy = rand(&mut rng, &[3, 12_345]);
    assert_bitwise(
        "relu 37035 elements",
        &case.run_relu(&cpu),
        &case.run_relu(&Reference),
    );
}

#[test]
fn relu_convention_at_zero() {
    // relu'(x) = 1 for x > 0 and 0 for x <= 0: at 0 (either sign) nothing is added to dx.
    let x = Tensor::from_vec(&[6], vec![-2.0, -0.0, 0.0, f32::MIN_POSITIVE, 0.5, 3.0]).unwrap();
    let dy = Tensor::from_vec(&[6], vec![10.0; 6]).unwrap();
    let y_want = [0.0, 0.0, 0.0, f32::MIN_POSITIVE, 0.5, 3.0];
    let dx_want = [1.0, -0.0, 1.0, 11.0, 11.0, 11.0];
    let check = |be: &dyn Fn(&Tensor, &mut Tensor, &mut Tensor)| {
        let mut y = Tensor::zeros(&[6]);
        let mut dx = Tensor::from_vec(&[6], vec![1.0, -0.0, 1.0, 1.0, 1.0, 1.0]).unwrap();
        be(&x, &mut y, &mut dx);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(y.data()), bits(&y_want), "y {:?}", y.data());
        assert_eq!(bits(dx.data()), bits(&dx_want), "dx {:?}", dx.data());
    };
    let cpu = Cpu::new();
    check(&|x, y, dx| {
        ops::relu_forward(&cpu, x, y).unwrap();
        ops::relu_backward(&cpu, x, &dy, dx).unwrap();
    });
    check(&|x, y, dx| {
        ops::relu_forward(&Reference, x, y).unwrap();
        ops::relu_backward(&Reference, x, &dy, dx).unwrap();
    });
}

#[test]
fn layernorm_weight_gradient_spans_many_row_chunks() {
    // 333 rows: eleven partial-sum chunks of 32 rows, the last one short.
    let mut rng = Rng::new(41);
    let mut case = RowCase::new(41, 8);
    let dim = 37;
    case.x = rand(&mut rng, &[333, dim]);
    case.dy = rand(&mut rng, &[333, dim]);
    case.weight = rand(&mut rng, &[dim]);
    case.bias = rand(&mut rng, &[dim]);
    let cpu = Cpu::new();
    agree(
        "layernorm 333 rows",
        41,
        3e-4,
        case.run_layernorm(&cpu),
        case.run_layernorm(&cpu),
        case.run_layernorm(&Reference),
    );
}

#[test]
fn embedding_and_rope_agree() {
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let e = EmbeddingCase::new(seed);
        agree(
            "embedding",
            seed,
            0.0,
            e.run(&cpu),
            e.run(&cpu),
            e.run(&Reference),
        );
        let r = RopeCase::new(seed);
        agree(
            "rope",
            seed,
            TOL,
            r.run(&cpu),
            r.run(&cpu),
            r.run(&Reference),
        );
    }
}

#[test]
fn optimizer_agrees() {
    let cpu = Cpu::new();
    for seed in 0..4 {
        agree(
            "adamw + clip",
            seed,
            TOL,
            optimise_case(40_000, 3, 7, &cpu, seed),
            optimise_case(40_000, 3, 7, &cpu, seed),
            optimise_case(40_000, 3, 7, &Reference, seed),
        );
    }
}

#[test]
fn workspace_stops_growing_after_the_first_step() {
    // The promise behind "no allocation per op": a second identical step reuses the same scratch.
    let cpu = Cpu::new();
    let case = AttentionCase::new(9, 150, true);
    let rows = RowCase::new(9, 80);
    case.run(&cpu);
    rows.run_layernorm(&cpu);
    let after_first = cpu.workspace_bytes();
    assert!(after_first > 0);
    case.run(&cpu);
    rows.run_layernorm(&cpu);
    assert_eq!(cpu.workspace_bytes(), after_first);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Row-wise kernels and attention split work at fixed boundaries and reduce in a fixed order, so
    // one thread and four threads give the same bits (gemm splits output tiles only).
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let cpu = Cpu::new();
            let rows = RowCase::new(17, 80);
            let attention = AttentionCase::new(17, 150, true);
            let mut all = rows.run_layernorm(&cpu);
            all.extend(rows.run_cross_entropy(&cpu));
            all.extend(attention.run(&cpu));
            all.extend(optimise_case(40_000, 3, 7, &cpu, 17));
            all
        })
    };
    assert_eq!(on(1), on(4));
}

#[test]
fn masked_attention_agrees_bitwise() {
    // The cpu backend runs the reference's own row arithmetic on heads in parallel: bitwise equal.
    let cpu = Cpu::new();
    for seed in 0..SEEDS {
        let case = MaskedAttentionCase::new(seed, 40);
        let what = format!("masked attention (seed {seed})");
        let fast = case.run(&cpu);
        assert_bitwise(&what, &fast, &case.run(&Reference));
        assert_bitwise(&what, &fast, &case.run(&cpu));
    }
}

#[test]
fn masked_attention_exact_cases() {
    // One head, three positions, head_dim 2. Query 0 sees only key 0 (its value, exactly); query 1
    // sees keys 0 and 2 with equal scores (the mean, exactly); query 2 sees no key (0). Key 1 is
    // never visible, so its huge value must not leak.
    let q = Tensor::from_vec(&[1, 3, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
    let k = Tensor::from_vec(&[1, 3, 2], vec![2.0, 5.0, 9.0, 9.0, 7.0, 5.0]).unwrap();
    let v = Tensor::from_vec(&[1, 3, 2], vec![1.0, -2.0, 1e30, 1e30, 3.0, 4.0]).unwrap();
    let mask = [
        true, false, false, // query 0
        true, false, true, // query 1
        false, false, false, // query 2
    ];
    fn run(be: &impl Backend, q: &Tensor, k: &Tensor, v: &Tensor, mask: &[bool]) -> Tensor {
        let mut out = Tensor::zeros(q.shape());
        ops::masked_attention_forward(be, q, k, v, mask, 1.0, &mut out).unwrap();
        out
    }
    let want = [1.0, -2.0, 2.0, 1.0, 0.0, 0.0];
    assert_eq!(run(&Cpu::new(), &q, &k, &v, &mask).data(), &want);
    assert_eq!(run(&Reference, &q, &k, &v, &mask).data(), &want);
    // A score gap of 30 at scale 1 leaves the loser exp(-30) of the weight: within 1e-12.
    let q = Tensor::from_vec(&[1, 2, 1], vec![30.0, 30.0]).unwrap();
    let k = Tensor::from_vec(&[1, 2, 1], vec![1.0, 0.0]).unwrap();
    let v = Tensor::from_vec(&[1, 2, 1], vec![1.0, 0.0]).unwrap();
    let mut out = Tensor::zeros(&[1, 2, 1]);
    ops::masked_attention_forward(&Cpu::new(), &q, &k, &v, &[true; 4], 1.0, &mut out).unwrap();
    assert!((out.data()[0] - 1.0).abs() < 1e-6, "{:?}", out.data());
    // The mask's length is checked.
    let err = ops::masked_attention_forward(&Cpu::new(), &q, &k, &v, &[true; 3], 1.0, &mut out);
    assert!(err.is_err());
}
