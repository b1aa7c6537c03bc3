//! Theorem 2 as exact accounting (`proofs/thm2.md`): an MDM with context S runs sequentially in
//! (steps) x (cost of one step), each factor checked on its own: the progress lemma (steps <=
//! masks(x_0) <= S) on every run, and the naive evaluator's counted operations of every step
//! against `c1 S^2 A + c2 S M + d`.

use serde::Serialize;

use crate::compile::mdm_run::{decode, timed};
use crate::compile::pram_to_mdm::{initial_canvas, pram_to_mdm, CompileError, CompileLimits};
use crate::machine::{
    self, Canvas, ControlBits, ModelClass, Proposal, Run, StepFunction, StepFunctionError, Token,
};
use crate::pram::program::Program;
use crate::pram::{self, RunConfig};
use crate::seq::{evaluate_counted, recycle, Evaluator, OpCount, Program as Seq, Word};

use super::mdm::{agreement, failed_checks, reason, uncompiled};
use super::verdict::{Check, Status};

/// c1 of `ops(step) <= c1 S^2 A + c2 S M + d` (`proofs/thm2.md`).
pub const C1: u64 = 4;
/// c2 of the per-step bound.
pub const C2: u64 = 2;
/// d of the per-step bound.
pub const D: u64 = 0;

/// The default of `--max-naive-work`: predicted pair tests A L^2 (T + 2) of one row.
pub const MAX_NAIVE_WORK: u64 = 4_000_000_000;

/// The per-step bound at canvas length `s` for a program of `a` attention and `m` map nodes.
pub fn step_bound(s: u64, a: u64, m: u64) -> u64 {
    C1.saturating_mul(s)
        .saturating_mul(s)
        .saturating_mul(a)
        .saturating_add(C2.saturating_mul(s).saturating_mul(m))
        .saturating_add(D)
}

/// The progress lemma on one run, from its per-step operation counts (not from the class
/// check): every counted step unmasks at least one mask and changes no decoded token, and
/// `steps <= masks(x_0) <= S`.
pub fn progress_checks<A, P>(run: &Run<A, P>) -> Vec<Check> {
    let masks = run
        .trace
        .initial
        .tokens()
        .iter()
        .filter(|t| t.is_mask())
        .count() as u64;
    let s = run.context_length() as u64;
    let steps = run.steps() as u64;
    let mut checks = Vec::new();
    let stalled = run.trace.records.iter().find(|r| r.counts.unmask == 0);
    checks.push(Check {
        what: match stalled {
            None => format!("every one of the {steps} steps unmasks at least one mask"),
            Some(r) => format!("step {} unmasks no mask (no progress)", r.step),
        },
        evidence: true,
        held: stalled.is_none(),
    });
    let changed = run
        .trace
        .records
        .iter()
        .find(|r| r.counts.remask + r.counts.insert + r.counts.delete > 0);
    checks.push(Check {
        what: match changed {
            None => "no step remasks a decoded token, inserts or deletes".to_string(),
            Some(r) => format!(
                "step {} remasks {} decoded tokens, inserts {}, deletes {}",
                r.step, r.counts.remask, r.counts.insert, r.counts.delete
            ),
        },
        evidence: true,
        held: changed.is_none(),
    });
    checks.push(Check::at_most("steps", steps, "masks(x0) = ", masks, true));
    checks.push(Check::at_most("masks(x0)", masks, "S = ", s, true));
    checks
}

/// A seq program run by the naive evaluator, counting every step's primitive operations.
pub struct CountingStep<'a> {
    /// The program.
    pub program: &'a Seq,
    /// Each step's count and canvas length, in order (fixed-point proposals included).
    pub counts: Vec<(OpCount, usize)>,
}

impl StepFunction<Word> for CountingStep<'_> {
    fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
        let (values, count) =
            evaluate_counted(self.program, x).map_err(|e| StepFunctionError(e.to_string()))?;
        self.counts.push((count, x.len()));
        let h = &self.program.heads;
        let at = |v: crate::seq::Value, i: usize| values[v.index()][i];
        let tokens = (0..x.len())
            .map(|i| Word(h.token.iter().map(|&v| at(v, i)).collect()))
            .collect();
        let bits = (0..x.len())
            .map(|i| ControlBits {
                remask: at(h.remask, i) != 0,
                insert: at(h.insert, i) != 0,
                delete: at(h.delete, i) != 0,
            })
            .collect();
        recycle(values);
        Ok(Proposal { tokens, bits })
    }
}

/// The per-step cost checks of a counted run of a program with `a` attention and `m` map
/// nodes: the three exact counts of the evaluator's loops (identities) and the bound
/// (evidence) at every counted evaluation; returns the checks, the largest step's count and
/// its bound, and the total.
pub fn cost_checks(counts: &[(OpCount, usize)], a: u64, m: u64) -> (Vec<Check>, u64, u64, u64) {
    let mut checks = Vec::new();
    let mut exact_ok = None;
    let mut over = None;
    let (mut max_ops, mut max_bound, mut total) = (0u64, 0u64, 0u64);
    for (k, (c, len)) in counts.iter().enumerate() {
        let l = *len as u64;
        let exact = c.pair_tests == a * l * l && c.reads == a * l && c.maps == m * l;
        if !exact && exact_ok.is_none() {
            exact_ok = Some(k + 1);
        }
        let bound = step_bound(l, a, m);
        if c.total() > bound && over.is_none() {
            over = Some((k + 1, c.total(), bound));
        }
        if c.total() >= max_ops {
            max_ops = c.total();
            max_bound = bound;
        }
        total = total.saturating_add(c.total());
    }
    checks.push(Check {
        what: match exact_ok {
            None => format!(
                "every evaluation: pair tests = A L^2, reads = A L, maps = M L ({} evaluations)",
                counts.len()
            ),
            Some(k) => format!("evaluation {k}: the loop counts differ from A L^2, A L, M L"),
        },
        evidence: false,
        held: exact_ok.is_none(),
    });
    checks.push(match over {
        None => Check::at_most(
            "largest step's ops",
            max_ops,
            "c1 S^2 A + c2 S M + d = ",
            max_bound,
            true,
        ),
        Some((k, ops, bound)) => Check {
            what: format!("evaluation {k}: ops {ops} > c1 S^2 A + c2 S M + d = {bound}"),
            evidence: true,
            held: false,
        },
    });
    (checks, max_ops, max_bound, total)
}

/// One Theorem 2 row: a library program compiled by Theorem 1, run by the naive evaluator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Thm2Row {
    /// The program.
    pub program: String,
    /// The size.
    pub n: i64,
    /// The input seed.
    pub seed: u64,
    /// `pass`, `fail` or `not-run`.
    pub status: Status,
    /// Why it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The context S (the canvas length; 0 when not laid out).
    pub context: u64,
    /// Masks of the initial canvas.
    pub masks: u64,
    /// Decoding steps (factor i).
    pub steps: Option<u64>,
    /// Attention nodes A of f.
    pub attention: u64,
    /// Map nodes M of f.
    pub maps: u64,
    /// The largest step's counted operations (factor ii).
    pub step_ops: Option<u64>,
    /// Its bound c1 S^2 A + c2 S M + d.
    pub step_bound: u64,
    /// Counted operations over the whole run (the fixed-point evaluation included).
    pub total_ops: Option<u64>,
    /// masks(x0) * (c1 S^2 A + c2 S M + d): the O(S^3 |f|) bound.
    pub product_bound: u64,
    /// Whether the decoded result equals the interpreter's.
    pub agree: Option<bool>,
    /// Seconds of the naive run.
    pub naive_seconds: f64,
    /// Seconds of the same schedule under the indexed evaluator (the seq IR's closed selector
    /// family only: O(S log S) per attention node; not part of the theorem).
    pub indexed_seconds: f64,
    /// Every check made.
    pub checks: Vec<Check>,
    /// What failed.
    pub problems: Vec<String>,
}

/// Compiles `program` at `config`'s n with Theorem 1, runs the schedule with the naive
/// evaluator counting every step, and checks both factors and the product.
pub fn check_thm2_case(
    program: &Program,
    config: &RunConfig,
    limits: &CompileLimits,
    max_naive_work: u64,
) -> Result<Thm2Row, CompileError> {
    let mut config = config.clone();
    config.max_cells = limits.max_cells;
    config.max_processors = limits.max_processors;
    let want = pram::run(program, &config).map_err(|e| CompileError::Setup(e.to_string()))?;
    let mut row = Thm2Row {
        program: program.name.clone(),
        n: config.n,
        seed: config.seed,
        status: Status::NotRun,
        reason: None,
        context: 0,
        masks: 0,
        steps: None,
        attention: 0,
        maps: 0,
        step_ops: None,
        step_bound: 0,
        total_ops: None,
        product_bound: 0,
        agree: None,
        naive_seconds: 0.0,
        indexed_seconds: 0.0,
        checks: Vec::new(),
        problems: Vec::new(),
    };
    if want.outcome.uncompiled_limit().is_some() {
        return Ok(finish(row, false, Some(uncompiled(&want.outcome))));
    }
    let compiled = match pram_to_mdm(program, config.n, limits) {
        Ok(c) => c,
        Err(e @ (CompileError::TooLarge(_) | CompileError::OverMemory(_))) => {
            return Ok(finish(row, false, Some(e.to_string())))
        }
        Err(e) => return Err(e),
    };
    let x0 = initial_canvas(&compiled, program, &config)?;
    let shape = compiled.seq.shape();
    let (a, m) = (shape.attention as u64, shape.maps as u64);
    let s = x0.len() as u64;
    row.context = s;
    row.masks = x0.iter().filter(|t| t.is_mask()).count() as u64;
    row.attention = a;
    row.maps = m;
    row.step_bound = step_bound(s, a, m);
    row.product_bound = row.masks.saturating_mul(row.step_bound);
    let predicted = a
        .saturating_mul(s)
        .saturating_mul(s)
        .saturating_mul(want.metrics.rounds + 2);
    if predicted > max_naive_work {
        return Ok(finish(
            row,
            false,
            Some(format!(
                "naive pair tests A S^2 (T + 2) = {predicted} over --max-naive-work {max_naive_work}"
            )),
        ));
    }
    let max_steps = compiled.regions.header_count + 2;
    let run_config = machine::RunConfig::new(ModelClass::Mdm)
        .max_steps(max_steps)
        .max_length(compiled.regions.length);
    let mut f = CountingStep {
        program: &compiled.seq,
        counts: Vec::new(),
    };
    let (run, naive_seconds) = timed(|| machine::run(&mut f, Canvas::new(x0.clone()), &run_config));
    row.naive_seconds = naive_seconds;
    let mut indexed = crate::seq::SeqStep::new(compiled.seq.clone(), Evaluator::Indexed);
    let (indexed_run, indexed_seconds) =
        timed(|| machine::run(&mut indexed, Canvas::<Word, ()>::new(x0), &run_config));
    row.indexed_seconds = indexed_seconds;
    let mut checks = Vec::new();
    if let Some(e) = run.stop.error() {
        checks.push(Check {
            what: format!("the schedule failed: {e}"),
            evidence: true,
            held: false,
        });
    }
    checks.push(Check {
        what: if indexed_run.last.tokens() == run.last.tokens() {
            "the indexed evaluator's run ends on the same canvas".to_string()
        } else {
            "the indexed evaluator's run ends on a different canvas".to_string()
        },
        evidence: true,
        held: indexed_run.last.tokens() == run.last.tokens(),
    });
    row.steps = Some(run.steps() as u64);
    checks.extend(progress_checks(&run));
    let (cost, max_ops, _, total) = cost_checks(&f.counts, a, m);
    checks.extend(cost);
    row.step_ops = Some(max_ops);
    row.total_ops = Some(total);
    // The product: every evaluation (the fixed-point one too) against masks(x0) + 1 steps'
    // bound; the +1 is the evaluation that finds the fixed point, which the run does not count.
    let evaluations_bound = (row.masks + 1).saturating_mul(row.step_bound);
    checks.push(Check::at_most(
        "total ops",
        total,
        "(masks(x0) + 1) * step bound = ",
        evaluations_bound,
        true,
    ));
    match decode(&compiled, program, &run) {
        Ok(got) => {
            let c = agreement("mdm", &got.outcome, &got.output, &got.metrics, &want);
            row.agree = Some(c.held);
            checks.push(c);
        }
        Err(e) => checks.push(Check {
            what: format!("the final canvas cannot be read: {e}"),
            evidence: true,
            held: false,
        }),
    }
    row.checks = checks;
    Ok(finish(row, true, None))
}

fn finish(mut row: Thm2Row, ran: bool, not_run: Option<String>) -> Thm2Row {
    row.problems = failed_checks(&row.checks);
    row.status = Status::of(ran, &row.problems);
    row.reason = reason(row.status, &row.problems, not_run);
    row
}
