//! Running a compiled AP-MDM schedule with `machine`'s runner and reading its final canvas back.
//!
//! The decoder reads only tokens: the decoded header gives the status, T, P, W, S and the
//! outcome's details; the memory cells (address, value) give the output arrays. Every step's
//! length and phase are recorded, so that a checker can hold each step against the space in use.

use super::envelope::Layout;
use super::mdm_run::{metrics_of, outcome_of, output_value, Decoded, MdmRunError};
use super::memory;
use super::pram_to_apmdm::{initial_canvas, phase, ApmdmCompiled, ApmdmMode};
use super::round::CompileError;
use super::round::{hf, kind};
use crate::machine::{self, Canvas, ModelClass, OpCounts, Run, StepFunction, Stop, Token};
use crate::pram::outcome::{Metrics, Outcome, Value};
use crate::pram::program::Program;
use crate::pram::RunConfig;
use crate::seq::{Evaluator, SeqStep, Word};

/// One step of an AP-MDM run as the checker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepInfo {
    /// The canvas length after the step.
    pub length: usize,
    /// The round the decoded header stands at after the step (its T).
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
    /// T, P, W, S read off the final header.
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
    let mut f = SeqStep::new(compiled.seq.clone(), evaluator);
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
    let run = machine::run_watched(f, canvas, &config, &mut |record, x| {
        let (round, phase) = current_header(x.tokens()).map_or((0, 0), |h| {
            (h.0[hf::T].max(0) as u64, h.0[compiled.phase_field])
        });
        let info = StepInfo {
            length: record.length,
            round,
            phase,
            used: used_positions(compiled, x.tokens()),
        };
        watch(&info);
        per_step.push(info);
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
    let report = decode(compiled, program, &run, initial, per_step)?;
    Ok((report, run))
}

/// Reads the result off the final canvas of `run`.
fn decode(
    compiled: &ApmdmCompiled,
    program: &Program,
    run: &Run<Word>,
    initial: usize,
    per_step: Vec<StepInfo>,
) -> Result<ApmdmReport, MdmRunError> {
    let stop = run.stop.to_string();
    let d = read_final_apmdm(&Layout::apmdm(compiled, program), run.last.tokens(), &stop)?;
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

/// Reads a final Theorem 4 canvas: the decoded header must name phase FINAL and gives the status
/// and metrics; the memory cells (address, value) give the output places of `layout`. `stop` is
/// the runner's stop reason, for the error when the phase is not final.
pub fn read_final_apmdm(
    layout: &Layout,
    tokens: &[Token<Word>],
    stop: &str,
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
    if ph != regions.phases.r#final {
        return Err(bad(format!(
            "the run stopped ({stop}) in phase {}, not final",
            phase::name(ph)
        )));
    }
    let outcome = outcome_of(layout, h)?;
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
    Ok(Decoded {
        outcome,
        output,
        metrics: metrics_of(layout, h),
        context_used: used,
    })
}
