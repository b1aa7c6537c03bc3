//! `apmdm bench train`: median wall time of full AP-MDM optimizer steps on random tokens.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use apmdm::kernels::{Backend, Cpu, Rng, Wgpu};
use apmdm::neural::{Example, Model, ModelConfig, TrainConfig, Trainer, MASK_ID};

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
}

#[derive(Debug, Serialize)]
struct Report {
    ms_per_step: f64,
    tokens_per_s: f64,
    parameters: usize,
    backend: String,
    steps: usize,
    all_ms: Vec<f64>,
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
    let mut all_ms = Vec::new();
    for i in 0..a.steps + 2 {
        let t = Instant::now();
        trainer.step_on(be, &refs)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if i >= 2 {
            all_ms.push(ms);
        }
        if !a.json {
            eprintln!(
                "step {}: {ms:.1} ms{}",
                i + 1,
                if i < 2 { " (warm-up)" } else { "" }
            );
        }
    }
    let mut sorted = all_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    let r = Report {
        ms_per_step: median,
        tokens_per_s: (a.batch * a.seq) as f64 / (median / 1e3),
        parameters,
        backend: be.name(),
        steps: a.steps,
        all_ms,
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
    }
    Ok(ExitCode::SUCCESS)
}
