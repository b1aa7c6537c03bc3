//! Checking the Theorem 4 construction: compile, run, compare with the interpreter, and hold the
//! steps and every step's length against `proofs/apmdm.bounds.json`.
//!
//! The space in use is the interpreter's, read from its per-round trace (cells in use during each
//! round, and the fewest in use since the previous one); the allocation steps the bound allows
//! are computed here from that trace by the proof's formula, not taken from the schedule.

use serde::{Deserialize, Serialize};

use super::mdm::{
    agreement, answer_words, failed_checks, fit_quantities, outcome_words, over_memory_not_run,
    program_bound_check, reason, width_checks, FitRow, Linear,
};
use super::verdict::{Check, Status};
use super::weights::{run_by_weights, weights_checks, Executor, ExecutorOptions, WeightsRow};
use crate::compile::apmdm_run::{run_apmdm_watched, run_apmdm_with, used_positions, StepInfo};
use crate::compile::mdm_run::timed;
use crate::compile::pram_to_apmdm::{initial_canvas, pram_to_apmdm_in, ApmdmLayout, ApmdmMode};
use crate::compile::pram_to_mdm::{CompileError, CompileLimits};
use crate::machine::Canvas;
use crate::pram::interp::{run_traced, TraceRound};
use crate::pram::program::Program;
use crate::pram::{self, RunConfig, RunReport};
use crate::seq::Evaluator;

/// The constants of the AP-MDM construction, as `proofs/apmdm.bounds.json` states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApmdmBounds {
    /// steps <= a*T + (allocation steps) + b.
    pub steps: Linear,
    /// context <= c*(S + max(1, P_decl)) + d.
    pub context: Linear,
}

/// The bounds file, embedded so that an installed binary checks the same constants.
pub const BOUNDS_FILE: &str = include_str!("../../proofs/apmdm.bounds.json");

impl ApmdmBounds {
    /// The constants of `proofs/apmdm.bounds.json`.
    pub fn from_file() -> ApmdmBounds {
        // The file is part of the crate and checked by a test; a malformed one is a build defect.
        serde_json::from_str(BOUNDS_FILE).expect("proofs/apmdm.bounds.json is well formed")
    }
}

/// The interpreter's memory over time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceProfile {
    /// Cells in use before the first round (the static arrays).
    pub initial: u64,
    /// Per completed round: (cells in use during it, fewest in use since the previous round).
    pub rounds: Vec<(u64, u64)>,
}

impl SpaceProfile {
    /// Cells in use during round r (round 0: before the first), if the run completed it.
    pub fn space(&self, r: usize) -> Option<u64> {
        if r == 0 {
            Some(self.initial)
        } else {
            self.rounds.get(r - 1).map(|x| x.0)
        }
    }

    /// The most cells in use at a step whose header stands at round r: it serves round r or the
    /// transition into it, so max(space of round r - 1, space of round r); a round the run did
    /// not complete (a failing one, the end) counts with the peak `peak`.
    pub fn in_use_at(&self, r: usize, peak: u64) -> u64 {
        match (self.space(r.saturating_sub(1)), self.space(r)) {
            (Some(a), Some(b)) => a.max(b),
            (Some(a), None) => a.max(peak),
            _ => peak,
        }
    }

    /// The allocation steps of the proof, summed over the transitions into completed rounds:
    /// one DELETE step when the transition leaves cells in use (low < before), and
    /// ceil(log2((after + 1) / (low + 1))) GROW steps when it allocates (after > low).
    pub fn allocation_steps(&self) -> u64 {
        let mut before = self.initial;
        let mut total = 0;
        for &(after, low) in &self.rounds {
            total += u64::from(low < before) + grow_steps(low, after);
            before = after;
        }
        total
    }

    /// The allocation steps of the transitions into rounds 2, 3, ...: those of a program that
    /// allocates or frees memory after its first round (the entry transition's are left out).
    pub fn allocation_steps_after_entry(&self) -> u64 {
        let entry = SpaceProfile {
            initial: self.initial,
            rounds: self.rounds.iter().take(1).copied().collect(),
        };
        self.allocation_steps() - entry.allocation_steps()
    }
}

/// GROW steps from `low` cells to `after` cells: each step at most doubles the memory region
/// plus one (its positions and the header beside it insert one mask each), so the count is the
/// least g with (low + 1) * 2^g >= after + 1.
pub fn grow_steps(low: u64, after: u64) -> u64 {
    let mut g = 0;
    let mut have = low.saturating_add(1);
    let want = after.saturating_add(1);
    while have < want {
        have = have.saturating_mul(2);
        g += 1;
    }
    g
}

/// Runs the interpreter, keeping its space per round.
pub fn profile(
    program: &Program,
    config: &RunConfig,
) -> Result<(RunReport, SpaceProfile), CompileError> {
    let setup =
        pram::interp::setup(program, config).map_err(|e| CompileError::Setup(e.to_string()))?;
    let mut rounds = Vec::new();
    let mut keep = |t: TraceRound| rounds.push((t.space, t.low));
    let report = run_traced(program, config, Some(&mut keep))
        .map_err(|e| CompileError::Setup(e.to_string()))?;
    Ok((
        report,
        SpaceProfile {
            initial: setup.cells.len() as u64,
            rounds,
        },
    ))
}

/// One checked (program, n, seed) on the AP-MDM.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApmdmRow {
    /// The program.
    pub program: String,
    /// `"apmdm"` (the declared layout, the theorem's form) or `"apmdm-tight"`.
    pub target: String,
    /// The layout run.
    pub layout: ApmdmMode,
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
    /// Space S (peak cells in use).
    pub space: u64,
    /// The processor region, max(1, P_decl).
    pub slots: u64,
    /// `pass`, `fail` or `not-run`.
    pub status: Status,
    /// Why the row did not pass: why it was not run, or its problems in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Decoding steps of the run.
    pub steps: Option<u64>,
    /// The allocation steps the tight layout takes (the proof's count from the interpreter's
    /// space profile); the declared layout takes none.
    pub allocation_steps: u64,
    /// Of those, the steps of transitions after the first round (`check` runs the tight layout
    /// beside the declared one where this is not zero).
    pub allocation_steps_after_entry: u64,
    /// a*T + b (declared), a*T + allocation steps + b (tight).
    pub steps_bound: u64,
    /// The peak context the run reached.
    pub context: Option<u64>,
    /// The most positions in use at any step (`StepInfo::used`; the context in the tight layout).
    pub context_used: Option<u64>,
    /// The proof's exact peak 2 + S + slots, for a row not run (a prediction).
    pub predicted_context: Option<u64>,
    /// c*(S + slots) + d (tight); c*(max(S_decl, static cells) + slots) + d (declared, an
    /// identity of the layout).
    pub context_bound: u64,
    /// c*(S + slots) + d: the bound on the positions in use, with S the measured space.
    pub context_used_bound: u64,
    /// The initial canvas length.
    pub initial: u64,
    /// Steps whose length was held against the space in use then (all, when run).
    pub steps_checked: u64,
    /// Whether the schedule was built and run.
    pub materialized: bool,
    /// Whether output, metrics and outcome equal the interpreter's (`None`: not run).
    pub agree: Option<bool>,
    /// The interpreter's outcome, in words.
    pub outcome: String,
    /// The interpreter's outcome in full (round, line, processors, address).
    pub outcome_detail: pram::Outcome,
    /// The interpreter's output in short: scalars by value, arrays by length.
    pub answer: String,
    /// Seq program: operators.
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
    /// Operations summed over steps.
    pub unmask: u64,
    /// Remasks.
    pub remask: u64,
    /// Inserts.
    pub insert: u64,
    /// Deletes.
    pub delete: u64,
    /// Seconds to compile and run the schedule.
    pub seconds: f64,
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

/// Compiles and runs `program` on the AP-MDM for `config`'s input, compares with the interpreter
/// and checks the bounds, the peak and every step's length.
///
/// A run whose predicted position-steps (steps bound times the peak context) exceed `max_work`,
/// or whose initial canvas exceeds `limits.max_length`, is not run; its row is `not-run`, carries
/// the proof's exact peak context as a prediction, and says why.
pub fn check_apmdm_case(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &ApmdmBounds,
    max_work: u64,
) -> Result<ApmdmRow, CompileError> {
    check_apmdm_case_watched(
        program,
        config,
        limits,
        bounds,
        max_work,
        ExecutorOptions::seq(),
        ApmdmMode::Tight,
        &mut |_| {},
        &mut |_| {},
    )
}

/// [`check_apmdm_case`] in layout `mode`, handing the steps bound to `on_bound` once it is
/// known (before the schedule runs) and each step of the schedule's run to `watch` (for
/// progress).
///
/// Tight: steps <= aT + (allocation steps) + b, the peak context <= c(S + slots) + d, and every
/// step's length within the cells in use then. Declared: steps <= aT + b, the context equal to
/// the layout's c(max(S_decl, static cells) + slots) + d (an identity), and every step's
/// positions in use (`StepInfo::used`, measured from the tokens) within the cells the
/// interpreter had in use then.
#[allow(clippy::too_many_arguments)]
pub fn check_apmdm_case_watched(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    bounds: &ApmdmBounds,
    max_work: u64,
    exec: ExecutorOptions,
    mode: ApmdmMode,
    on_bound: &mut dyn FnMut(u64),
    watch: &mut dyn FnMut(&StepInfo),
) -> Result<ApmdmRow, CompileError> {
    let declared = mode == ApmdmMode::Declared;
    let executor = exec.executor;
    let (n, seed) = (config.n, config.seed);
    let mut config = config.clone();
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    // The layout first: a program it cannot be laid out for is refused before the interpreter
    // runs (which may take long).
    let layout = ApmdmLayout::at(program, n.max(0) as u64)?;
    let (want, space) = profile(program, &config)?;
    let m = &want.metrics;
    let slots = u64::try_from(&layout.slots).unwrap_or(u64::MAX);
    let initial = u64::try_from(&layout.initial).unwrap_or(u64::MAX);
    let allocation_steps = space.allocation_steps();
    let sb = &bounds.steps;
    let steps_bound = (sb.a as u64)
        .saturating_mul(m.rounds)
        .saturating_add(if declared { 0 } else { allocation_steps })
        .saturating_add(sb.b as u64);
    on_bound(steps_bound);
    let cb = &bounds.context;
    let context_at = |s: u64| {
        (cb.a as u64)
            .saturating_mul(s.saturating_add(slots))
            .saturating_add(cb.b as u64)
    };
    // The declared layout's length: the region holds max(S_decl, static cells) cells.
    let region = u64::try_from(&layout.peak_declared)
        .unwrap_or(u64::MAX)
        .saturating_sub(slots.saturating_add(2));
    let context_used_bound = context_at(m.space);
    let context_bound = if declared {
        context_at(region)
    } else {
        context_used_bound
    };
    let mut row = ApmdmRow {
        program: program.name.clone(),
        target: if declared { "apmdm" } else { "apmdm-tight" }.into(),
        layout: mode,
        n,
        seed,
        rounds: m.rounds,
        processors: m.processors,
        work: m.work,
        space: m.space,
        slots,
        status: Status::NotRun,
        reason: None,
        steps: None,
        allocation_steps,
        allocation_steps_after_entry: space.allocation_steps_after_entry(),
        steps_bound,
        context: None,
        context_used: None,
        predicted_context: None,
        context_bound,
        context_used_bound,
        initial: if declared { context_bound } else { initial },
        steps_checked: 0,
        materialized: false,
        agree: None,
        outcome: outcome_words(&want.outcome),
        outcome_detail: want.outcome.clone(),
        answer: answer_words(&want.output),
        seq_nodes: 0,
        seq_heads: 0,
        seq_depth: 0,
        map_depth: 0,
        width_bits: 0,
        width_declared: 0,
        width_bound: 0,
        fields: 0,
        unmask: 0,
        remask: 0,
        insert: 0,
        delete: 0,
        seconds: 0.0,
        executor,
        weights: None,
        checks: Vec::new(),
        problems: Vec::new(),
    };
    let predicted = if declared {
        context_bound
    } else {
        m.space.saturating_add(slots).saturating_add(2)
    };
    let cost = steps_bound.saturating_mul(predicted);
    let not_run = if want.outcome.uncompiled_limit().is_some() {
        Some(super::mdm::uncompiled(&want.outcome))
    } else if row.initial > limits.max_length as u64 {
        Some(format!("longer than --max-length {}", limits.max_length))
    } else if cost > max_work {
        Some(format!("steps x context {cost} over the budget of {max_work} position-steps (--max-seconds, --max-work)"))
    } else {
        None
    };
    let mut checks: Vec<Check> = program_bound_check(&want.outcome).into_iter().collect();
    if let Some(why) = not_run {
        row.checks = checks;
        // Nothing was run, so nothing was checked: the row reports the proof's prediction.
        row.predicted_context = Some(predicted);
        return Ok(finish(row, false, Some(why)));
    }
    let (result, seconds) = timed(|| -> Result<_, CompileError> {
        let compiled = pram_to_apmdm_in(program, n, limits, mode)?;
        // The proof's peak context sizes the estimate; the runner holds the ceiling if it grows.
        let longest = predicted.max(row.initial);
        crate::compile::memory::check(&compiled.seq, longest, 0, limits.max_memory)?;
        let x0 = initial_canvas(&compiled, program, &config)?;
        let first_used = used_positions(&compiled, &x0);
        let (run, weights) = match executor {
            Executor::Seq => (
                Ok(run_apmdm_watched(
                    &compiled,
                    program,
                    Canvas::new(x0),
                    Evaluator::Indexed,
                    false,
                    watch,
                )),
                None,
            ),
            Executor::Weights | Executor::WeightsF32 => {
                match run_by_weights(&compiled.seq, compiled.max_length, exec, |f| {
                    let run = run_apmdm_with(&compiled, program, Canvas::new(x0), f, false, watch);
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
        Ok((compiled, run, weights, first_used))
    });
    // Over --max-memory (before the run, or as the canvas grew): nothing is claimed.
    let (compiled, run, weights, first_used) = match result {
        Err(CompileError::OverMemory(m)) => {
            row.predicted_context = Some(predicted);
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
    match run {
        Err(e) => checks.push(Check {
            what: format!("schedule failed: {e}"),
            evidence: true,
            held: false,
        }),
        Ok((got, _)) => {
            let (steps, context) = (got.steps as u64, got.context as u64);
            row.steps = Some(steps);
            row.context = Some(context);
            row.unmask = got.ops.unmask;
            row.remask = got.ops.remask;
            row.insert = got.ops.insert;
            row.delete = got.ops.delete;
            let bound = crate::compile::width::WidthBound::apmdm().bits(compiled.word, got.context);
            row.width_bits = got.widest_bits;
            row.width_bound = bound;
            checks.extend(width_checks(got.widest_bits, row.width_declared, bound));
            let agreement = agreement("apmdm", &got.outcome, &got.output, &got.metrics, &want);
            row.agree = Some(agreement.held);
            checks.push(agreement);
            let used_at = |s: &StepInfo| if declared { s.used } else { s.length } as u64;
            let used = got
                .per_step
                .iter()
                .map(used_at)
                .fold(first_used as u64, u64::max);
            row.context_used = Some(used);
            if declared {
                checks.push(Check::at_most(
                    "steps",
                    steps,
                    "aT + b = ",
                    steps_bound,
                    true,
                ));
                // The declared layout never changes length: its context is the layout's.
                checks.push(Check::at_most(
                    "context (declared layout)",
                    context,
                    "c(max(S_decl, static) + slots) + d = ",
                    context_bound,
                    false,
                ));
                checks.push(Check::at_most(
                    "peak positions in use",
                    used,
                    "c(S + slots) + d = ",
                    context_used_bound,
                    true,
                ));
            } else {
                checks.push(Check::at_most(
                    "steps",
                    steps,
                    "aT + alloc + b = ",
                    steps_bound,
                    true,
                ));
                checks.push(Check::at_most(
                    "peak context",
                    context,
                    "c(S + slots) + d = ",
                    context_bound,
                    true,
                ));
                // The initial canvas is laid out from the static arrays: an identity of the
                // layout.
                let first = context_at(space.initial);
                checks.push(Check::at_most(
                    "initial length",
                    got.initial as u64,
                    "",
                    first,
                    false,
                ));
            }
            // Every step against the space in use: a step whose header stands at round r
            // serves round r or the transition into it, so the cells in use are at most
            // max(space of round r - 1, space of round r).
            let what = if declared {
                "positions in use"
            } else {
                "length"
            };
            let mut every = Check {
                what: format!(
                    "each of {} steps' {what} within c(cells in use) + slots + d",
                    got.per_step.len()
                ),
                evidence: true,
                held: true,
            };
            for (j, s) in got.per_step.iter().enumerate() {
                let r = s.round as usize;
                let here = space.in_use_at(r, m.space);
                let allowed = context_at(here);
                if used_at(s) > allowed {
                    every = Check {
                        what: format!(
                            "step {} (round {r}): {what} {} > bound {allowed} for {here} cells in use",
                            j + 1,
                            used_at(s)
                        ),
                        evidence: true,
                        held: false,
                    };
                    break;
                }
                row.steps_checked += 1;
            }
            checks.push(every);
        }
    }
    row.checks = checks;
    Ok(finish(row, true, None))
}

/// Sets a row's problems (the checks that did not hold), status and reason.
fn finish(mut row: ApmdmRow, ran: bool, not_run: Option<String>) -> ApmdmRow {
    row.problems = failed_checks(&row.checks);
    row.status = Status::of(ran, &row.problems);
    row.reason = reason(row.status, &row.problems, not_run);
    row
}

/// Fits steps and peak context of one program on the AP-MDM over the rows that ran (never the
/// proof's predictions).
pub fn fits(rows: &[ApmdmRow]) -> Vec<FitRow> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let steps = rows
        .iter()
        .filter_map(|r| {
            let s = r.steps?;
            Some((r.n as u64, s as f64, s as i128 - r.steps_bound as i128))
        })
        .collect();
    let context = rows
        .iter()
        .filter_map(|r| {
            let c = r.context?;
            Some((r.n as u64, c as f64, c as i128 - r.context_bound as i128))
        })
        .collect();
    fit_quantities(
        &first.program,
        &first.target,
        &[("steps", steps), ("context", context)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_steps_double_the_region_plus_one() {
        assert_eq!(grow_steps(5, 5), 0);
        assert_eq!(grow_steps(0, 1), 1);
        assert_eq!(grow_steps(0, 3), 2);
        assert_eq!(grow_steps(0, 4), 3);
        assert_eq!(grow_steps(3, 4), 1);
        assert_eq!(grow_steps(3, 7), 1);
        assert_eq!(grow_steps(3, 8), 2);
        assert_eq!(grow_steps(22, 38), 1);
        assert_eq!(grow_steps(6, 4), 0);
    }

    #[test]
    fn allocation_steps_count_deletes_and_grows() {
        let p = SpaceProfile {
            initial: 10,
            rounds: vec![(12, 10), (12, 12), (11, 10), (10, 10), (20, 10)],
        };
        // 10 -> 12: grow 1; 12 -> 12: 0; 12 -> (10) -> 11: delete + grow 1; 11 -> 10: delete;
        // 10 -> 20: ceil(log2(21/11)) = 1.
        assert_eq!(p.allocation_steps(), 1 + 2 + 1 + 1);
        // The entry transition (10 -> 12) is left out.
        assert_eq!(p.allocation_steps_after_entry(), 2 + 1 + 1);
    }

    #[test]
    fn the_bounds_file_states_what_the_proof_states() {
        // The proof is the specification: the embedded constants must be the ones it writes
        // down, so that neither can change without the other.
        let b = ApmdmBounds::from_file();
        let proof = include_str!("../../proofs/apmdm.md");
        let steps = format!(
            "steps <= {}T + (allocation steps) + {}",
            b.steps.a, b.steps.b
        );
        assert!(proof.contains(&steps), "the proof does not state {steps:?}");
        let declared = format!("steps <= {}T + {}", b.steps.a, b.steps.b);
        assert!(
            proof.contains(&format!(
                "(declared layout: {declared}, no allocation term)"
            )),
            "the proof does not state {declared:?} for the declared layout"
        );
        let context = format!("`context` c = {}, d = {}", b.context.a, b.context.b);
        assert!(
            proof.contains(&context),
            "the proof does not state {context:?}"
        );
    }
}
