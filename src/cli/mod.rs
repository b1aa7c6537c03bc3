//! Subcommands of the `apmdm` binary; the only place (with report writers) that touches files.

mod bench;
mod bench_train;
mod check;
mod compile;
mod compile_apmdm;
mod demo;
mod emit;
mod eval;
pub(crate) mod io;
mod run;
mod step;
mod table;
mod train;

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
    }
}
