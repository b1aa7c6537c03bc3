//! Checking the Theorem 1 construction: compile, run, compare with the interpreter, and hold every
//! measured quantity against the bounds of `proofs/mdm.bounds.json`.

use num_bigint::BigInt;
use serde::{Deserialize, Serialize};

use crate::compile::mdm_layout::MdmLayout;
use std::time::Instant;

use crate::compile::mdm_run::{run_with, timed, MdmRunError};
use crate::compile::pram_to_mdm::{initial_canvas, pram_to_mdm, CompileError, CompileLimits};

use crate::machine::{Action, Canvas, Proposal, StepFunction, StepFunctionError, Token};
use crate::pram::program::Program;
use crate::pram::{self, RunConfig};
use crate::seq::{SeqStep, Word};

use super::verdict::{Check, Status};
use super::weights::{run_by_weights, weights_checks, Executor, ExecutorOptions, WeightsRow};

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
///
/// Measured fields (`steps`, `context`, `context_used`, `agree`) are `None` when the schedule was
/// not run; the layout's exact length of a canvas never built is `predicted_context`, a
/// prediction that enters no fit, slack or count of passes.
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
    /// `pass`, `fail` or `not-run`.
    pub status: Status,
    /// Why the row did not pass: why it was not run, or its problems in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Rounds T (the interpreter's).
    pub rounds: u64,
    /// Processors P.
    pub processors: u64,
    /// Work W.
    pub work: u64,
    /// Space S.
    pub space: u64,
    /// Decoding steps of the run.
    pub steps: Option<u64>,
    /// The run's context (its canvas length, which the layout fixes; a decimal string).
    pub context: Option<String>,
    /// The exact laid-out length of a canvas that was not built or not run (a prediction).
    pub predicted_context: Option<String>,
    /// Positions holding more than padding at the end of the run.
    pub context_used: Option<u64>,
    /// Whether the canvas was built and run.
    pub materialized: bool,
    /// Whether output, metrics and outcome equal the interpreter's (`None`: not run).
    pub agree: Option<bool>,
    /// The interpreter's outcome, in words.
    pub outcome: String,
    /// The interpreter's outcome in full (round, line, processors, address).
    pub outcome_detail: pram::Outcome,
    /// The interpreter's output in short: scalars by value, arrays by length.
    pub answer: String,
    /// The steps bound a*T + b.
    pub steps_bound: u64,
    /// The paper's context bound c*(n + P_decl*T_decl + T_decl) + d (on the layout: an identity).
    pub context_bound_paper: String,
    /// The work context bound c*(n + W_decl + T_decl) + d (on the layout: an identity).
    pub context_bound_work: String,
    /// The used-context bound c*(n + W + T) + d.
    pub context_used_bound: u64,
    /// Seq program: operators (0 when not compiled).
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
    /// The most column bytes the seq evaluator held per canvas position at any step (counted:
    /// 8 bytes per value of every column held, live or kept for reuse; `seq::ColumnUse`), so
    /// 8 times the most simultaneously live nodes of the demand-driven evaluation's column pass
    /// (`seq::propose_demanded`; its late values, one per unmasked position, are not counted).
    /// `None` when the seq evaluator did not run.
    pub column_bytes_per_position: Option<u64>,
    /// Which realization of f drove the schedule (`seq` or `weights`).
    pub executor: Executor,
    /// The hand-set weights' shape and shadow measurements (`--executor weights` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsRow>,
    /// Every check made, marked evidence (a measured quantity) or identity (of the layout).
    pub checks: Vec<Check>,
    /// What failed, if anything.
    pub problems: Vec<String>,
}

/// Compiles and runs `program` on `config`'s input (n, seed, given inputs), compares with the interpreter and checks the bounds.
///
/// A canvas longer than `limits.max_length`, or whose length times the interpreter's T + 1 exceeds
/// `max_work` (position-steps: the evaluator's cost is about that times the operator count), is
/// not run; its row is `not-run`, carries the exact laid-out length as a prediction and says why.
pub fn check_case(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &MdmBounds,
    max_work: u64,
) -> Result<Row, CompileError> {
    check_case_with(
        program,
        config,
        limits,
        bounds,
        max_work,
        ExecutorOptions::seq(),
    )
}

/// [`check_case`] with the step function realized by `executor` (the hand-set weights run the
/// schedule and are also compared with the seq evaluator at every step and sublayer).
pub fn check_case_with(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &MdmBounds,
    max_work: u64,
    exec: ExecutorOptions,
) -> Result<Row, CompileError> {
    check_case_watched(
        program,
        config,
        limits,
        bounds,
        max_work,
        None,
        exec,
        &mut |_| {},
        &mut |_| {},
    )
}

/// A step function that tells `watch` the number of each proposal it is asked for (1 for the
/// first), before asking `inner` for it: progress for long runs, whatever the executor.
pub struct Watched<'a> {
    inner: &'a mut dyn StepFunction<Word>,
    watch: &'a mut dyn FnMut(usize),
    proposals: usize,
}

impl<'a> Watched<'a> {
    /// Wraps `inner`, counting from 0 proposals.
    pub fn new(inner: &'a mut dyn StepFunction<Word>, watch: &'a mut dyn FnMut(usize)) -> Self {
        Watched {
            inner,
            watch,
            proposals: 0,
        }
    }
}

impl StepFunction<Word> for Watched<'_> {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        self.proposals += 1;
        (self.watch)(self.proposals);
        self.inner.propose(x)
    }

    fn applied(&mut self, actions: &[Action]) {
        self.inner.applied(actions);
    }
}

/// A row over the position-step budget but within `ceiling` position-steps is started anyway and
/// judged by its own rate (`--max-seconds` on the MDM target, seq executor): once it has run for
/// [`TRIAL_SECONDS`] or a quarter of its steps, its compile time plus its run time so far,
/// projected over all its steps, must fit `max_seconds`, or it is stopped there and reported
/// not run, with what was measured. A row that fits runs to the end.
#[derive(Clone, Copy, Debug)]
pub struct Trial {
    /// The most position-steps a row may have to be started.
    pub ceiling: u64,
    /// The seconds a row may take.
    pub max_seconds: f64,
    /// The clock the run is timed by, in seconds (this process's CPU time, so that other work
    /// on the machine does not stop a row that fits); `None`, or `None` from it: wall time.
    pub clock: Option<Clock>,
}

/// A clock in seconds, `None` where it cannot be read.
pub type Clock = fn() -> Option<f64>;

/// Seconds of running after which a started row is judged (unless a quarter of its steps comes
/// first).
pub const TRIAL_SECONDS: f64 = 1.0;

/// A step function that judges its run once, by the time its first proposals took, and fails
/// (stopping the run) when the projection is over the time budget.
struct Judged<'a> {
    inner: &'a mut dyn StepFunction<Word>,
    start: Instant,
    clock: Option<(Clock, f64)>,
    compile_seconds: f64,
    steps: u64,
    max_seconds: f64,
    proposals: u64,
    judged: bool,
    verdict: Option<String>,
}

impl StepFunction<Word> for Judged<'_> {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let done = self.proposals;
        self.proposals += 1;
        let run = match self.clock.and_then(|(clock, start)| Some(clock()? - start)) {
            Some(cpu) => cpu,
            None => self.start.elapsed().as_secs_f64(),
        };
        if !self.judged && done > 0 && (run >= TRIAL_SECONDS || done * 4 >= self.steps) {
            self.judged = true;
            let projected = self.compile_seconds + run * self.steps as f64 / done as f64;
            if projected > self.max_seconds {
                let why = format!(
                    "started as a trial: {done} of {} steps took {run:.2} s after {:.2} s of \
                     compiling, projecting {projected:.1} s over --max-seconds {}",
                    self.steps, self.compile_seconds, self.max_seconds
                );
                self.verdict = Some(why.clone());
                return Err(StepFunctionError(why));
            }
        }
        self.inner.propose(x)
    }

    fn applied(&mut self, actions: &[Action]) {
        self.inner.applied(actions);
    }
}

/// [`check_case_with`], handing the steps bound to `on_bound` once the interpreter has run
/// (before the schedule is compiled) and the number of each proposal the executor (seq or
/// weights) is asked for to `watch` (for progress; the last proposal, which finds the fixed
/// point, is one past the steps).
#[allow(clippy::too_many_arguments)]
pub fn check_case_watched(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &MdmBounds,
    max_work: u64,
    trial: Option<Trial>,
    exec: ExecutorOptions,
    on_bound: &mut dyn FnMut(u64),
    watch: &mut dyn FnMut(usize),
) -> Result<Row, CompileError> {
    let executor = exec.executor;
    let (n, seed) = (config.n, config.seed);
    let mut config = config.clone();
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    // The layout first: a program it cannot be laid out for is refused before the interpreter
    // runs (which may take long).
    let layout = MdmLayout::at(program, n.max(0) as u64)?;
    let want = pram::run(program, &config).map_err(|e| CompileError::Setup(e.to_string()))?;
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
    on_bound(steps_bound);
    let mut checks = Vec::new();
    // The layout against its two bounds: computed from the same declared numbers, so these hold
    // by construction (identities, not evidence); a failure would be a defect of the layout.
    checks.push(Check::at_most(
        "laid-out",
        layout.length.clone(),
        "paper bound ",
        paper.clone(),
        false,
    ));
    checks.push(Check::at_most(
        "laid-out",
        layout.length.clone(),
        "work bound ",
        work.clone(),
        false,
    ));
    checks.extend(program_bound_check(&want.outcome));
    let mut row = Row {
        program: program.name.clone(),
        target: "mdm".into(),
        n,
        seed,
        status: Status::NotRun,
        reason: None,
        rounds: m.rounds,
        processors: m.processors,
        work: m.work,
        space: m.space,
        steps: None,
        context: None,
        predicted_context: None,
        context_used: None,
        materialized: false,
        agree: None,
        outcome: outcome_words(&want.outcome),
        outcome_detail: want.outcome.clone(),
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
        column_bytes_per_position: None,
        executor,
        weights: None,
        checks: Vec::new(),
        problems: Vec::new(),
    };
    let position_steps = |l: usize| (l as u64).saturating_mul(m.rounds + 1);
    // Over the budget but within a trial's ceiling (seq executor): started, and judged by its own
    // first steps.
    let trial = trial.filter(|t| {
        executor == Executor::Seq
            && layout
                .materializable(limits.max_length)
                .is_some_and(|l| position_steps(l) > max_work && position_steps(l) <= t.ceiling)
    });
    let over = |ps: u64| {
        format!(
            "length x steps {ps} over the budget of {max_work} position-steps (--max-seconds, --max-work)"
        )
    };
    let not_run = match layout.materializable(limits.max_length) {
        _ if want.outcome.uncompiled_limit().is_some() => Some(uncompiled(&want.outcome)),
        None => Some(format!("longer than --max-length {}", limits.max_length)),
        Some(l) if position_steps(l) > max_work && trial.is_none() => Some(over(position_steps(l))),
        Some(_) => None,
    };
    if let Some(why) = not_run {
        // Nothing ran: the exact length is a prediction, and the row is not a pass.
        row.predicted_context = Some(layout.length.to_string());
        row.checks = checks;
        return Ok(finish(row, false, Some(why)));
    }
    let mut columns = None;
    let mut stopped = None;
    let (result, seconds) = timed(|| -> Result<_, CompileError> {
        let compiling = Instant::now();
        let compiled = pram_to_mdm(program, n, limits)?;
        let compile_seconds = compiling.elapsed().as_secs_f64();
        let (run, weights) = match executor {
            // `run_mdm` with the step function kept, for its column counts.
            Executor::Seq => match initial_canvas(&compiled, program, &config) {
                Err(e) => (Ok(Err(MdmRunError::Compile(e))), None),
                Ok(x0) => {
                    // No trace is kept: each node computed only where g can read it, token-local
                    // values only where the last step changed the canvas.
                    let mut f = SeqStep::incremental(compiled.seq.clone());
                    let mut watched = Watched::new(&mut f, &mut *watch);
                    // Without a trial, judged from the start: it only forwards.
                    let mut judged = Judged {
                        inner: &mut watched,
                        start: Instant::now(),
                        clock: trial
                            .and_then(|t| t.clock)
                            .and_then(|clock| Some((clock, clock()?))),
                        compile_seconds,
                        steps: m.rounds + 1,
                        max_seconds: trial.map_or(f64::INFINITY, |t| t.max_seconds),
                        proposals: 0,
                        judged: trial.is_none(),
                        verdict: None,
                    };
                    let run = run_with(&compiled, program, Canvas::new(x0), &mut judged, false);
                    stopped = judged.verdict;
                    columns = Some(f.column_bytes_per_position);
                    let run = run.map(|(mut report, run)| {
                        report.widest_bits = f.widest;
                        (report, run)
                    });
                    (Ok(run), None)
                }
            },
            Executor::Weights | Executor::WeightsF32 => {
                let x0 = initial_canvas(&compiled, program, &config)?;
                match run_by_weights(&compiled.seq, compiled.regions.length, exec, |f| {
                    let mut watched = Watched::new(&mut *f, &mut *watch);
                    let run = run_with(&compiled, program, Canvas::new(x0), &mut watched, false);
                    run.map(|(mut report, run)| {
                        report.widest_bits = f.report.widest_bits;
                        (report, run)
                    })
                }) {
                    Err(why) => (Err(why), None),
                    Ok((run, w)) => (Ok(run), Some(w)),
                }
            }
        };
        Ok((compiled, run, weights))
    });
    // Over --max-memory (before the run, or as the canvas grew): nothing is claimed.
    let (compiled, run, weights) = match result {
        Err(CompileError::OverMemory(m)) => {
            row.predicted_context = Some(layout.length.to_string());
            row.checks = checks;
            return Ok(finish(row, false, Some(m.to_string())));
        }
        r => r?,
    };
    let run = match over_memory_not_run(run) {
        Ok(run) => run,
        Err(why) => {
            row.checks = checks;
            return Ok(finish(row, false, Some(why)));
        }
    };
    if let Some(why) = stopped {
        // Stopped by its trial: nothing is claimed, as for a row never started.
        row.predicted_context = Some(layout.length.to_string());
        row.checks = checks;
        row.seconds = seconds;
        let ps = layout
            .materializable(limits.max_length)
            .map_or(0, position_steps);
        return Ok(finish(row, false, Some(format!("{}; {why}", over(ps)))));
    }
    if let Some(w) = &weights {
        checks.extend(weights_checks(w));
    }
    row.weights = weights;
    let shape = compiled.seq.shape();
    row.seq_nodes = shape.nodes;
    row.seq_heads = shape.attention;
    row.seq_depth = shape.attention_depth;
    row.map_depth = shape.map_depth;
    row.width_declared = shape.width_bits;
    row.fields = compiled.fields;
    row.materialized = true;
    row.seconds = seconds;
    row.column_bytes_per_position = columns;
    match run {
        Err(e) => checks.push(Check {
            what: format!("schedule failed: {e}"),
            evidence: true,
            held: false,
        }),
        Ok((got, _)) => {
            let steps = got.steps as u64;
            let used = got.context_used as u64;
            row.steps = Some(steps);
            row.context = Some(got.context.to_string());
            row.context_used = Some(used);
            row.unmask = got.ops.unmask;
            row.hold = got.ops.hold;
            let bound = crate::compile::width::WidthBound::mdm()
                .bits(compiled.word, compiled.regions.length);
            row.width_bits = got.widest_bits;
            row.width_bound = bound;
            checks.extend(width_checks(got.widest_bits, row.width_declared, bound));
            let agreement = agreement("mdm", &got.outcome, &got.output, &got.metrics, &want);
            row.agree = Some(agreement.held);
            checks.push(agreement);
            let same = got.context == compiled.regions.length;
            checks.push(Check {
                what: format!(
                    "context {} {} laid-out {}",
                    got.context,
                    if same {
                        "equals the"
                    } else {
                        "differs from the"
                    },
                    compiled.regions.length
                ),
                evidence: true,
                held: same,
            });
            checks.push(Check::at_most(
                "steps",
                steps,
                "aT + b = ",
                steps_bound,
                true,
            ));
            checks.push(Check::at_most(
                "used context",
                used,
                "c(n + W + T) + d = ",
                used_bound,
                true,
            ));
        }
    }
    row.checks = checks;
    Ok(finish(row, true, None))
}

/// The width checks of a row that ran: the widest value any node took at any position of any
/// step, and the widest range the compiler declared, each against the bound of the bounds file
/// (`c max(w, ceil(log2 L)) + d` bits at the row's context L).
pub fn width_checks(observed: u32, declared: u32, bound: u32) -> Vec<Check> {
    [
        ("widest value (bits)", observed),
        ("widest declared range (bits)", declared),
    ]
    .into_iter()
    .map(|(what, bits)| Check::at_most(what, bits, "bound ", bound, true))
    .collect()
}

/// A program that runs past its own declared bound fails its row, whatever the schedule does:
/// the interpreter, the MDM and the AP-MDM all stop before the round that would exceed it
/// (`proofs/bounds.md`), and the fix is in the program's file.
pub fn program_bound_check(outcome: &pram::Outcome) -> Option<Check> {
    match outcome {
        pram::Outcome::BoundExceeded {
            metric,
            measured,
            bound,
            round,
        } => Some(Check {
            what: format!(
                "declared bound exceeded ({metric} at round {round}: would reach {measured}, \
                 declared {bound}): raise the bound in the file"
            ),
            evidence: true,
            held: false,
        }),
        _ => None,
    }
}

/// Sets a row's problems (the checks that did not hold), status and reason.
fn finish(mut row: Row, ran: bool, not_run: Option<String>) -> Row {
    row.problems = failed_checks(&row.checks);
    row.status = Status::of(ran, &row.problems);
    row.reason = reason(row.status, &row.problems, not_run);
    row
}

/// The checks that did not hold, as problem lines.
pub fn failed_checks(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.held)
        .map(|c| c.what.clone())
        .collect()
}

/// Why a row did not pass: its problems, or why it was not run.
pub fn reason(status: Status, problems: &[String], not_run: Option<String>) -> Option<String> {
    match status {
        Status::Pass => None,
        Status::Fail => Some(problems.join("; ")),
        Status::NotRun => not_run,
    }
}

/// The check that a schedule's result (outcome, output and metrics) equals the interpreter's
/// report `want`; when it does not, it says how both differ.
pub fn agreement(
    target: &str,
    outcome: &pram::Outcome,
    output: &[(String, pram::outcome::Value)],
    metrics: &pram::Metrics,
    want: &pram::RunReport,
) -> Check {
    let held =
        *outcome == want.outcome && output == want.output.as_slice() && *metrics == want.metrics;
    let what = if held {
        "outcome, output and T, P, W, S equal the interpreter's".to_string()
    } else {
        format!(
            "disagrees with the interpreter: {target} {outcome}, {metrics}, output {}; \
             interpreter {}, {}, output {}",
            output_words(output),
            want.outcome,
            want.metrics,
            output_words(&want.output)
        )
    };
    Check {
        what,
        evidence: true,
        held,
    }
}

/// An output in full: `value=1, A=[1 2 3]`.
pub fn output_words(output: &[(String, pram::outcome::Value)]) -> String {
    output
        .iter()
        .map(|(name, v)| format!("{name}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
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
        pram::Outcome::Violation(v) => format!("violation ({}, round {})", v.kind, v.round),
        pram::Outcome::Fault(f) => format!("fault ({}, round {})", f.kind, f.round),
        pram::Outcome::Limit { limit, round, .. } => format!("limit ({limit}, round {round})"),
        pram::Outcome::BoundExceeded { metric, round, .. } => {
            format!("declared {metric} bound exceeded (round {round})")
        }
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
    /// Largest measured-minus-bound over the rows that ran (0: the bound is met exactly
    /// somewhere; `None`: no row ran).
    pub slack: Option<i128>,
}

/// Fits steps and context of one program over the rows that ran (never predictions): the
/// measured values, and their slack against the bounds.
pub fn fits(rows: &[Row]) -> Vec<FitRow> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let ran: Vec<&Row> = rows.iter().filter(|r| r.materialized).collect();
    let steps: Vec<FitPoint> = ran
        .iter()
        .filter_map(|r| {
            let s = r.steps?;
            Some((r.n as u64, s as f64, s as i128 - r.steps_bound as i128))
        })
        .collect();
    let context: Vec<FitPoint> = ran
        .iter()
        .filter_map(|r| {
            let l: i128 = r.context.as_deref()?.parse().ok()?;
            let b: Option<i128> = r.context_bound_work.parse().ok();
            Some((r.n as u64, l as f64, b.map_or(i128::MIN, |b| l - b)))
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
/// points, slack as the largest difference (`None` when there are none).
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
        let slack = points.iter().map(|p| p.2).filter(|&d| d != i128::MIN).max();
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

/// Why a row whose interpreter run stopped at a limit the schedules do not carry is not run.
pub(crate) fn uncompiled(outcome: &pram::Outcome) -> String {
    format!(
        "the interpreter stopped at {} (a limit the schedules do not carry)",
        outcome
            .uncompiled_limit()
            .map_or(String::new(), |l| l.to_string())
    )
}

/// A run that stopped over `--max-memory` (the AP-MDM runner, as the canvas grew) is not run, with
/// the estimate as its reason, like a weights row that could not be realized (`Err(why)`).
pub(crate) fn over_memory_not_run<T>(
    run: Result<Result<T, MdmRunError>, String>,
) -> Result<Result<T, MdmRunError>, String> {
    match run {
        Ok(Err(MdmRunError::Compile(CompileError::OverMemory(m)))) => Err(m.to_string()),
        run => run,
    }
}
