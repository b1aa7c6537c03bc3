//! `apmdm bench train`: median wall time and process CPU time of full AP-MDM optimizer steps on
//! random tokens; with `--profile`, the time of every kernel op (`bench_profile`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use apmdm::kernels::{Backend, Cpu, Rng, Wgpu};
use apmdm::neural::{Example, Model, ModelConfig, TrainConfig, Trainer, MASK_ID};

use super::bench_profile::{process_cpu_ns, OpStat, Profiled};
use super::train::{
    at_most, check_training_memory, Device, MAX_BATCH, MAX_HEADS, MAX_LAYERS, MAX_WIDTH,
};

/// Options of `apmdm bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// Blocks (at most 64).
    #[arg(long, default_value_t = 4)]
    layers: usize,
    /// Attention heads (at most 64).
    #[arg(long, default_value_t = 2)]
    heads: usize,
    /// Model width (at most 4096).
    #[arg(long, default_value_t = 128)]
    width: usize,
    /// Vocabulary size (id 0 is the mask; at most 1000000).
    #[arg(long, default_value_t = 34)]
    vocab: usize,
    /// Sequence length (no padding; at most 100000).
    #[arg(long, default_value_t = 324)]
    seq: usize,
    /// Sequences per step (at most 65536).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Timed steps (after 2 warm-up steps; at most 1000000).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Kernel backend.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    device: Device,
    /// Memory ceiling of a step (model, optimizer state, activations, data), checked against an
    /// estimate before anything is built: bytes, or with K, M, G (powers of 1024).
    #[arg(long, default_value = "4GiB", value_parser = super::memory_size)]
    max_memory: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Also time every kernel op of the timed steps (wall and process CPU time, GFLOP/s where
    /// the op has a flop count); the per-op clock reads add a little to each step.
    #[arg(long)]
    profile: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    ms_per_step: f64,
    tokens_per_s: f64,
    parameters: usize,
    backend: String,
    steps: usize,
    all_ms: Vec<f64>,
    /// Median process CPU time (all threads) per step; absent where /proc is not readable.
    cpu_ms_per_step: Option<f64>,
    all_cpu_ms: Vec<f64>,
    /// Per-op times over the timed steps, with `--profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<Vec<OpStat>>,
}

pub fn run(a: TrainBenchArgs) -> Result<ExitCode> {
    match a.device {
        Device::Cpu => bench(&Cpu::new(), a),
        Device::Gpu => bench(
            &Wgpu::new().context("--device gpu: wgpu found no adapter")?,
            a,
        ),
    }
}

/// Random examples: uniform ids (about 1 in `vocab` a mask), a random target token at every
/// mask, random control bits everywhere, so both loss terms carry gradient.
fn random_examples(cfg: &ModelConfig, batch: usize, seq: usize, seed: u64) -> Vec<Example> {
    let mut rng = Rng::new(seed);
    let v = cfg.vocab;
    (0..batch)
        .map(|_| {
            let ids: Vec<u32> = (0..seq).map(|_| rng.range(0, v - 1) as u32).collect();
            let targets = ids
                .iter()
                .map(|&id| (id == MASK_ID).then(|| rng.range(1, v - 1) as u32))
                .collect();
            let bits = (0..seq)
                .map(|_| [rng.unit() < 0.1, rng.unit() < 0.1, rng.unit() < 0.1])
                .collect();
            Example { ids, targets, bits }
        })
        .collect()
}

/// The median of a non-empty list (the mean of the middle two for an even count).
fn median(xs: &[f64]) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn bench<B: Backend>(be: &B, a: TrainBenchArgs) -> Result<ExitCode> {
    if a.steps == 0 || a.batch == 0 || a.seq == 0 {
        bail!("--steps, --batch and --seq must be at least 1");
    }
    for (option, value, max) in [
        ("--layers", a.layers, MAX_LAYERS),
        ("--heads", a.heads, MAX_HEADS),
        ("--width", a.width, MAX_WIDTH),
        ("--vocab", a.vocab, 1_000_000),
        ("--seq", a.seq, 100_000),
        ("--batch", a.batch, MAX_BATCH),
        ("--steps", a.steps, 1_000_000),
    ] {
        at_most(option, value, max)?;
    }
    let cfg = ModelConfig::ap_mdm(a.vocab, a.layers, a.heads, a.width);
    cfg.validate()?;
    // The random examples: ids, optional targets and bits, about 20 bytes a position.
    let data = (a.batch * a.seq) as u64 * 20;
    check_training_memory(
        &cfg,
        a.batch,
        a.seq,
        data,
        a.max_memory,
        "--layers, --width, --vocab, --seq, --batch",
    )?;
    let model = Model::new(cfg.clone(), 1)?;
    let parameters = model.parameter_count();
    let data = random_examples(&cfg, a.batch, a.seq, 7);
    let refs: Vec<&Example> = data.iter().collect();
    let mut trainer = Trainer::new(model, TrainConfig::paper(1))?;
    let profiler = Profiled::new(be);
    profiler.record(false);
    let mut all_ms = Vec::new();
    let mut all_cpu_ms = Vec::new();
    for i in 0..a.steps + 2 {
        profiler.record(a.profile && i >= 2);
        let (c0, t) = (process_cpu_ns(), Instant::now());
        if a.profile {
            trainer.step_on(&profiler, &refs)?;
        } else {
            trainer.step_on(be, &refs)?;
        }
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let cpu_ms = match (c0, process_cpu_ns()) {
            (Some(c0), Some(c1)) => Some(c1.saturating_sub(c0) as f64 / 1e6),
            _ => None,
        };
        if i >= 2 {
            all_ms.push(ms);
            all_cpu_ms.extend(cpu_ms);
        }
        if !a.json {
            eprintln!(
                "step {}: {ms:.1} ms, CPU {}{}",
                i + 1,
                cpu_ms.map_or("unknown".into(), |c| format!("{c:.1} ms")),
                if i < 2 { " (warm-up)" } else { "" }
            );
        }
    }
    let median_ms = median(&all_ms);
    let cpu_ms_per_step = (all_cpu_ms.len() == all_ms.len()).then(|| median(&all_cpu_ms));
    let r = Report {
        ms_per_step: median_ms,
        tokens_per_s: (a.batch * a.seq) as f64 / (median_ms / 1e3),
        parameters,
        backend: be.name(),
        steps: a.steps,
        all_ms,
        cpu_ms_per_step,
        all_cpu_ms,
        profile: a.profile.then(|| profiler.rows()),
    };
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} x {} heads x width {}, vocab {}, batch {} x seq {}: {} parameters",
            a.layers, a.heads, a.width, a.vocab, a.batch, a.seq, r.parameters
        );
        println!(
            "{}: median {:.1} ms per optimizer step over {} steps, {:.0} tokens/s",
            r.backend, r.ms_per_step, r.steps, r.tokens_per_s
        );
        if let Some(cpu) = r.cpu_ms_per_step {
            println!("process CPU time (all threads): median {cpu:.1} ms per step");
        }
        if let Some(rows) = &r.profile {
            let wall_total: f64 = r.all_ms.iter().sum();
            let cpu_total = r.cpu_ms_per_step.map(|_| r.all_cpu_ms.iter().sum::<f64>());
            print_profile(rows, r.steps, wall_total, cpu_total);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The per-op table: per step, sorted by CPU time, with the time outside kernel ops (head
/// splits and merges, loss bookkeeping, the trainer's loops) as the last row.
/// GFLOP/s is over wall time; GFLOP per CPU-second is per core busy (under other load it is the
/// steadier of the two).
/// The last row is step time (mean) minus the ops' time.
fn print_profile(rows: &[OpStat], steps: usize, wall_total: f64, cpu_total: Option<f64>) {
    let per = steps as f64;
    let mut rows: Vec<&OpStat> = rows.iter().collect();
    rows.sort_by(|a, b| b.cpu_ms.total_cmp(&a.cpu_ms));
    println!(
        "{:<22} {:<30} {:>5} {:>8} {:>8} {:>7} {:>8} {:>10}",
        "op", "shape", "calls", "wall ms", "CPU ms", "GFLOP", "GFLOP/s", "GFLOP/CPUs"
    );
    let (mut wall_ops, mut cpu_ops) = (0.0, 0.0);
    for s in rows {
        wall_ops += s.wall_ms / per;
        cpu_ops += s.cpu_ms / per;
        let gflop = s.flop.map(|f| f / per / 1e9);
        let rate = |ms: f64| gflop.map_or("-".into(), |g| format!("{:.1}", g / (ms / per / 1e3)));
        println!(
            "{:<22} {:<30} {:>5} {:>8.1} {:>8.1} {:>7} {:>8} {:>10}",
            s.op,
            s.shape,
            s.calls as f64 / per,
            s.wall_ms / per,
            s.cpu_ms / per,
            gflop.map_or("-".into(), |g| format!("{g:.2}")),
            rate(s.wall_ms),
            rate(s.cpu_ms),
        );
    }
    println!(
        "{:<22} {:<30} {:>5} {:>8.1} {:>8}",
        "outside kernel ops",
        "",
        "",
        wall_total / per - wall_ops,
        cpu_total.map_or("-".into(), |c| format!("{:.1}", c / per - cpu_ops)),
    );
}
