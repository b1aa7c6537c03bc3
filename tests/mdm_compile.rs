//! pram_to_mdm: the compiled MDM schedule reproduces the interpreter on every library program.

use apmdm::compile::mdm_run::run_mdm;
use apmdm::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::Evaluator;

#[test]
fn library_programs_agree_with_the_interpreter() {
    let mut failures = Vec::new();
    for (name, source) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        let sizes = library::directive(source, "sizes");
        let seeds = library::directive(source, "seeds");
        for &n in sizes.iter().take(4) {
            let compiled = match pram_to_mdm(&program, n, &CompileLimits::default()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{name} n={n}: not compiled: {e}");
                    continue;
                }
            };
            for &seed in seeds.iter().take(2) {
                let mut config = RunConfig::new(n);
                config.seed = seed as u64;
                let want = pram::run(&program, &config).unwrap();
                let (got, _) =
                    match run_mdm(&compiled, &program, &config, Evaluator::Indexed, false) {
                        Ok(r) => r,
                        Err(e) => {
                            failures.push(format!("{name} n={n} seed={seed}: {e}"));
                            continue;
                        }
                    };
                if got.outcome != want.outcome
                    || got.output != want.output
                    || got.metrics != want.metrics
                {
                    failures.push(format!(
                        "{name} n={n} seed={seed}: mdm {:?} {:?} {:?}\n   interp {:?} {:?} {:?}",
                        got.outcome,
                        got.metrics,
                        got.output,
                        want.outcome,
                        want.metrics,
                        want.output
                    ));
                } else {
                    eprintln!(
                        "{name} n={n} seed={seed}: ok, steps {} T {} context {} used {}",
                        got.steps, got.metrics.rounds, got.context, got.context_used
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
