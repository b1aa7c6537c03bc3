//! `apmdm run`: runs a PRAM program with the interpreter and prints its outcome, output and metrics.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::io::{create_output, Stdout};
use apmdm::pram::{self, library, AccessModel, Outcome, RunConfig, TraceRound, Value};

/// Options of `apmdm run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A `.pram` file, or the name of a built-in program (e.g. `prefix_sum`).
    program: String,
    /// The size n (as for `compile` and `trace`).
    #[arg(long, default_value_t = 8)]
    n: i64,
    /// A JSON file of inputs: an object mapping input names to numbers or arrays (inputs it does
    /// not name are generated from --seed).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Seed of generated inputs and of CRCW-arbitrary winners.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Access model (overrides the program's): erew, crew, crcw-common, crcw-arbitrary, crcw-priority.
    #[arg(long, value_parser = parse_model)]
    model: Option<AccessModel>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Write the trace to this file (format 1, docs/trace.md): a header (program, source, n,
    /// seed, register names), then one record per round (line, active processors, reads,
    /// writes, registers, cells in use), streamed.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// The most rounds before stopping.
    #[arg(long, default_value_t = 10_000_000)]
    max_rounds: u64,
    /// The most processors in one round.
    #[arg(long, default_value_t = 1 << 26)]
    max_processors: u64,
    /// The most shared-memory cells in use.
    #[arg(long, default_value_t = 1 << 27)]
    max_cells: u64,
    /// The most total work W (processors summed over rounds) before stopping.
    #[arg(long, default_value_t = 1 << 33)]
    max_pram_work: u64,
    /// The most cells `alloc` scopes may allocate over the whole run (a scope entered k times
    /// counts k times).
    #[arg(long, default_value_t = 1 << 33)]
    max_allocated: u64,
}

fn parse_model(s: &str) -> Result<AccessModel, String> {
    AccessModel::from_name(s).ok_or_else(|| {
        format!(
            "unknown model `{}`; expected erew, crew, crcw-common, crcw-arbitrary or crcw-priority \
             (written with `-` or `_`)",
            pram::parse::echo(s)
        )
    })
}

/// The program's display name and source: a file if one exists at that path, else a built-in.
/// Inputs from a JSON file: an object mapping input names to numbers or arrays.
pub(crate) fn read_inputs(path: &Path) -> Result<std::collections::BTreeMap<String, Vec<i64>>> {
    let text = read_text(path)?;
    pram::input::from_json_text(&path.display().to_string(), &text).map_err(anyhow::Error::msg)
}

/// A text file's contents; invalid UTF-8 is an error at its line, column and byte offset.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(pram::decode_source(&path.display().to_string(), bytes)?)
}

pub(crate) fn load_source(name: &str) -> Result<(String, String)> {
    let path = Path::new(name);
    if path.exists() {
        return Ok((name.to_string(), read_text(path)?));
    }
    let builtin = name.strip_suffix(".pram").unwrap_or(name);
    match library::source(builtin) {
        Some(s) => Ok((format!("{builtin}.pram"), s.to_string())),
        None => {
            let names: Vec<&str> = library::PROGRAMS.iter().map(|(n, _)| *n).collect();
            bail!(
                "{name}: no such file, and not a built-in program{} (built-in: {})",
                did_you_mean(builtin, &names),
                names.join(", ")
            )
        }
    }
}

/// `"; did you mean a, b?"` for the names closest to `name`, or nothing.
pub(crate) fn did_you_mean(name: &str, names: &[&str]) -> String {
    let near = library::closest(name, names);
    if near.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", near.join(", "))
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let (file, source) = load_source(&args.program)?;
    let program = pram::parse(&file, &source)?;
    let mut config = RunConfig::new(args.n);
    config.seed = args.seed;
    config.model = args.model;
    config.max_rounds = args.max_rounds;
    config.max_processors = args.max_processors;
    config.max_cells = args.max_cells;
    config.max_work = args.max_pram_work;
    config.max_allocated = args.max_allocated;
    if let Some(path) = &args.input {
        config.inputs = read_inputs(path)?;
    }
    let report = match &args.trace {
        None => pram::run(&program, &config)?,
        Some(path) => {
            // Streamed: each round's record is written as the interpreter hands it over, so
            // memory does not grow with the trace and a killed run leaves what it wrote in the
            // temporary file beside `path`.
            let mut out = create_output(path)?;
            let mut header = apmdm::view::Header::new("pram");
            header.program = Some(program.name.clone());
            header.source = Some(source.clone());
            header.n = Some(args.n);
            header.seed = Some(args.seed);
            header.registers = program.registers.clone();
            let mut failed = serde_json::to_writer(&mut out, &header)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .err();
            let mut sink = |r: TraceRound| {
                if failed.is_none() {
                    let record = apmdm::view::Record::Round(apmdm::view::RoundLine::of(&r));
                    let written = serde_json::to_writer(&mut out, &record)
                        .map_err(std::io::Error::from)
                        .and_then(|()| out.write_all(b"\n"));
                    failed = written.err();
                }
            };
            let report = pram::run_traced(&program, &config, Some(&mut sink))?;
            if let Some(e) = failed {
                return Err(out.error(e).into());
            }
            out.commit()?;
            report
        }
    };
    let model = config.model.unwrap_or(program.model);
    let m = &report.metrics;
    if args.json {
        let outcome = match &report.outcome {
            Outcome::Ok => json!("ok"),
            other => serde_json::to_value(other)?,
        };
        // Serialized straight to standard output (no document in memory), in the key order
        // of the object it replaced: sorted, as `serde_json::Map` keeps them.
        let line = RunJson {
            metrics: MetricsJson {
                processors: m.processors,
                rounds: m.rounds,
                space: m.space,
                work: m.work,
            },
            model: model.name(),
            n: args.n,
            outcome,
            output: OutputJson(&report.output),
            program: &program.name,
        };
        let mut out = std::io::BufWriter::new(Stdout);
        // A write error is already remembered by `Stdout` (and decides the exit status).
        let _ = serde_json::to_writer(&mut out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    } else {
        println!("program {} (n = {}, model {})", program.name, args.n, model);
        for (name, v) in &report.output {
            match v {
                Value::Scalar(x) => println!("{name} = {x}"),
                Value::Array(xs) => {
                    let shown: Vec<String> = xs.iter().take(64).map(i64::to_string).collect();
                    let more = if xs.len() > 64 { " ..." } else { "" };
                    println!("{name} = [{}{more}]", shown.join(" "));
                }
            }
        }
        println!(
            "rounds T = {}, processors P = {}, work W = {}, space S = {}",
            m.rounds, m.processors, m.work, m.space
        );
        println!("outcome: {}", report.outcome);
    }
    Ok(if report.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `apmdm run --json`: fields in sorted order.
#[derive(Serialize)]
struct RunJson<'a> {
    metrics: MetricsJson,
    model: &'a str,
    n: i64,
    outcome: serde_json::Value,
    output: OutputJson<'a>,
    program: &'a str,
}

/// T, P, W, S under their JSON names, sorted.
#[derive(Serialize)]
struct MetricsJson {
    processors: u64,
    rounds: u64,
    space: u64,
    work: u64,
}

/// The outputs as one object, keys sorted (the last of a repeated name wins, as in a map).
struct OutputJson<'a>(&'a [(String, Value)]);

impl Serialize for OutputJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<&str, &Value> = self.0.iter().map(|(k, v)| (k.as_str(), v)).collect();
        s.collect_map(sorted)
    }
}
