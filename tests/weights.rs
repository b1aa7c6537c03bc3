//! The weights stage: compiled step functions run as hand-weighted Transformers, checked against
//! the seq evaluator at every sublayer and every step.

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::Canvas;
use apmdm::pram::{library, RunConfig};
use apmdm::weights::{compile, Options, WeightsStep};

fn mdm_row(name: &str, n: i64) {
    let program = library::load(name).unwrap().unwrap();
    let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
    let len = compiled.regions.length;
    let t = std::time::Instant::now();
    let model = compile(&compiled.seq, Options::new(len)).unwrap();
    eprintln!(
        "{name} mdm n={n}: L={len} config {:?} params {} built in {:?}",
        model.config,
        model.config.parameters(),
        t.elapsed()
    );
    let config = RunConfig::new(n);
    let x0 = pram_to_mdm::initial_canvas(&compiled, &program, &config).unwrap();
    let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
    let (report, _) = run_with(&compiled, &program, Canvas::new(x0), &mut f, false).unwrap();
    eprintln!(
        "{name}: {:?} steps {} shadow {:?}",
        report.outcome, report.steps, f.report
    );
    assert!(
        f.report.first_mismatch.is_none(),
        "{:?}",
        f.report.first_mismatch
    );
    assert!(
        f.report.first_deviation.is_none(),
        "{:?}",
        f.report.first_deviation
    );
    assert_eq!(f.report.agreeing_steps, f.report.steps);
}

fn apmdm_row(name: &str, n: i64) {
    let program = library::load(name).unwrap().unwrap();
    let compiled = pram_to_apmdm(&program, n, &CompileLimits::default()).unwrap();
    let len = apmdm::weights::longest_canvas(&compiled.seq).unwrap();
    let t = std::time::Instant::now();
    let model = compile(&compiled.seq, Options::new(len)).unwrap();
    eprintln!(
        "{name} apmdm n={n}: L={len} config {:?} params {} built in {:?}",
        model.config,
        model.config.parameters(),
        t.elapsed()
    );
    let config = RunConfig::new(n);
    let x0 = pram_to_apmdm::initial_canvas(&compiled, &program, &config).unwrap();
    let mut f = WeightsStep::new(model, compiled.seq.clone(), true);
    let (report, _) = run_apmdm_with(
        &compiled,
        &program,
        Canvas::new(x0),
        &mut f,
        false,
        &mut |_| {},
    )
    .unwrap();
    eprintln!(
        "{name}: {:?} steps {} shadow {:?}",
        report.outcome, report.steps, f.report
    );
    assert!(
        f.report.first_mismatch.is_none(),
        "{:?}",
        f.report.first_mismatch
    );
    assert!(
        f.report.first_deviation.is_none(),
        "{:?}",
        f.report.first_deviation
    );
    assert_eq!(f.report.agreeing_steps, f.report.steps);
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
