//! `apmdm plot`: runs the rows `apmdm check` runs (or reads them back from a data file) and
//! writes SVG figures: steps and context against n per program, the PSPACE figure and the
//! learned-parity accuracy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;

use apmdm::check::apmdm::{check_apmdm_case_watched, ApmdmBounds};
use apmdm::check::mdm::{check_case_with, MdmBounds};
use apmdm::check::weights::ExecutorOptions;
use apmdm::compile::pram_to_apmdm::ApmdmMode;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::machine::library::BUILTIN;
use apmdm::plot::figure::{render, Figure};
use apmdm::plot::growth::{growth_figure, pspace_figure, PlotData, PlotRow, DATA_FORMAT};
use apmdm::plot::parity::{parity_figure, ParityResults};
use apmdm::pram::{library, RunConfig};

use super::io::write_output;
use super::run::{did_you_mean, load_source};

/// The data file `apmdm plot` writes beside the figures.
pub const DATA_FILE: &str = "plot-data.json";

/// Options of `apmdm plot`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example: apmdm plot prefix_sum tqbf --out figures   (writes \
figures/prefix_sum.svg, figures/tqbf.svg, figures/pspace.svg and figures/plot-data.json)\n\n\
Exit codes: 0 = figures written; 1 = a row failed its checks (figures still written; apmdm check \
names the failed checks); 2 = a usage, input or I/O error."
)]
pub struct PlotArgs {
    /// Built-in PRAM programs or `.pram` files (default: the whole library, plus the PSPACE and
    /// learned-parity figures). The PSPACE figure is drawn when tqbf or geography is among them
    /// on both targets.
    programs: Vec<String>,
    /// The folder the figures are written to (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Which constructions to draw: `mdm`, `apmdm` or `both`.
    #[arg(long, default_value = "both", value_parser = ["mdm", "apmdm", "both"])]
    target: String,
    /// Draw the rows of a data file written by an earlier `apmdm plot` (its plot-data.json)
    /// instead of running them; nothing is run and no data file is written.
    #[arg(long, conflicts_with_all = ["sizes", "seeds"])]
    data: Option<PathBuf>,
    /// Sizes to run, comma-separated (default: each program's `//# sizes`, as `apmdm check`).
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Seeds at every size, comma-separated (default: as `apmdm check`: each program's
    /// `//# seeds` at its two smallest sizes, seed 1 at the others).
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<u64>>,
    /// The longest MDM canvas built and run (as `apmdm check`); longer ones are predictions.
    #[arg(long, default_value_t = 1 << 20)]
    max_length: usize,
    /// The most memory one row's run may hold (as `apmdm check`; suffixes K, M, G, T).
    #[arg(long, default_value = "4G", value_parser = super::memory_size)]
    max_memory: u64,
    /// The most position-steps a schedule may take (as `apmdm check`); larger rows are not run.
    #[arg(long, default_value_t = 6_000_000)]
    max_work: u64,
    /// The largest size accepted (as `apmdm check`).
    #[arg(long, default_value_t = 16384)]
    max_n: usize,
    /// The largest --data file read, in bytes (suffixes K, M, G: powers of 1024); a larger one
    /// is refused before it is read.
    #[arg(long, default_value = "1G", value_parser = super::memory_size)]
    max_input_bytes: u64,
}

/// A PRAM program to run.
struct Subject {
    source: String,
    program: apmdm::pram::Program,
}

/// The named PRAM programs (library names or `.pram` files), or the whole library.
fn subjects(names: &[String]) -> Result<Vec<Subject>> {
    let mut out: Vec<Subject> = Vec::new();
    if names.is_empty() {
        for (name, source) in library::PROGRAMS {
            let program = library::load(name)
                .ok_or_else(|| anyhow!("{name} is not in the library"))?
                .map_err(|e| anyhow!("{e}"))?;
            out.push(Subject {
                source: source.to_string(),
                program,
            });
        }
        return Ok(out);
    }
    for name in names {
        let machine = BUILTIN.iter().any(|(m, _, _)| *m == name.as_str());
        if machine && library::source(name).is_none() {
            bail!(
                "{name} is a hand-written machine, not a PRAM program (apmdm check runs it \
                 against its formulas; apmdm plot draws PRAM programs)"
            );
        }
        let (file, source) = load_source(name)?;
        let program = apmdm::pram::parse(&file, &source)?;
        if out.iter().any(|s| s.program.name == program.name) {
            continue;
        }
        out.push(Subject { source, program });
    }
    Ok(out)
}

/// Runs every (program, n, seed) case on the targets asked, exactly as `apmdm check` runs them
/// (the declared AP-MDM layout, and the tight one too for a program that allocates or frees
/// memory after its first round).
fn run_rows(args: &PlotArgs) -> Result<Vec<PlotRow>> {
    let subjects = subjects(&args.programs)?;
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
    let mut plans = Vec::new();
    for s in &subjects {
        plans.push(super::check::plan_cases(
            &s.program.name,
            &s.source,
            args.sizes.as_deref(),
            args.seeds.as_deref(),
        )?);
    }
    let (do_mdm, do_ap) = (args.target != "apmdm", args.target != "mdm");
    let limits = CompileLimits {
        max_length: args.max_length,
        max_memory: args.max_memory,
        ..CompileLimits::default()
    };
    let bounds = MdmBounds::from_file();
    let ap_bounds = ApmdmBounds::from_file();
    let exec = ExecutorOptions::seq();
    let total: usize = plans.iter().map(Vec::len).sum();
    let bar = super::progress::items("cases", total as u64, false);
    let mut rows = Vec::new();
    for (s, cases) in subjects.iter().zip(&plans) {
        let name = &s.program.name;
        let mut ap_rows = Vec::new();
        for &(n, seed) in cases {
            let mut config = RunConfig::new(n);
            config.seed = seed;
            bar.set_message(format!("{name} n = {n} seed {seed}"));
            if do_mdm {
                let r = check_case_with(&s.program, &config, &limits, &bounds, args.max_work, exec)
                    .map_err(|e| anyhow!("{name} at n = {n} (mdm): {e}"))?;
                rows.push(PlotRow::of_mdm(&r));
            }
            let mut mode = do_ap.then_some(ApmdmMode::Declared);
            while let Some(m) = mode.take() {
                let r = check_apmdm_case_watched(
                    &s.program,
                    &config,
                    &limits,
                    &ap_bounds,
                    args.max_work,
                    exec,
                    m,
                    &mut |_| {},
                    &mut |_| {},
                )
                .map_err(|e| anyhow!("{name} at n = {n} ({}): {e}", m.name()))?;
                if m == ApmdmMode::Declared && r.allocation_steps_after_entry > 0 {
                    mode = Some(ApmdmMode::Tight);
                }
                ap_rows.push(PlotRow::of_apmdm(&r));
            }
            bar.inc(1);
        }
        // As check prints them: a program's MDM rows, then its AP-MDM rows.
        rows.extend(ap_rows);
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// The rows of a data file, restricted to the programs and target asked.
fn read_rows(path: &Path, args: &PlotArgs) -> Result<Vec<PlotRow>> {
    let text = super::io::read_limited_text(
        path,
        args.max_input_bytes,
        "the data file",
        "--max-input-bytes",
    )?;
    let data = PlotData::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let present: Vec<&str> = {
        let mut seen = BTreeSet::new();
        (data.rows.iter())
            .map(|r| r.program.as_str())
            .filter(|p| seen.insert(*p))
            .collect()
    };
    for p in &args.programs {
        if !present.contains(&p.as_str()) {
            bail!(
                "{}: no rows of {p:?}{} (programs in the file: {})",
                path.display(),
                did_you_mean(p, &present),
                present.join(", ")
            );
        }
    }
    Ok(data
        .rows
        .iter()
        .filter(|r| args.programs.is_empty() || args.programs.contains(&r.program))
        .filter(|r| match args.target.as_str() {
            "mdm" => r.target == "mdm",
            "apmdm" => r.target != "mdm",
            _ => true,
        })
        .cloned()
        .collect())
}

fn describe(e: &std::io::Error) -> String {
    apmdm::output_file::describe(e)
}

/// A file name for a program's figure: its name with anything but letters, digits, `-` and `_`
/// replaced by `_`.
fn file_stem(program: &str) -> String {
    program
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn run(args: PlotArgs) -> Result<ExitCode> {
    let rows = match &args.data {
        Some(path) => read_rows(path, &args)?,
        None => run_rows(&args)?,
    };
    let mut figures: Vec<(String, Figure, String)> = Vec::new();
    let mut programs: Vec<&str> = Vec::new();
    for r in &rows {
        if !programs.contains(&r.program.as_str()) {
            programs.push(&r.program);
        }
    }
    for p in &programs {
        let mine: Vec<PlotRow> = rows.iter().filter(|r| r.program == *p).cloned().collect();
        let ran = mine.iter().filter(|r| r.ran).count();
        figures.push((
            format!("{}.svg", file_stem(p)),
            growth_figure(p, &mine),
            format!(
                "steps and context of {p} ({ran} rows ran, {} not run)",
                mine.len() - ran
            ),
        ));
    }
    if let Some(f) = pspace_figure(&rows) {
        let drawn: Vec<&str> = f.panels.iter().map(|p| p.title.as_str()).collect();
        let what = format!("context of MDM against AP-MDM for {}", drawn.join(" and "));
        figures.push(("pspace.svg".into(), f, what));
    }
    if args.programs.is_empty() {
        let results = ParityResults::committed().map_err(|e| anyhow!(e))?;
        figures.push((
            "parity_learned.svg".into(),
            parity_figure(&results),
            "learned parity accuracy against length (docs/data/parity_results.json)".into(),
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| {
        anyhow!(
            "cannot create the output folder {}: {}",
            args.out.display(),
            describe(&e)
        )
    })?;
    for (name, figure, what) in &figures {
        let svg = render(figure).map_err(|e| anyhow!("{name}: {e}"))?;
        let path = args.out.join(name);
        write_output(&path, svg.as_bytes())?;
        println!("{}: {what}", path.display());
    }
    if args.data.is_none() {
        let data = PlotData {
            format: DATA_FORMAT,
            rows: rows.clone(),
        };
        let path = args.out.join(DATA_FILE);
        write_output(&path, data.to_text().as_bytes())
            .with_context(|| "writing the rows drawn".to_string())?;
        println!(
            "{}: the {} rows drawn (apmdm plot --data draws them again)",
            path.display(),
            rows.len()
        );
    }
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.status == "fail")
        .map(|r| format!("{} {} n = {} seed {}", r.program, r.target, r.n, r.seed))
        .collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "FAIL: {} row(s) failed their checks (drawn all the same; apmdm check names the checks): {}",
        failed.len(),
        failed.join("; ")
    );
    Ok(ExitCode::from(1))
}
