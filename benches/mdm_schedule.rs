//! Benchmark (not a test): compiled MDM schedules (Theorem 1) run end to end with the indexed
//! evaluator. For each program and size: canvas length L, decoding steps, wall time, decoding
//! steps per second and microseconds per position per step (flat when a step costs time linear in
//! L). Every run is also checked against the interpreter, so a fast wrong schedule cannot report.
//! Run with `cargo bench --bench mdm_schedule`.

use std::time::Instant;

use apmdm::compile::mdm_run::run_mdm;
use apmdm::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::Evaluator;

fn main() {
    let cases: [(&str, &[i64]); 4] = [
        ("prefix_sum", &[64, 256, 1000, 4000, 16000]),
        ("list_ranking", &[64, 256, 1024, 4096]),
        ("matrix_multiply", &[4, 8, 12]),
        ("tqbf", &[2, 3, 4, 5]),
    ];
    let limits = CompileLimits::default();
    println!(
        "{:16} {:>6} {:>8} {:>6} {:>9} {:>9} {:>14}",
        "program", "n", "L", "steps", "seconds", "steps/s", "us/pos-step"
    );
    for (name, sizes) in cases {
        let program = library::load(name).expect("built in").expect("parses");
        for &n in sizes {
            let config = RunConfig::new(n);
            let want = pram::run(&program, &config).expect("runs");
            let start = Instant::now();
            let compiled = pram_to_mdm(&program, n, &limits).expect("compiles");
            let (got, _) = run_mdm(&compiled, &program, &config, Evaluator::Indexed, false)
                .expect("the schedule runs");
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(got.output, want.output, "{name} at n = {n}");
            let l = compiled.regions.length;
            println!(
                "{:16} {:>6} {:>8} {:>6} {:>9.3} {:>9.1} {:>14.3}",
                name,
                n,
                l,
                got.steps,
                seconds,
                got.steps as f64 / seconds,
                1e6 * seconds / (l as f64 * got.steps as f64)
            );
        }
    }
}
