//! Running a compiled MDM schedule with `machine`'s runner and reading its final canvas back.
//!
//! The decoder reads only tokens: the last header gives the status, T, P, W, S and the
//! outcome's details; the output cells give the output region. Nothing here calls the
//! interpreter's run; it is the independent side of every agreement check.

use std::time::Instant;

use super::envelope::Layout;
use super::pram_to_mdm::{fault, initial_canvas, CompileError, MdmCompiled};
use crate::machine::{self, Canvas, ModelClass, OpCounts, Run, StepFunction, Token};
use crate::pram::outcome::{
    Fault, FaultKind, Limit, Metric, Metrics, Outcome, Value, Violation, ViolationKind,
};
use crate::pram::program::Program;
use crate::pram::RunConfig;
use crate::seq::{Evaluator, SeqStep, Word};

/// What one run of a compiled schedule produced, decoded from its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdmReport {
    /// The outcome, as the interpreter states it.
    pub outcome: Outcome,
    /// The output region.
    pub output: Vec<(String, Value)>,
    /// T, P, W, S read off the final header.
    pub metrics: Metrics,
    /// Decoding steps.
    pub steps: usize,
    /// The laid-out context (the canvas length).
    pub context: usize,
    /// Positions holding something other than padding at the end.
    pub context_used: usize,
    /// Operation totals over all steps.
    pub ops: OpCounts,
    /// The runner's stop reason.
    pub stop: String,
    /// The widest value any node of f computed at any position of any step, in bits
    /// (`seq::range::width`); every value was checked against its node's declared range.
    pub widest_bits: u32,
}

/// Why a compiled schedule could not be run or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MdmRunError {
    /// Compiling or setting up failed.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The runner stopped on an error (a class violation, a failed step function).
    #[error("the schedule failed at its step {step}: {why}")]
    Machine {
        /// Steps completed.
        step: usize,
        /// The runner's message.
        why: String,
    },
    /// The final canvas does not hold a readable result.
    #[error("the final canvas cannot be read: {0}")]
    Unreadable(String),
}

/// Runs `compiled` on the input `config` describes (seed, given inputs), returning the report and
/// the machine run (its trace is full when `full` is set).
pub fn run_mdm(
    compiled: &MdmCompiled,
    program: &Program,
    config: &RunConfig,
    evaluator: Evaluator,
    full: bool,
) -> Result<(MdmReport, Run<Word>), MdmRunError> {
    let x0 = initial_canvas(compiled, program, config)?;
    run_from(compiled, program, Canvas::new(x0), evaluator, full)
}

/// Runs `compiled` from any canvas (for fault injection: a canvas taken mid-run and altered).
pub fn run_from(
    compiled: &MdmCompiled,
    program: &Program,
    canvas: Canvas<Word>,
    evaluator: Evaluator,
    full: bool,
) -> Result<(MdmReport, Run<Word>), MdmRunError> {
    let mut f = seq_step(&compiled.seq, evaluator, full);
    let (mut report, run) = run_with(compiled, program, canvas, &mut f, full)?;
    report.widest_bits = f.widest;
    Ok((report, run))
}

/// The seq evaluator as an MDM run's step function. With a full trace, which records the
/// proposal y at every position, every node is computed everywhere; without one, nothing reads
/// y where g does not, so the indexed evaluator computes each node only where g can read it, by
/// runs, with token-local values kept across steps (`SeqStep::incremental`: the same run, step
/// for step; an MDM step never moves a position).
pub fn seq_step(seq: &crate::seq::Program, evaluator: Evaluator, full: bool) -> SeqStep {
    if full || evaluator != Evaluator::Indexed {
        SeqStep::new(seq.clone(), evaluator)
    } else {
        SeqStep::incremental(seq.clone())
    }
}

/// Runs `compiled` from `canvas` with any realization `f` of its step function (the seq
/// evaluator, or the hand-set weights of `crate::weights`).
pub fn run_with(
    compiled: &MdmCompiled,
    program: &Program,
    canvas: Canvas<Word>,
    f: &mut dyn StepFunction<Word>,
    full: bool,
) -> Result<(MdmReport, Run<Word>), MdmRunError> {
    let max_steps = compiled.regions.header_count + 2;
    let mut config = machine::RunConfig::new(ModelClass::Mdm)
        .max_steps(max_steps)
        .max_length(compiled.regions.length);
    if full {
        config = config.full_trace();
    }
    let run = machine::run(f, canvas, &config);
    if let Some(e) = run.stop.error() {
        return Err(MdmRunError::Machine {
            step: run.steps(),
            why: e.to_string(),
        });
    }
    let report = decode(compiled, program, &run)?;
    Ok((report, run))
}

/// Reads the result off the final canvas of `run`.
pub fn decode(
    compiled: &MdmCompiled,
    program: &Program,
    run: &Run<Word>,
) -> Result<MdmReport, MdmRunError> {
    let d = read_final_mdm(&Layout::mdm(compiled, program), run.last.tokens())?;
    Ok(MdmReport {
        outcome: d.outcome,
        output: d.output,
        metrics: d.metrics,
        steps: run.steps(),
        context: run.context_length(),
        context_used: d.context_used,
        ops: run.trace.totals(),
        stop: run.stop.to_string(),
        widest_bits: 0,
    })
}

/// What a final canvas states, read with its layout alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The outcome.
    pub outcome: Outcome,
    /// The output arrays and scalars, by name in declaration order.
    pub output: Vec<(String, Value)>,
    /// T, P, W, S as the final header states them.
    pub metrics: Metrics,
    /// Positions holding something other than padding.
    pub context_used: usize,
}

/// Reads a final Theorem 1 canvas: the header of the highest ordinal gives the status and the
/// metrics, the output cells in canvas order the output places of `layout`.
pub fn read_final_mdm(layout: &Layout, tokens: &[Token<Word>]) -> Result<Decoded, MdmRunError> {
    let bad = |s: &str| MdmRunError::Unreadable(s.to_string());
    let (k, hf) = (&layout.kinds, &layout.header);
    let mut header: Option<&Word> = None;
    let mut used = 0usize;
    let mut cells: Vec<(i64, i64)> = Vec::new();
    for t in tokens {
        match t {
            Token::Mask => return Err(bad("masks remain: the schedule did not finish")),
            Token::Sym(w) if w.0.len() != layout.fields => {
                return Err(bad("a word of the wrong number of fields"))
            }
            Token::Sym(w) => {
                let kind = w.0[0];
                if kind != k.pad {
                    used += 1;
                }
                if kind == k.header
                    && header.is_none_or(|h: &Word| w.0[hf.ordinal] > h.0[hf.ordinal])
                {
                    header = Some(w);
                }
                if kind == k.output {
                    cells.push((w.0[1], w.0[2]));
                }
            }
        }
    }
    let h = &header.ok_or_else(|| bad("no header"))?.0;
    let outcome = outcome_of(layout, h)?;
    let mut output = Vec::new();
    let mut at = 0usize;
    for o in &layout.outputs {
        let len = usize::try_from(o.length).map_err(|_| bad("a negative output length"))?;
        let vals: Vec<i64> = cells
            .get(at..at.saturating_add(len))
            .ok_or_else(|| bad("output cells missing"))?
            .iter()
            .map(|c| c.1)
            .collect();
        at += len;
        output.push((o.name.clone(), output_value(o.scalar, vals)?));
    }
    Ok(Decoded {
        outcome,
        output,
        metrics: metrics_of(layout, h),
        context_used: used,
    })
}

/// An output's value: a scalar's one cell, or the array.
pub(crate) fn output_value(scalar: bool, vals: Vec<i64>) -> Result<Value, MdmRunError> {
    Ok(if scalar {
        Value::Scalar(
            *vals
                .first()
                .ok_or_else(|| MdmRunError::Unreadable("empty scalar".into()))?,
        )
    } else {
        Value::Array(vals)
    })
}

/// T, P, W, S as header `h` states them.
pub(crate) fn metrics_of(layout: &Layout, h: &[i64]) -> Metrics {
    let u = |v: i64| v.max(0) as u64;
    let f = &layout.header;
    Metrics {
        rounds: u(h[f.rounds]),
        processors: u(h[f.processors]),
        work: u(h[f.work]),
        space: u(h[f.space]),
    }
}

/// The outcome a final header states (status and detail fields, as the layout places them;
/// the detail codes are those of `docs/envelope.md`).
pub fn outcome_of(layout: &Layout, h: &[i64]) -> Result<Outcome, MdmRunError> {
    let bad = |s: &str| MdmRunError::Unreadable(s.to_string());
    let d = |i: usize| h[layout.header.detail + i];
    let u = |v: i64| v.max(0) as u64;
    let st = &layout.statuses;
    let code = h[layout.header.status];
    let outcome = if code == st.halted {
        Outcome::Ok
    } else if code == st.fault {
        Outcome::Fault(Fault {
            kind: match d(0) {
                fault::OVERFLOW => FaultKind::Overflow,
                fault::DIVISION_BY_ZERO => FaultKind::DivisionByZero,
                fault::OUT_OF_BOUNDS => FaultKind::OutOfBounds {
                    array: layout.array_name(d(4)),
                    index: d(5),
                    len: u(d(6)),
                },
                fault::DOMAIN => FaultKind::Domain,
                _ => return Err(bad("unknown fault kind")),
            },
            round: u(d(1)),
            processor: u(d(2)),
            line: d(3) as u32,
        })
    } else if code == st.violation {
        Outcome::Violation(Violation {
            kind: match d(0) {
                1 => ViolationKind::ConcurrentRead,
                2 => ViolationKind::ConcurrentWrite,
                3 => ViolationKind::DifferentValues,
                _ => return Err(bad("unknown violation kind")),
            },
            round: u(d(1)),
            array: layout.array_name(d(4)),
            index: d(5),
            processors: [u(d(2)), u(d(6))],
            line: d(3) as u32,
        })
    } else if code == st.limit {
        Outcome::Limit {
            limit: match d(0) {
                1 => Limit::MaxRounds,
                2 => Limit::MaxProcessors,
                3 => Limit::MaxCells,
                _ => return Err(bad("unknown limit")),
            },
            value: u(d(4)),
            round: u(d(1)),
            line: d(3) as u32,
        }
    } else if code == st.bound {
        Outcome::BoundExceeded {
            metric: match d(0) {
                1 => Metric::Rounds,
                2 => Metric::Processors,
                3 => Metric::Work,
                4 => Metric::Space,
                _ => return Err(bad("unknown metric")),
            },
            measured: u(d(1)),
            bound: d(2),
            round: u(d(4)),
        }
    } else {
        return Err(bad("the last header is not final"));
    };
    Ok(outcome)
}

/// Wall time of a closure, in seconds, with its result.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}
