//! `apmdm eval parity`: decodes held-out strings with a trained checkpoint through `machine`'s
//! runner and reports accuracy, steps and stop reasons per length: over every string of a length
//! whose 2^L strings are no more than the count (exact), else over distinct drawn strings (with a
//! Wilson interval).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use apmdm::kernels::Cpu;
use apmdm::machine::{self, ModelClass, RunConfig, TraceText};
use apmdm::neural::checkpoint;
use apmdm::neural::{ArmStep, ConfidenceStep, ModelStep};
use apmdm::tasks::parity::{self, Eos, LengthResult, TestStrings};

use super::table::Table;
use super::train::{
    at_most, read_checkpoint, show_bytes, task_name, ModelKind, VariantArg, SELECTED,
};

/// Largest `--lengths` entry.
const MAX_LENGTH: usize = 100_000;
/// Largest `--count`.
const MAX_COUNT: usize = 1_000_000;
/// Largest `--show`.
const MAX_SHOW: usize = 100;

/// Options of `apmdm eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    task: EvalTask,
}

#[derive(Debug, Subcommand)]
enum EvalTask {
    /// Parity at long lengths: accuracy (exact over all strings of a short length, else with a
    /// Wilson 95% interval over distinct drawn strings), steps, stop reasons.
    Parity(ParityEvalArgs),
}

/// The trailing EOS of test strings, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EosArg {
    /// Drop it before decoding (the training transitions never contain EOS).
    Drop,
    /// Keep it; the answer is then read from `BOS EOS` / `BOS 1 EOS`.
    Keep,
}

/// Options of `apmdm eval parity`.
#[derive(Debug, Args)]
pub struct ParityEvalArgs {
    /// Model family of the checkpoint.
    #[arg(long, value_enum, default_value_t = ModelKind::ApMdm)]
    model: ModelKind,
    /// Training-set variant of the checkpoint (AP-MDM only).
    #[arg(long, value_enum, default_value_t = VariantArg::Halting)]
    variant: VariantArg,
    /// Checkpoint file (default: the selection `train` wrote, `runs/TASK/selected.ckpt`).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Input lengths (bits per string; at most 100000). Length 10,000 is opt-in: decoding takes
    /// about 1.5 L forward passes per string (4 s for 10 strings with the README's model on 2
    /// cores; a wider model takes longer).
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    lengths: Vec<usize>,
    /// Strings per length (default: 1000 below length 10,000, else 10). A length with no more
    /// than this many distinct strings (2^L) is evaluated on all of them, once each; otherwise
    /// this many distinct strings are drawn. At most 1000000.
    #[arg(long)]
    count: Option<usize>,
    /// Seed of the test strings (distinct from the validation seed used in training).
    #[arg(long, default_value_t = 2026)]
    test_seed: u64,
    /// What to do with the trailing EOS of the test strings (AP-MDM only; the ARM reads it).
    #[arg(long, value_enum, default_value_t = EosArg::Drop)]
    eos: EosArg,
    /// Also print the full traces of the first N test strings of the first length (AP-MDM; at
    /// most 100).
    #[arg(long, default_value_t = 0)]
    show: usize,
    /// Memory ceiling (test strings and one decoding buffer per worker), checked against an
    /// estimate before anything is built: bytes, or with K, M, G (powers of 1024).
    #[arg(long, default_value = "4GiB", value_parser = super::memory_size)]
    max_memory: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    task: &'static str,
    model: String,
    parameters: usize,
    checkpoint: PathBuf,
    trained_steps: u32,
    eos: Eos,
    step_cap: &'static str,
    results: Vec<LengthResult>,
    seconds: f64,
}

pub fn run(args: EvalArgs) -> Result<ExitCode> {
    match args.task {
        EvalTask::Parity(p) => eval_parity(p),
    }
}

fn eval_parity(a: ParityEvalArgs) -> Result<ExitCode> {
    if a.lengths.is_empty() || a.lengths.contains(&0) || a.count == Some(0) {
        bail!("--lengths must list lengths of at least 1 and --count must be at least 1");
    }
    for &length in &a.lengths {
        at_most("--lengths", length, MAX_LENGTH)?;
    }
    at_most("--count", a.count.unwrap_or(0), MAX_COUNT)?;
    at_most("--show", a.show, MAX_SHOW)?;
    let task = task_name(a.model, a.variant);
    let path = match a.checkpoint.clone() {
        Some(p) => p,
        None => {
            let dir = Path::new("runs").join(task);
            // `train` writes its selection to `selected.ckpt`; older builds left it as the one
            // `step-N.ckpt` at the top of the folder.
            let selected = dir.join(SELECTED);
            let found = if selected.exists() {
                Some(selected)
            } else {
                checkpoint::latest(&dir)?
            };
            found.with_context(|| {
                format!(
                    "no checkpoint in {}; run `apmdm train parity` first or pass --checkpoint",
                    dir.display()
                )
            })?
        }
    };
    let ck = read_checkpoint(&path, task)?;
    let model = &ck.trainer.model;
    let vocab = parity::vocabulary();
    if model.config.vocab != vocab.len() {
        bail!(
            "{}: the model has {} token ids, parity has {}",
            path.display(),
            model.config.vocab,
            vocab.len()
        );
    }
    // Memory before anything is drawn: each length's strings (a byte per bit and a vector
    // header, twice while distinct ones are drawn) and one decoding buffer per worker.
    let workers = rayon::current_num_threads() as u64;
    for &length in &a.lengths {
        let count = a.count.unwrap_or(if length >= 10_000 { 10 } else { 1000 }) as u64;
        let strings = 2 * count * (length as u64 + 48);
        let decode = model.config.decoding_bytes(length + 3).map(|b| b * workers);
        match decode.and_then(|d| d.checked_add(strings)) {
            Some(need) if need <= a.max_memory => {}
            need => bail!(
                "evaluating length {length} needs about {} (--lengths, --count), above \
                 --max-memory {}; lower them or raise --max-memory",
                need.map_or_else(|| "more than 2^64 bytes".to_string(), show_bytes),
                show_bytes(a.max_memory)
            ),
        }
    }
    // The header's flags must be the family's: a crafted or foreign file could carry a causal
    // flag in an AP-MDM checkpoint, which would decode under the wrong attention.
    let (causal, control) = (a.model == ModelKind::Arm, a.model == ModelKind::ApMdm);
    if model.config.causal != causal || model.config.control_head != control {
        let has = |flag: bool, yes: &str, no: &str| if flag { yes } else { no }.to_string();
        bail!(
            "{}: an {} checkpoint has {} attention and {}; this one has {} attention and {}",
            path.display(),
            a.model,
            has(causal, "causal", "bidirectional"),
            has(control, "the control head", "no control head"),
            has(model.config.causal, "causal", "bidirectional"),
            has(
                model.config.control_head,
                "the control head",
                "no control head"
            ),
        );
    }
    let eos = match a.eos {
        EosArg::Drop => Eos::Drop,
        EosArg::Keep => Eos::Keep,
    };
    if a.show > 0 && a.model == ModelKind::ApMdm && !a.json {
        let length = a.lengths[0];
        for bits in parity::strings(length, a.show, a.test_seed) {
            let mut f = ModelStep::new(model, Cpu::new(), &vocab);
            let config = RunConfig::new(ModelClass::ApMdm)
                .max_steps(parity::step_cap(length))
                .full_trace();
            let r = machine::run(&mut f, parity::canvas(&bits, eos), &config);
            let truth = if parity::parity(&bits) { "odd" } else { "even" };
            println!("input parity {truth}; stop: {}", r.stop);
            print!("{}", TraceText(&r.trace));
            println!();
        }
    }
    let start = Instant::now();
    let mut results = Vec::new();
    for &length in &a.lengths {
        let count = a.count.unwrap_or(if length >= 10_000 { 10 } else { 1000 });
        let inputs = TestStrings::new(length, count, a.test_seed);
        let r = match a.model {
            ModelKind::ApMdm => {
                // Inserts grow the canvas: it may reach what --max-memory affords, no further.
                let strings = 2 * count as u64 * (length as u64 + 48);
                let affordable = |seq: usize| {
                    model
                        .config
                        .decoding_bytes(seq)
                        .and_then(|b| b.checked_mul(workers))
                        .and_then(|d| d.checked_add(strings))
                        .is_some_and(|need| need <= a.max_memory)
                };
                let (mut lo, mut hi) = (length + 3, 1usize << 24);
                while lo < hi {
                    let mid = lo + (hi - lo).div_ceil(2);
                    if affordable(mid) {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                parity::evaluate_ap_mdm_within(
                    || ModelStep::new(model, Cpu::new(), &vocab),
                    &inputs,
                    eos,
                    lo,
                )
            }
            ModelKind::Arm => {
                parity::evaluate_arm(|| ArmStep::new(model, Cpu::new(), &vocab), &inputs)
            }
            ModelKind::Mdm => {
                parity::evaluate_mdm(|| ConfidenceStep::new(model, Cpu::new(), &vocab), &inputs)
            }
        };
        if !a.json {
            eprintln!(
                "length {length}: {}/{} correct ({:.1} s so far)",
                r.correct,
                r.count,
                start.elapsed().as_secs_f64()
            );
        }
        results.push(r);
    }
    let report = EvalReport {
        task: "parity",
        model: match a.model {
            ModelKind::ApMdm => task.to_string().replace("parity", "ap-mdm"),
            ModelKind::Arm => "arm".to_string(),
            ModelKind::Mdm => "mdm-confidence".to_string(),
        },
        parameters: model.parameter_count(),
        checkpoint: path,
        trained_steps: ck.header.step,
        // The baselines always read `BOS bits EOS`; only the AP-MDM's handling is an option.
        eos: if a.model == ModelKind::ApMdm {
            eos
        } else {
            Eos::Keep
        },
        step_cap: match a.model {
            ModelKind::ApMdm => "3L + 10",
            ModelKind::Arm => "1 (one answer token)",
            ModelKind::Mdm => "2 (one mask to fill, then the fixed point)",
        },
        results,
        seconds: start.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} ({} parameters, {} training steps) from {}; trailing EOS: {}; step cap {}",
            report.model,
            report.parameters,
            report.trained_steps,
            report.checkpoint.display(),
            match report.eos {
                Eos::Drop => "dropped",
                Eos::Keep => "kept",
            },
            report.step_cap
        );
        let mut t = Table::new(&[
            "length",
            "strings",
            "correct",
            "accuracy",
            "interval",
            "mean steps",
            "stops",
            "answers",
            "peak",
        ]);
        for r in &report.results {
            let stops: Vec<String> = r.stops.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let answers: Vec<String> = r.answers.iter().map(|(k, v)| format!("{k} {v}")).collect();
            t.row(vec![
                r.length.to_string(),
                r.strings.clone(),
                r.correct.to_string(),
                format!("{:.4}", r.accuracy),
                if r.interval == "exact" {
                    "exact (all strings)".to_string()
                } else {
                    format!("95% Wilson [{:.4}, {:.4}]", r.ci_low, r.ci_high)
                },
                format!("{:.1}", r.mean_steps),
                stops.join(", "),
                answers.join(", "),
                r.peak_length.to_string(),
            ]);
        }
        print!("{}", t.render());
        println!("({:.1} s)", report.seconds);
    }
    Ok(ExitCode::SUCCESS)
}
