//! Tests of the neural backend: gradients against finite differences, backends against each other,
//! padding, learning the parity transitions, bitwise resume, and refused checkpoints.

use crate::kernels::{Cpu, Reference, Tensor};
use crate::machine::{run, ModelClass, RunConfig};
use crate::tasks::parity::{self, Eos, Variant};

use super::checkpoint::{self, CheckpointError};
use super::*;

fn tiny(control: bool) -> ModelConfig {
    let mut c = ModelConfig::ap_mdm(5, 2, 2, 8);
    c.control_head = control;
    c
}

fn quick_train(seed: u64) -> TrainConfig {
    TrainConfig {
        lr: 1e-2,
        warmup: 5,
        weight_decay: 0.01,
        batch: 16,
        clip: 1.0,
        seed,
    }
}

/// A mixed batch: parity transitions (bits) plus ARM-style token targets, so both loss terms and
/// padding are exercised.
fn mixed_examples() -> Vec<Example> {
    let mut ex = parity::training_examples(Variant::Halting);
    ex[0].targets[1] = Some(3);
    ex[4].targets[2] = Some(4);
    ex
}

#[test]
fn gradients_match_finite_differences() {
    let mut arm = tiny(false);
    arm.causal = true;
    check_gradients(tiny(true));
    check_gradients(arm);
}

/// Central differences against `backward` for one model shape, on the mixed examples.
fn check_gradients(config: ModelConfig) {
    let be = Reference;
    let model = Model::new(config.clone(), 11).unwrap();
    let data = mixed_examples();
    let refs: Vec<&Example> = data.iter().collect();
    let mut t = Trainer::new(model, quick_train(1)).unwrap();
    t.loss_and_grads(&be, &refs).unwrap();
    let analytic: Vec<Tensor> = t.grads().to_vec();
    let mut checked = 0;
    // Three entries of every parameter tensor, by central differences in f32; h = 2e-3 balances
    // rounding error against the curvature of the loss (h = 1e-2 is off by 2% on a bias).
    for (p, grad) in analytic.iter().enumerate() {
        for k in [0, t.model.params[p].len() / 2, t.model.params[p].len() - 1] {
            let h = 2e-3;
            let orig = t.model.params[p].data()[k];
            t.model.params[p].data_mut()[k] = orig + h;
            let up = t.loss_and_grads(&be, &refs).unwrap();
            t.model.params[p].data_mut()[k] = orig - h;
            let down = t.loss_and_grads(&be, &refs).unwrap();
            t.model.params[p].data_mut()[k] = orig;
            let numeric = (up - down) / (2.0 * h);
            let a = grad.data()[k];
            assert!(
                (numeric - a).abs() <= 2e-3 + 2e-2 * a.abs(),
                "param {p} entry {k}: analytic {a}, numeric {numeric}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * config.layout().len());
}

#[test]
fn cpu_and_reference_backends_train_the_same_model() {
    let data = mixed_examples();
    let model = Model::new(tiny(true), 5).unwrap();
    let mut a = Trainer::new(model.clone(), quick_train(2)).unwrap();
    let mut b = Trainer::new(model, quick_train(2)).unwrap();
    for _ in 0..5 {
        let la = a.train_step(&Reference, &data).unwrap().loss;
        let lb = b.train_step(&Cpu::new(), &data).unwrap().loss;
        assert!((la - lb).abs() < 1e-4, "{la} vs {lb}");
    }
    for (x, y) in a.model.params.iter().zip(&b.model.params) {
        for (u, v) in x.data().iter().zip(y.data()) {
            assert!((u - v).abs() < 1e-4, "{u} vs {v}");
        }
    }
}

#[test]
fn padding_does_not_change_a_sequences_outputs() {
    let be = Cpu::new();
    for causal in [false, true] {
        let mut cfg = tiny(true);
        cfg.causal = causal;
        let model = Model::new(cfg.clone(), 3).unwrap();
        let alone = Batch {
            batch: 1,
            seq: 3,
            ids: vec![1, 3, 4],
            real: vec![true; 3],
        };
        let padded = Batch {
            batch: 2,
            seq: 5,
            ids: vec![1, 3, 4, 0, 2, 1, 4, 4, 3, 3],
            real: vec![true, true, true, false, false, true, true, true, true, true],
        };
        let mut a1 = Activations::new(&cfg, 1, 3);
        let mut a2 = Activations::new(&cfg, 2, 5);
        model.forward(&be, &alone, &mut a1).unwrap();
        model.forward(&be, &padded, &mut a2).unwrap();
        for r in 0..3 {
            for (u, v) in a1.control_logits.data()[3 * r..3 * r + 3]
                .iter()
                .zip(&a2.control_logits.data()[3 * r..3 * r + 3])
            {
                assert!((u - v).abs() < 1e-5, "row {r}: {u} vs {v}");
            }
        }
    }
}

#[test]
fn bad_batches_and_configs_are_errors() {
    let model = Model::new(tiny(true), 1).unwrap();
    let mut acts = Activations::new(&model.config, 1, 3);
    let short = Batch {
        batch: 1,
        seq: 3,
        ids: vec![1, 2],
        real: vec![true; 3],
    };
    assert!(matches!(
        model.forward(&Cpu::new(), &short, &mut acts),
        Err(NeuralError::Batch(_))
    ));
    let bad_id = Batch {
        batch: 1,
        seq: 3,
        ids: vec![1, 2, 9],
        real: vec![true; 3],
    };
    assert!(matches!(
        model.forward(&Cpu::new(), &bad_id, &mut acts),
        Err(NeuralError::Kernel(_))
    ));
    assert!(Model::new(ModelConfig::ap_mdm(5, 1, 3, 8), 0).is_err());
    let mut t = Trainer::new(model, quick_train(0)).unwrap();
    let wrong = Example {
        ids: vec![1, 7],
        targets: vec![None, None],
        bits: vec![[false; 3]; 2],
    };
    let err = t.train_step(&Cpu::new(), &[wrong]).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
}

/// The halting variant is learned exactly by a small model in a few hundred steps, and the learned
/// machine then decides parity of short held-out strings through `machine`'s runner.
#[test]
fn a_small_model_learns_the_parity_transitions_and_runs_under_g() {
    let be = Cpu::new();
    let data = parity::training_examples(Variant::Halting);
    let model = Model::new(ModelConfig::ap_mdm(5, 1, 1, 8), 1).unwrap();
    let mut t = Trainer::new(model, quick_train(1)).unwrap();
    let first = t.train_step(&be, &data).unwrap().loss;
    for _ in 0..299 {
        t.train_step(&be, &data).unwrap();
    }
    let last = *t.losses.last().unwrap();
    assert!(last < first / 20.0, "loss {first} -> {last}");
    let vocab = parity::vocabulary();
    // Every training transition is reproduced exactly by the learned step.
    for (x, _, next) in parity::transitions(Variant::Halting) {
        let mut f = ModelStep::new(&t.model, Cpu::new(), &vocab);
        let r = run(
            &mut f,
            crate::machine::Canvas::<_>::new(x.clone()),
            &RunConfig::new(ModelClass::ApMdm).max_steps(1),
        );
        if next != x {
            assert_eq!(r.last.tokens(), next.as_slice(), "from {x:?}");
        } else {
            assert_eq!(r.stop.label(), "fixed-point");
        }
    }
    let inputs = parity::TestStrings::with_repeats(4, 16, 99);
    let res = parity::evaluate_ap_mdm(
        || ModelStep::new(&t.model, Cpu::new(), &vocab),
        &inputs,
        Eos::Drop,
    );
    assert_eq!(res.count, 16);
    assert!(res.stops.values().sum::<usize>() == 16);
}

#[test]
fn a_killed_and_resumed_run_is_bitwise_equal_to_a_straight_one() {
    let be = Cpu::new();
    let data = mixed_examples();
    let model = Model::new(tiny(true), 8).unwrap();
    let mut straight = Trainer::new(model.clone(), quick_train(4)).unwrap();
    for _ in 0..8 {
        straight.train_step(&be, &data).unwrap();
    }
    let mut first = Trainer::new(model, quick_train(4)).unwrap();
    for _ in 0..4 {
        first.train_step(&be, &data).unwrap();
    }
    let bytes = checkpoint::encode("parity", &first, None).unwrap();
    drop(first);
    let mut resumed = checkpoint::decode(&bytes).unwrap().trainer;
    assert_eq!(resumed.step, 4);
    for _ in 0..4 {
        resumed.train_step(&be, &data).unwrap();
    }
    let bits = |ts: &[Tensor]| -> Vec<u32> {
        ts.iter()
            .flat_map(|t| t.data().iter().map(|x| x.to_bits()))
            .collect()
    };
    assert_eq!(bits(&straight.model.params), bits(&resumed.model.params));
    assert_eq!(bits(&straight.m), bits(&resumed.m));
    assert_eq!(bits(&straight.v), bits(&resumed.v));
    let lb = |l: &[f32]| l.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(lb(&straight.losses), lb(&resumed.losses));
    assert_eq!(straight.losses.len(), 8);
}

#[test]
fn corrupt_truncated_and_foreign_checkpoints_are_refused() {
    let t = Trainer::new(Model::new(tiny(true), 2).unwrap(), quick_train(0)).unwrap();
    let good = checkpoint::encode("parity", &t, None).unwrap();
    assert!(checkpoint::decode(&good).is_ok());

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    assert!(matches!(
        checkpoint::decode(&flipped),
        Err(CheckpointError::Checksum { .. })
    ));

    let cut = &good[..good.len() - 100];
    let err = checkpoint::decode(cut).unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointError::Checksum { .. } | CheckpointError::Length { .. }
        ),
        "{err}"
    );
    assert!(matches!(
        checkpoint::decode(&good[..10]),
        Err(CheckpointError::Length { .. })
    ));

    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(matches!(
        checkpoint::decode(&magic),
        Err(CheckpointError::BadMagic)
    ));

    let mut version = good.clone();
    version[8] = 9;
    let err = checkpoint::decode(&version).unwrap_err();
    assert!(err.to_string().contains("version 9"), "{err}");

    // Right format, wrong task.
    let dir = std::env::temp_dir().join(format!("apmdm-ckpt-test-{}", std::process::id()));
    let path = checkpoint::save(&dir, "arm-parity", &t, None).unwrap();
    assert_eq!(path.file_name().unwrap(), "step-00000000.ckpt");
    let err = checkpoint::load_for(&path, "parity").unwrap_err();
    assert!(err.to_string().contains("expected `parity`"), "{err}");
    assert_eq!(checkpoint::latest(&dir).unwrap(), Some(path));
    // No temporary file is left behind by the atomic write.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(checkpoint::latest(&dir).unwrap(), None);
}

/// The confidence policy fills exactly one mask per step, so even an untrained plain MDM passes
/// the AO-MDM check at every step and fills k masks in exactly k steps.
#[test]
fn the_confidence_policy_unmasks_one_mask_per_step_under_the_ao_mdm_rule() {
    use crate::machine::library::ParityToken;
    use crate::machine::Token;
    let model = Model::new(ModelConfig::mdm(5, 1, 2, 8), 4).unwrap();
    let vocab = parity::vocabulary();
    let mut f = ConfidenceStep::new(&model, Cpu::new(), &vocab);
    let x: Vec<Token<ParityToken>> = vec![
        Token::Sym(ParityToken::Bos),
        Token::Mask,
        Token::Sym(ParityToken::One),
        Token::Mask,
        Token::Mask,
    ];
    let r = run(
        &mut f,
        crate::machine::Canvas::<_>::new(x),
        &RunConfig::new(ModelClass::AoMdm).max_steps(10),
    );
    assert_eq!(r.stop.label(), "fixed-point", "{}", r.stop);
    assert_eq!(r.steps(), 3);
    assert_eq!(r.last.mask_count(), 0);
    assert_eq!(r.trace.totals().unmask, 3);
    assert_eq!(r.trace.totals().hold, 2 + 1);
    let ex = parity::mdm_examples(5, 2, 4, 1);
    for e in &ex {
        assert_eq!(*e.ids.last().unwrap(), MASK_ID);
        assert!(e.targets.last().unwrap().is_some());
        assert_eq!(e.targets.iter().flatten().count(), 1);
    }
}

/// The same model trains the same on the wgpu backend as on the cpu backend (to f32 tolerance).
/// Skipped with a notice when wgpu finds no adapter, except under CI=true, where that fails.
#[test]
fn wgpu_training_matches_cpu_training() {
    let Some(gpu) = crate::kernels::Wgpu::new() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but wgpu found no adapter: install mesa-vulkan-drivers (llvmpipe)"
        );
        eprintln!("NOTICE: no wgpu adapter found; wgpu training test skipped");
        return;
    };
    let data = mixed_examples();
    let model = Model::new(tiny(true), 6).unwrap();
    let mut a = Trainer::new(model.clone(), quick_train(3)).unwrap();
    let mut b = Trainer::new(model, quick_train(3)).unwrap();
    for _ in 0..3 {
        let la = a.train_step(&Cpu::new(), &data).unwrap().loss;
        let lb = b.train_step(&gpu, &data).unwrap().loss;
        assert!((la - lb).abs() < 1e-4, "cpu {la} vs wgpu {lb}");
    }
    for (x, y) in a.model.params.iter().zip(&b.model.params) {
        for (u, v) in x.data().iter().zip(y.data()) {
            assert!((u - v).abs() < 1e-4, "{u} vs {v}");
        }
    }
}

/// The causal baseline machinery learns a task that needs attention to an earlier position: the
/// answer at EOS is the last bit, at a fixed offset (so the ARM's failure on parity is parity's, not
/// the code's).
#[test]
fn the_arm_learns_to_repeat_the_last_bit_and_answers_through_the_arm_rule() {
    use crate::machine::library::ParityToken;
    use crate::machine::Token;
    let be = Cpu::new();
    let vocab = parity::vocabulary();
    let last_bit = |e: &Example| e.ids[e.ids.len() - 2];
    let data: Vec<Example> = parity::arm_examples(200, 2, 6, 5)
        .into_iter()
        .map(|mut e| {
            let n = e.ids.len();
            e.targets[n - 1] = Some(last_bit(&e));
            e
        })
        .collect();
    let cfg = ModelConfig::arm(5, 1, 2, 16);
    let mut t = Trainer::new(Model::new(cfg, 2).unwrap(), quick_train(6)).unwrap();
    for _ in 0..800 {
        t.train_step(&be, &data).unwrap();
    }
    let mut correct = 0;
    for bits in parity::strings(5, 40, 77) {
        let mut f = ArmStep::new(&t.model, Cpu::new(), &vocab);
        let r = run(
            &mut f,
            parity::arm_canvas(&bits),
            &RunConfig::new(ModelClass::Arm).max_steps(1),
        );
        let want = if bits[4] {
            ParityToken::One
        } else {
            ParityToken::Zero
        };
        correct += usize::from(r.last.tokens()[7] == Token::Sym(want));
        assert_eq!(r.last.tokens().len(), 9, "answer plus the next mask");
    }
    assert_eq!(correct, 40);
}

#[test]
fn the_activation_estimate_is_exactly_what_is_allocated() {
    for (cfg, b, t) in [
        (ModelConfig::ap_mdm(5, 1, 1, 4), 3, 7),
        (ModelConfig::arm(6, 2, 2, 8), 2, 5),
        (ModelConfig::mdm(34, 3, 4, 16), 1, 9),
    ] {
        let acts = Activations::new(&cfg, b, t);
        assert_eq!(
            Activations::floats(&cfg, b, t),
            Some(acts.allocated_floats())
        );
    }
    let huge = ModelConfig::ap_mdm(5, 64, 64, 4096);
    assert_eq!(huge.training_bytes(usize::MAX, 2), None);
    assert!(huge.training_bytes(256, 4).unwrap() > 4 << 30);
}
