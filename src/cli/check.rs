//! `apmdm check`: runs the built-in library and asserts every exact step and context formula:
//! the hand-written machines, then every PRAM program compiled to an MDM schedule (Theorem 1)
//! and to an AP-MDM schedule (Theorem 4), and the two side by side.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::json;

use apmdm::check::apmdm::{check_apmdm_case, ApmdmBounds, ApmdmRow};
use apmdm::check::mdm::{check_case, fits, FitRow, MdmBounds, Row};
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::machine::library::{run_case, CaseReport, BUILTIN};
use apmdm::pram::{library, RunConfig};

use super::table::Table;

/// Options of `apmdm check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Built-in machines and PRAM programs to check (default: all).
    programs: Vec<String>,
    /// Sizes to run, comma-separated (default: each machine's and program's own sizes).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Seeds of the PRAM programs' inputs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    seeds: Vec<u64>,
    /// The longest MDM canvas built and run; longer ones get their exact length and a
    /// "not materialized" row (a resource limit: a step costs O(L log L) per attention head).
    #[arg(long, default_value_t = 1 << 20)]
    max_length: usize,
    /// The most position-steps a checked schedule may take (MDM: canvas length times T + 1;
    /// AP-MDM: its steps bound times its peak context); larger ones get their exact length and
    /// a "not run" row (a time limit: the default keeps the whole library under a minute on 2
    /// cores).
    #[arg(long, default_value_t = 6_000_000)]
    max_work: u64,
    /// Seed for randomly drawn inputs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The largest size accepted (a resource limit: the one-token-per-step machines take
    /// n steps of O(n) work each).
    #[arg(long, default_value_t = 16384)]
    max_n: usize,
    /// Which constructions to check: `mdm`, `apmdm` or `both`.
    #[arg(long, default_value = "both", value_parser = ["mdm", "apmdm", "both"])]
    target: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let machines: Vec<&str> = BUILTIN.iter().map(|(name, _, _)| *name).collect();
    let programs: Vec<&str> = library::PROGRAMS.iter().map(|(name, _)| *name).collect();
    for p in &args.programs {
        if !machines.contains(&p.as_str()) && !programs.contains(&p.as_str()) {
            bail!(
                "unknown program {p:?}; built-in machines: {}; PRAM programs: {}",
                machines.join(", "),
                programs.join(", ")
            );
        }
    }
    let wanted = |name: &str| args.programs.is_empty() || args.programs.iter().any(|p| p == name);
    if let Some(n) = args.sizes.iter().flatten().find(|&&n| n > args.max_n) {
        bail!(
            "size {n} is above --max-n {} (raise it to run larger sizes)",
            args.max_n
        );
    }
    if args.sizes.iter().flatten().any(|&n| n == 0) {
        bail!("sizes must be at least 1");
    }
    let mut machine_rows: Vec<CaseReport> = Vec::new();
    for name in machines.iter().copied().filter(|m| wanted(m)) {
        let defaults = BUILTIN
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, sizes)| sizes.to_vec())
            .unwrap_or_default();
        for n in args.sizes.clone().unwrap_or(defaults) {
            machine_rows.extend(run_case(name, n, args.seed));
        }
    }
    let bounds = MdmBounds::from_file();
    let ap_bounds = ApmdmBounds::from_file();
    let (do_mdm, do_ap) = (args.target != "apmdm", args.target != "mdm");
    let limits = CompileLimits {
        max_length: args.max_length,
        ..CompileLimits::default()
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut ap_rows: Vec<ApmdmRow> = Vec::new();
    let mut fit_rows: Vec<FitRow> = Vec::new();
    for (name, source) in library::PROGRAMS.iter().filter(|(n, _)| wanted(n)) {
        let program = library::load(name)
            .expect("a library name")
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sizes: Vec<i64> = match &args.sizes {
            Some(s) => s.iter().map(|&n| n as i64).collect(),
            None => library::directive(source, "sizes"),
        };
        let mut mine = Vec::new();
        let mut ap_mine = Vec::new();
        for &n in &sizes {
            for &seed in &args.seeds {
                let mut config = RunConfig::new(n);
                config.seed = seed;
                if !args.json {
                    eprint!("\rchecking {name} at n = {n}, seed {seed} ...          ");
                }
                if do_mdm {
                    match check_case(&program, &config, &limits, &bounds, args.max_work) {
                        Ok(r) => mine.push(r),
                        Err(e) => bail!("{name} at n = {n} (mdm): {e}"),
                    }
                }
                if do_ap {
                    match check_apmdm_case(&program, &config, &limits, &ap_bounds, args.max_work) {
                        Ok(r) => ap_mine.push(r),
                        Err(e) => bail!("{name} at n = {n} (apmdm): {e}"),
                    }
                }
            }
        }
        fit_rows.extend(fits(&mine));
        fit_rows.extend(apmdm::check::apmdm::fits(&ap_mine));
        rows.extend(mine);
        ap_rows.extend(ap_mine);
    }
    if !args.json {
        eprint!("\r{:60}\r", "");
    }
    let pass = machine_rows.iter().all(|r| r.pass)
        && rows.iter().all(|r| r.pass)
        && ap_rows.iter().all(|r| r.pass);
    if args.json {
        let mut rows_json: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        rows_json.extend(
            ap_rows
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
        );
        println!(
            "{}",
            json!({ "machines": machine_rows, "rows": rows_json, "fits": fit_rows, "pass": pass })
        );
    } else {
        print_machines(&machine_rows);
        print_rows(&rows);
        print_ap_rows(&ap_rows);
        print_side_by_side(&rows, &ap_rows);
        print_fits(&fit_rows);
        let failed = machine_rows.iter().filter(|r| !r.pass).count()
            + rows.iter().filter(|r| !r.pass).count()
            + ap_rows.iter().filter(|r| !r.pass).count();
        let total = machine_rows.len() + rows.len() + ap_rows.len();
        println!("{total} rows, {} passed, {failed} failed", total - failed);
    }
    Ok(if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A row as JSON, with the laid-out context as a number where it fits in 64 bits.
fn row_json(r: &Row) -> serde_json::Value {
    let number = |s: &str| s.parse::<u64>().map_or_else(|_| json!(s), |v| json!(v));
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("context".into(), number(&r.context));
        o.insert("context_bound_paper".into(), number(&r.context_bound_paper));
        o.insert("context_bound_work".into(), number(&r.context_bound_work));
    }
    v
}

fn print_machines(rows: &[CaseReport]) {
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "machine", "class", "n", "steps", "formula", "context", "formula", "output", "stop",
        "result",
    ]);
    for r in rows {
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
    println!();
}

fn print_rows(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "target",
        "n",
        "T",
        "P",
        "W",
        "S",
        "steps",
        "aT+b",
        "laid-out",
        "work bound",
        "used",
        "bound",
        "steps/T",
        "ctx/bound",
        "heads",
        "depth",
        "time s",
        "result",
    ]);
    for r in rows {
        let ratio = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}", a / b)
            } else {
                "-".into()
            }
        };
        let laid: f64 = r.context.parse().unwrap_or(f64::INFINITY);
        let work: f64 = r.context_bound_work.parse().unwrap_or(f64::INFINITY);
        let m = r.materialized;
        let dash = |s: String| if m { s } else { "-".into() };
        table.row(vec![
            r.program.clone(),
            r.target.clone(),
            r.n.to_string(),
            r.rounds.to_string(),
            r.processors.to_string(),
            r.work.to_string(),
            r.space.to_string(),
            dash(r.steps.to_string()),
            r.steps_bound.to_string(),
            if m {
                r.context.clone()
            } else {
                format!("{} (not run)", r.context)
            },
            r.context_bound_work.clone(),
            dash(r.context_used.to_string()),
            dash(r.context_used_bound.to_string()),
            dash(ratio(r.steps as f64, r.rounds as f64)),
            ratio(laid, work),
            dash(r.seq_heads.to_string()),
            dash(r.seq_depth.to_string()),
            dash(format!("{:.2}", r.seconds)),
            if r.pass { "PASS" } else { "FAIL" }.to_string(),
        ]);
    }
    print!("{}", table.render());
    let cases: Vec<Case> = rows
        .iter()
        .map(|r| {
            (
                r.program.as_str(),
                r.n,
                r.seed,
                &r.problems[..],
                r.not_run.as_deref(),
            )
        })
        .collect();
    print_problems(&cases, "", "exact length reported");
    println!();
}

fn print_ap_rows(rows: &[ApmdmRow]) {
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "target",
        "n",
        "T",
        "P",
        "S",
        "steps",
        "alloc",
        "aT+alloc+b",
        "context",
        "c(S+P)+d",
        "steps held",
        "remask",
        "insert",
        "delete",
        "heads",
        "time s",
        "result",
    ]);
    for r in rows {
        let m = r.materialized;
        let dash = |s: String| if m { s } else { "-".into() };
        table.row(vec![
            r.program.clone(),
            r.target.clone(),
            r.n.to_string(),
            r.rounds.to_string(),
            r.processors.to_string(),
            r.space.to_string(),
            dash(r.steps.to_string()),
            r.allocation_steps.to_string(),
            r.steps_bound.to_string(),
            if m {
                r.context.to_string()
            } else {
                format!("{} (not run)", r.context)
            },
            r.context_bound.to_string(),
            dash(r.steps_checked.to_string()),
            dash(r.remask.to_string()),
            dash(r.insert.to_string()),
            dash(r.delete.to_string()),
            dash(r.seq_heads.to_string()),
            dash(format!("{:.2}", r.seconds)),
            if r.pass { "PASS" } else { "FAIL" }.to_string(),
        ]);
    }
    print!("{}", table.render());
    let cases: Vec<Case> = rows
        .iter()
        .map(|r| {
            (
                r.program.as_str(),
                r.n,
                r.seed,
                &r.problems[..],
                r.not_run.as_deref(),
            )
        })
        .collect();
    print_problems(
        &cases,
        " (apmdm)",
        "the proof's exact peak context reported",
    );
    println!();
}

/// One checked case as the problem list needs it: program, n, seed, problems, why not run.
type Case<'a> = (&'a str, i64, u64, &'a [String], Option<&'a str>);

/// Each problem of each case (`tag` after the seed), then the cases not run and why, on one line.
fn print_problems(cases: &[Case], tag: &str, reported: &str) {
    for (program, n, seed, problems, _) in cases {
        for p in *problems {
            println!("{program} n = {n} seed {seed}{tag}: {p}");
        }
    }
    let not_run: Vec<String> = cases
        .iter()
        .filter_map(|(program, n, _, _, why)| Some(format!("{program} n = {n}: {}", (*why)?)))
        .collect();
    if !not_run.is_empty() {
        println!("not run ({reported}): {}", not_run.join("; "));
    }
}

/// MDM and AP-MDM on the same (program, n, seed): context grows with time on one and with
/// space on the other.
fn print_side_by_side(rows: &[Row], ap_rows: &[ApmdmRow]) {
    if rows.is_empty() || ap_rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "n",
        "seed",
        "outcome",
        "answer",
        "T",
        "S",
        "MDM steps",
        "MDM context",
        "AP-MDM steps",
        "AP-MDM context",
        "both agree",
    ]);
    for r in rows {
        let Some(a) = ap_rows
            .iter()
            .find(|a| a.program == r.program && a.n == r.n && a.seed == r.seed)
        else {
            continue;
        };
        let steps = |run: bool, s: u64| if run { s.to_string() } else { "-".into() };
        let agree = match (r.materialized, a.materialized) {
            (true, true) => (r.agree && a.agree).to_string(),
            (false, true) => format!("{} (AP-MDM only)", a.agree),
            (true, false) => format!("{} (MDM only)", r.agree),
            (false, false) => "-".into(),
        };
        table.row(vec![
            r.program.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.outcome.clone(),
            r.answer.clone(),
            r.rounds.to_string(),
            r.space.to_string(),
            steps(r.materialized, r.steps),
            match &r.not_run {
                None => r.context.clone(),
                Some(why) if why.starts_with("longer") => {
                    format!("{} (not materialized)", r.context)
                }
                Some(_) => format!("{} (not run)", r.context),
            },
            steps(a.materialized, a.steps),
            if a.materialized {
                a.context.to_string()
            } else {
                format!("{} (not run)", a.context)
            },
            agree,
        ]);
    }
    print!("{}", table.render());
    println!();
}

fn print_fits(fit_rows: &[FitRow]) {
    if fit_rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program", "target", "quantity", "growth", "tie", "sizes", "slack",
    ]);
    for f in fit_rows {
        table.row(vec![
            f.program.clone(),
            f.target.clone(),
            f.quantity.clone(),
            f.class.clone(),
            if f.tie { "tie" } else { "" }.to_string(),
            f.sizes.to_string(),
            f.slack.to_string(),
        ]);
    }
    print!("{}", table.render());
    println!();
}
