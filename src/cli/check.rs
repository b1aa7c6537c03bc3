//! `apmdm check`: runs the built-in library and asserts every exact step and context formula:
//! the hand-written machines, then every PRAM program compiled to an MDM schedule (Theorem 1)
//! and to an AP-MDM schedule (Theorem 4), and the two side by side.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use serde_json::json;

use apmdm::check::apmdm::{check_apmdm_case_watched, ApmdmBounds, ApmdmRow};
use apmdm::check::growth::{compare, declaration, Agreement, GrowthRow};
use apmdm::check::mdm::{check_case_watched, fits, FitRow, MdmBounds, Row};
use apmdm::check::verdict::{Status, Summary};
use apmdm::check::weights::{Executor, ExecutorOptions};
use apmdm::compile::pram_to_apmdm::ApmdmMode;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::machine::library::{run_case, CaseReport, BUILTIN};
use apmdm::pram::{library, Metrics, RunConfig};

use super::run::load_source;
use super::table::Table;

/// Options of `apmdm check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every row is PASS (built, run, every check held), FAIL, or NOT RUN (over \
--max-seconds, --max-work or --max-length: nothing checked; predictions are labelled as such). Exit codes: 0 = \
every row that ran passed and at least one ran (rows not run are listed); 1 = a row failed (or a \
growth mismatch under --strict-growth); 2 = a usage, input or I/O error; 3 = nothing ran, or a row \
was not run under --require-run."
)]
pub struct CheckArgs {
    /// Built-in machines, built-in PRAM programs, or `.pram` files to check (default: the whole
    /// built-in library). A file is checked exactly like a library program, at its own
    /// `//# sizes` (or --sizes) and `//# seeds`.
    programs: Vec<String>,
    /// Sizes to run, comma-separated (default: each machine's and program's own sizes).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Seeds of the PRAM programs' inputs, comma-separated, at every size (default: each
    /// program's `//# seeds` at its two smallest sizes, and seed 1 at the others).
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<u64>>,
    /// The longest MDM canvas built and run; longer ones get their exact length as a
    /// prediction and a "not run" row (a resource limit: a step costs O(L log L) per attention
    /// head).
    #[arg(long, default_value_t = 1 << 20)]
    max_length: usize,
    /// The most memory one row's run may hold, in bytes (suffixes K, M, G, T: powers of 1024),
    /// checked against an estimate before anything is allocated; rows over it are "not run".
    #[arg(long, default_value = "4G", value_parser = super::memory_size)]
    max_memory: u64,
    /// The most seconds a checked schedule is predicted to take: its position-steps (MDM:
    /// canvas length times T + 1; AP-MDM: its steps bound times its peak context) times a cost
    /// per position-step calibrated at start-up (a fixed probe run, timed in CPU time, printed
    /// in the header and under `budget` in the JSON). Larger ones are "not run" and get their
    /// exact length as a prediction. A time limit that depends on this machine's speed: the
    /// same command may run a different row set on a slower or busier machine.
    /// Default: 8 s, unless --max-work is given alone (then no time budget and no probe).
    #[arg(long)]
    max_seconds: Option<f64>,
    /// An explicit cap on a checked schedule's position-steps. Alone, it replaces the time
    /// budget (a row set that does not depend on the machine); with --max-seconds, both apply.
    #[arg(long)]
    max_work: Option<u64>,
    /// Seed of the hand-written machines' drawn inputs and of Theorems 5 and 6's draws (the PRAM
    /// programs' input seeds are --seeds).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The largest size accepted (a resource limit: the one-token-per-step machines take
    /// n steps of O(n) work each).
    #[arg(long, default_value_t = 16384)]
    max_n: usize,
    /// Which constructions to check: `mdm`, `apmdm` or `both`.
    #[arg(long, default_value = "both", value_parser = ["mdm", "apmdm", "both"])]
    target: String,
    /// Which theorems' rows to check, comma-separated: 1 (PRAM -> MDM, the `mdm` target), 2
    /// (MDM in PRAM(1, O~(S^3)): progress and counted naive cost), 3 (any-order MDM -> Masked
    /// ARM), 4 (PRAM -> AP-MDM, the `apmdm` target), 5 (Dyck-k generation) and 6 (edit
    /// tracking; both options `--dyck-*`, `--edit-*`). Default: the hand-written machines and the
    /// theorems --target names. With --theorem, only the theorems listed run (and machines
    /// named among PROGRAMS).
    #[arg(long, value_delimiter = ',', value_parser = THEOREMS)]
    theorem: Vec<String>,
    /// The AP-MDM layout: `declared` (the theorem's form: steps <= 3T + 2, memory laid out for
    /// the declared space) or `tight` (memory follows the space in use; allocations take steps).
    /// Default: declared for every program, and tight in addition for programs that allocate
    /// or free memory after their first round.
    #[arg(long, value_parser = ["declared", "tight"])]
    layout: Option<String>,
    /// Exit with 3 when any row was not run (default: rows not run are listed, exit 0).
    #[arg(long)]
    require_run: bool,
    /// Count a program whose measured growth of T, W or S differs from its `//# growth`
    /// declaration as a failure (default: a warning).
    #[arg(long)]
    strict_growth: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// What runs the compiled step functions: `seq` (the seq evaluator), `weights` (the
    /// hand-set Transformer, f64, each row also checked against the seq evaluator at every
    /// sublayer and step; docs/weights.md) or `weights-f32` (the same Transformer in f32 on the
    /// kernel layer's cpu backend, its proposals driving the run; the f64 shadow beside it).
    #[arg(long, default_value = "seq", value_parser = ["seq", "weights", "weights-f32"])]
    executor: String,
    /// The longest canvas the weights are built for (longer rows are not run).
    #[arg(long, default_value_t = apmdm::check::weights::MAX_WEIGHTS_LENGTH)]
    max_weights_length: usize,
    #[command(flatten)]
    thm32: super::check_thm32::Thm32Args,
    #[command(flatten)]
    thm56: super::check_thm56::Thm56Args,
}

/// The theorems `--theorem` accepts.
const THEOREMS: [&str; 6] = ["1", "2", "3", "4", "5", "6"];

/// What one theorem checked outside the PRAM compile path adds to a run of `check`: its rows'
/// verdicts (counted in the summary), its JSON member (`theorem_N`) and its printed tables.
pub(super) struct Section {
    pub key: String,
    pub statuses: Vec<Status>,
    pub json: serde_json::Value,
    pub text: String,
}

/// The sections of the theorems listed in --theorem other than 1 and 4, in the order given.
/// `subjects` are the PRAM programs named (or the library), each checked at `cases`.
fn sections(args: &CheckArgs, subjects: &[Subject]) -> Result<Vec<Section>> {
    let mut out = Vec::new();
    for t in &args.theorem {
        let (key, statuses, json, text) = match t.as_str() {
            "1" | "4" => continue,
            "2" | "3" => {
                let plans = (subjects.iter())
                    .map(|s| Ok((&s.program, cases(args, s)?)))
                    .collect::<Result<Vec<_>>>()?;
                let limits = CompileLimits {
                    max_length: args.max_length,
                    max_memory: args.max_memory,
                    ..CompileLimits::default()
                };
                let given = (args.sizes.is_some(), args.seeds.is_some());
                out.push(super::check_thm32::section(
                    t,
                    &args.thm32,
                    &limits,
                    &plans,
                    given,
                    args.json,
                )?);
                continue;
            }
            "5" => super::check_thm56::theorem5(&args.thm56, args.seed, args.json)?,
            "6" => super::check_thm56::theorem6(&args.thm56, args.seed)?,
            other => bail!("--theorem {other} is not executable"),
        };
        out.push(Section {
            key,
            statuses,
            json,
            text,
        });
    }
    Ok(out)
}

/// A PRAM program to check: its name, source and parsed form.
struct Subject {
    name: String,
    source: String,
    program: apmdm::pram::Program,
}

/// Splits the positional arguments into built-in machines and PRAM programs (library names or
/// `.pram` files); anything else is an error naming what exists.
fn subjects(args: &CheckArgs) -> Result<(Vec<&'static str>, Vec<Subject>)> {
    let machines: Vec<&'static str> = BUILTIN.iter().map(|(name, _, _)| *name).collect();
    if args.programs.is_empty() {
        let machines = if args.theorem.is_empty() {
            machines
        } else {
            Vec::new()
        };
        let mut programs = Vec::new();
        for (name, source) in library::PROGRAMS {
            let program = library::load(name)
                .expect("a library name")
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            programs.push(Subject {
                name: name.to_string(),
                source: source.to_string(),
                program,
            });
        }
        return Ok((machines, programs));
    }
    let mut wanted_machines = Vec::new();
    let mut programs: Vec<Subject> = Vec::new();
    for p in &args.programs {
        // A name may be both a machine and a library program (parity): it is both.
        if let Some(m) = machines.iter().find(|m| **m == p.as_str()) {
            if !wanted_machines.contains(m) {
                wanted_machines.push(*m);
            }
            if library::source(p).is_none() {
                continue;
            }
        }
        let is_file = std::path::Path::new(p).exists() || p.ends_with(".pram");
        if !is_file && library::source(p).is_none() {
            let names: Vec<&str> = library::PROGRAMS.iter().map(|(n, _)| *n).collect();
            let all: Vec<&str> = names.iter().chain(machines.iter()).copied().collect();
            bail!(
                "unknown program {p:?} (not a file){}. Built-in machines: {}; PRAM programs: {}",
                super::run::did_you_mean(p, &all),
                machines.join(", "),
                names.join(", ")
            );
        }
        let (file, source) = load_source(p)?;
        let program = apmdm::pram::parse(&file, &source)?;
        if programs.iter().any(|s| s.program.name == program.name) {
            continue;
        }
        programs.push(Subject {
            name: program.name.clone(),
            source,
            program,
        });
    }
    Ok((wanted_machines, programs))
}

/// The (n, seed) cases of one program: --sizes or its `//# sizes`; --seeds at every size, or
/// its `//# seeds` at its two smallest sizes and seed 1 at the others.
fn cases(args: &CheckArgs, s: &Subject) -> Result<Vec<(i64, u64)>> {
    plan_cases(
        &s.name,
        &s.source,
        args.sizes.as_deref(),
        args.seeds.as_deref(),
    )
}

/// The (n, seed) cases of the program `name` with source `source` (`apmdm check` and
/// `apmdm plot` run the same ones): `sizes` or its `//# sizes`; `seeds` at every size, or its
/// `//# seeds` at its two smallest sizes and seed 1 at the others.
pub(super) fn plan_cases(
    name: &str,
    source: &str,
    sizes: Option<&[usize]>,
    seeds: Option<&[u64]>,
) -> Result<Vec<(i64, u64)>> {
    let mut sizes: Vec<i64> = match sizes {
        Some(v) => v.iter().map(|&n| n as i64).collect(),
        None => library::directive(source, "sizes"),
    };
    if sizes.is_empty() {
        bail!("{name}: no sizes to check: the program has no `//# sizes: ...` directive; give --sizes");
    }
    if let Some(n) = sizes.iter().find(|&&n| n < 1) {
        bail!("{name}: size {n} in its //# sizes directive is below 1");
    }
    let mut seen = Vec::new();
    sizes.retain(|n| {
        let fresh = !seen.contains(n);
        seen.push(*n);
        fresh
    });
    let declared: Vec<u64> = library::directive(source, "seeds")
        .into_iter()
        .filter_map(|x| u64::try_from(x).ok())
        .collect();
    let mut smallest = sizes.clone();
    smallest.sort_unstable();
    smallest.truncate(2);
    let mut out = Vec::new();
    for &n in &sizes {
        let seeds: Vec<u64> = match seeds {
            Some(v) => v.to_vec(),
            None if smallest.contains(&n) && !declared.is_empty() => declared.clone(),
            None => vec![1],
        };
        out.extend(seeds.into_iter().map(|seed| (n, seed)));
    }
    Ok(out)
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let (machines, subjects) = subjects(&args)?;
    if let Some(n) = args.sizes.iter().flatten().find(|&&n| n > args.max_n) {
        bail!(
            "size {n} is above --max-n {} (raise it to run larger sizes)",
            args.max_n
        );
    }
    if args.sizes.iter().flatten().any(|&n| n == 0) {
        bail!("sizes must be at least 1");
    }
    if args.seeds.as_ref().is_some_and(|s| s.is_empty()) {
        bail!("--seeds needs at least one seed");
    }
    // Read every directive before running anything, so a bad one stops the run at once.
    let mut plans = Vec::new();
    for s in &subjects {
        let declared = declaration(&s.source).map_err(|e| anyhow::anyhow!("{}: {e}", s.name))?;
        plans.push((cases(&args, s)?, declared));
    }
    let mut machine_rows: Vec<CaseReport> = Vec::new();
    for name in machines.iter().copied() {
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
    let (do_mdm, do_ap) = if args.theorem.is_empty() {
        (args.target != "apmdm", args.target != "mdm")
    } else {
        if args.target != "both" {
            bail!("give --theorem or --target, not both (--theorem 1 is the mdm target, 4 the apmdm target)");
        }
        let has = |t: &str| args.theorem.iter().any(|x| x == t);
        (has("1"), has("4"))
    };
    let sections = sections(&args, &subjects)?;
    let layout = args.layout.as_deref().and_then(ApmdmMode::parse);
    let limits = CompileLimits {
        max_length: args.max_length,
        max_memory: args.max_memory,
        ..CompileLimits::default()
    };
    let exec = ExecutorOptions {
        executor: Executor::parse(&args.executor).unwrap_or_default(),
        max_weights_length: args.max_weights_length,
    };
    let budget = if do_mdm || do_ap {
        Some(super::budget::Budget::of(args.max_seconds, args.max_work)?)
    } else {
        None
    };
    let max_work = budget.as_ref().map_or(0, |b| b.max_work);
    let trial = budget.as_ref().and_then(|b| b.trial());
    let mut rows: Vec<Row> = Vec::new();
    let mut ap_rows: Vec<ApmdmRow> = Vec::new();
    let mut fit_rows: Vec<FitRow> = Vec::new();
    let mut growth_rows: Vec<GrowthRow> = Vec::new();
    let total: usize = plans.iter().map(|(cases, _)| cases.len()).sum();
    let bar = super::progress::items(
        "cases",
        if do_mdm || do_ap { total as u64 } else { 0 },
        args.json,
    );
    for (s, (cases, declared)) in subjects.iter().zip(&plans) {
        if !do_mdm && !do_ap {
            break;
        }
        let name = &s.name;
        let mut mine = Vec::new();
        let mut ap_mine = Vec::new();
        let mut measured: Vec<(i64, Metrics)> = Vec::new();
        for &(n, seed) in cases {
            let mut config = RunConfig::new(n);
            config.seed = seed;
            let case = format!("{name} n = {n} seed {seed}");
            bar.set_message(case.clone());
            // Within a case, the step being decoded (a schedule on the weights executor can take
            // seconds per step); nothing is formatted when the bar is hidden.
            let show = |target: &str, step: usize| {
                if !bar.is_hidden() {
                    bar.set_message(format!("{case}: {target} step {step}"));
                }
            };
            if do_mdm {
                match check_case_watched(
                    &s.program,
                    &config,
                    &limits,
                    &bounds,
                    max_work,
                    trial,
                    exec,
                    &mut |_| {},
                    &mut |p| show("mdm", p),
                ) {
                    Ok(r) => {
                        measured.push((n, metrics_of(r.rounds, r.processors, r.work, r.space)));
                        mine.push(r)
                    }
                    Err(e) => bail!("{name} at n = {n} (mdm): {e}"),
                }
            }
            if do_ap {
                let first = layout.unwrap_or(ApmdmMode::Declared);
                let mut mode = Some(first);
                while let Some(m) = mode.take() {
                    let mut steps = 0;
                    let r = check_apmdm_case_watched(
                        &s.program,
                        &config,
                        &limits,
                        &ap_bounds,
                        max_work,
                        exec,
                        m,
                        &mut |_| {},
                        &mut |_| {
                            steps += 1;
                            show("apmdm", steps);
                        },
                    )
                    .map_err(|e| anyhow::anyhow!("{name} at n = {n} ({}): {e}", m.name()))?;
                    if !do_mdm && m == first {
                        measured.push((n, metrics_of(r.rounds, r.processors, r.work, r.space)));
                    }
                    // By default, the tight layout runs too for a program that allocates or
                    // frees memory after its first round.
                    let late = r.allocation_steps_after_entry > 0;
                    if layout.is_none() && m == ApmdmMode::Declared && late {
                        mode = Some(ApmdmMode::Tight);
                    }
                    ap_mine.push(r)
                }
            }
            bar.inc(1);
        }
        fit_rows.extend(fits(&mine));
        for m in [ApmdmMode::Declared, ApmdmMode::Tight] {
            let of_mode: Vec<ApmdmRow> =
                ap_mine.iter().filter(|r| r.layout == m).cloned().collect();
            fit_rows.extend(apmdm::check::apmdm::fits(&of_mode));
        }
        growth_rows.extend(compare(name, declared, &measured));
        rows.extend(mine);
        ap_rows.extend(ap_mine);
    }
    bar.finish_and_clear();
    let machine_status = |r: &CaseReport| if r.pass { Status::Pass } else { Status::Fail };
    let mut summary = Summary::of(
        machine_rows
            .iter()
            .map(machine_status)
            .chain(rows.iter().map(|r| r.status))
            .chain(ap_rows.iter().map(|r| r.status))
            .chain(sections.iter().flat_map(|s| s.statuses.iter().copied())),
    );
    let mismatches: Vec<&GrowthRow> = growth_rows
        .iter()
        .filter(|g| g.agreement == Agreement::Mismatch)
        .collect();
    if args.strict_growth {
        summary.failed += mismatches.len();
    }
    let warnings: Vec<String> = mismatches
        .iter()
        .map(|g| {
            format!(
                "{}: {} grows like {} over {} sizes, but the program declares {}{}",
                g.program,
                g.quantity,
                g.measured,
                g.sizes,
                g.declared,
                if args.strict_growth {
                    " (a failure under --strict-growth)"
                } else {
                    " (a warning about the program; --strict-growth makes it a failure)"
                }
            )
        })
        .collect();
    if args.json {
        let machines_json: Vec<serde_json::Value> = machine_rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("pass");
                    o.insert("status".into(), json!(machine_status(r)));
                }
                v
            })
            .collect();
        let mut rows_json: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        rows_json.extend(
            ap_rows
                .iter()
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
        );
        let mut out = json!({
                "status": summary.overall(),
                "passed": summary.passed,
                "failed": summary.failed,
                "not_run": summary.not_run,
                "machines": machines_json,
                "rows": rows_json,
                "fits": fit_rows,
                "growth": growth_rows,
                "warnings": warnings,
                "budget": budget,
        });
        if let Some(o) = out.as_object_mut() {
            for s in &sections {
                o.insert(s.key.clone(), s.json.clone());
            }
        }
        println!("{out}");
    } else {
        if let Some(b) = &budget {
            println!("{}", b.line());
            println!();
        }
        print_machines(&machine_rows);
        print_rows(&rows);
        print_ap_rows(&ap_rows);
        print_side_by_side(&rows, &ap_rows);
        if exec.executor.is_weights() {
            print_weights(&rows, &ap_rows);
        }
        print_fits(&fit_rows);
        print_growth(&growth_rows);
        for s in &sections {
            print!("{}", s.text);
        }
        for w in &warnings {
            println!("warning: {w}");
        }
        if !warnings.is_empty() {
            println!();
        }
        println!("{summary}");
    }
    Ok(ExitCode::from(summary.exit_code(args.require_run)))
}

fn metrics_of(rounds: u64, processors: u64, work: u64, space: u64) -> Metrics {
    Metrics {
        rounds,
        processors,
        work,
        space,
    }
}

/// A row as JSON, with lengths as numbers where they fit in 64 bits.
fn row_json(r: &Row) -> serde_json::Value {
    let number = |s: &str| s.parse::<u64>().map_or_else(|_| json!(s), |v| json!(v));
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for (key, value) in [
            ("context", r.context.as_deref()),
            ("predicted_context", r.predicted_context.as_deref()),
            ("context_bound_paper", Some(r.context_bound_paper.as_str())),
            ("context_bound_work", Some(r.context_bound_work.as_str())),
        ] {
            o.insert(key.into(), value.map_or(json!(null), number));
        }
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

/// A measured number, or `-` for a row not run.
pub(super) fn measured<T: ToString>(x: Option<T>) -> String {
    x.map_or_else(|| "-".into(), |v| v.to_string())
}

fn print_rows(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "target",
        "n",
        "seed",
        "T",
        "P",
        "W",
        "S",
        "steps",
        "aT+b",
        "context",
        "work bound (identity)",
        "used",
        "c(n+W+T)+d",
        "heads",
        "depth",
        "maps",
        "bits",
        "time s",
        "result",
    ]);
    for r in rows {
        let ran = r.materialized;
        let dash = |s: String| if ran { s } else { "-".into() };
        table.row(vec![
            r.program.clone(),
            r.target.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.rounds.to_string(),
            r.processors.to_string(),
            r.work.to_string(),
            r.space.to_string(),
            measured(r.steps),
            r.steps_bound.to_string(),
            context_cell(r),
            r.context_bound_work.clone(),
            measured(r.context_used),
            r.context_used_bound.to_string(),
            dash(r.seq_heads.to_string()),
            dash(r.seq_depth.to_string()),
            dash(r.map_depth.to_string()),
            dash(format!("{}/{}", r.width_bits, r.width_bound)),
            dash(format!("{:.2}", r.seconds)),
            r.status.label().to_string(),
        ]);
    }
    print!("{}", table.render());
    println!(
        "evidence: steps <= aT+b, used <= c(n+W+T)+d, the run's context equal to the layout's, \
         agreement with the interpreter, and the widest value any node took (bits: widest / bound \
         c max(w, log2 L) + d); identity (holds by construction, not evidence): the laid-out \
         length against its work and paper bounds, both computed from the declared T, P, W. \
         depth: attention layers; maps: position-wise map depth."
    );
    let cases: Vec<Case> = rows
        .iter()
        .map(|r| Case {
            program: &r.program,
            n: r.n,
            seed: r.seed,
            status: r.status,
            problems: &r.problems,
            reason: r.reason.as_deref(),
        })
        .collect();
    print_problems(&cases, "mdm");
    println!();
}

/// The MDM context: measured when run, else the exact laid-out length labelled as a prediction.
fn context_cell(r: &Row) -> String {
    match (&r.context, &r.predicted_context) {
        (Some(c), _) => c.clone(),
        (None, Some(p)) => format!("{p} (predicted)"),
        (None, None) => "-".into(),
    }
}

fn print_ap_rows(rows: &[ApmdmRow]) {
    if rows.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "target",
        "n",
        "seed",
        "T",
        "P",
        "S",
        "steps",
        "alloc",
        "bound",
        "context",
        "used",
        "c(S+P)+d",
        "steps held",
        "remask",
        "insert",
        "delete",
        "heads",
        "depth",
        "maps",
        "bits",
        "time s",
        "result",
    ]);
    for r in rows {
        let ran = r.materialized;
        let dash = |s: String| if ran { s } else { "-".into() };
        table.row(vec![
            r.program.clone(),
            r.target.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.rounds.to_string(),
            r.processors.to_string(),
            r.space.to_string(),
            measured(r.steps),
            if r.layout == ApmdmMode::Declared {
                "-".into()
            } else {
                r.allocation_steps.to_string()
            },
            r.steps_bound.to_string(),
            ap_context_cell(r),
            measured(r.context_used),
            r.context_used_bound.to_string(),
            dash(r.steps_checked.to_string()),
            dash(r.remask.to_string()),
            dash(r.insert.to_string()),
            dash(r.delete.to_string()),
            dash(r.seq_heads.to_string()),
            dash(r.seq_depth.to_string()),
            dash(r.map_depth.to_string()),
            dash(format!("{}/{}", r.width_bits, r.width_bound)),
            dash(format!("{:.2}", r.seconds)),
            r.status.label().to_string(),
        ]);
    }
    print!("{}", table.render());
    println!(
        "target apmdm: the declared layout (the theorem's form; bound aT+b, no allocation \
         term; its context is laid out for max(S_decl, static cells), an identity); apmdm-tight: \
         memory follows the space in use (bound aT+alloc+b). evidence: steps <= bound, the \
         positions in use (used: the context in the tight layout; in the declared one, up to \
         the last mask or non-zero cell) <= c(S+P)+d with S measured, every step's used \
         positions within the space then in use (steps held), agreement with the interpreter, \
         and the widest value (bits: widest / bound)."
    );
    let cases: Vec<Case> = rows
        .iter()
        .map(|r| Case {
            program: &r.program,
            n: r.n,
            seed: r.seed,
            status: r.status,
            problems: &r.problems,
            reason: r.reason.as_deref(),
        })
        .collect();
    print_problems(&cases, "apmdm");
    println!();
}

/// The AP-MDM peak context: measured when run, else the proof's value labelled a prediction.
fn ap_context_cell(r: &ApmdmRow) -> String {
    match (r.context, r.predicted_context) {
        (Some(c), _) => c.to_string(),
        (None, Some(p)) => format!("{p} (predicted)"),
        (None, None) => "-".into(),
    }
}

/// One checked case as the problem list needs it.
struct Case<'a> {
    program: &'a str,
    n: i64,
    seed: u64,
    status: Status,
    problems: &'a [String],
    reason: Option<&'a str>,
}

/// Each problem of each failed case, then the cases not run and why, on one line.
fn print_problems(cases: &[Case], target: &str) {
    for c in cases.iter().filter(|c| c.status == Status::Fail) {
        for p in c.problems {
            println!(
                "FAIL {} n = {} seed {} ({target}): {p}",
                c.program, c.n, c.seed
            );
        }
    }
    let not_run: Vec<String> = cases
        .iter()
        .filter(|c| c.status == Status::NotRun)
        .map(|c| {
            format!(
                "{} n = {} seed {}: {}",
                c.program,
                c.n,
                c.seed,
                c.reason.unwrap_or("-")
            )
        })
        .collect();
    if !not_run.is_empty() {
        println!(
            "NOT RUN ({target}, nothing checked): {}",
            not_run.join("; ")
        );
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
        "agree with the interpreter",
    ]);
    for r in rows {
        let Some(a) = ap_rows
            .iter()
            .find(|a| a.program == r.program && a.n == r.n && a.seed == r.seed)
        else {
            continue;
        };
        let word = |x: Option<bool>| x.map(|b| if b { "yes" } else { "NO" });
        let agree = match (word(r.agree), word(a.agree)) {
            (Some(m), Some(p)) if m == p => m.to_string(),
            (Some(m), Some(p)) => format!("MDM {m}, AP-MDM {p}"),
            (None, Some(p)) => format!("{p} (AP-MDM only)"),
            (Some(m), None) => format!("{m} (MDM only)"),
            (None, None) => "- (neither ran)".into(),
        };
        table.row(vec![
            r.program.clone(),
            r.n.to_string(),
            r.seed.to_string(),
            r.outcome.clone(),
            r.answer.clone(),
            r.rounds.to_string(),
            r.space.to_string(),
            measured(r.steps),
            context_cell(r),
            measured(a.steps),
            ap_context_cell(a),
            agree,
        ]);
    }
    print!("{}", table.render());
    println!();
}

/// One line per row the weights ran: their shape and what the shadow check measured.
fn print_weights(rows: &[Row], ap_rows: &[ApmdmRow]) {
    println!("hand-set weights (every step's proposal compared with the seq evaluator; exact values and reads: the f64 shadow):");
    println!(
        "{:<16} {:<6} {:>5} {:>8} {:>7} {:>6} {:>5} {:>6} {:>14} {:>9} {:>9} {:>9} {:>9} {:>9} {}",
        "program",
        "target",
        "n",
        "status",
        "d_model",
        "layers",
        "heads",
        "d_ff",
        "parameters",
        "nonzero",
        "agree",
        "max dev",
        "read err",
        "s/step",
        "f32"
    );
    let lines = rows
        .iter()
        .map(|r| (&r.program, &r.target, r.n, r.status, &r.weights, &r.reason))
        .chain(
            ap_rows
                .iter()
                .map(|r| (&r.program, &r.target, r.n, r.status, &r.weights, &r.reason)),
        );
    for (program, target, n, status, w, reason) in lines {
        match w {
            Some(w) => println!(
                "{:<16} {:<6} {:>5} {:>8} {:>7} {:>6} {:>5} {:>6} {:>14} {:>9} {:>9} {:>9.1e} {:>9.1e} {:>9.3} {}",
                program,
                target,
                n,
                status.label(),
                w.d_model,
                w.layers,
                w.heads,
                w.d_ff,
                w.parameters,
                w.nonzero,
                format!("{}/{}", w.agreeing_steps, w.steps),
                w.max_exact_deviation,
                w.max_read_error,
                w.f32_step_seconds.unwrap_or(w.step_seconds),
                w.f32_status.as_deref().unwrap_or("-")
            ),
            None => println!(
                "{:<16} {:<6} {:>5} {:>8} {}",
                program,
                target,
                n,
                status.label(),
                reason.as_deref().unwrap_or("-")
            ),
        }
    }
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
            f.slack.map_or_else(|| "-".into(), |s| s.to_string()),
        ]);
    }
    print!("{}", table.render());
    println!(
        "fits describe, they decide nothing: measured rows only (never predictions), at least {} \
         distinct sizes; slack is the largest measured minus bound.",
        apmdm::check::fit::MIN_SIZES
    );
    println!();
}

fn print_growth(growth: &[GrowthRow]) {
    if growth.is_empty() {
        return;
    }
    let mut table = Table::new(&[
        "program",
        "quantity",
        "declared",
        "measured",
        "tie with",
        "sizes",
        "agreement",
    ]);
    for g in growth {
        table.row(vec![
            g.program.clone(),
            g.quantity.clone(),
            g.declared.clone(),
            g.measured.clone(),
            g.tie_with.clone().unwrap_or_default(),
            g.sizes.to_string(),
            match g.agreement {
                Agreement::Match => "match",
                Agreement::Mismatch => "MISMATCH",
                Agreement::NotClassified => "not classified",
                Agreement::Instance => "instance-dependent",
                Agreement::Undeclared => "undeclared",
            }
            .to_string(),
        ]);
    }
    print!("{}", table.render());
    println!();
}
