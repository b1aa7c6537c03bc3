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

#[test]
#[ignore]
fn stats() {
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 4, &CompileLimits::default()).unwrap();
    let len = compiled.regions.length;
    let lowered = apmdm::weights::lower::lower(&compiled.seq, Options::new(len)).unwrap();
    let c = &lowered.circuit;
    let heads: usize = c.heads.values().map(|h| h.len()).sum();
    let units: usize = c.mlp.values().map(|h| h.len()).sum();
    let dh: Vec<usize> = c.heads.values().flatten().map(|h| h.q.len()).collect();
    eprintln!(
        "sublayers {} heads {heads} units {units} wires {}",
        c.sublayers(),
        c.wires.len()
    );
    eprintln!("d_head {:?}", dh);
    for (s, h) in &c.heads {
        eprint!("{}:{} ", s, h.len());
    }
    eprintln!();
    for (s, h) in &c.mlp {
        eprint!("{}:{} ", s, h.len());
    }
    eprintln!();
    let model = apmdm::weights::Model::build(lowered);
    for (l, layer) in model.layers.iter().enumerate() {
        eprint!("{}:{}/{} ", l, layer.heads.len(), layer.units.len());
    }
    eprintln!();
    // live coordinates per sublayer
    let mut live = vec![0; 2 * model.layers.len()];
    for p in &model.placement {
        for s in 0..live.len() {
            if p.live_after(Some(s)) {
                live[s] += 1;
            }
        }
    }
    eprintln!("live {:?}", live);
}
