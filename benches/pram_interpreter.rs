//! Benchmark (not a test): the interpreter against plain rayon Rust on the same PRAM algorithms.
//!
//! Hillis-Steele prefix sums and pointer-jumping list ranking at n = 2^20 (override with the first
//! argument, a power of two's exponent), conflict checks on. Reports processor-steps per second
//! (the interpreter's exact work W over wall time) and the ratio native / interpreted, in wall
//! time (best of three) and in CPU time (every thread's, over repeated runs: comparable on a
//! machine shared with other work).
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

/// This process's CPU time so far (user plus system, every thread), from `/proc/self/stat` in
/// clock ticks of 10 ms (Linux's USER_HZ); `None` where that file is missing.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the third field.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU seconds per call of `f`, over as many calls as take at least 2 CPU seconds (so the
/// 10 ms tick is under 1% of it); on a shared machine this, not wall time, is comparable.
fn cpu_per_call<T>(mut f: impl FnMut() -> T) -> Option<f64> {
    let start = cpu_seconds()?;
    let mut calls = 0u32;
    loop {
        std::hint::black_box(f());
        calls += 1;
        let used = cpu_seconds()? - start;
        if used >= 2.0 {
            return Some(used / f64::from(calls));
        }
    }
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
    let interp_cpu = cpu_per_call(|| pram::run(&program, &config).expect("runs"));
    let native_cpu = cpu_per_call(|| native(given.clone()));
    if let (Some(i), Some(c)) = (interp_cpu, native_cpu) {
        println!(
            "{name:<14} CPU time per run: interpreter {i:.3} s, native rayon {c:.3} s; \
             native is {:.1}x faster in CPU time",
            i / c
        );
    }
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
