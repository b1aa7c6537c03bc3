//! Rows run by the hand-set weights (`--executor weights`): the schedule is driven by the
//! Transformer's proposals, and the row also checks every step's proposal against the seq
//! evaluator's and every exact value against the shadow (`docs/weights.md`).

use serde::{Deserialize, Serialize};

use super::verdict::Check;
use crate::seq::Program;
use crate::weights::f32_forward::{F32Model, MarginSite};
use crate::weights::shadow::{Deviation, Mismatch, EXACT_TOLERANCE};
use crate::weights::{compile, longest_canvas, Options, WeightsStep};

/// Which realization of the step function drives a schedule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Executor {
    /// The seq evaluator (the IR's definition).
    #[default]
    Seq,
    /// The hand-set Transformer, f64 forward, with the shadow check.
    Weights,
    /// The hand-set Transformer in f32 on the kernel layer's cpu backend, its proposals driving
    /// the run; the f64 forward and its shadow check run beside it.
    #[serde(rename = "weights-f32")]
    WeightsF32,
}

impl Executor {
    /// Parses `seq`, `weights` or `weights-f32`.
    pub fn parse(s: &str) -> Option<Executor> {
        match s {
            "seq" => Some(Executor::Seq),
            "weights" => Some(Executor::Weights),
            "weights-f32" => Some(Executor::WeightsF32),
            _ => None,
        }
    }

    /// Whether the hand-set weights run the step function (in f64 or f32).
    pub fn is_weights(self) -> bool {
        matches!(self, Executor::Weights | Executor::WeightsF32)
    }
}

/// How a row's step function is realized, and the weights' length limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecutorOptions {
    /// The executor.
    pub executor: Executor,
    /// The longest canvas the weights are built for (longer rows are not run).
    pub max_weights_length: usize,
}

impl ExecutorOptions {
    /// The seq evaluator.
    pub fn seq() -> ExecutorOptions {
        ExecutorOptions {
            executor: Executor::Seq,
            max_weights_length: MAX_WEIGHTS_LENGTH,
        }
    }

    /// The hand-set weights, up to the default length.
    pub fn weights() -> ExecutorOptions {
        ExecutorOptions {
            executor: Executor::Weights,
            max_weights_length: MAX_WEIGHTS_LENGTH,
        }
    }
}

/// The weights' shape and what the shadow check measured on one row.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct WeightsRow {
    /// Residual width.
    pub d_model: usize,
    /// Layers.
    pub layers: usize,
    /// Heads per layer.
    pub heads: usize,
    /// Width of a head.
    pub d_head: usize,
    /// MLP hidden width.
    pub d_ff: usize,
    /// Parameters at the uniform shape (`docs/weights.md`).
    pub parameters: u64,
    /// Non-zero weights (what the sparse executor stores).
    pub nonzero: u64,
    /// Seconds to lower and build the model.
    pub build_seconds: f64,
    /// Mean seconds of one forward pass (the shadow excluded).
    pub step_seconds: f64,
    /// Steps the weights proposed.
    pub steps: usize,
    /// Steps whose proposal equalled the seq evaluator's at every position.
    pub agreeing_steps: usize,
    /// The first differing proposal.
    pub first_mismatch: Option<Mismatch>,
    /// The largest deviation of an exact value from the seq evaluator's.
    pub max_exact_deviation: f64,
    /// The first exact deviation over the tolerance.
    pub first_deviation: Option<Deviation>,
    /// The largest distance of an attention read from the bit it rounds to.
    pub max_read_error: f64,
    /// The proved bound on that distance (delta / 2, `proofs/weights.md`).
    pub read_bound: f64,
    /// Shadow comparisons made.
    pub comparisons: u64,
    /// The derived relative weight-noise tolerance (`proofs/weights.md`, Lemma 8): the largest
    /// `2^-k` at which the propagated bound keeps every margin; `None` when there is none.
    pub noise_tolerance: Option<f64>,
    /// Why there is none: the first margin the bound breaks even without weight noise.
    pub noise_limit: Option<String>,
    /// `f64` or `f32`: the arithmetic whose proposals drove the run and were compared.
    pub precision: String,
    /// f32 rows: `proved` (the f32 error bound of `proofs/weights.md` holds) or `observed
    /// (margin m)`.
    pub f32_status: Option<String>,
    /// f32 rows: the smallest margin any comparison unit or read-out logit kept over the run.
    pub f32_margin: Option<f64>,
    /// f32 rows: where it was.
    pub f32_margin_site: Option<MarginSite>,
    /// f32 rows: the first comparison unit or logit whose margin was <= 0.
    pub f32_first_violation: Option<MarginSite>,
    /// f32 rows: why the f32 bound is not a proof (its first failing margin and worst ratio).
    pub f32_bound_failure: Option<String>,
    /// f32 rows: mean seconds of one f32 forward pass (kernels, cpu backend).
    pub f32_step_seconds: Option<f64>,
    /// Dense F32 bytes at the uniform shape (4 per parameter).
    pub f32_bytes: u64,
    /// Parameters if every layer were stored at its own heads and MLP width (same d_model and
    /// d_head): what the uniform shape costs over that.
    pub per_layer_parameters: u64,
    /// The first layer with the most heads.
    pub widest_heads_layer: usize,
    /// The first layer with the widest MLP.
    pub widest_mlp_layer: usize,
    /// Mean heads per layer.
    pub mean_heads: f64,
    /// Mean MLP units per layer.
    pub mean_units: f64,
}

/// Where the weights stop: the longest canvas they are built for by default.
pub const MAX_WEIGHTS_LENGTH: usize = 4096;

/// Builds the weights for a compiled seq program, for canvases up to `max_len` (the schedule's
/// longest). `Err` is the reason the row is not run.
pub fn realize(seq: &Program, max_len: usize, limit: usize) -> Result<(WeightsStep, f64), String> {
    realize_as(seq, max_len, limit, Executor::Weights)
}

/// [`realize`] for `executor` (`WeightsF32` adds the f32 executor).
pub fn realize_as(
    seq: &Program,
    max_len: usize,
    limit: usize,
    executor: Executor,
) -> Result<(WeightsStep, f64), String> {
    let longest = longest_canvas(seq)
        .map_or(max_len, |l| l.min(max_len))
        .max(1);
    if longest > limit {
        return Err(format!(
            "no weights: the longest canvas {longest} is over --max-weights-length {limit}"
        ));
    }
    let started = std::time::Instant::now();
    let model = compile(seq, Options::new(longest)).map_err(|e| format!("no weights: {e}"))?;
    let f32 = (executor == Executor::WeightsF32).then(|| F32Model::new(&model));
    let seconds = started.elapsed().as_secs_f64();
    let mut step = WeightsStep::new(model, seq.clone(), true);
    step.f32 = f32;
    Ok((step, seconds))
}

/// Runs a schedule by the weights built for `seq` (`realize`): `run` drives it with the
/// weights as its step function. `Err` is the reason the row is not run.
pub fn run_by_weights<R>(
    seq: &Program,
    max_len: usize,
    exec: ExecutorOptions,
    run: impl FnOnce(&mut WeightsStep) -> R,
) -> Result<(R, WeightsRow), String> {
    let (mut f, build) = realize_as(seq, max_len, exec.max_weights_length, exec.executor)?;
    let out = run(&mut f);
    Ok((out, summarize(&f, build)))
}

/// The row's weights summary after a run.
pub fn summarize(step: &WeightsStep, build_seconds: f64) -> WeightsRow {
    let c = step.model.config;
    let r = &step.report;
    let profile = step.model.profile();
    let nonzero = profile.nonzero;
    let tolerance =
        crate::weights::noise::tolerance(&step.model, crate::weights::noise::F64_ROUNDOFF);
    let layers = &step.model.layers;
    let n_layers = layers.len().max(1) as f64;
    let f32 = step.f32.as_ref().map(|f| {
        let proof = crate::weights::f32_forward::proof(&step.model);
        (f.report.clone(), proof)
    });
    WeightsRow {
        d_model: c.d_model,
        layers: c.layers,
        heads: c.heads,
        d_head: c.d_head,
        d_ff: c.d_ff,
        parameters: c.parameters(),
        nonzero,
        build_seconds,
        step_seconds: if r.steps > 0 {
            r.forward_seconds / r.steps as f64
        } else {
            0.0
        },
        steps: r.steps,
        agreeing_steps: r.agreeing_steps,
        first_mismatch: r.first_mismatch.clone(),
        max_exact_deviation: r.max_exact_deviation,
        first_deviation: r.first_deviation.clone(),
        max_read_error: r.max_read_error,
        read_bound: step.model.options.delta / 2.0,
        comparisons: r.comparisons,
        noise_tolerance: tolerance.as_ref().ok().map(|b| b.epsilon),
        noise_limit: tolerance.err(),
        precision: if f32.is_some() { "f32" } else { "f64" }.to_string(),
        f32_status: f32.as_ref().map(|(rep, proof)| match proof {
            Ok(()) => "proved".to_string(),
            Err(_) => format!(
                "observed (margin {})",
                rep.min_margin
                    .map_or("-".to_string(), |m| format!("{m:.3e}"))
            ),
        }),
        f32_margin: f32.as_ref().and_then(|(rep, _)| rep.min_margin),
        f32_margin_site: f32.as_ref().and_then(|(rep, _)| rep.site.clone()),
        f32_first_violation: f32
            .as_ref()
            .and_then(|(rep, _)| rep.first_violation.clone()),
        f32_bound_failure: f32.as_ref().and_then(|(_, proof)| {
            proof
                .as_ref()
                .err()
                .map(|(why, ratio)| format!("{why} (worst error / margin {ratio:.3e})"))
        }),
        f32_step_seconds: f32.as_ref().map(|(rep, _)| {
            if r.steps > 0 {
                rep.seconds / r.steps as f64
            } else {
                0.0
            }
        }),
        f32_bytes: c.parameters().saturating_mul(4),
        per_layer_parameters: profile.per_layer_parameters,
        widest_heads_layer: profile.widest_heads_layer,
        widest_mlp_layer: profile.widest_mlp_layer,
        mean_heads: layers.iter().map(|l| l.heads.len()).sum::<usize>() as f64 / n_layers,
        mean_units: layers.iter().map(|l| l.units.len()).sum::<usize>() as f64 / n_layers,
    }
}

/// The checks a weights row adds: proposals equal at every step, exact values exact, reads
/// within the proved bound. All are evidence.
pub fn weights_checks(w: &WeightsRow) -> Vec<Check> {
    let mut checks = Vec::new();
    let agree = w.agreeing_steps == w.steps && w.steps > 0;
    checks.push(Check {
        what: match &w.first_mismatch {
            None => format!(
                "weights' proposal ({}) equals the seq evaluator's at every position of {} of {} steps",
                w.precision, w.agreeing_steps, w.steps
            ),
            Some(m) => format!(
                "weights' proposal ({}) differs at step {} position {} {}: {} (seq {})",
                w.precision, m.step, m.position, m.field, m.found, m.expected
            ),
        },
        evidence: true,
        held: agree,
    });
    checks.push(Check {
        what: match &w.first_deviation {
            None => format!(
                "exact values deviate by at most {:e} <= {:e} ({} comparisons)",
                w.max_exact_deviation, EXACT_TOLERANCE, w.comparisons
            ),
            Some(d) => format!(
                "node {} deviates at step {} after sublayer {} (layer {}) position {}: {} (seq {}, {})",
                d.node,
                d.step,
                d.sublayer,
                d.sublayer / 2,
                d.position,
                d.found,
                d.expected,
                d.what
            ),
        },
        evidence: true,
        held: w.first_deviation.is_none(),
    });
    let held = w.max_read_error <= w.read_bound;
    checks.push(Check {
        what: format!(
            "attention read error {:.3e} {} delta/2 = {:.3e}",
            w.max_read_error,
            if held { "<=" } else { ">" },
            w.read_bound
        ),
        evidence: true,
        held,
    });
    checks
}
