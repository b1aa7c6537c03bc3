//! `apmdm check`: runs the built-in library and asserts every exact step and context formula.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::json;

use apmdm::machine::library::{run_case, CaseReport, BUILTIN};

use super::table::Table;

/// Options of `apmdm check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Built-in machines to check (default: all).
    programs: Vec<String>,
    /// Sizes to run, comma-separated (default: each machine's own sizes).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Seed for randomly drawn inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The largest size accepted (a resource limit: the one-token-per-step machines take
    /// n steps of O(n) work each).
    #[arg(long, default_value_t = 16384)]
    max_n: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let known: Vec<&str> = BUILTIN.iter().map(|(name, _, _)| *name).collect();
    let selected: Vec<&str> = if args.programs.is_empty() {
        known.clone()
    } else {
        for p in &args.programs {
            if !known.contains(&p.as_str()) {
                bail!(
                    "unknown program {p:?}; the built-in library has: {}",
                    known.join(", ")
                );
            }
        }
        args.programs.iter().map(String::as_str).collect()
    };
    if let Some(n) = args.sizes.iter().flatten().find(|&&n| n > args.max_n) {
        bail!(
            "size {n} is above --max-n {} (raise it to run larger sizes)",
            args.max_n
        );
    }
    let mut rows: Vec<CaseReport> = Vec::new();
    for name in selected {
        let defaults = BUILTIN
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, sizes)| sizes.to_vec())
            .unwrap_or_default();
        for n in args.sizes.clone().unwrap_or(defaults) {
            // Every name was validated above, so the case exists.
            rows.extend(run_case(name, n, args.seed));
        }
    }
    let pass = rows.iter().all(|r| r.pass);
    if args.json {
        println!("{}", json!({ "rows": rows, "pass": pass }));
    } else {
        let mut table = Table::new(&[
            "program", "class", "n", "steps", "formula", "context", "formula", "output", "stop",
            "result",
        ]);
        for r in &rows {
            table.row(vec![
                r.program.clone(),
                r.class.to_string(),
                r.n.to_string(),
                r.steps.to_string(),
                r.expected_steps.to_string(),
                r.context.to_string(),
                r.expected_context.to_string(),
                if r.output_ok { "ok" } else { "WRONG" }.to_string(),
                r.stop.label().to_string(),
                if r.pass { "PASS" } else { "FAIL" }.to_string(),
            ]);
        }
        print!("{}", table.render());
        let failed = rows.iter().filter(|r| !r.pass).count();
        println!(
            "{} rows, {} passed, {} failed",
            rows.len(),
            rows.len() - failed,
            failed
        );
    }
    Ok(if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
