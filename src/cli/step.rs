//! `apmdm step`: runs an emitted schedule (an envelope from `compile --emit-seq`) on an emitted
//! canvas to its fixed point and decodes the result from the envelope alone. It loads no PRAM
//! program and never calls the interpreter.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;

use apmdm::compile::envelope::{CanvasFile, Envelope, Target, FORMAT};
use apmdm::compile::envelope_run::run_envelope_within;
use apmdm::machine::Stop;
use apmdm::pram::outcome::{Outcome, Value};
use apmdm::seq::Evaluator;

/// Options of `apmdm step`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 = the run reached a fixed point and its final canvas was \
    decoded; 1 = it stopped otherwise (a step or length cap, a class violation, a failed step) \
    or its final canvas states no result; 2 = a file is missing, malformed, of an unknown format, \
    or does not fit the schedule."
)]
pub struct StepArgs {
    /// The envelope `apmdm compile --emit-seq` wrote (format 1).
    #[arg(long)]
    seq: PathBuf,
    /// The canvas file `apmdm compile --emit-canvas` wrote for the same program, target and n.
    #[arg(long)]
    canvas: PathBuf,
    /// The most decoding steps (default: the envelope's cap, which a run within the declared
    /// bounds does not reach).
    #[arg(long)]
    max_steps: Option<usize>,
    /// The most memory the run may hold, in bytes (suffixes K, M, G, T: powers of 1024),
    /// checked against an estimate before the canvas grows past it.
    #[arg(long, default_value = "4G", value_parser = super::memory_size)]
    max_memory: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The largest envelope or canvas file read, in bytes (suffixes K, M, G: powers of 1024); a
    /// larger one is refused before it is read (exit 2).
    #[arg(long, default_value = "1G", value_parser = super::memory_size)]
    max_input_bytes: u64,
}

pub fn run(args: StepArgs) -> Result<ExitCode> {
    let read = |path: &Path, what: &str| {
        super::io::read_limited_text(path, args.max_input_bytes, what, "--max-input-bytes")
    };
    let envelope = Envelope::from_json(&read(&args.seq, "the envelope")?)
        .with_context(|| format!("{}", args.seq.display()))?;
    let file = CanvasFile::from_json(&read(&args.canvas, "the canvas file")?, &envelope)
        .with_context(|| format!("{}", args.canvas.display()))?;
    let max_steps = args.max_steps.unwrap_or(envelope.layout.caps.max_steps);
    if max_steps == 0 {
        bail!("--max-steps must be at least 1");
    }
    let r = run_envelope_within(
        &envelope,
        file.canvas,
        max_steps,
        Evaluator::Indexed,
        args.max_memory,
    )?;
    let decoded = match &r.decoded {
        Some(Ok(d)) => Some(d),
        _ => None,
    };
    let problem = match &r.decoded {
        None => Some(format!("the run stopped before a fixed point: {}", r.stop)),
        Some(Err(e)) => Some(e.to_string()),
        Some(Ok(_)) => None,
    };
    let mdm = envelope.target == Target::Mdm;
    if args.json {
        let mut out = json!({
            "format": FORMAT,
            "program": envelope.program,
            "target": envelope.target.name(),
            "n": envelope.n,
            "seed": file.seed,
            "stop": r.stop.label(),
            "fixed_point": r.stop == Stop::FixedPoint,
            "steps": r.steps,
            "context": r.context,
            "initial": r.initial,
            "operations": {
                "unmask": r.ops.unmask, "remask": r.ops.remask, "insert": r.ops.insert,
                "delete": r.ops.delete, "hold": r.ops.hold, "keep": r.ops.keep,
            },
            "outcome": decoded.map(|d| outcome_json(&d.outcome)),
            "output": decoded.map(|d| {
                d.output
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                    .collect::<serde_json::Map<_, _>>()
            }),
            "metrics": decoded.map(|d| json!({
                "rounds": d.metrics.rounds, "processors": d.metrics.processors,
                "work": d.metrics.work, "space": d.metrics.space,
            })),
            "problem": problem,
        });
        if mdm {
            out["context_used"] = json!(decoded.map(|d| d.context_used));
        }
        println!("{out}");
    } else {
        println!(
            "{} -> {} at n = {} (envelope format {FORMAT}, canvas seed {}): {}",
            envelope.program,
            envelope.target,
            envelope.n,
            file.seed,
            match (decoded.is_some(), r.stop == Stop::FixedPoint) {
                (true, true) => "fixed point reached",
                (true, false) => "stopped before a round past a declared bound",
                _ => "no result",
            }
        );
        println!(
            "{} decoding steps ({}), context {} positions (initial {}{})",
            r.steps,
            r.stop,
            r.context,
            r.initial,
            match decoded {
                Some(d) if mdm => format!(", used {}", d.context_used),
                _ => String::new(),
            }
        );
        println!(
            "operations: {} unmask, {} remask, {} insert, {} delete",
            r.ops.unmask, r.ops.remask, r.ops.insert, r.ops.delete
        );
        if let Some(d) = decoded {
            println!("outcome: {}", d.outcome);
            for (name, v) in &d.output {
                println!("{}", value_line(name, v));
            }
            let m = &d.metrics;
            println!(
                "final header: rounds T = {}, processors P = {}, work W = {}, space S = {}",
                m.rounds, m.processors, m.work, m.space
            );
        }
        if let Some(p) = &problem {
            println!("problem: {p}");
        }
    }
    Ok(if decoded.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `"ok"`, or the outcome's JSON object, as `apmdm run --json` writes it.
fn outcome_json(o: &Outcome) -> serde_json::Value {
    match o {
        Outcome::Ok => json!("ok"),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

/// `name = 3`, or `name = [1 2 3]` (the first 64 values, then `...`).
fn value_line(name: &str, v: &Value) -> String {
    match v {
        Value::Scalar(x) => format!("{name} = {x}"),
        Value::Array(xs) => {
            let shown: Vec<String> = xs.iter().take(64).map(i64::to_string).collect();
            let more = if xs.len() > 64 { " ..." } else { "" };
            format!("{name} = [{}{more}]", shown.join(" "))
        }
    }
}
