//! `apmdm bench schedules`: compiled MDM (Theorem 1) and AP-MDM (Theorem 4) schedules run end to
//! end with the indexed evaluator, each three times side by side: every node at every position
//! (`full`, what `compile` and `trace` run), every node only where g reads it (`demanded`), and
//! that by runs with token-local values kept across steps (`incremental`, what `check` runs). Per target, program and evaluation: canvas positions evaluated (the sum of
//! the canvas length over the steps), position-steps per second (wall time of the run, compiling
//! excluded), and the column memory the evaluator held, counted (not RSS): its peak bytes per
//! canvas position against the 8 bytes per node a full evaluation keeps. Every run is checked
//! against the interpreter, so a fast wrong schedule cannot report.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use apmdm::compile::apmdm_run::run_apmdm_with;
use apmdm::compile::mdm_run::run_with;
use apmdm::compile::pram_to_apmdm::{self, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{self, pram_to_mdm, CompileLimits};
use apmdm::machine::{Canvas, OpCounts};
use apmdm::pram::{self, library, RunConfig};
use apmdm::seq::{Evaluator, SeqStep};

use super::table::Table;

/// Options of `apmdm bench schedules`.
#[derive(Debug, Args)]
pub struct SchedulesArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// A built-in program and its size, NAME:N (repeatable; default prefix_sum:256,
    /// list_ranking:256, matrix_multiply:4 and tqbf:4, whose many steps each change little).
    #[arg(long = "program", value_name = "NAME:N")]
    programs: Vec<String>,
    /// Seed of the inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Largest n accepted (a schedule's canvas grows with n log n or faster).
    #[arg(long, default_value_t = 4096)]
    max_n: i64,
}

/// One measured schedule.
#[derive(Debug, Serialize)]
struct Row {
    target: &'static str,
    /// `full`, `demanded` (`SeqStep::demanded`) or `incremental` (`SeqStep::incremental`).
    evaluation: &'static str,
    program: String,
    n: i64,
    /// Decoding steps.
    steps: usize,
    /// Peak canvas length.
    context: usize,
    /// Sum over the steps of the canvas length f was evaluated on.
    position_steps: u64,
    seconds: f64,
    position_steps_per_second: f64,
    /// Nodes of the step function.
    nodes: usize,
    /// Peak column bytes held per canvas position (8 times the most columns held at once).
    column_bytes_per_position: u64,
    /// What keeping every node's column costs per position: 8 times the nodes.
    all_columns_bytes_per_position: u64,
    /// Peak column bytes held by one step.
    peak_column_bytes: u64,
    /// The fraction of position-evaluations whose outcome changed nothing (a mask kept masked
    /// or a decoded token kept: the runner's hold and keep counts over all the positions its
    /// counts cover): the share a guard that skips unchanged positions could save at most.
    unchanged_fraction: f64,
}

const DEFAULT: [&str; 4] = [
    "prefix_sum:256",
    "list_ranking:256",
    "matrix_multiply:4",
    "tqbf:4",
];

pub fn run(args: SchedulesArgs) -> Result<ExitCode> {
    let specs: Vec<String> = if args.programs.is_empty() {
        DEFAULT.iter().map(|s| s.to_string()).collect()
    } else {
        args.programs.clone()
    };
    let mut rows = Vec::new();
    for spec in &specs {
        let (name, n) = spec
            .split_once(':')
            .with_context(|| format!("--program {spec:?}: expected NAME:N"))?;
        let n: i64 = n
            .parse()
            .with_context(|| format!("--program {spec:?}: N is not an integer"))?;
        if !(1..=args.max_n).contains(&n) {
            bail!(
                "--program {spec:?}: N must lie in 1..={} (--max-n)",
                args.max_n
            );
        }
        let program = library::load(name)
            .with_context(|| format!("no built-in program {name:?}"))?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let config = RunConfig {
            seed: args.seed,
            ..RunConfig::new(n)
        };
        let want = pram::run(&program, &config)?;
        for evaluation in EVALUATIONS {
            rows.push(mdm_row(&program, name, n, &config, &want, evaluation)?);
        }
        for evaluation in EVALUATIONS {
            rows.push(apmdm_row(&program, name, n, &config, &want, evaluation)?);
        }
    }
    if args.json {
        let report = serde_json::json!({ "rows": rows });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn mdm_row(
    program: &pram::Program,
    name: &str,
    n: i64,
    config: &RunConfig,
    want: &pram::RunReport,
    evaluation: &'static str,
) -> Result<Row> {
    let limits = CompileLimits::default();
    let compiled = pram_to_mdm(program, n, &limits)?;
    let x0 = pram_to_mdm::initial_canvas(&compiled, program, config)?;
    let mut f = step(&compiled.seq, evaluation);
    let start = Instant::now();
    let (got, _) = run_with(&compiled, program, Canvas::new(x0), &mut f, false)?;
    let seconds = start.elapsed().as_secs_f64();
    if got.output != want.output || got.outcome != want.outcome {
        bail!("{name} at n = {n}: the MDM schedule disagrees with the interpreter");
    }
    // An MDM canvas keeps its length: f sees `context` positions at every step.
    let position_steps = got.context as u64 * got.steps as u64;
    Ok(row(
        ("mdm", evaluation),
        name,
        n,
        (got.steps, got.context, position_steps),
        seconds,
        &got.ops,
        &f,
    ))
}

fn apmdm_row(
    program: &pram::Program,
    name: &str,
    n: i64,
    config: &RunConfig,
    want: &pram::RunReport,
    evaluation: &'static str,
) -> Result<Row> {
    let limits = CompileLimits::default();
    let compiled = pram_to_apmdm(program, n, &limits)?;
    let x0 = pram_to_apmdm::initial_canvas(&compiled, program, config)?;
    let mut f = step(&compiled.seq, evaluation);
    let start = Instant::now();
    let (got, _) = run_apmdm_with(
        &compiled,
        program,
        Canvas::new(x0),
        &mut f,
        false,
        &mut |_| {},
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if got.output != want.output || got.outcome != want.outcome {
        bail!("{name} at n = {n}: the AP-MDM schedule disagrees with the interpreter");
    }
    let position_steps = got.per_step.iter().map(|s| s.length as u64).sum();
    Ok(row(
        ("apmdm", evaluation),
        name,
        n,
        (got.steps, got.context, position_steps),
        seconds,
        &got.ops,
        &f,
    ))
}

/// The evaluations measured, in order.
const EVALUATIONS: [&str; 3] = ["full", "demanded", "incremental"];

/// The step function measured: the full, the demand-driven or the incremental evaluation.
fn step(seq: &apmdm::seq::Program, evaluation: &str) -> SeqStep {
    match evaluation {
        "demanded" => SeqStep::demanded(seq.clone()),
        "incremental" => SeqStep::incremental(seq.clone()),
        _ => SeqStep::new(seq.clone(), Evaluator::Indexed),
    }
}

/// One row: `size` is (steps, context, position-steps).
fn row(
    (target, evaluation): (&'static str, &'static str),
    name: &str,
    n: i64,
    size: (usize, usize, u64),
    seconds: f64,
    ops: &OpCounts,
    f: &SeqStep,
) -> Row {
    let (steps, context, position_steps) = size;
    let nodes = f.program.nodes.len();
    Row {
        target,
        evaluation,
        program: name.to_string(),
        n,
        steps,
        context,
        position_steps,
        seconds,
        position_steps_per_second: position_steps as f64 / seconds.max(1e-9),
        nodes,
        column_bytes_per_position: f.column_bytes_per_position,
        all_columns_bytes_per_position: 8 * nodes as u64,
        peak_column_bytes: f.peak_column_bytes,
        unchanged_fraction: (ops.hold + ops.keep) as f64 / ops.positions().max(1) as f64,
    }
}

fn print_table(rows: &[Row]) {
    let mut t = Table::new(&[
        "target",
        "evaluation",
        "program",
        "n",
        "steps",
        "context",
        "position-steps",
        "seconds",
        "pos-steps/s",
        "nodes",
        "col B/pos",
        "all cols B/pos",
        "peak col bytes",
        "unchanged",
    ]);
    for r in rows {
        t.row(vec![
            r.target.to_string(),
            r.evaluation.to_string(),
            r.program.clone(),
            r.n.to_string(),
            r.steps.to_string(),
            r.context.to_string(),
            r.position_steps.to_string(),
            format!("{:.3}", r.seconds),
            format!("{:.0}", r.position_steps_per_second),
            r.nodes.to_string(),
            r.column_bytes_per_position.to_string(),
            r.all_columns_bytes_per_position.to_string(),
            r.peak_column_bytes.to_string(),
            format!("{:.4}", r.unchanged_fraction),
        ]);
    }
    print!("{}", t.render());
    println!(
        "col B/pos: the most column bytes one step held per canvas position (counted: live \
         columns and freed ones kept for reuse); all cols B/pos: 8 bytes per node, what keeping \
         every column would hold; unchanged: the share of position-evaluations that changed \
         nothing (hold or keep); evaluation: full (every node at every position, as compile and \
         trace run), demanded (each node only where g reads it, as check runs AP-MDM schedules) \
         or incremental (that by runs, token-local values kept across steps, as check runs MDM \
         schedules)."
    );
}
