//! Subcommands of the `apmdm` binary; the only place (with report writers) that touches files.

mod bench;
mod bench_profile;
mod bench_schedules;
mod bench_train;
mod budget;
mod check;
mod check_thm32;
mod check_thm56;
mod compile;
mod compile_apmdm;
mod demo;
mod emit;
mod eval;
pub(crate) mod io;
mod plot;
mod progress;
mod run;
mod step;
mod table;
mod train;
mod view;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Executable constructions of "On Powerful Ways to Generate" (MDM and AP-MDM).
#[derive(Debug, Parser)]
#[command(name = "apmdm", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the built-in library (or .pram files) against the interpreter and every exact bound;
    /// exit 0 all that ran passed, 1 a failure, 2 bad input, 3 nothing ran.
    #[command(
        after_help = "Examples:\n  apmdm check                                   # the built-in library, every theorem\n  apmdm check prefix_sum dyck --sizes 4,8 --json  # two programs, two sizes, JSON rows\n  apmdm check --theorem 5,6                     # only Theorems 5 and 6"
    )]
    Check(check::CheckArgs),
    /// Wall-clock benchmarks: kernels, and full training steps (`bench train`).
    #[command(
        after_help = "Examples:\n  apmdm bench kernels\n  apmdm bench train --steps 5\n  apmdm bench schedules"
    )]
    Bench(bench::BenchArgs),
    /// Step through a hand-written machine (parity AP-MDM, reverse ARM / MDM / AO-MDM / Masked ARM).
    #[command(
        after_help = "Examples:\n  apmdm demo parity --input 0110\n  apmdm demo dyck --k 2 --two-sided --seed 3"
    )]
    Demo(demo::DemoArgs),
    /// Run a PRAM program (a .pram file or a built-in name) with the interpreter; report T, P, W, S.
    #[command(
        after_help = "Examples:\n  apmdm run prefix_sum --n 16\n  apmdm run my_program.pram --input input.json --json"
    )]
    Run(run::RunArgs),
    /// Compile a PRAM program into an MDM (Theorem 1) or AP-MDM (Theorem 4) schedule, run it, and
    /// compare with the interpreter.
    #[command(
        after_help = "Examples:\n  apmdm compile prefix_sum --n 8                  # Theorem 1: the MDM schedule\n  apmdm compile tqbf --n 3 --target apmdm         # Theorem 4: the AP-MDM schedule\n  apmdm compile prefix_sum --n 4 --emit-seq f.json --emit-canvas x0.json"
    )]
    Compile(compile::CompileArgs),
    /// Step through a compiled schedule: each decoding step's decoded positions and what they serve.
    #[command(
        after_help = "Examples:\n  apmdm trace prefix_sum --n 4\n  apmdm trace list_ranking --n 4 --target apmdm --jsonl trace.jsonl"
    )]
    Trace(compile::TraceArgs),
    /// Run an emitted schedule (compile --emit-seq) on an emitted canvas to its fixed point and
    /// decode the result from the envelope alone, without the PRAM program.
    #[command(
        after_help = "Example:\n  apmdm compile prefix_sum --n 4 --emit-seq f.json --emit-canvas x0.json\n  apmdm step --seq f.json --canvas x0.json"
    )]
    Step(step::StepArgs),
    /// Train a learned model (parity: AP-MDM on transitions, or the ARM / plain-MDM baselines).
    #[command(
        after_help = "Examples:\n  apmdm train parity                  # the AP-MDM on the paper's transitions, with halting\n  apmdm train parity --model arm      # the autoregressive baseline"
    )]
    Train(train::TrainArgs),
    /// Evaluate a trained checkpoint on held-out inputs.
    #[command(
        after_help = "Examples:\n  apmdm eval parity --lengths 10,100,1000\n  apmdm eval parity --model arm --json"
    )]
    Eval(eval::EvalArgs),
    /// Write the step-through page (one self-contained HTML file) of a compiled run or of a
    /// trace file: source with the current line, PRAM state, canvas with each position's
    /// operation, counters and a context plot.
    #[command(
        after_help = "Examples:\n  apmdm view prefix_sum --target apmdm --n 4 --out prefix_sum.html\n  apmdm trace prefix_sum --n 4 --jsonl p4.jsonl && apmdm view p4.jsonl --out p4.html"
    )]
    View(view::ViewArgs),
    /// Draw the growth laws as SVG figures: steps and context against n per program, the
    /// PSPACE figure and the learned-parity accuracy.
    ///
    /// For each PRAM program, plot runs the rows `apmdm check` runs and draws decoding steps and
    /// context against n on log-log axes: measured rows only, each bound as a dashed line, the
    /// class check fits named in the legend, rows not run only as labelled predicted contexts.
    /// The PSPACE figure draws the context of MDM against AP-MDM for tqbf and geography
    /// (predictions drawn as such); the learned-parity figure draws accuracy against length with
    /// 95% Wilson intervals from docs/data/parity_results.json. No wall times. With no PROGRAMS
    /// it draws every figure; the rows are saved as plot-data.json, which --data draws again
    /// without running anything.
    Plot(plot::PlotArgs),
}

/// Runs one subcommand; the exit code says whether everything it checked passed.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Compile(args) => compile::compile(args),
        Command::Trace(args) => compile::trace(args),
        Command::Step(args) => step::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::View(args) => view::run(args),
        Command::Plot(args) => plot::run(args),
    }
}

/// A byte count as users write it: digits, optionally followed by K, M, G or T (powers of 1024;
/// a trailing `B` or `iB` is allowed).
pub(crate) fn memory_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let v: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count (e.g. 4G, 512M, 1000000)"))?;
    v.checked_mul(1u64 << shift)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{s:?} is not a positive byte count below 2^64"))
}

#[cfg(test)]
mod tests {
    use super::memory_size;

    #[test]
    fn byte_counts() {
        assert_eq!(memory_size("4G"), Ok(4 << 30));
        assert_eq!(memory_size("512MiB"), Ok(512 << 20));
        assert_eq!(memory_size("1000"), Ok(1000));
        assert_eq!(memory_size("2k"), Ok(2048));
        assert!(memory_size("x").is_err());
        assert!(memory_size("").is_err());
        assert!(memory_size("99999999999T").is_err());
        assert!(memory_size("0").is_err());
    }
}
