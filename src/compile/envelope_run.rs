//! Running an emitted schedule from its envelope alone: the seq program f on a canvas, under the
//! envelope's class, to a fixed point, decoded with the envelope's layout.
//!
//! Nothing here reads a PRAM program or calls the interpreter; the envelope and the canvas are
//! the whole input, so a schedule written by `apmdm compile --emit-seq` runs in a process that has
//! never seen its source (`apmdm step`).

use super::apmdm_run::{current_header, read_final_apmdm, RoundCounter};
use super::envelope::{Envelope, Target};
use super::mdm_run::{read_final_mdm, Decoded, MdmRunError};
use super::memory::{self, OverMemory};
use crate::machine::{self, Canvas, OpCounts, Stop, Token};
use crate::seq::{Evaluator, SeqStep, Word};

/// What a run of an envelope's schedule did, and what its final canvas states when it reached a
/// fixed point.
#[derive(Debug, Clone)]
pub struct EnvelopeRun {
    /// Decoding steps (the fixed-point check is not counted).
    pub steps: usize,
    /// The longest canvas, the initial one included.
    pub context: usize,
    /// The initial canvas length.
    pub initial: usize,
    /// Operation totals over all steps.
    pub ops: OpCounts,
    /// Why the runner stopped.
    pub stop: Stop,
    /// The final canvas read with the layout: `Some` only after a fixed point.
    pub decoded: Option<Result<Decoded, MdmRunError>>,
}

impl EnvelopeRun {
    /// Whether the run reached a fixed point and its final canvas was read.
    pub fn finished(&self) -> bool {
        matches!(self.decoded, Some(Ok(_)))
    }
}

/// Runs `envelope`'s f on `canvas` under the envelope's class, with at most `max_steps` steps and
/// the envelope's length cap. A stop other than a fixed point (a cap, a class violation, a step
/// function error) is reported in `stop`, and nothing is decoded.
pub fn run_envelope(
    envelope: &Envelope,
    canvas: Vec<Token<Word>>,
    max_steps: usize,
    evaluator: Evaluator,
) -> EnvelopeRun {
    match run_envelope_within(envelope, canvas, max_steps, evaluator, u64::MAX) {
        Ok(run) => run,
        Err(_) => unreachable!("no estimate is above u64::MAX bytes"),
    }
}

/// [`run_envelope`] under a memory ceiling of `max_memory` bytes (`compile::memory`): a canvas
/// the ceiling cannot afford is refused before the run, and a run never applies a step that would
/// grow the canvas past it (it stops with the estimate).
pub fn run_envelope_within(
    envelope: &Envelope,
    canvas: Vec<Token<Word>>,
    max_steps: usize,
    evaluator: Evaluator,
    max_memory: u64,
) -> Result<EnvelopeRun, OverMemory> {
    let affordable = memory::longest_within(&envelope.seq, max_memory);
    if canvas.len() > affordable {
        memory::check(&envelope.seq, canvas.len() as u64, 0, max_memory)?;
    }
    let mut f = SeqStep::new(envelope.seq.clone(), evaluator);
    let initial = canvas.len();
    let cap = envelope.layout.caps.max_length;
    let config = machine::RunConfig::new(envelope.target.class())
        .max_steps(max_steps)
        .max_length(cap.min(affordable));
    let canvas: Canvas<Word> = Canvas::new(canvas);
    let mut counter = RoundCounter::for_layout(&envelope.layout);
    let phase = envelope
        .layout
        .apmdm_regions()
        .map(|r| (r.phase_field, r.phases.commit));
    let (t_field, cnt_field) = (envelope.layout.header.rounds, envelope.layout.header.active);
    if let (Some(counter), Some(h)) = (counter.as_mut(), current_header(canvas.tokens())) {
        counter.start_at(h.0.get(t_field).copied().unwrap_or(0));
    }
    let run = machine::run_until(&mut f, canvas, &config, &mut |_, x| {
        let (counter, (phase_field, commit)) = (counter.as_mut()?, phase?);
        let h = current_header(x.tokens())?;
        let at = |i: usize| h.0.get(i).copied().unwrap_or(0);
        counter.see(at(t_field), at(cnt_field), at(phase_field), commit)
    });
    if let Stop::LengthCap { length, .. } = run.stop {
        if length > affordable && length <= cap {
            memory::check(&envelope.seq, length as u64, 0, max_memory)?;
        }
    }
    let stopped_by_counter = counter.as_ref().is_some_and(|c| c.over.is_some())
        && matches!(run.stop, Stop::CallerCap { .. });
    let decoded = (matches!(run.stop, Stop::FixedPoint) || stopped_by_counter).then(|| {
        let tokens = run.last.tokens();
        match (envelope.target, &counter) {
            (Target::Apmdm, Some(counter)) => {
                read_final_apmdm(&envelope.layout, tokens, &run.stop.to_string(), counter)
            }
            (Target::Apmdm, None) => Err(MdmRunError::Unreadable(
                "the layout is not an AP-MDM layout".into(),
            )),
            (Target::Mdm, _) => read_final_mdm(&envelope.layout, tokens),
        }
    });
    Ok(EnvelopeRun {
        steps: run.steps(),
        context: run.context_length(),
        initial,
        ops: run.trace.totals(),
        stop: run.stop,
        decoded,
    })
}
