//! `apmdm bench`: wall-clock benchmarks (never tests). `bench kernels` times matmul per backend next
//! to a bare call of the `gemm` crate, and fused attention against its matmul-bound time.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

use apmdm::kernels::ops::{self, AttentionGrads, AttentionSaved};
use apmdm::kernels::{Backend, Cpu, Reference, Rng, Tensor, Wgpu};

use super::table::Table;

/// Options of `apmdm bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Matmul GFLOP/s per backend vs the bare gemm crate, and attention throughput.
    Kernels(KernelsArgs),
    /// Full optimizer steps of an AP-MDM (forward, both losses, backward, clip, AdamW).
    Train(super::bench_train::TrainBenchArgs),
    /// Compiled MDM and AP-MDM schedules: position-steps per second and column bytes per
    /// position.
    Schedules(super::bench_schedules::SchedulesArgs),
}

/// Options of `apmdm bench kernels`.
#[derive(Debug, Args)]
pub struct KernelsArgs {
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Largest square matmul size (sizes double from 64).
    #[arg(long, default_value_t = 2048)]
    max_matmul: usize,
    /// Longest attention sequence (lengths double from 128).
    #[arg(long, default_value_t = 4096)]
    max_seq: usize,
    /// Minimum time spent on each measurement, in milliseconds (repeats until reached).
    #[arg(long, default_value_t = 300)]
    min_ms: u64,
    /// Skip the wgpu backend even when an adapter is available.
    #[arg(long)]
    no_wgpu: bool,
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    match args.what {
        BenchCommand::Kernels(k) => kernels(k),
        BenchCommand::Train(t) => super::bench_train::run(t),
        BenchCommand::Schedules(a) => super::bench_schedules::run(a),
    }
}

/// The reference backend is plain loops: beyond this size one product takes minutes.
const REFERENCE_MAX: usize = 256;
/// On llvmpipe (a CPU rasterizer) the wgpu kernels are slow and copy in and out on every op.
const WGPU_MAX: usize = 256;
/// Attention shape used at every length: one sequence, 4 heads of width 64 (d_model 256).
const HEADS: usize = 4;
const HEAD_DIM: usize = 64;

#[derive(Debug, Serialize)]
struct MatmulRow {
    size: usize,
    bare_gemm_gflops: f64,
    cpu_gflops: f64,
    cpu_vs_bare: f64,
    reference_gflops: Option<f64>,
    wgpu_gflops: Option<f64>,
}

#[derive(Debug, Serialize)]
struct AttentionRow {
    seq: usize,
    forward_ms: f64,
    forward_gflops: f64,
    forward_vs_matmul_bound: f64,
    backward_ms: f64,
    backward_gflops: f64,
    backward_vs_matmul_bound: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    threads: usize,
    backend: String,
    wgpu_adapter: Option<String>,
    matmul: Vec<MatmulRow>,
    attention: Vec<AttentionRow>,
    matmul_bound_gflops: f64,
    note: &'static str,
}

/// Mean seconds per call of `f`, after one warm-up call, repeating until `min` has passed.
fn time(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut reps = 0u32;
    while reps == 0 || start.elapsed() < min {
        f();
        reps += 1;
    }
    start.elapsed().as_secs_f64() / reps as f64
}

/// c = a · b through `gemm::gemm` directly, with no wrapper: the ceiling the cpu backend aims at.
#[allow(unsafe_code)]
fn bare_gemm(n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    // SAFETY: all three slices hold exactly n × n row-major elements (asserted above) and `c` is
    // borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            n as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        )
    }
}

fn sizes(from: usize, to: usize) -> Vec<usize> {
    std::iter::successors(Some(from), |&s| Some(s * 2))
        .take_while(|&s| s <= to)
        .collect()
}

fn kernels(args: KernelsArgs) -> Result<ExitCode> {
    let min = Duration::from_millis(args.min_ms);
    let cpu = Cpu::new();
    let gpu = if args.no_wgpu { None } else { Wgpu::new() };
    let mut rng = Rng::new(0);
    let mut matmul = Vec::new();
    for n in sizes(64, args.max_matmul) {
        let flops = 2.0 * (n * n * n) as f64;
        let a = Tensor::random(&[1, n, n], &mut rng, 1.0);
        let b = Tensor::random(&[1, n, n], &mut rng, 1.0);
        let mut c = Tensor::zeros(&[1, n, n]);
        let bare = time(min, || bare_gemm(n, a.data(), b.data(), c.data_mut()));
        let fast = time(min, || {
            ops::matmul_forward(&cpu, &a, &b, &mut c).expect("shapes match")
        });
        let reference = (n <= REFERENCE_MAX).then(|| {
            let t = time(min, || {
                ops::matmul_forward(&Reference, &a, &b, &mut c).expect("shapes match")
            });
            flops / t / 1e9
        });
        let wgpu = gpu.as_ref().filter(|_| n <= WGPU_MAX).map(|g| {
            let t = time(min, || {
                ops::matmul_forward(g, &a, &b, &mut c).expect("shapes match")
            });
            flops / t / 1e9
        });
        matmul.push(MatmulRow {
            size: n,
            bare_gemm_gflops: flops / bare / 1e9,
            cpu_gflops: flops / fast / 1e9,
            cpu_vs_bare: bare / fast,
            reference_gflops: reference,
            wgpu_gflops: wgpu,
        });
    }
    // The matmul-bound rate: the best bare-gemm rate seen at sizes >= 256 (or overall if none).
    let bound = matmul
        .iter()
        .filter(|r| r.size >= 256)
        .chain(matmul.iter())
        .map(|r| r.bare_gemm_gflops)
        .fold(0.0, f64::max);
    let mut attention = Vec::new();
    for seq in sizes(128, args.max_seq) {
        attention.push(attention_row(&cpu, seq, bound, min, &mut rng));
    }
    let report = Report {
        threads: rayon::current_num_threads(),
        backend: cpu.name(),
        wgpu_adapter: gpu.as_ref().map(|g| g.adapter().to_string()),
        matmul,
        attention,
        matmul_bound_gflops: bound,
        note: "reference and wgpu matmul only up to 256; wgpu times include upload and read-back \
               (the backend copies host slices in and out on every op); attention is cpu only",
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_tables(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn attention_row(cpu: &Cpu, seq: usize, bound: f64, min: Duration, rng: &mut Rng) -> AttentionRow {
    let shape = [1, HEADS, seq, HEAD_DIM];
    let (q, k, v) = (
        Tensor::random(&shape, rng, 1.0),
        Tensor::random(&shape, rng, 1.0),
        Tensor::random(&shape, rng, 1.0),
    );
    let dout = Tensor::random(&shape, rng, 1.0);
    let mask = vec![true; seq];
    let mut out = Tensor::zeros(&shape);
    let mut lse = Tensor::zeros(&[1, HEADS, seq]);
    let (mut dq, mut dk, mut dv) = (
        Tensor::zeros(&shape),
        Tensor::zeros(&shape),
        Tensor::zeros(&shape),
    );
    let fwd = time(min, || {
        ops::attention_forward(cpu, &q, &k, &v, &mask, false, &mut out, &mut lse)
            .expect("shapes match")
    });
    let bwd = time(min, || {
        let saved = AttentionSaved {
            out: &out,
            lse: &lse,
        };
        let grads = AttentionGrads {
            dq: &mut dq,
            dk: &mut dk,
            dv: &mut dv,
        };
        ops::attention_backward(cpu, &q, &k, &v, &mask, false, saved, &dout, grads)
            .expect("shapes match")
    });
    // Forward: q kᵀ and p v, 2 · seq² · head_dim flops each per head. Backward: the recomputed
    // q kᵀ plus dout vᵀ, pᵀ dout, ds k and dsᵀ q: five such products.
    let product = 2.0 * (HEADS * seq * seq * HEAD_DIM) as f64;
    let (fwd_flops, bwd_flops) = (2.0 * product, 5.0 * product);
    AttentionRow {
        seq,
        forward_ms: fwd * 1e3,
        forward_gflops: fwd_flops / fwd / 1e9,
        forward_vs_matmul_bound: fwd / (fwd_flops / (bound * 1e9)),
        backward_ms: bwd * 1e3,
        backward_gflops: bwd_flops / bwd / 1e9,
        backward_vs_matmul_bound: bwd / (bwd_flops / (bound * 1e9)),
    }
}

fn print_tables(r: &Report) {
    println!("backend: {} (rayon threads: {})", r.backend, r.threads);
    if let Some(a) = &r.wgpu_adapter {
        println!("wgpu adapter: {a}");
    }
    let mut t = Table::new(&[
        "n (square)",
        "bare gemm GFLOP/s",
        "cpu GFLOP/s",
        "cpu / bare",
        "reference GFLOP/s",
        "wgpu GFLOP/s",
    ]);
    for m in &r.matmul {
        t.row(vec![
            m.size.to_string(),
            format!("{:.1}", m.bare_gemm_gflops),
            format!("{:.1}", m.cpu_gflops),
            format!("{:.0}%", 100.0 * m.cpu_vs_bare),
            m.reference_gflops.map_or("-".into(), |g| format!("{g:.2}")),
            m.wgpu_gflops.map_or("-".into(), |g| format!("{g:.2}")),
        ]);
    }
    println!("{}", t.render());
    println!(
        "attention: batch 1, {HEADS} heads x {HEAD_DIM}, no mask; matmul bound {:.1} GFLOP/s",
        r.matmul_bound_gflops
    );
    let mut t = Table::new(&[
        "seq",
        "fwd ms",
        "fwd GFLOP/s",
        "fwd / bound",
        "bwd ms",
        "bwd GFLOP/s",
        "bwd / bound",
    ]);
    for a in &r.attention {
        t.row(vec![
            a.seq.to_string(),
            format!("{:.2}", a.forward_ms),
            format!("{:.1}", a.forward_gflops),
            format!("{:.2}x", a.forward_vs_matmul_bound),
            format!("{:.2}", a.backward_ms),
            format!("{:.1}", a.backward_gflops),
            format!("{:.2}x", a.backward_vs_matmul_bound),
        ]);
    }
    println!("{}", t.render());
    println!("note: {}", r.note);
}
