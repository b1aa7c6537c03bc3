//! The weights stage: compiled step functions run as hand-weighted Transformers, checked against
//! the seq evaluator at every sublayer and every step.

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::Canvas;
use apmdm::pram::{library, RunConfig};
use apmdm::weights::{compile, Options, WeightsStep};

/// The weights of `seq` for canvases up to `len`, as a step function with the shadow on.
fn shadowed(label: &str, seq: &apmdm::seq::Program, len: usize) -> WeightsStep {
    let t = std::time::Instant::now();
    let model = compile(seq, Options::new(len)).unwrap();
    eprintln!(
        "{label}: L={len} config {:?} params {} built in {:?}",
        model.config,
        model.config.parameters(),
        t.elapsed()
    );
    WeightsStep::new(model, seq.clone(), true)
}

/// Every step the weights proposed equalled the seq evaluator's, with no exact deviation.
fn assert_clean(label: &str, f: &WeightsStep) {
    eprintln!("{label}: shadow {:?}", f.report);
    assert!(f.report.steps > 0, "{label}: nothing ran");
    assert_eq!(f.report.first_mismatch, None, "{label}");
    assert_eq!(f.report.first_deviation, None, "{label}");
    assert_eq!(f.report.agreeing_steps, f.report.steps, "{label}");
}

fn mdm_row(name: &str, n: i64) {
    let label = format!("{name} mdm n={n}");
    let program = library::load(name).unwrap().unwrap();
    let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
    let mut f = shadowed(&label, &compiled.seq, compiled.regions.length);
    let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &RunConfig::new(n)).unwrap();
    run_with(&compiled, &program, Canvas::new(x0), &mut f, false).unwrap();
    assert_clean(&label, &f);
}

fn apmdm_row(name: &str, n: i64) {
    let label = format!("{name} apmdm n={n}");
    let program = library::load(name).unwrap().unwrap();
    let compiled = pram_to_apmdm(&program, n, &CompileLimits::default()).unwrap();
    let len = apmdm::weights::longest_canvas(&compiled.seq).unwrap();
    let mut f = shadowed(&label, &compiled.seq, len);
    let x0 = pram_to_apmdm::initial_canvas(&compiled, &program, &RunConfig::new(n)).unwrap();
    run_apmdm_with(
        &compiled,
        &program,
        Canvas::new(x0),
        &mut f,
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_clean(&label, &f);
}

#[test]
fn ci_programs_mdm_small() {
    for p in ["prefix_sum", "list_ranking", "reduce_max", "dyck"] {
        mdm_row(p, 4);
    }
}

#[test]
fn ci_programs_apmdm_small() {
    for p in ["prefix_sum", "list_ranking", "reduce_max", "dyck"] {
        apmdm_row(p, 4);
    }
}

/// Runs prefix_sum's MDM schedule at n = 4 with a model changed by `fault`, returning the
/// shadow report and the model's head and unit owners.
fn faulted(fault: impl FnOnce(&mut apmdm::weights::Model)) -> apmdm::weights::ShadowReport {
    faulted_at(fault, apmdm::weights::shadow::EXACT_TOLERANCE)
}

fn faulted_at(
    fault: impl FnOnce(&mut apmdm::weights::Model),
    tolerance: f64,
) -> apmdm::weights::ShadowReport {
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 4, &CompileLimits::default()).unwrap();
    let mut model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
    fault(&mut model);
    let config = RunConfig::new(4);
    let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &config).unwrap();
    let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
    f.tolerance = tolerance;
    // A faulty model may derail the schedule; the report up to there is what is checked.
    let _ = run_with(&compiled, &program, Canvas::new(x0), &mut f, false);
    f.report
}

#[test]
fn large_relative_noise_is_caught() {
    let r = faulted(|m| m.perturb(1e-2, 7));
    assert!(r.first_deviation.is_some());
}

#[test]
fn a_cold_head_is_caught_and_named() {
    // The first selecting head (a lookup's, with a tie-break) at its layer, cooled 50-fold.
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 4, &CompileLimits::default()).unwrap();
    let model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
    let (layer, head, node) = model
        .layers
        .iter()
        .enumerate()
        .flat_map(|(l, layer)| {
            layer
                .heads
                .iter()
                .enumerate()
                .map(move |(h, x)| (l, h, x.node))
        })
        .find(|&(_, _, n)| matches!(compiled.seq.nodes[n], apmdm::seq::Op::Lookup { .. }))
        .unwrap();
    let r = faulted(|m| m.scale_query(layer, head, 0.02));
    let d = r.first_deviation.expect("the cold head is caught");
    assert_eq!(d.node, node, "the deviation names the head's node: {d:?}");
    assert!(d.sublayer >= 2 * layer, "{d:?}");
    let m = r.first_mismatch.expect("the proposal differs somewhere");
    assert!(m.step >= 1 && !m.field.is_empty());
}

#[test]
fn a_flipped_unit_is_caught_and_named() {
    // A unit that writes a node's value wire: negating it breaks exactly that node.
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 4, &CompileLimits::default()).unwrap();
    let model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
    let wires = &model.lowered.circuit.wires;
    let mut target = None;
    'search: for (l, layer) in model.layers.iter().enumerate() {
        for (u, unit) in layer.units.iter().enumerate() {
            for (w, info) in wires.iter().enumerate() {
                let p = model.placement[w];
                if let apmdm::weights::circuit::Expect::Node(n) = info.expect {
                    if p.born == Some(2 * l + 1) && unit.w2.iter().any(|e| e.0 == p.coord) {
                        target = Some((l, u, n));
                        break 'search;
                    }
                }
            }
        }
    }
    let (layer, unit, node) = target.expect("some unit writes a node's value");
    let r = faulted(|m| m.negate_unit(layer, unit));
    let d = r.first_deviation.expect("the flipped unit is caught");
    assert_eq!(d.node, node, "{d:?}");
    assert_eq!(d.sublayer, 2 * layer + 1, "{d:?}");
}

/// A measurement, not a check (run with `--ignored --nocapture`): how much relative noise on
/// every weight prefix_sum's MDM model (n = 4) takes before a proposal changes, next to the
/// derived tolerance (`noise_tolerance_scan`).
#[test]
#[ignore]
fn relative_noise_scan() {
    for k in [2, 6, 8, 10, 12, 14, 16] {
        let r = faulted(|m| m.perturb(10f64.powi(-k), 7));
        eprintln!(
            "relative noise 1e-{k}: {} of {} steps agree; first mismatch {:?}; largest shadow deviation {:e}",
            r.agreeing_steps, r.steps, r.first_mismatch, r.max_exact_deviation
        );
    }
}

fn apmdm_cli(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_cli_runs_rows_by_the_weights_and_refuses_with_reasons() {
    let (code, out) = apmdm_cli(&[
        "compile",
        "prefix_sum",
        "--n",
        "2",
        "--executor",
        "weights",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["status"], "pass");
    assert_eq!(row["executor"], "weights");
    let w = &row["weights"];
    assert_eq!(w["agreeing_steps"], w["steps"]);
    assert_eq!(
        w["steps"],
        row["steps"].as_u64().unwrap() + 1,
        "a proposal per step and the fixed point"
    );
    assert_eq!(w["max_exact_deviation"], 0.0);
    // Parameters at the uniform shape equal the formula of docs/weights.md.
    let g = |k: &str| w[k].as_u64().unwrap();
    let outputs = {
        // fields' bits plus three control bits: from the exported config of the same model.
        let dir = std::env::temp_dir().join(format!("apmdm_weights_cli_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (code, text) = apmdm_cli(&[
            "compile",
            "prefix_sum",
            "--n",
            "2",
            "--emit-weights",
            dir.to_str().unwrap(),
            "--max-export-bytes",
            "100",
        ]);
        // The byte cap is checked before anything is written: an error, exit 2, no folder.
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("over the cap"), "{text}");
        assert!(!dir.exists());
        let program = library::load("prefix_sum").unwrap().unwrap();
        let compiled = pram_to_mdm(&program, 2, &CompileLimits::default()).unwrap();
        compile(&compiled.seq, Options::new(compiled.regions.length))
            .unwrap()
            .config
            .outputs as u64
    };
    let (d, l, h, dh, ff) = (
        g("d_model"),
        g("layers"),
        g("heads"),
        g("d_head"),
        g("d_ff"),
    );
    assert_eq!(
        g("parameters"),
        l * (4 * h * dh * d + 2 * d * ff + ff) + outputs * (d + 1)
    );

    // A canvas over --max-weights-length: the row is not run, with the reason (exit 3).
    let (code, out) = apmdm_cli(&[
        "compile",
        "prefix_sum",
        "--n",
        "2",
        "--executor",
        "weights",
        "--max-weights-length",
        "5",
    ]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("NOT RUN") || out.contains("not run"), "{out}");
    assert!(out.contains("--max-weights-length 5"), "{out}");

    // check over two programs and both targets.
    let (code, out) = apmdm_cli(&[
        "check",
        "prefix_sum",
        "list_ranking",
        "--executor",
        "weights",
        "--sizes",
        "2",
        "--seeds",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hand-set weights"), "{out}");
}

/// The model of `name` at n for `target` with its initial canvas, run under relative noise
/// `epsilon` on every weight (seed `seed`), the shadow's per-wire bounds those of
/// `noise::propagate` at that noise.
fn noisy_row(name: &str, target: &str, n: i64, fraction: f64, seed: u64) -> (f64, WeightsStep) {
    use apmdm::weights::noise;
    let program = library::load(name).unwrap().unwrap();
    let config = RunConfig::new(n);
    if target == "mdm" {
        let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
        let mut model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
        let tol = noise::tolerance(&model, noise::F64_ROUNDOFF).unwrap();
        let eps = tol.epsilon * fraction;
        let bound = noise::propagate(&model, eps, noise::F64_ROUNDOFF);
        model.perturb(eps, seed);
        let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
        f.bounds = Some(bound.error);
        let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &config).unwrap();
        let _ = run_with(&compiled, &program, Canvas::new(x0), &mut f, false);
        (tol.epsilon, f)
    } else {
        let compiled = pram_to_apmdm(&program, n, &CompileLimits::default()).unwrap();
        let len = apmdm::weights::longest_canvas(&compiled.seq).unwrap();
        let mut model = compile(&compiled.seq, Options::new(len)).unwrap();
        let tol = noise::tolerance(&model, noise::F64_ROUNDOFF).unwrap();
        let eps = tol.epsilon * fraction;
        let bound = noise::propagate(&model, eps, noise::F64_ROUNDOFF);
        model.perturb(eps, seed);
        let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
        f.bounds = Some(bound.error);
        let x0 = pram_to_apmdm::initial_canvas(&compiled, &program, &config).unwrap();
        let _ = run_apmdm_with(
            &compiled,
            &program,
            Canvas::new(x0),
            &mut f,
            false,
            &mut |_| {},
        );
        (tol.epsilon, f)
    }
}

#[test]
fn noise_at_half_the_derived_tolerance_changes_nothing() {
    // The rows whose models have a derived tolerance at n = 2 (`noise_tolerance_scan` lists
    // every CI row: the others have none, proofs/weights.md says why).
    for (name, target, seed) in [
        ("prefix_sum", "mdm", 11),
        ("list_ranking", "mdm", 13),
        ("list_ranking", "apmdm", 14),
    ] {
        let label = format!("{name} {target} n=2 under half the derived noise tolerance");
        let (tol, f) = noisy_row(name, target, 2, 0.5, seed);
        eprintln!("{label}: tolerance 2^{} {:?}", tol.log2(), f.report);
        // Every proposal equal, every wire and node form within its propagated bound.
        assert_clean(&label, &f);
        // The noise did reach the residual (the check is not vacuous).
        assert!(f.report.max_exact_deviation > 0.0, "{label}");
        // The construction's aim: re-rounded comparisons keep it far above f64's precision.
        assert!(tol >= 2f64.powi(-50), "{label}: tolerance {tol:e}");
    }
}

/// A measurement (run with `--ignored --nocapture`): the derived noise tolerance of each CI
/// program's model at n = 2 and n = 4, or the margin that has none.
#[test]
#[ignore]
fn noise_tolerance_scan() {
    use apmdm::weights::noise;
    for n in [2, 4] {
        for name in ["prefix_sum", "list_ranking", "reduce_max", "dyck"] {
            let program = library::load(name).unwrap().unwrap();
            let m = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
            let a = pram_to_apmdm(&program, n, &CompileLimits::default()).unwrap();
            let la = apmdm::weights::longest_canvas(&a.seq).unwrap();
            for (target, seq, len) in [("mdm", &m.seq, m.regions.length), ("apmdm", &a.seq, la)] {
                let model = compile(seq, Options::new(len)).unwrap();
                let t = noise::tolerance(&model, noise::F64_ROUNDOFF);
                let f32b = noise::propagate(&model, noise::F32_ROUNDOFF, noise::F32_ROUNDOFF);
                eprintln!(
                    "{name} {target} n={n} L={len} layers {} d_model {}: tolerance {:?}; f32 {:?} ratio {:.3e}",
                    model.config.layers,
                    model.config.d_model,
                    t.map(|b| b.epsilon.log2()),
                    f32b.failure,
                    f32b.worst_ratio
                );
            }
        }
    }
}

/// A small ranged seq program whose values stay below 2^5: token = min((positions before this
/// one that are not masks) + field, 7), and the control bits from comparisons of the field.
fn small_program() -> apmdm::seq::Program {
    use apmdm::seq::{BinaryOp, Builder, Cmp, Heads, Selector};
    let mut b = Builder::new(1);
    let f = b.field(0);
    let m = b.is_mask();
    let zero = b.constant(0);
    let one = b.constant(1);
    let before = b.sum(
        Selector {
            key: m,
            query: zero,
            position: Some(Cmp::Lt),
            pair: None,
        },
        one,
    );
    let sum = b.binary(BinaryOp::Add, before, f);
    let seven = b.constant(7);
    let token = b.binary(BinaryOp::Min, sum, seven);
    let (c1, c2, c3) = (b.constant(1), b.constant(2), b.constant(3));
    let insert = b.binary(BinaryOp::Eq, f, c1);
    let delete = b.binary(BinaryOp::Lt, c2, f);
    let remask = b.binary(BinaryOp::Eq, f, c3);
    b.finish_ranged(
        Heads {
            token: vec![token],
            remask,
            insert,
            delete,
        },
        &[(0, 7)],
        8,
    )
    .unwrap()
}

#[test]
fn the_f32_executor_agrees_where_values_are_small_and_is_proved() {
    use apmdm::machine::Token;
    use apmdm::seq::Word;
    use apmdm::weights::f32_forward::{proof, F32Model};
    let seq = small_program();
    let model = compile(&seq, Options::new(8)).unwrap();
    assert_eq!(apmdm::weights::export::inexact_in_f32(&model), 0);
    assert_eq!(proof(&model), Ok(()), "the f32 bound holds on this model");
    let mut f = WeightsStep::new(model, seq.clone(), true);
    f.f32 = Some(F32Model::new(&f.model));
    let w = |v: i64| Token::Sym(Word(vec![v]));
    let canvases = [
        vec![w(0)],
        vec![w(1), Token::Mask, w(3), w(2)],
        vec![Token::Mask, w(3), w(7), w(0), Token::Mask, w(1), w(2), w(6)],
    ];
    for x in &canvases {
        let p = f.forward(x).unwrap();
        assert_eq!(p.tokens.len(), x.len());
    }
    assert_clean("small program f32", &f);
    let r = &f.f32.as_ref().unwrap().report;
    eprintln!("small program f32: {r:?}");
    let margin = r.min_margin.unwrap();
    assert!(margin > 0.5 && margin <= 1.0, "margin {margin}");
    assert_eq!(r.first_violation, None);
}

#[test]
fn the_f32_executor_fails_on_27_bit_values_and_names_where() {
    // prefix_sum's MDM model at n = 2: its comparisons see pre-activations near 2^27.8 with
    // half-integer offsets, which f32 (24-bit significand) cannot hold; the first step's
    // proposal differs, and the first comparison out of its regime is named.
    use apmdm::weights::f32_forward::{proof, F32Model};
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 2, &CompileLimits::default()).unwrap();
    let model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
    assert!(proof(&model).is_err(), "no f32 proof for 27-bit values");
    let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
    f.f32 = Some(F32Model::new(&f.model));
    let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &RunConfig::new(2)).unwrap();
    f.forward(&x0).unwrap();
    let m = f
        .report
        .first_mismatch
        .clone()
        .expect("f32 differs at step 1");
    assert_eq!((m.step, m.position, m.field.as_str()), (1, 0, "token[13]"));
    // The f64 shadow beside it stays exact.
    assert_eq!(f.report.first_deviation, None);
    let v = f
        .f32
        .as_ref()
        .unwrap()
        .report
        .first_violation
        .clone()
        .unwrap();
    assert_eq!(v.step, 1);
    assert!(v.exact.abs() > f64::from(1u32 << 24), "{v:?}");
    assert!(v.what.starts_with("comparison unit"), "{v:?}");
}

#[test]
fn the_cli_runs_rows_by_the_f32_executor_and_names_the_failure() {
    // prefix_sum's AP-MDM schedule at n = 2 through the f32 executor: its 27-bit comparisons
    // break in f32, so the row fails (exit 1) at step 1 and is not proved. Which position and
    // field break first depends on the order of f32 sums, which the gemm crate chooses by the
    // CPU's vector width (AVX2 or AVX-512), so only a token field of step 1 is asserted.
    let (code, out) = apmdm_cli(&[
        "compile",
        "prefix_sum",
        "--n",
        "2",
        "--target",
        "apmdm",
        "--executor",
        "weights-f32",
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["status"], "fail");
    assert_eq!(row["executor"], "weights-f32");
    let w = &row["weights"];
    assert_eq!(w["precision"], "f32");
    let m = &w["first_mismatch"];
    assert_eq!(m["step"], 1, "{m}");
    assert!(m["position"].as_u64().is_some_and(|p| p < 6), "{m}");
    assert!(m["field"].as_str().unwrap().starts_with("token["), "{m}");
    assert_ne!(m["expected"], m["found"], "{m}");
    assert!(w["f32_status"]
        .as_str()
        .unwrap()
        .starts_with("observed (margin -"));
    assert!(w["f32_bound_failure"].is_string());
    assert_eq!(w["f32_first_violation"]["step"], 1);
    // The f64 shadow beside it stays exact.
    assert_eq!(w["max_exact_deviation"], 0.0);
}

/// The f64 forward gives the same bits on one thread and on several (every sum in a fixed
/// order), and its logits decode to the seq evaluator's proposal.
#[test]
fn the_forward_is_the_same_on_any_number_of_threads() {
    use apmdm::seq::{propose, Evaluator};
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 4, &CompileLimits::default()).unwrap();
    let model = compile(&compiled.seq, Options::new(compiled.regions.length)).unwrap();
    let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &RunConfig::new(4)).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut r = model.embed(&x0).unwrap();
            model.run(&mut r, x0.len(), &mut |_, _| {});
            r
        })
    };
    let one = run(1);
    let three = run(3);
    assert_eq!(one.len(), three.len());
    assert!(one
        .iter()
        .zip(&three)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    let expected = propose(&compiled.seq, &x0, Evaluator::Indexed).unwrap();
    for p in 0..x0.len() {
        let (w, bits) = model.decode(&model.logits(&one, p));
        assert_eq!(w, expected.tokens[p], "position {p}");
        assert_eq!(
            bits,
            [
                expected.bits[p].remask,
                expected.bits[p].insert,
                expected.bits[p].delete
            ],
            "position {p}"
        );
    }
}

/// `check_case_watched` reports every proposal the weights executor is asked for, numbered from
/// 1, on the MDM target (what `check` and `compile` show as progress): the steps and the proposal
/// that finds the fixed point.
#[test]
fn the_weights_executor_reports_each_proposal_for_progress() {
    use apmdm::check::mdm::{check_case_watched, MdmBounds};
    use apmdm::check::weights::ExecutorOptions;
    let program = library::load("prefix_sum").unwrap().unwrap();
    let mut seen = Vec::new();
    let row = check_case_watched(
        &program,
        &RunConfig::new(2),
        &CompileLimits::default(),
        &MdmBounds::from_file(),
        u64::MAX,
        None,
        ExecutorOptions::weights(),
        &mut |_| {},
        &mut |p| seen.push(p),
    )
    .unwrap();
    let steps = row.steps.expect("the row ran") as usize;
    assert!(steps > 0);
    assert_eq!(seen, (1..=steps + 1).collect::<Vec<_>>());
}
