//! Benchmark (not a test): the interpreter against plain rayon Rust on the same PRAM algorithms.
//!
//! Hillis-Steele prefix sums and pointer-jumping list ranking at n = 2^20 (override with the first
//! argument, a power of two's exponent), conflict checks on. Reports processor-steps per second
//! (the interpreter's exact work W over wall time) and the ratio native / interpreted.
//! Run with `cargo bench --bench pram_interpreter`.

use std::time::{Duration, Instant};

use apmdm::pram::{self, library, Outcome, RunConfig, Value};
use rayon::prelude::*;

/// The best of three timings of `f`.
fn best_of_three<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = None;
    let mut last = None;
    for _ in 0..3 {
        let start = Instant::now();
        let value = f();
        let took = start.elapsed();
        best = Some(best.map_or(took, |b: Duration| b.min(took)));
        last = Some(value);
    }
    (best.unwrap_or_default(), last.expect("three runs"))
}

/// Hillis-Steele prefix sums, one double-buffered parallel pass per stride.
fn native_prefix_sum(mut a: Vec<i64>) -> Vec<i64> {
    let mut stride = 1;
    while stride < a.len() {
        let prev = a.clone();
        a.par_iter_mut().enumerate().for_each(|(i, x)| {
            if i >= stride {
                *x = prev[i] + prev[i - stride];
            }
        });
        stride *= 2;
    }
    a
}

/// Wyllie's pointer jumping, double-buffered.
fn native_list_ranking(mut next: Vec<i64>) -> Vec<i64> {
    let n = next.len();
    let mut rank: Vec<i64> = (0..n).map(|i| i64::from(next[i] as usize != i)).collect();
    let mut steps = 1;
    while steps < n {
        let (r, nx) = (rank.clone(), next.clone());
        rank.par_iter_mut()
            .zip(next.par_iter_mut())
            .enumerate()
            .for_each(|(i, (ri, ni))| {
                let j = nx[i] as usize;
                *ri = r[i] + r[j];
                *ni = nx[j];
            });
        steps *= 2;
    }
    rank
}

fn bench(name: &str, output: &str, n: i64, native: fn(Vec<i64>) -> Vec<i64>, input: &str) {
    let program = library::load(name).expect("built-in").expect("parses");
    let config = RunConfig::new(n);
    let given = pram::inputs(&program, &config).expect("inputs")[input].clone();
    let (interp_time, report) = best_of_three(|| pram::run(&program, &config).expect("runs"));
    assert_eq!(report.outcome, Outcome::Ok);
    let (native_time, expected) = best_of_three(|| native(given.clone()));
    assert_eq!(report.output(output), Some(&Value::Array(expected)));
    let work = report.metrics.work as f64;
    let interp_rate = work / interp_time.as_secs_f64();
    let native_rate = work / native_time.as_secs_f64();
    println!(
        "{name:<14} n = {n}: W = {}, T = {}; interpreter {:.3} s ({:.1} M processor-steps/s), \
         native rayon {:.3} s ({:.1} M/s); native is {:.1}x faster",
        report.metrics.work,
        report.metrics.rounds,
        interp_time.as_secs_f64(),
        interp_rate / 1e6,
        native_time.as_secs_f64(),
        native_rate / 1e6,
        native_rate / interp_rate
    );
}

fn main() {
    let exponent: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let n = 1i64 << exponent;
    println!("threads: {}", rayon::current_num_threads());
    bench("prefix_sum", "A", n, native_prefix_sum, "A");
    bench("list_ranking", "rank", n, native_list_ranking, "next");
}
