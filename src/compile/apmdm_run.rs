//! Running a compiled AP-MDM schedule with `machine`'s runner and reading its final canvas back.
//!
//! The decoder reads only tokens: the decoded header gives the status, T, P, W, S and the
//! outcome's details; the memory cells (address, value) give the output arrays. Every step's
//! length and phase are recorded, so that a checker can hold each step against the space in use.

use super::mdm_run::{outcome_of, MdmRunError};
use super::pram_to_apmdm::{initial_canvas, phase, ApmdmCompiled};
use super::pram_to_mdm::{hf, kind};
use crate::machine::{self, Canvas, ModelClass, OpCounts, Run, Token};
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
    let initial = canvas.len();
    let mut config = machine::RunConfig::new(ModelClass::ApMdm)
        .max_steps(compiled.max_steps)
        .max_length(compiled.max_length);
    if full {
        config = config.full_trace();
    }
    let mut per_step = Vec::new();
    let run = machine::run_watched(&mut f, canvas, &config, &mut |record, x| {
        let (round, phase) = current_header(x.tokens()).map_or((0, 0), |h| {
            (h.0[hf::T].max(0) as u64, h.0[compiled.phase_field])
        });
        let info = StepInfo {
            length: record.length,
            round,
            phase,
        };
        watch(&info);
        per_step.push(info);
    });
    if let Some(e) = run.stop.error() {
        return Err(MdmRunError::Machine {
            step: run.steps(),
            why: e.to_string(),
        });
    }
    let mut report = decode(compiled, program, &run, initial, per_step)?;
    report.widest_bits = f.widest;
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
    let bad = |s: String| MdmRunError::Unreadable(s);
    let tokens = run.last.tokens();
    let h = &current_header(tokens)
        .ok_or_else(|| bad("no header".into()))?
        .0;
    if h[compiled.phase_field] != phase::FINAL {
        return Err(bad(format!(
            "the run stopped ({}) in phase {}, not final",
            run.stop,
            phase::name(h[compiled.phase_field])
        )));
    }
    let outcome = outcome_of(h, program)?;
    let mut memory = std::collections::HashMap::new();
    for t in tokens {
        if let Token::Sym(w) = t {
            if w.0[0] == kind::GIVEN && memory.insert(w.0[1], w.0[2]).is_some() {
                return Err(bad(format!("two cells hold address {}", w.0[1])));
            }
        }
    }
    let mut output = Vec::new();
    for &(a, base, len, scalar) in &compiled.outputs {
        let vals = (base..base + len)
            .map(|addr| {
                memory
                    .get(&addr)
                    .copied()
                    .ok_or_else(|| bad(format!("no cell holds address {addr}")))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let name = program.arrays[a as usize].name.clone();
        let v = if scalar {
            Value::Scalar(
                *vals
                    .first()
                    .ok_or_else(|| bad("empty scalar".to_string()))?,
            )
        } else {
            Value::Array(vals)
        };
        output.push((name, v));
    }
    let u = |v: i64| v.max(0) as u64;
    Ok(ApmdmReport {
        outcome,
        output,
        metrics: Metrics {
            rounds: u(h[hf::T]),
            processors: u(h[hf::P]),
            work: u(h[hf::W]),
            space: u(h[hf::S]),
        },
        steps: run.steps(),
        context: run.context_length(),
        initial,
        per_step,
        ops: run.trace.totals(),
        stop: run.stop.to_string(),
        widest_bits: 0,
    })
}
