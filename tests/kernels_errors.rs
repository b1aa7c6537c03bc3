//! Bad shapes, ids and settings are errors that name the op and both shapes, never panics.

use apmdm::kernels::ops;
use apmdm::kernels::{AdamW, Backend, Cpu, KernelError, Reference, Tensor};

#[test]
fn matmul_inner_dimension_mismatch_names_both_shapes() {
    let (a, b) = (Tensor::zeros(&[2, 3, 4]), Tensor::zeros(&[2, 5, 6]));
    let mut c = Tensor::zeros(&[2, 3, 6]);
    let err = ops::matmul_forward(&Cpu::new(), &a, &b, &mut c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul_forward: argument `b` has shape [2, 5, 6], expected [2, 4, 6]"
    );
}

#[test]
fn wrong_output_shape_is_rejected_on_every_backend() {
    let (x, w, bias) = (
        Tensor::zeros(&[3, 4]),
        Tensor::zeros(&[5, 4]),
        Tensor::zeros(&[5]),
    );
    let mut y = Tensor::zeros(&[3, 4]);
    let want = KernelError::Shape {
        op: "linear_forward",
        argument: "y",
        expected: vec![3, 5],
        actual: vec![3, 4],
    };
    assert_eq!(
        ops::linear_forward(&Reference, &x, &w, &bias, &mut y),
        Err(want.clone())
    );
    assert_eq!(
        ops::linear_forward(&Cpu::new(), &x, &w, &bias, &mut y),
        Err(want)
    );
}

#[test]
fn relu_shape_mismatches_are_errors_on_every_backend() {
    fn on(be: &impl Backend) {
        let x = Tensor::zeros(&[2, 3]);
        let (good, bad) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[3, 2]));
        let shape = |op, argument| KernelError::Shape {
            op,
            argument,
            expected: vec![2, 3],
            actual: vec![3, 2],
        };
        let mut y = bad.clone();
        assert_eq!(
            ops::relu_forward(be, &x, &mut y),
            Err(shape("relu_forward", "y"))
        );
        let mut dx = good.clone();
        assert_eq!(
            ops::relu_backward(be, &x, &bad, &mut dx),
            Err(shape("relu_backward", "dy"))
        );
        let mut dx = bad.clone();
        assert_eq!(
            ops::relu_backward(be, &x, &good, &mut dx),
            Err(shape("relu_backward", "dx"))
        );
        // Same element count, other rank: still a shape error, and nothing was written.
        let mut flat = Tensor::from_vec(&[6], vec![7.0; 6]).unwrap();
        let err = ops::relu_forward(be, &x, &mut flat).unwrap_err();
        assert_eq!(
            err.to_string(),
            "relu_forward: argument `y` has shape [6], expected [2, 3]"
        );
        assert_eq!(flat.data(), &[7.0; 6]);
    }
    on(&Reference);
    on(&Cpu::new());
}

#[test]
fn token_ids_and_targets_out_of_range() {
    let table = Tensor::zeros(&[4, 2]);
    let mut out = Tensor::zeros(&[2, 2]);
    let err = ops::embedding_forward(&Cpu::new(), &[1, 4], &table, &mut out).unwrap_err();
    assert_eq!(
        err,
        KernelError::IdOutOfRange {
            op: "embedding_forward",
            position: 1,
            id: 4,
            limit: 4
        }
    );
    let logits = Tensor::zeros(&[2, 3]);
    let mut losses = Tensor::zeros(&[2]);
    let err = ops::cross_entropy_forward(&Cpu::new(), &logits, &[0, 3], &mut losses).unwrap_err();
    assert!(matches!(
        err,
        KernelError::IdOutOfRange {
            id: 3,
            limit: 3,
            ..
        }
    ));
}

#[test]
fn attention_mask_length_and_odd_rope_width() {
    let q = Tensor::zeros(&[1, 2, 5, 3]);
    let mut out = Tensor::zeros(&[1, 2, 5, 3]);
    let mut lse = Tensor::zeros(&[1, 2, 5]);
    let err = ops::attention_forward(
        &Cpu::new(),
        &q,
        &q,
        &q,
        &[true; 4],
        false,
        &mut out,
        &mut lse,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            KernelError::Shape {
                argument: "key_mask",
                ..
            }
        ),
        "{err}"
    );
    let err = ops::rope_forward(&Cpu::new(), &q, 10000.0, &mut out).unwrap_err();
    assert!(
        matches!(
            err,
            KernelError::Setting {
                op: "rope_forward",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn wrong_rank_and_bad_optimizer_settings() {
    let x = Tensor::zeros(&[6]);
    let (w, b) = (Tensor::zeros(&[6]), Tensor::zeros(&[6]));
    let (mut y, mut mean, mut rstd) = (
        Tensor::zeros(&[6]),
        Tensor::zeros(&[1]),
        Tensor::zeros(&[1]),
    );
    let err =
        ops::layernorm_forward(&Cpu::new(), &x, &w, &b, &mut y, &mut mean, &mut rstd).unwrap_err();
    assert!(
        matches!(err, KernelError::Shape { argument: "x", .. }),
        "{err}"
    );
    let cfg = AdamW {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let (mut p, g, mut m, mut v) = (x.clone(), x.clone(), x.clone(), x.clone());
    let err = ops::adamw_step(&Cpu::new(), cfg, 0, &mut p, &g, &mut m, &mut v).unwrap_err();
    assert!(matches!(err, KernelError::Setting { .. }), "{err}");
    let err = ops::clip_global_norm(&Cpu::new(), &mut [&mut p], 0.0).unwrap_err();
    assert!(matches!(err, KernelError::Setting { .. }), "{err}");
    assert!(Tensor::from_vec(&[2, 3], vec![0.0; 5]).is_err());
}

#[test]
fn clipping_scales_to_the_limit_and_leaves_small_gradients_alone() {
    let cpu = Cpu::new();
    let mut a = Tensor::from_vec(&[2], vec![3.0, 0.0]).unwrap();
    let mut b = Tensor::from_vec(&[1], vec![4.0]).unwrap();
    let norm = ops::clip_global_norm(&cpu, &mut [&mut a, &mut b], 1.0).unwrap();
    assert_eq!(norm, 5.0);
    let clipped = (a.data()[0].powi(2) + b.data()[0].powi(2)).sqrt();
    assert!((clipped - 1.0).abs() < 1e-5, "{clipped}");
    let mut c = Tensor::from_vec(&[1], vec![0.5]).unwrap();
    ops::clip_global_norm(&cpu, &mut [&mut c], 1.0).unwrap();
    assert_eq!(c.data(), &[0.5]);
}

#[test]
fn first_adamw_step_moves_by_the_learning_rate() {
    // With zero moments, step 1's bias-corrected update is lr · g / (|g| + eps) ≈ lr · sign(g).
    let cfg = AdamW {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut p = Tensor::from_vec(&[2], vec![1.0, 1.0]).unwrap();
    let g = Tensor::from_vec(&[2], vec![0.3, -2.0]).unwrap();
    let (mut m, mut v) = (Tensor::zeros(&[2]), Tensor::zeros(&[2]));
    ops::adamw_step(&Cpu::new(), cfg, 1, &mut p, &g, &mut m, &mut v).unwrap();
    assert!(
        (p.data()[0] - 0.9).abs() < 1e-5 && (p.data()[1] - 1.1).abs() < 1e-5,
        "{:?}",
        p.data()
    );
}
