//! `apmdm train parity`: trains AP-MDM (or ARM) parity models over seeds, checkpointing into
//! `runs/TASK/`, and selects the seed and checkpoint on held-out validation strings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use apmdm::kernels::{Backend, Cpu, Wgpu};
use apmdm::neural::checkpoint::{self, CheckpointError, Validation};
use apmdm::neural::{
    ArmStep, ConfidenceStep, Example, Model, ModelConfig, ModelStep, TrainConfig, Trainer,
};
use apmdm::tasks::parity::{self, Eos, Variant};

use super::table::Table;

/// Options of `apmdm train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(subcommand)]
    task: TrainTask,
}

#[derive(Debug, Subcommand)]
enum TrainTask {
    /// Parity: the 7 length-2 transitions (+ 2 terminal states), or the ARM baseline.
    Parity(ParityTrainArgs),
}

/// Which model family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Any-process MDM: bidirectional trunk with token and control heads.
    ApMdm,
    /// Autoregressive baseline: causal trunk, next-token head; reads `BOS bits EOS`, emits the answer.
    Arm,
    /// Plain MDM baseline: bidirectional trunk, token head; fills `BOS bits EOS M` under an
    /// outside confidence policy.
    Mdm,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::ApMdm => "AP-MDM",
            ModelKind::Arm => "ARM",
            ModelKind::Mdm => "MDM",
        })
    }
}

/// Where the kernels run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// The fast CPU backend (bitwise reproducible at a fixed thread count).
    Cpu,
    /// The wgpu backend (any adapter wgpu finds).
    Gpu,
}

/// The training-set variant, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum VariantArg {
    /// 7 transitions + terminal states `BOS`, `BOS 1` with zero controls (supervised halting).
    Halting,
    /// The paper's 7 transitions only.
    Paper,
}

impl VariantArg {
    pub fn variant(self) -> Variant {
        match self {
            VariantArg::Halting => Variant::Halting,
            VariantArg::Paper => Variant::Paper,
        }
    }
}

/// The checkpoint task name of a (model, variant) pair.
pub fn task_name(model: ModelKind, variant: VariantArg) -> &'static str {
    match model {
        ModelKind::Arm => "parity-arm",
        ModelKind::Mdm => "parity-mdm",
        ModelKind::ApMdm => variant.variant().task(),
    }
}

/// Options of `apmdm train parity`.
#[derive(Debug, Args)]
pub struct ParityTrainArgs {
    /// Model family.
    #[arg(long, value_enum, default_value_t = ModelKind::ApMdm)]
    model: ModelKind,
    /// Training set of the AP-MDM (ignored by the ARM).
    #[arg(long, value_enum, default_value_t = VariantArg::Halting)]
    variant: VariantArg,
    /// Blocks (default: 1 for the AP-MDM, as in the paper; 2 for the ARM; at most 64).
    #[arg(long)]
    layers: Option<usize>,
    /// Heads (default: 1 for the AP-MDM; 2 for the ARM; at most 64).
    #[arg(long)]
    heads: Option<usize>,
    /// Width (default: 4 for the AP-MDM, as in the paper; 32 for the ARM; at most 4096).
    #[arg(long)]
    width: Option<usize>,
    /// Optimizer steps per seed.
    #[arg(long, default_value_t = 1000)]
    steps: u32,
    /// Peak learning rate (default: 1e-2 for the AP-MDM, as in the paper; 1e-3 for the ARM).
    #[arg(long)]
    lr: Option<f32>,
    /// Warm-up steps.
    #[arg(long, default_value_t = 250)]
    warmup: u32,
    /// Examples per step (default: 256 for the AP-MDM, as in the paper; 64 for the ARM; at most
    /// 65536).
    #[arg(long)]
    batch: Option<usize>,
    /// Model seeds to train (comma-separated); the best on validation is selected.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Checkpoint and validate every this many steps (and at the end).
    #[arg(long, default_value_t = 250)]
    eval_every: u32,
    /// Seed of the validation strings (tests use a different seed; never select on them).
    #[arg(long, default_value_t = 1_000_003)]
    val_seed: u64,
    /// Validation strings per length (AP-MDM: lengths 3..=20; ARM: 2..=100 in steps of 7; at
    /// most 100000).
    #[arg(long, default_value_t = 8)]
    val_count: usize,
    /// Baseline (ARM, MDM) training strings (lengths 2..=--max-train-length; at most 1000000).
    #[arg(long, default_value_t = 20_000)]
    arm_strings: usize,
    /// Longest baseline training string (the paper's setting is 100; shorter shows where a
    /// baseline that does learn stops generalizing; at most 10000).
    #[arg(long, default_value_t = 100)]
    max_train_length: usize,
    /// Output folder (default `runs/TASK`); per-seed checkpoints go to `OUT/seed-S/`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue each seed from its latest checkpoint instead of starting over.
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Replace a run already in the output folder: its checkpoints and selection are removed
    /// first (without this or --resume, an existing run is refused).
    #[arg(long)]
    overwrite: bool,
    /// Memory ceiling of a training step (model, optimizer state, activations, data),
    /// checked against an estimate before anything is built: bytes, or with K, M, G (powers of
    /// 1024, `iB` optional).
    #[arg(long, default_value = "4GiB", value_parser = super::memory_size)]
    max_memory: u64,
    /// Testing hook: stop as if killed once this process has taken this many optimizer steps
    /// (after that step's checkpoint, if any, is written; before selection when it is the last).
    #[arg(long, hide = true)]
    stop_after_steps: Option<u64>,
    /// Kernel backend.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: TrainArgs) -> Result<ExitCode> {
    match args.task {
        TrainTask::Parity(p) => match p.device {
            Device::Cpu => train_parity(&Cpu::new(), p),
            Device::Gpu => {
                let gpu = Wgpu::new().context("--device gpu: wgpu found no adapter")?;
                train_parity(&gpu, p)
            }
        },
    }
}

#[derive(Debug, Serialize)]
struct Candidate {
    seed: u64,
    step: u32,
    loss: f32,
    val_correct: usize,
    val_count: usize,
    checkpoint: PathBuf,
}

#[derive(Debug, Serialize)]
struct TrainReport {
    task: &'static str,
    model: ModelKind,
    parameters: usize,
    config: ModelConfig,
    train: TrainConfig,
    training_examples: usize,
    candidates: Vec<Candidate>,
    selected: PathBuf,
    seconds: f64,
}

/// The validation strings: AP-MDM lengths 3..=20; ARM lengths 2..=100 in steps of 7.
fn validation_lengths(model: ModelKind) -> Vec<usize> {
    match model {
        ModelKind::ApMdm => (3..=20).collect(),
        ModelKind::Arm | ModelKind::Mdm => (2..=100).step_by(7).collect(),
    }
}

/// Correct answers on the validation strings (decoding always on the cpu backend).
fn validate(model: &Model, kind: ModelKind, seed: u64, count: usize) -> (usize, usize) {
    let vocab = parity::vocabulary();
    let mut correct = 0;
    let mut total = 0;
    for length in validation_lengths(kind) {
        // Validation keeps its independent draws (repeats included), so model selection is
        // what it was; the test evaluation (`eval`) decodes distinct strings.
        let inputs = parity::TestStrings::with_repeats(length, count, seed);
        let r = match kind {
            ModelKind::ApMdm => parity::evaluate_ap_mdm(
                || ModelStep::new(model, Cpu::new(), &vocab),
                &inputs,
                Eos::Drop,
            ),
            ModelKind::Arm => {
                parity::evaluate_arm(|| ArmStep::new(model, Cpu::new(), &vocab), &inputs)
            }
            ModelKind::Mdm => {
                parity::evaluate_mdm(|| ConfidenceStep::new(model, Cpu::new(), &vocab), &inputs)
            }
        };
        correct += r.correct;
        total += r.count;
    }
    (correct, total)
}

/// Largest `--layers` of `train` and `bench train`.
pub const MAX_LAYERS: usize = 64;
/// Largest `--heads`.
pub const MAX_HEADS: usize = 64;
/// Largest `--width`.
pub const MAX_WIDTH: usize = 4096;
/// Largest `--batch`.
pub const MAX_BATCH: usize = 65_536;
/// Largest `--arm-strings`.
const MAX_ARM_STRINGS: usize = 1_000_000;
/// Largest `--max-train-length`.
const MAX_TRAIN_LENGTH: usize = 10_000;
/// Largest `--val-count`.
const MAX_VAL_COUNT: usize = 100_000;

/// Refuses a size option above its documented maximum, naming the option and the limit.
pub fn at_most(option: &str, value: usize, max: usize) -> Result<()> {
    if value > max {
        bail!("{option} {value} is above its limit of {max}");
    }
    Ok(())
}

/// A byte count for people: `4.0 GiB`, `512.0 MiB`, `900 B`.
pub fn show_bytes(n: u64) -> String {
    apmdm::compile::memory::bytes(n)
}

/// Refuses a training step whose estimated memory is above `--max-memory`, naming the options
/// that size it.
pub fn check_training_memory(
    config: &ModelConfig,
    batch: usize,
    seq: usize,
    extra: u64,
    max_memory: u64,
    options: &str,
) -> Result<()> {
    let need = config
        .training_bytes(batch, seq)
        .and_then(|b| b.checked_add(extra));
    match need {
        Some(need) if need <= max_memory => Ok(()),
        _ => bail!(
            "training needs about {} ({options}), above --max-memory {}; lower them or raise \
             --max-memory",
            need.map_or_else(|| "more than 2^64 bytes".to_string(), show_bytes),
            show_bytes(max_memory)
        ),
    }
}

/// Reads a checkpoint of `task`; the error names the file once (an OS error or a mismatch
/// already carries its path, every other problem gets it in front).
pub fn read_checkpoint(path: &Path, task: &str) -> Result<checkpoint::Checkpoint> {
    checkpoint::load_for(path, task).map_err(|e| match e {
        CheckpointError::Io { .. } | CheckpointError::Mismatch(_) => anyhow::Error::new(e),
        other => anyhow::anyhow!("{}: {other}", path.display()),
    })
}

/// The file `train` writes the selected checkpoint to, at the top of the output folder.
pub const SELECTED: &str = "selected.ckpt";

/// The checkpoints of a run already in `out`: the selection (and, from older builds, a selected
/// `step-N.ckpt` at the top) and every `seed-S/step-N.ckpt`.
fn existing_run(out: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = checkpoint::list(out)?.into_iter().map(|(_, p)| p).collect();
    if out.join(SELECTED).exists() {
        found.push(out.join(SELECTED));
    }
    for dir in seed_dirs(out)? {
        found.extend(checkpoint::list(&dir)?.into_iter().map(|(_, p)| p));
    }
    Ok(found)
}

/// The `seed-S` folders of `out` (none when `out` does not exist).
fn seed_dirs(out: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", out.display())),
    };
    let mut dirs = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("reading {}", out.display()))?;
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("seed-") && e.path().is_dir() {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Removes a previous run's checkpoints and selection from `out` (for `--overwrite`).
fn clear_run(out: &Path) -> Result<()> {
    for dir in seed_dirs(out)? {
        checkpoint::remove_all(&dir)?;
    }
    let selected = out.join(SELECTED);
    if selected.exists() {
        std::fs::remove_file(&selected)
            .with_context(|| format!("removing the old selection {}", selected.display()))?;
    }
    checkpoint::remove_all(out)?;
    Ok(())
}

fn train_parity<B: Backend>(be: &B, a: ParityTrainArgs) -> Result<ExitCode> {
    if a.max_train_length < 2 || a.arm_strings == 0 {
        bail!("--max-train-length must be at least 2 and --arm-strings at least 1");
    }
    if a.seeds.is_empty() || a.steps == 0 || a.eval_every == 0 {
        bail!("--seeds must name at least one seed; --steps and --eval-every must be at least 1");
    }
    if let Some(lr) = a.lr.filter(|lr| !(lr.is_finite() && *lr >= 0.0)) {
        bail!("--lr must be a finite number of at least 0 (got {lr})");
    }
    for (option, value, max) in [
        ("--layers", a.layers, MAX_LAYERS),
        ("--heads", a.heads, MAX_HEADS),
        ("--width", a.width, MAX_WIDTH),
        ("--batch", a.batch, MAX_BATCH),
        ("--arm-strings", Some(a.arm_strings), MAX_ARM_STRINGS),
        (
            "--max-train-length",
            Some(a.max_train_length),
            MAX_TRAIN_LENGTH,
        ),
        ("--val-count", Some(a.val_count), MAX_VAL_COUNT),
    ] {
        at_most(option, value.unwrap_or(0), max)?;
    }
    // The ARM and the plain MDM share defaults (the baselines); the AP-MDM has the paper's.
    let arm = a.model != ModelKind::ApMdm;
    let task = task_name(a.model, a.variant);
    let (layers, heads, width) = (
        a.layers.unwrap_or(2),
        a.heads.unwrap_or(2),
        a.width.unwrap_or(32),
    );
    let config = if a.model == ModelKind::Arm {
        ModelConfig::arm(5, layers, heads, width)
    } else if a.model == ModelKind::Mdm {
        ModelConfig::mdm(5, layers, heads, width)
    } else {
        ModelConfig::ap_mdm(
            5,
            a.layers.unwrap_or(1),
            a.heads.unwrap_or(1),
            a.width.unwrap_or(4),
        )
    };
    config.validate()?;
    let batch = a.batch.unwrap_or(if arm { 64 } else { 256 });
    // The longest training sequence: `BOS bits EOS` (+ the mask of the plain MDM); the
    // AP-MDM's transitions are a few tokens. The baselines' data is held as u32 ids and
    // optional u32 targets (12 bytes a position) plus a vector header per field.
    let (seq, data_bytes) = if arm {
        let seq = a.max_train_length + 3;
        (seq, (a.arm_strings as u64) * (12 * seq as u64 + 72))
    } else {
        (8, 0)
    };
    let losses = 4 * u64::from(a.steps);
    check_training_memory(
        &config,
        batch,
        seq,
        data_bytes + losses,
        a.max_memory,
        "--layers, --width, --batch, --max-train-length, --arm-strings, --steps",
    )?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(task));
    let existing = existing_run(&out)?;
    if !existing.is_empty() && !a.resume {
        if !a.overwrite {
            bail!(
                "{} already holds a training run ({} checkpoints); pass --resume to continue it \
                 or --overwrite to replace it",
                out.display(),
                existing.len()
            );
        }
        clear_run(&out)?;
    }
    let data: Vec<Example> = if a.model == ModelKind::Arm {
        parity::arm_examples(a.arm_strings, 2, a.max_train_length, 0x05EE_DA11)
    } else if a.model == ModelKind::Mdm {
        parity::mdm_examples(a.arm_strings, 2, a.max_train_length, 0x05EE_DA11)
    } else {
        parity::training_examples(a.variant.variant())
    };
    let start = Instant::now();
    let train_config = |seed| TrainConfig {
        lr: a.lr.unwrap_or(if arm { 1e-3 } else { 1e-2 }),
        warmup: a.warmup,
        weight_decay: 0.01,
        batch,
        clip: 1.0,
        seed,
    };
    let score = |model: &Model| {
        let (correct, count) = validate(model, a.model, a.val_seed, a.val_count);
        Validation {
            seed: a.val_seed,
            per_length: a.val_count,
            correct,
            count,
        }
    };
    // Optimizer steps taken by this process, for the --stop-after-steps hook.
    let mut taken: u64 = 0;
    let stopped = |taken: u64| -> Result<ExitCode> {
        eprintln!(
            "stopped after {taken} optimizer steps (--stop-after-steps); --resume continues the run"
        );
        Ok(ExitCode::SUCCESS)
    };
    for &seed in &a.seeds {
        let train = train_config(seed);
        let dir = out.join(format!("seed-{seed}"));
        let latest = if a.resume {
            checkpoint::latest(&dir)?
        } else {
            None
        };
        let mut trainer = match latest {
            Some(path) => {
                let ck = read_checkpoint(&path, task)?;
                if ck.header.model != config || ck.header.train != train {
                    bail!(
                        "{} was trained with another model or optimizer config; \
                         rerun with the same options, or with --overwrite to start over",
                        path.display()
                    );
                }
                if ck.header.step > a.steps {
                    bail!(
                        "{} is already at step {}, past --steps {}; pass --steps {} or more to \
                         continue, or --overwrite to start over",
                        path.display(),
                        ck.header.step,
                        a.steps,
                        ck.header.step
                    );
                }
                ck.trainer
            }
            None => Trainer::new(Model::new(config.clone(), seed)?, train)?,
        };
        let bar = progress(a.steps, seed, a.json);
        bar.set_position(u64::from(trainer.step));
        while trainer.step < a.steps {
            if a.stop_after_steps == Some(taken) {
                bar.finish_and_clear();
                return stopped(taken);
            }
            let r = trainer.train_step(be, &data)?;
            taken += 1;
            bar.set_position(u64::from(r.step));
            bar.set_message(format!("{:.5}", r.loss));
            if r.step % a.eval_every == 0 || r.step == a.steps {
                // Scored before it is written, so the file carries its own validation result
                // and a later process selects among every checkpoint without rescoring.
                let validation = score(&trainer.model);
                checkpoint::save(&dir, task, &trainer, Some(&validation))?;
            }
        }
        bar.finish_and_clear();
    }
    if a.stop_after_steps == Some(taken) {
        return stopped(taken);
    }
    // Selection over every checkpoint of every seed on disk, whichever process wrote it, so an
    // interrupted and resumed run selects exactly what an uninterrupted one does.
    let mut candidates = Vec::new();
    for &seed in &a.seeds {
        let dir = out.join(format!("seed-{seed}"));
        for (_, path) in checkpoint::list(&dir)? {
            let ck = read_checkpoint(&path, task)?;
            if ck.header.model != config || ck.header.train != train_config(seed) {
                bail!(
                    "{} was trained with another model or optimizer config than this run; \
                     rerun with --overwrite to start over",
                    path.display()
                );
            }
            // A version 1 checkpoint has no recorded result, and one scored on other
            // validation strings is not comparable: score those now.
            let validation = match ck.header.validation {
                Some(v) if v.seed == a.val_seed && v.per_length == a.val_count => v,
                _ => score(&ck.trainer.model),
            };
            candidates.push(Candidate {
                seed,
                step: ck.header.step,
                loss: *ck.trainer.losses.last().unwrap_or(&f32::NAN),
                val_correct: validation.correct,
                val_count: validation.count,
                checkpoint: path,
            });
        }
    }
    // Best validation accuracy; ties go to the lower loss, then the earlier candidate.
    let best = candidates
        .iter()
        .enumerate()
        .min_by(|(i, x), (j, y)| {
            y.val_correct
                .cmp(&x.val_correct)
                .then(x.loss.total_cmp(&y.loss))
                .then(i.cmp(j))
        })
        .map(|(_, c)| c)
        .with_context(|| format!("{} holds no checkpoint to select", out.display()))?;
    let chosen = read_checkpoint(&best.checkpoint, task)?;
    let validation = Validation {
        seed: a.val_seed,
        per_length: a.val_count,
        correct: best.val_correct,
        count: best.val_count,
    };
    // The new selection replaces the old one by one rename (never a moment without one); a
    // selected `step-N.ckpt` an older build left at the top is removed after that.
    let selected = out.join(SELECTED);
    checkpoint::save_as(&selected, task, &chosen.trainer, Some(&validation))?;
    checkpoint::remove_all(&out)?;
    let report = TrainReport {
        task,
        model: a.model,
        parameters: config.parameter_count(),
        config,
        train: chosen.header.train.clone(),
        training_examples: data.len(),
        candidates,
        selected,
        seconds: start.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn progress(steps: u32, seed: u64, hidden: bool) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(steps));
    bar.set_draw_target(if hidden {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "seed {seed} [{{bar:30}}] {{pos}}/{{len}} loss {{msg}} {{per_sec}} eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn print_report(r: &TrainReport) {
    println!(
        "task {}  model {}  parameters {}  ({} layers x {} heads x width {}, vocab {})",
        r.task,
        r.model,
        r.parameters,
        r.config.layers,
        r.config.heads,
        r.config.width,
        r.config.vocab
    );
    println!(
        "training examples {}  lr {}  batch {}  warm-up {}  ({:.1} s)",
        r.training_examples, r.train.lr, r.train.batch, r.train.warmup, r.seconds
    );
    let mut t = Table::new(&["seed", "step", "loss", "validation", "checkpoint"]);
    for c in &r.candidates {
        t.row(vec![
            c.seed.to_string(),
            c.step.to_string(),
            format!("{:.3e}", c.loss),
            format!("{}/{}", c.val_correct, c.val_count),
            c.checkpoint.display().to_string(),
        ]);
    }
    print!("{}", t.render());
    println!("selected: {}", r.selected.display());
}
