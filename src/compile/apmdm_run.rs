//! Running a compiled AP-MDM schedule with `machine`'s runner and reading its final canvas back.
//!
//! The tokens carry no counter that grows with time: the header holds the round modulo a
//! constant (2^16) and no work. The runner counts rounds, work and the widest round from the
//! successive headers ([`RoundCounter`]), and stops a run before a round that passes the declared
//! rounds or work, as the interpreter does. The decoder reads the final tokens (the decoded
//! header gives the status, S and the outcome's details; the memory cells give the output
//! arrays) and the runner's counts (T, W, P, and the whole round number of an outcome whose
//! header states it modulo the constant). Every step's length and phase are recorded, so that a
//! checker can hold each step against the space in use.

use super::envelope::Layout;
use super::mdm_run::{metrics_of, outcome_of, output_value, Decoded, MdmRunError};
use super::memory;
use super::pram_to_apmdm::{initial_canvas, phase, ApmdmCompiled, ApmdmMode};
use super::round::CompileError;
use super::round::{hf, kind};
use crate::machine::{self, Canvas, ModelClass, OpCounts, Run, StepFunction, Stop, Token};
use crate::pram::outcome::{Metrics, Outcome, Value};
use crate::pram::program::Program;
use crate::pram::Metric;
use crate::pram::RunConfig;
use crate::seq::{Evaluator, Word};

/// One step of an AP-MDM run as the checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepInfo {
    /// The canvas length after the step.
    pub length: usize,
    /// The round the decoded header stands at after the step (T, as the runner counts it).
    pub round: u64,
    /// The phase the decoded header names after the step.
    pub phase: i64,
    /// The positions in use after the step, read from the tokens alone: the canvas length in
    /// the tight layout; in the declared layout (cell j at position 2 + j), the headers, the
    /// slots, and the memory region up to its last position holding a mask or a cell of
    /// non-zero value (the cells beyond are at 0, as an allocation finds them).
    pub used: usize,
}

/// What one run of a compiled AP-MDM schedule produced, decoded from its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApmdmReport {
    /// The outcome, as the interpreter states it.
    pub outcome: Outcome,
    /// The output arrays, read from the memory cells.
    pub output: Vec<(String, Value)>,
    /// T, P, W as the runner counted them; S read off the final header.
    pub metrics: Metrics,
    /// Decoding steps.
    pub steps: usize,
    /// The context: the longest canvas, the initial one included.
    pub context: usize,
    /// The initial canvas length.
    pub initial: usize,
    /// Per step: length, round and phase after it.
    pub per_step: Vec<StepInfo>,
    /// Operation totals over all steps.
    pub ops: OpCounts,
    /// The runner's stop reason.
    pub stop: String,
    /// The widest value any node of f computed at any position of any step, in bits
    /// (`seq::range::width`); every value was checked against its node's declared range.
    pub widest_bits: u32,
}

/// What the runner counts from the successive decoded headers of an AP-MDM run, whose tokens
/// hold the round only modulo a constant: T, W and P, and the declared bound a round passes.
///
/// A new round shows as a change of the header's round field (by one, modulo the modulus); its
/// processor count is the header's count field. A round past the declared rounds (or one that
/// takes the work past the declared work) stops the run after the step that commits the round
/// before it, where the interpreter stops before running it (`proofs/apmdm.md`, "No counters on
/// the canvas").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundCounter {
    modulus: i64,
    rounds_declared: Option<i64>,
    work_declared: Option<i64>,
    /// The round field of the last header seen.
    last: i64,
    /// Rounds started.
    pub rounds: u64,
    /// Processors over the rounds started.
    pub work: u64,
    /// The most processors of a round started.
    pub processors: u64,
    /// (T, W, P) before the latest round started.
    before: (u64, u64, u64),
    /// The declared bound the latest round passes: (metric, measured, bound).
    pub over: Option<(Metric, u64, i64)>,
    /// A header whose round field moved by other than one: (from, to).
    pub jump: Option<(i64, i64)>,
}

/// Why a run stops, and cannot be decoded, when a header's round field moved by other than one.
fn jump_message(from: i64, to: i64) -> String {
    format!("the header's round field moved from {from} to {to}")
}

impl RoundCounter {
    /// A counter for schedules of `layout` (an AP-MDM layout); `None` otherwise.
    pub fn for_layout(layout: &Layout) -> Option<RoundCounter> {
        let r = layout.apmdm_regions()?;
        Some(RoundCounter {
            modulus: r.round_modulus,
            rounds_declared: r.rounds_declared,
            work_declared: r.work_declared,
            last: 0,
            rounds: 0,
            work: 0,
            processors: 0,
            before: (0, 0, 0),
            over: None,
            jump: None,
        })
    }

    /// Starts the count at a canvas taken mid-run whose decoded header's round field is `t`:
    /// the rounds before it count as `t` (the field's value; whole only before the first wrap),
    /// their work as 0.
    pub fn start_at(&mut self, t: i64) {
        self.last = t;
        self.rounds = t.max(0) as u64;
    }

    /// Counts the header `h` decoded after a step (`t`, `cnt`, `phase`: where the layout keeps
    /// the round, the processor count and the phase). Returns why the run stops here, if it does.
    pub fn see(&mut self, t: i64, cnt: i64, phase: i64, commit: i64) -> Option<String> {
        if t != self.last {
            let moved = if self.modulus > 0 {
                (t - self.last).rem_euclid(self.modulus)
            } else {
                t - self.last
            };
            if moved != 1 {
                self.jump = Some((self.last, t));
                return Some(jump_message(self.last, t));
            }
            self.last = t;
            self.before = (self.rounds, self.work, self.processors);
            let cnt = cnt.max(0) as u64;
            self.rounds += 1;
            self.work = self.work.saturating_add(cnt);
            self.processors = self.processors.max(cnt);
            let past = |bound: Option<i64>, v: u64| bound.filter(|&b| v as i128 > b as i128);
            if let Some(b) = past(self.rounds_declared, self.rounds) {
                self.over = Some((Metric::Rounds, self.rounds, b));
            } else if let Some(b) = past(self.work_declared, self.work) {
                self.over = Some((Metric::Work, self.work, b));
            }
        }
        match self.over {
            Some((metric, measured, bound)) if phase != commit => Some(format!(
                "round {} would take {} to {measured}, past its declared bound {bound}",
                self.rounds, metric
            )),
            _ => None,
        }
    }

    /// The whole round number of an outcome whose header states it modulo the modulus: the
    /// rounds started, or the round after them.
    fn round_of(&self, stated: u64) -> Option<u64> {
        if self.modulus <= 0 {
            return Some(stated);
        }
        let m = self.modulus as u64;
        [self.rounds, self.rounds + 1]
            .into_iter()
            .find(|&r| r % m == stated % m && stated < m)
    }

    /// `decoded`, read off the last canvas, with the counts: T, W, P counted; an outcome's round
    /// made whole; a stop before a round past the declared rounds or work stated as the
    /// interpreter states it (rounds are checked before processors, so a round the transition
    /// refused for its processors is past the declared rounds first when it is).
    fn complete(&self, mut decoded: Decoded) -> Result<Decoded, MdmRunError> {
        let bad = |s: String| MdmRunError::Unreadable(s);
        if let Some((from, to)) = self.jump {
            return Err(bad(jump_message(from, to)));
        }
        let (rounds, work, processors) = match self.over {
            Some(_) => self.before,
            None => (self.rounds, self.work, self.processors),
        };
        decoded.metrics.rounds = rounds;
        decoded.metrics.work = work;
        decoded.metrics.processors = processors;
        if let Some((metric, measured, bound)) = self.over {
            decoded.outcome = Outcome::BoundExceeded {
                metric,
                measured,
                bound,
                round: self.rounds,
            };
            return Ok(decoded);
        }
        let whole = |r: &mut u64| -> Result<(), MdmRunError> {
            *r = self
                .round_of(*r)
                .ok_or_else(|| bad(format!("an outcome's round {r} is not the next round")))?;
            Ok(())
        };
        match &mut decoded.outcome {
            Outcome::Ok => {}
            Outcome::Fault(f) => whole(&mut f.round)?,
            Outcome::Violation(v) => whole(&mut v.round)?,
            Outcome::Limit { round, .. } => whole(round)?,
            Outcome::BoundExceeded {
                metric,
                measured,
                bound,
                round,
            } => {
                whole(round)?;
                if let Some(t) = self.rounds_declared {
                    if *metric == Metric::Processors && *round as i128 > t as i128 {
                        *metric = Metric::Rounds;
                        *measured = *round;
                        *bound = t;
                    }
                }
            }
        }
        Ok(decoded)
    }
}

/// The decoded header of a canvas (the one with the highest ordinal).
pub fn current_header(tokens: &[Token<Word>]) -> Option<&Word> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Sym(w) if w.0[0] == kind::HEADER => Some(w),
            _ => None,
        })
        .max_by_key(|w| w.0[hf::ORD])
}

/// The positions of `tokens` in use ([`StepInfo::used`]).
pub fn used_positions(compiled: &ApmdmCompiled, tokens: &[Token<Word>]) -> usize {
    if compiled.mode == ApmdmMode::Tight {
        return tokens.len();
    }
    let end = tokens.len().saturating_sub(compiled.slots);
    let occupied = tokens
        .get(2..end)
        .unwrap_or(&[])
        .iter()
        .rposition(|t| match t {
            Token::Mask => true,
            Token::Sym(w) => w.0.get(2).is_some_and(|&v| v != 0),
        })
        .map_or(0, |j| j + 1);
    2 + occupied + compiled.slots
}

/// Runs `compiled` on the input `config` describes; the machine run keeps every canvas when
/// `full` is set.
pub fn run_apmdm(
    compiled: &ApmdmCompiled,
    program: &Program,
    config: &RunConfig,
    evaluator: Evaluator,
    full: bool,
) -> Result<(ApmdmReport, Run<Word>), MdmRunError> {
    let x0 = initial_canvas(compiled, program, config)?;
    run_apmdm_from(compiled, program, Canvas::new(x0), evaluator, full)
}

/// Runs `compiled` from any canvas (for fault injection: a canvas taken mid-run and altered).
pub fn run_apmdm_from(
    compiled: &ApmdmCompiled,
    program: &Program,
    canvas: Canvas<Word>,
    evaluator: Evaluator,
    full: bool,
) -> Result<(ApmdmReport, Run<Word>), MdmRunError> {
    run_apmdm_watched(compiled, program, canvas, evaluator, full, &mut |_| {})
}

/// [`run_apmdm_from`], handing each step's length, round and phase to `watch` as it happens (for
/// progress on long runs).
pub fn run_apmdm_watched(
    compiled: &ApmdmCompiled,
    program: &Program,
    canvas: Canvas<Word>,
    evaluator: Evaluator,
    full: bool,
    watch: &mut dyn FnMut(&StepInfo),
) -> Result<(ApmdmReport, Run<Word>), MdmRunError> {
    // Positions move on most AP-MDM steps (inserts and deletes), so token-local values cannot
    // be kept across them: the demand-driven evaluation, not the incremental one.
    let mut f = if full || evaluator != Evaluator::Indexed {
        crate::seq::SeqStep::new(compiled.seq.clone(), evaluator)
    } else {
        crate::seq::SeqStep::demanded(compiled.seq.clone())
    };
    let (mut report, run) = run_apmdm_with(compiled, program, canvas, &mut f, full, watch)?;
    report.widest_bits = f.widest;
    Ok((report, run))
}

/// Runs `compiled` from `canvas` with any realization `f` of its step function (the seq
/// evaluator, or the hand-set weights of `crate::weights`), handing each step to `watch`.
pub fn run_apmdm_with(
    compiled: &ApmdmCompiled,
    program: &Program,
    canvas: Canvas<Word>,
    f: &mut dyn StepFunction<Word>,
    full: bool,
    watch: &mut dyn FnMut(&StepInfo),
) -> Result<(ApmdmReport, Run<Word>), MdmRunError> {
    let initial = canvas.len();
    let affordable = memory::longest_within(&compiled.seq, compiled.max_memory);
    let mut config = machine::RunConfig::new(ModelClass::ApMdm)
        .max_steps(compiled.max_steps)
        .max_length(compiled.max_length.min(affordable));
    if initial > affordable {
        memory::check(&compiled.seq, initial as u64, 0, compiled.max_memory)
            .map_err(CompileError::from)?;
    }
    if full {
        config = config.full_trace();
    }
    let mut per_step = Vec::new();
    let layout = Layout::apmdm(compiled, program);
    let mut counter = RoundCounter::for_layout(&layout).expect("an AP-MDM layout");
    if let Some(h) = current_header(canvas.tokens()) {
        counter.start_at(h.0[hf::T]);
    }
    let run = machine::run_until(f, canvas, &config, &mut |record, x| {
        let (cap, phase) = match current_header(x.tokens()) {
            Some(h) => {
                let phase = h.0[compiled.phase_field];
                let cap = counter.see(h.0[hf::T], h.0[hf::CNT], phase, phase::COMMIT);
                (cap, phase)
            }
            None => (Some("no decoded header".to_string()), 0),
        };
        let info = StepInfo {
            length: record.length,
            round: counter.rounds,
            phase,
            used: used_positions(compiled, x.tokens()),
        };
        watch(&info);
        per_step.push(info);
        cap
    });
    if let Stop::LengthCap { length, .. } = run.stop {
        if length > affordable && length <= compiled.max_length {
            memory::check(&compiled.seq, length as u64, 0, compiled.max_memory)
                .map_err(CompileError::from)?;
        }
    }
    if let Some(e) = run.stop.error() {
        return Err(MdmRunError::Machine {
            step: run.steps(),
            why: e.to_string(),
        });
    }
    let report = decode(&layout, &counter, &run, initial, per_step)?;
    Ok((report, run))
}

/// Reads the result off the final canvas of `run`.
fn decode(
    layout: &Layout,
    counter: &RoundCounter,
    run: &Run<Word>,
    initial: usize,
    per_step: Vec<StepInfo>,
) -> Result<ApmdmReport, MdmRunError> {
    let stop = run.stop.to_string();
    let d = read_final_apmdm(layout, run.last.tokens(), &stop, counter)?;
    Ok(ApmdmReport {
        outcome: d.outcome,
        output: d.output,
        metrics: d.metrics,
        steps: run.steps(),
        context: run.context_length(),
        initial,
        per_step,
        ops: run.trace.totals(),
        stop,
        widest_bits: 0,
    })
}

/// Reads a final Theorem 4 canvas with the runner's counts: the decoded header must name phase
/// FINAL (or, where the counter stopped the run before a round past a declared bound, a phase
/// after COMMIT) and gives the status, the outcome's details and S; `counter` gives T, W, P and
/// whole round numbers ([`RoundCounter`]); the memory cells (address, value) give the output
/// places of `layout`. `stop` is the runner's stop reason, for the error when the phase is not
/// final.
pub fn read_final_apmdm(
    layout: &Layout,
    tokens: &[Token<Word>],
    stop: &str,
    counter: &RoundCounter,
) -> Result<Decoded, MdmRunError> {
    let bad = |s: String| MdmRunError::Unreadable(s);
    let regions = layout
        .apmdm_regions()
        .ok_or_else(|| bad("the layout is not an AP-MDM layout".into()))?;
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Sym(w) if w.0.len() != layout.fields))
    {
        return Err(bad("a word of the wrong number of fields".into()));
    }
    let h = &tokens
        .iter()
        .filter_map(|t| match t {
            Token::Sym(w) if w.0[0] == layout.kinds.header => Some(w),
            _ => None,
        })
        .max_by_key(|w| w.0[layout.header.ordinal])
        .ok_or_else(|| bad("no header".into()))?
        .0;
    let ph = h[regions.phase_field];
    let stopped_before_round = counter.over.is_some()
        && ph != regions.phases.exec
        && ph != regions.phases.commit
        && ph != regions.phases.r#final;
    if ph != regions.phases.r#final && !stopped_before_round {
        return Err(bad(format!(
            "the run stopped ({stop}) in phase {}, not final",
            phase::name(ph)
        )));
    }
    let outcome = if stopped_before_round {
        Outcome::Ok
    } else {
        outcome_of(layout, h)?
    };
    let mut memory = std::collections::HashMap::new();
    for t in tokens {
        if let Token::Sym(w) = t {
            if w.0[0] == layout.kinds.cell && memory.insert(w.0[1], w.0[2]).is_some() {
                return Err(bad(format!("two cells hold address {}", w.0[1])));
            }
        }
    }
    let mut output = Vec::new();
    for o in &layout.outputs {
        let vals = (o.base..o.base.saturating_add(o.length))
            .map(|addr| {
                memory
                    .get(&addr)
                    .copied()
                    .ok_or_else(|| bad(format!("no cell holds address {addr}")))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        output.push((o.name.clone(), output_value(o.scalar, vals)?));
    }
    let used = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Sym(w) if w.0[0] == layout.kinds.pad))
        .count();
    counter.complete(Decoded {
        outcome,
        output,
        metrics: metrics_of(layout, h),
        context_used: used,
    })
}
