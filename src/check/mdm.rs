//! Checking the Theorem 1 construction: compile, run, compare with the interpreter, and hold every
//! measured quantity against the bounds of `proofs/mdm.bounds.json`.

use num_bigint::BigInt;
use serde::{Deserialize, Serialize};

use crate::compile::mdm_layout::MdmLayout;
use crate::compile::mdm_run::{run_mdm, timed};
use crate::compile::pram_to_mdm::{pram_to_mdm, CompileError, CompileLimits};
use crate::pram::program::Program;
use crate::pram::{self, RunConfig};
use crate::seq::Evaluator;

/// A bound of the form `y <= a * x + b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linear {
    /// Slope (the constant a or c).
    #[serde(alias = "c")]
    pub a: i64,
    /// Offset (the constant b or d).
    #[serde(alias = "d")]
    pub b: i64,
}

/// The constants of the MDM construction, as `proofs/mdm.bounds.json` states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdmBounds {
    /// steps <= a*T + b.
    pub steps: Linear,
    /// laid-out <= c*(n + P_decl*T_decl + T_decl) + d.
    pub context_paper: Linear,
    /// laid-out <= c*(n + W_decl + T_decl) + d.
    pub context_work: Linear,
    /// used <= c*(n + W + T) + d.
    pub context_used: Linear,
}

/// The bounds file, embedded so that an installed binary checks the same constants.
pub const BOUNDS_FILE: &str = include_str!("../../proofs/mdm.bounds.json");

impl MdmBounds {
    /// The constants of `proofs/mdm.bounds.json`.
    pub fn from_file() -> MdmBounds {
        // The file is part of the crate and checked by a test; a malformed one is a build defect.
        serde_json::from_str(BOUNDS_FILE).expect("proofs/mdm.bounds.json is well formed")
    }
}

/// One checked (program, target, n, seed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The program.
    pub program: String,
    /// `"mdm"`.
    pub target: String,
    /// The size.
    pub n: i64,
    /// The seed of the input.
    pub seed: u64,
    /// Rounds T (the interpreter's).
    pub rounds: u64,
    /// Processors P.
    pub processors: u64,
    /// Work W.
    pub work: u64,
    /// Space S.
    pub space: u64,
    /// Decoding steps (0 when not materialized).
    pub steps: u64,
    /// The laid-out context, exactly (a decimal string: it may exceed 64 bits).
    pub context: String,
    /// Positions holding more than padding at the end (0 when not materialized).
    pub context_used: u64,
    /// Whether the canvas was built and run.
    pub materialized: bool,
    /// Why it was not, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    /// Whether output, metrics and outcome equal the interpreter's.
    pub agree: bool,
    /// The interpreter's outcome, in words.
    pub outcome: String,
    /// The interpreter's output in short: scalars by value, arrays by length.
    pub answer: String,
    /// The steps bound a*T + b.
    pub steps_bound: u64,
    /// The paper's context bound c*(n + P_decl*T_decl + T_decl) + d.
    pub context_bound_paper: String,
    /// The work context bound c*(n + W_decl + T_decl) + d.
    pub context_bound_work: String,
    /// The used-context bound c*(n + W + T) + d.
    pub context_used_bound: u64,
    /// Seq program: operators, attention heads, attention depth, map depth.
    pub seq_nodes: usize,
    /// Attention operators.
    pub seq_heads: usize,
    /// Attention depth (layers).
    pub seq_depth: usize,
    /// Map depth of f (`seq::Shape::map_depth`).
    pub map_depth: usize,
    /// The widest value f computed at any node, position and step, in bits (0 when not run).
    pub width_bits: u32,
    /// The widest range f declares, in bits (0 when not built).
    pub width_declared: u32,
    /// c*max(w, ceil(log2 L)) + d bits, L the peak context.
    pub width_bound: u32,
    /// Fields per token.
    pub fields: usize,
    /// Decoding operations: unmask, hold (summed over steps).
    pub unmask: u64,
    /// Holds.
    pub hold: u64,
    /// Seconds to compile and run the schedule.
    pub seconds: f64,
    /// Every check of the row held.
    pub pass: bool,
    /// What failed, if anything.
    pub problems: Vec<String>,
}

/// Compiles and runs `program` on `config`'s input (n, seed, given inputs), compares with the interpreter and checks the bounds.
///
/// A canvas longer than `limits.max_length`, or whose length times the interpreter's T + 1 exceeds
/// `max_work` (position-steps: the evaluator's cost is about that times the operator count), is
/// not run; its row carries the exact length and says why.
pub fn check_case(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &MdmBounds,
    max_work: u64,
) -> Result<Row, CompileError> {
    let (n, seed) = (config.n, config.seed);
    let mut config = config.clone();
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    let want = pram::run(program, &config).map_err(|e| CompileError::Setup(e.to_string()))?;
    let layout = MdmLayout::at(program, n.max(0) as u64)?;
    let m = &want.metrics;
    let io = &layout.input_cells + &layout.output_cells;
    let cp = &bounds.context_paper;
    let cw = &bounds.context_work;
    let cu = &bounds.context_used;
    let paper = BigInt::from(cp.a)
        * (&io + &layout.processors_declared * &layout.rounds_declared + &layout.rounds_declared)
        + cp.b;
    let work = BigInt::from(cw.a) * (&io + &layout.work_declared + &layout.rounds_declared) + cw.b;
    let io_u = u64::try_from(&io).unwrap_or(u64::MAX);
    let used_bound = (cu.a as u64)
        .saturating_mul(io_u.saturating_add(m.work).saturating_add(m.rounds))
        .saturating_add(cu.b as u64);
    let steps_bound = (bounds.steps.a as u64)
        .saturating_mul(m.rounds)
        .saturating_add(bounds.steps.b as u64);
    let mut problems = Vec::new();
    if layout.length > paper {
        problems.push(format!("laid-out {} > paper bound {paper}", layout.length));
    }
    if layout.length > work {
        problems.push(format!("laid-out {} > work bound {work}", layout.length));
    }
    let mut row = Row {
        program: program.name.clone(),
        target: "mdm".into(),
        n,
        seed,
        rounds: m.rounds,
        processors: m.processors,
        work: m.work,
        space: m.space,
        steps: 0,
        context: layout.length.to_string(),
        context_used: 0,
        materialized: false,
        not_run: None,
        agree: false,
        outcome: outcome_words(&want.outcome),
        answer: answer_words(&want.output),
        steps_bound,
        context_bound_paper: paper.to_string(),
        context_bound_work: work.to_string(),
        context_used_bound: used_bound,
        seq_nodes: 0,
        seq_heads: 0,
        seq_depth: 0,
        map_depth: 0,
        width_bits: 0,
        width_declared: 0,
        width_bound: 0,
        fields: 0,
        unmask: 0,
        hold: 0,
        seconds: 0.0,
        pass: false,
        problems: Vec::new(),
    };
    let not_run = match layout.materializable(limits.max_length) {
        None => Some(format!("longer than --max-length {}", limits.max_length)),
        Some(l) if (l as u64).saturating_mul(m.rounds + 1) > max_work => Some(format!(
            "length x steps {} over --max-work {max_work}",
            (l as u64).saturating_mul(m.rounds + 1)
        )),
        Some(_) => None,
    };
    if not_run.is_some() {
        // Exact length, no run: the row passes on the bounds it can check.
        row.not_run = not_run;
        row.pass = problems.is_empty();
        row.problems = problems;
        return Ok(row);
    }
    let (result, seconds) = timed(|| -> Result<_, CompileError> {
        let compiled = pram_to_mdm(program, n, limits)?;
        let run = run_mdm(&compiled, program, &config, Evaluator::Indexed, false);
        Ok((compiled, run))
    });
    let (compiled, run) = result?;
    let shape = compiled.seq.shape();
    row.seq_nodes = shape.nodes;
    row.seq_heads = shape.attention;
    row.seq_depth = shape.attention_depth;
    row.map_depth = shape.map_depth;
    row.width_declared = shape.width_bits;
    row.fields = compiled.fields;
    row.materialized = true;
    row.seconds = seconds;
    match run {
        Err(e) => problems.push(format!("schedule failed: {e}")),
        Ok((got, _)) => {
            row.steps = got.steps as u64;
            row.context_used = got.context_used as u64;
            row.unmask = got.ops.unmask;
            row.hold = got.ops.hold;
            width_problems(&mut row, &compiled, got.widest_bits, &mut problems);
            let disagreement = disagreement("mdm", &got.outcome, &got.output, &got.metrics, &want);
            row.agree = disagreement.is_none();
            problems.extend(disagreement);
            if got.context != compiled.regions.length {
                problems.push(format!(
                    "context {} differs from the laid-out {}",
                    got.context, compiled.regions.length
                ));
            }
            if row.steps > steps_bound {
                problems.push(format!("steps {} > bound {steps_bound}", row.steps));
            }
            if row.context_used > used_bound {
                problems.push(format!(
                    "used context {} > bound {used_bound}",
                    row.context_used
                ));
            }
        }
    }
    row.pass = problems.is_empty();
    row.problems = problems;
    Ok(row)
}

/// Fills the row's width columns (the bound at the laid-out context) and notes every width
/// above the bound of `proofs/mdm.bounds.json`.
fn width_problems(
    row: &mut Row,
    compiled: &crate::compile::pram_to_mdm::MdmCompiled,
    observed: u32,
    problems: &mut Vec<String>,
) {
    let bound =
        crate::compile::width::WidthBound::mdm().bits(compiled.word, compiled.regions.length);
    row.width_bits = observed;
    row.width_bound = bound;
    for (what, bits) in [
        ("widest value", observed),
        ("widest declared range", row.width_declared),
    ] {
        if bits > bound {
            problems.push(format!("{what} {bits} bits > bound {bound}"));
        }
    }
}

/// Why a schedule's result differs from the interpreter's report `want` (outcome, output or
/// metrics), or `None` when it is the same.
pub fn disagreement(
    target: &str,
    outcome: &pram::Outcome,
    output: &[(String, pram::outcome::Value)],
    metrics: &pram::Metrics,
    want: &pram::RunReport,
) -> Option<String> {
    (*outcome != want.outcome || output != want.output.as_slice() || *metrics != want.metrics).then(
        || {
            format!(
                "disagrees with the interpreter: {target} {} {metrics:?}, interpreter {} {:?}",
                outcome_words(outcome),
                outcome_words(&want.outcome),
                want.metrics
            )
        },
    )
}

/// An output in a few words: `value=1, G[16]`.
pub fn answer_words(output: &[(String, pram::outcome::Value)]) -> String {
    output
        .iter()
        .map(|(name, v)| match v {
            pram::outcome::Value::Scalar(x) => format!("{name}={x}"),
            pram::outcome::Value::Array(a) => format!("{name}[{}]", a.len()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An outcome in a few words (`ok`, `fault`, `violation`, ...).
pub fn outcome_words(o: &pram::Outcome) -> String {
    match o {
        pram::Outcome::Ok => "ok".into(),
        pram::Outcome::Violation(v) => format!("violation {:?} round {}", v.kind, v.round),
        pram::Outcome::Fault(f) => format!("fault {:?} round {}", f.kind, f.round),
        pram::Outcome::Limit { limit, .. } => format!("limit {limit:?}"),
        pram::Outcome::BoundExceeded { metric, .. } => format!("bound {metric:?} exceeded"),
    }
}

/// The fitted growth of one quantity of one program on one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitRow {
    /// The program.
    pub program: String,
    /// The target.
    pub target: String,
    /// `"steps"` or `"context"`.
    pub quantity: String,
    /// The class (`"n log n"`, ...) or `"not classified"`.
    pub class: String,
    /// Whether the runner-up class was within the tie margin.
    pub tie: bool,
    /// The sizes fitted.
    pub sizes: usize,
    /// Largest measured-minus-bound over the sizes (0: the bound is met exactly somewhere).
    pub slack: i128,
}

/// Fits steps (over materialized rows) and laid-out context (over all rows) of one program.
pub fn fits(rows: &[Row]) -> Vec<FitRow> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let steps: Vec<(u64, f64, i128)> = rows
        .iter()
        .filter(|r| r.materialized)
        .map(|r| {
            (
                r.n as u64,
                r.steps as f64,
                r.steps as i128 - r.steps_bound as i128,
            )
        })
        .collect();
    let context: Vec<(u64, f64, i128)> = rows
        .iter()
        .map(|r| {
            let l: Option<i128> = r.context.parse().ok();
            let b: Option<i128> = r.context_bound_work.parse().ok();
            (
                r.n as u64,
                r.context.parse::<f64>().unwrap_or(f64::INFINITY),
                l.zip(b).map_or(i128::MIN, |(l, b)| l - b),
            )
        })
        .collect();
    fit_quantities(
        &first.program,
        &first.target,
        &[("steps", steps), ("context", context)],
    )
}

/// One point of a fit: (n, value, measured minus bound; i128::MIN when there is no bound).
pub type FitPoint = (u64, f64, i128);

/// Fits each named quantity's (n, value, measured minus bound) points: growth class over the
/// points, slack as the largest difference (0 when there are none).
pub fn fit_quantities(
    program: &str,
    target: &str,
    quantities: &[(&str, Vec<FitPoint>)],
) -> Vec<FitRow> {
    use super::fit::{classify, Classification};
    let describe = |c: Classification| match c {
        Classification::NotClassified { .. } => ("not classified".to_string(), false),
        Classification::Classified { best, tie, .. } => (best.growth.label().to_string(), tie),
    };
    let mut out = Vec::new();
    for (quantity, points) in quantities {
        let xy: Vec<(u64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
        let mut sizes: Vec<u64> = xy.iter().map(|x| x.0).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let slack = points
            .iter()
            .map(|p| p.2)
            .filter(|&d| d != i128::MIN)
            .max()
            .unwrap_or(0);
        let (class, tie) = describe(classify(&xy));
        out.push(FitRow {
            program: program.to_string(),
            target: target.to_string(),
            quantity: quantity.to_string(),
            class,
            tie,
            sizes: sizes.len(),
            slack,
        });
    }
    out
}
