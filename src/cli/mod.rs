//! Subcommands of the `apmdm` binary; the only place (with report writers) that touches files.

mod bench;
mod bench_profile;
mod bench_schedules;
mod bench_train;
mod check;
mod check_thm32;
mod check_thm56;
mod compile;
mod compile_apmdm;
mod demo;
mod emit;
mod eval;
pub(crate) mod io;
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
    Check(check::CheckArgs),
    /// Wall-clock benchmarks: kernels, and full training steps (`bench train`).
    Bench(bench::BenchArgs),
    /// Step through a hand-written machine (parity AP-MDM, reverse ARM / MDM / AO-MDM / Masked ARM).
    Demo(demo::DemoArgs),
    /// Run a PRAM program (a .pram file or a built-in name) with the interpreter; report T, P, W, S.
    Run(run::RunArgs),
    /// Compile a PRAM program into an MDM (Theorem 1) or AP-MDM (Theorem 4) schedule, run it, and
    /// compare with the interpreter.
    Compile(compile::CompileArgs),
    /// Step through a compiled schedule: each decoding step's decoded positions and what they serve.
    Trace(compile::TraceArgs),
    /// Run an emitted schedule (compile --emit-seq) on an emitted canvas to its fixed point and
    /// decode the result from the envelope alone, without the PRAM program.
    Step(step::StepArgs),
    /// Train a learned model (parity: AP-MDM on transitions, or the ARM / plain-MDM baselines).
    Train(train::TrainArgs),
    /// Evaluate a trained checkpoint on held-out inputs.
    Eval(eval::EvalArgs),
    /// Write the step-through page (one self-contained HTML file) of a compiled run or of a
    /// trace file: source with the current line, PRAM state, canvas with each position's
    /// operation, counters and a context plot.
    View(view::ViewArgs),
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
