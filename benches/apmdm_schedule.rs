//! Benchmark (not a test): compiled AP-MDM schedules (Theorem 4) run end to end with the indexed
//! evaluator. For each program and size: peak context, decoding steps, wall time, decoding steps
//! per second and microseconds per position per step (the length changes with inserts and
//! deletes; the mean length over the steps is used). Every run is also checked against the
//! interpreter, so a fast wrong schedule cannot report. Run with
//! `cargo bench --bench apmdm_schedule`.

use std::time::Instant;

use apmdm::compile::apmdm_run::run_apmdm;
use apmdm::compile::pram_to_apmdm::pram_to_apmdm;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::Evaluator;

fn main() {
    let cases: [(&str, &[i64]); 5] = [
        ("prefix_sum", &[64, 256, 1000, 4000, 16000]),
        ("list_ranking", &[64, 256, 1024, 4096]),
        ("matrix_multiply", &[4, 8, 12]),
        ("tqbf", &[5, 8, 10, 12]),
        ("sudoku", &[8, 12, 16]),
    ];
    let limits = CompileLimits::default();
    println!(
        "{:16} {:>6} {:>8} {:>8} {:>9} {:>9} {:>14}",
        "program", "n", "context", "steps", "seconds", "steps/s", "us/pos-step"
    );
    for (name, sizes) in cases {
        let program = library::load(name).expect("built in").expect("parses");
        for &n in sizes {
            let config = RunConfig::new(n);
            let want = pram::run(&program, &config).expect("runs");
            let start = Instant::now();
            let compiled = pram_to_apmdm(&program, n, &limits).expect("compiles");
            let (got, _) = run_apmdm(&compiled, &program, &config, Evaluator::Indexed, false)
                .expect("the schedule runs");
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(got.output, want.output, "{name} at n = {n}");
            assert_eq!(got.metrics, want.metrics, "{name} at n = {n}");
            let position_steps: usize = got.per_step.iter().map(|s| s.length).sum();
            println!(
                "{:16} {:>6} {:>8} {:>8} {:>9.3} {:>9.1} {:>14.3}",
                name,
                n,
                got.context,
                got.steps,
                seconds,
                got.steps as f64 / seconds,
                1e6 * seconds / position_steps.max(1) as f64
            );
        }
    }
}
