//! The runner: iterate f then g from an initial sequence until a stop condition; checks the class at every step.

use serde::{Deserialize, Serialize};

use super::class::{check_step, ClassViolation, ModelClass};
use super::control::{BitsRow, ControlBits};
use super::step::{
    apply, apply_in_place, unmoved_actions, Action, Canvas, PositionOp, ProposalShapeError,
};
use super::token::{Symbol, Token};
use super::trace::{StepDetail, StepRecord, Trace};

/// What f proposes for a whole sequence: a token (never `M`) and control bits for every position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal<A> {
    /// `y_i` for every position i (used only where a mask is unmasked).
    pub tokens: Vec<A>,
    /// Control bits for every position.
    pub bits: Vec<ControlBits>,
}

/// A step function failed (a model error, a program error); the message says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StepFunctionError(pub String);

/// One decoding step's function f: from the current sequence, a proposal for every position.
///
/// Implementations must be functions of the tokens they are given: the same sequence must give the
/// same proposal (no hidden state carried between steps; `&mut self` is for scratch buffers only).
/// Compiled seq programs and neural models implement this trait; `machine` depends on neither.
pub trait StepFunction<A> {
    /// Proposes tokens and control bits for every position of `x`.
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError>;

    /// Told by the runner that g applied the last proposal with these actions (one per position
    /// of the `x` it was made for): the next `x` is that step's result. A step function may keep
    /// what did not change (`seq::SeqStep::incremental`); the default keeps nothing.
    fn applied(&mut self, actions: &[Action]) {
        let _ = actions;
    }
}

/// A closure as a step function.
pub struct FnStep<F>(pub F);

impl<A, F> StepFunction<A> for FnStep<F>
where
    F: FnMut(&[Token<A>]) -> Result<Proposal<A>, StepFunctionError>,
{
    fn propose(&mut self, x: &[Token<A>]) -> Result<Proposal<A>, StepFunctionError> {
        (self.0)(x)
    }
}

/// How much of each step the runner keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recording {
    /// Per step: operation counts and the new length only (cheap; no replay).
    #[default]
    Summary,
    /// Per step also the proposal and the new sequence with payloads (replayable, renderable).
    Full,
}

/// Resource limits of a run; hitting one is a reported stop, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The most counted steps before the run stops with [`Stop::StepCap`].
    pub max_steps: usize,
    /// The longest sequence allowed; a step that would exceed it is not applied.
    pub max_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1_000_000,
            max_length: 1 << 24,
        }
    }
}

/// How to run: the class checked at every step, limits, the end token, and what to record.
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig<A> {
    /// The class every step must respect.
    pub class: ModelClass,
    /// Step and length caps.
    pub limits: Limits,
    /// Stop right after a step unmasks this token.
    pub end_token: Option<A>,
    /// What the trace keeps per step.
    pub recording: Recording,
}

impl<A> RunConfig<A> {
    /// Default limits, no end token, summary recording.
    pub fn new(class: ModelClass) -> Self {
        RunConfig {
            class,
            limits: Limits::default(),
            end_token: None,
            recording: Recording::Summary,
        }
    }

    /// Sets the step cap.
    pub fn max_steps(mut self, max_steps: usize) -> Self {
        self.limits.max_steps = max_steps;
        self
    }

    /// Sets the length cap.
    pub fn max_length(mut self, max_length: usize) -> Self {
        self.limits.max_length = max_length;
        self
    }

    /// Stops after a step that unmasks `token`.
    pub fn end_token(mut self, token: A) -> Self {
        self.end_token = Some(token);
        self
    }

    /// Keeps full step records (proposal and new sequence).
    pub fn full_trace(mut self) -> Self {
        self.recording = Recording::Full;
        self
    }
}

/// Why a run stopped. The first four are normal outcomes; the rest are errors (see [`Stop::error`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stop")]
pub enum Stop {
    /// g applied to f's proposal gave back the same tokens; that last step is not counted.
    FixedPoint,
    /// The last step unmasked the end token, at this position of the new sequence.
    EndToken {
        /// Position of the end token in the final sequence.
        position: usize,
    },
    /// The step cap was reached.
    StepCap {
        /// The cap.
        max_steps: usize,
    },
    /// The caller's watcher stopped the run after the last counted step (a cap it keeps on what
    /// it counts, such as the rounds and work of a compiled schedule).
    CallerCap {
        /// What the caller said.
        reason: String,
    },
    /// The next step would have made the sequence longer than allowed; it was not applied.
    LengthCap {
        /// The length the step would have produced.
        length: usize,
        /// The cap.
        max_length: usize,
    },
    /// A step broke the run's model class; it was not applied.
    Violation(ClassViolation),
    /// f's proposal did not have one token and one set of bits per position.
    BadProposal {
        /// The step being taken.
        step: usize,
        /// The sizes involved.
        shape: ProposalShapeError,
    },
    /// f itself failed.
    StepFunctionFailed {
        /// The step being taken.
        step: usize,
        /// What f said.
        message: String,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::FixedPoint => f.write_str("fixed point"),
            Stop::EndToken { position } => write!(f, "end token at position {position}"),
            Stop::StepCap { max_steps } => write!(f, "step cap of {max_steps} reached"),
            Stop::CallerCap { reason } => write!(f, "stopped by the caller: {reason}"),
            Stop::LengthCap { length, max_length } => write!(
                f,
                "length cap: the next step would make length {length} > {max_length}"
            ),
            _ => match self.error() {
                Some(e) => write!(f, "error: {e}"),
                None => Ok(()),
            },
        }
    }
}

/// A run that ended in an error, for callers that want `Result`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// A class rule was broken.
    #[error(transparent)]
    Violation(#[from] ClassViolation),
    /// The proposal had the wrong shape.
    #[error("step {step}: {shape}")]
    BadProposal {
        /// The step being taken.
        step: usize,
        /// The sizes involved.
        shape: ProposalShapeError,
    },
    /// f failed.
    #[error("step {step}: step function failed: {message}")]
    StepFunctionFailed {
        /// The step being taken.
        step: usize,
        /// What f said.
        message: String,
    },
}

impl Stop {
    /// The error this stop stands for, if it is one.
    pub fn error(&self) -> Option<MachineError> {
        match self {
            Stop::FixedPoint
            | Stop::EndToken { .. }
            | Stop::StepCap { .. }
            | Stop::CallerCap { .. }
            | Stop::LengthCap { .. } => None,
            Stop::Violation(v) => Some(MachineError::Violation(v.clone())),
            Stop::BadProposal { step, shape } => Some(MachineError::BadProposal {
                step: *step,
                shape: shape.clone(),
            }),
            Stop::StepFunctionFailed { step, message } => Some(MachineError::StepFunctionFailed {
                step: *step,
                message: message.clone(),
            }),
        }
    }

    /// A short name for tables: `fixed-point`, `end-token`, `step-cap`, `caller-cap`,
    /// `length-cap`, or `error`.
    pub fn label(&self) -> &'static str {
        match self {
            Stop::FixedPoint => "fixed-point",
            Stop::EndToken { .. } => "end-token",
            Stop::StepCap { .. } => "step-cap",
            Stop::CallerCap { .. } => "caller-cap",
            Stop::LengthCap { .. } => "length-cap",
            Stop::Violation(_) | Stop::BadProposal { .. } | Stop::StepFunctionFailed { .. } => {
                "error"
            }
        }
    }
}

/// A finished run: the trace, the last sequence, and why it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run<A, P = ()> {
    /// Everything recorded, from the initial sequence on.
    pub trace: Trace<A, P>,
    /// The sequence the run ended on.
    pub last: Canvas<A, P>,
    /// Why it stopped.
    pub stop: Stop,
}

impl<A, P> Run<A, P> {
    /// Counted decoding steps.
    pub fn steps(&self) -> usize {
        self.trace.steps()
    }

    /// The context length: the longest sequence held, the initial one included.
    pub fn context_length(&self) -> usize {
        self.trace.peak_length()
    }

    /// `Ok(self)` unless the run stopped on an error; the partial trace is dropped on error, so
    /// callers that want it should inspect [`Run::stop`] instead.
    pub fn into_result(self) -> Result<Self, MachineError> {
        match self.stop.error() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

/// Runs f then g from `initial` until a stop condition. See [`run_observed`].
pub fn run<A, P, F>(f: &mut F, initial: Canvas<A, P>, config: &RunConfig<A>) -> Run<A, P>
where
    A: Symbol,
    P: Clone,
    F: StepFunction<A> + ?Sized,
{
    run_observed(f, initial, config, &mut |_| {})
}

/// Runs f then g from `initial`, calling `observe` after every counted step (for progress bars).
///
/// Step-count convention: step k turns x_{k-1} into x_k and is counted once it is applied. A
/// proposal whose g leaves the tokens unchanged is a fixed point: the run stops and that step is
/// neither counted nor recorded (extra steps after halting cannot change anything, since f sees
/// only the tokens). Each step is checked against the class before g is applied; a violating,
/// malformed or over-long step is not applied, so the trace ends at the last legal sequence.
pub fn run_observed<A, P, F>(
    f: &mut F,
    initial: Canvas<A, P>,
    config: &RunConfig<A>,
    observe: &mut dyn FnMut(&StepRecord<A, P>),
) -> Run<A, P>
where
    A: Symbol,
    P: Clone,
    F: StepFunction<A> + ?Sized,
{
    run_watched(f, initial, config, &mut |record, _| observe(record))
}

/// What [`run_watched`] calls after every counted step: the record and the new sequence.
pub type Watcher<'a, A, P> = dyn FnMut(&StepRecord<A, P>, &Canvas<A, P>) + 'a;

/// [`run_observed`], with the sequence after each counted step handed to `observe` as well (so
/// that a checker can read every step's state without keeping a full trace).
pub fn run_watched<A, P, F>(
    f: &mut F,
    initial: Canvas<A, P>,
    config: &RunConfig<A>,
    observe: &mut Watcher<'_, A, P>,
) -> Run<A, P>
where
    A: Symbol,
    P: Clone,
    F: StepFunction<A> + ?Sized,
{
    run_until(f, initial, config, &mut |record, x| {
        observe(record, x);
        None
    })
}

/// What [`run_until`] calls after every counted step: `Some(reason)` stops the run there.
pub type CapWatcher<'a, A, P> = dyn FnMut(&StepRecord<A, P>, &Canvas<A, P>) -> Option<String> + 'a;

/// [`run_watched`], where the watcher may stop the run after any counted step
/// ([`Stop::CallerCap`]): the step it saw is counted and kept, and nothing more is proposed.
pub fn run_until<A, P, F>(
    f: &mut F,
    initial: Canvas<A, P>,
    config: &RunConfig<A>,
    observe: &mut CapWatcher<'_, A, P>,
) -> Run<A, P>
where
    A: Symbol,
    P: Clone,
    F: StepFunction<A> + ?Sized,
{
    let mut trace = Trace {
        class: config.class,
        initial: initial.clone(),
        records: Vec::new(),
    };
    let mut x = initial;
    let stop = loop {
        let step = trace.records.len() + 1;
        if step > config.limits.max_steps {
            break Stop::StepCap {
                max_steps: config.limits.max_steps,
            };
        }
        let proposal = match f.propose(x.tokens()) {
            Ok(p) => p,
            Err(e) => break Stop::StepFunctionFailed { step, message: e.0 },
        };
        // A step that moves no position, unrecorded, is applied in place: the same next
        // sequence, actions and counts as `apply`, without copying the kept tokens (`next` is
        // then `None`).
        let unmoved = (config.recording != Recording::Full
            && proposal.tokens.len() == x.len()
            && proposal.bits.len() == x.len())
        .then(|| unmoved_actions(&x, &proposal.bits))
        .flatten();
        let (actions, counts, next) = match unmoved {
            Some((actions, counts)) => (actions, counts, None),
            None => match apply(&x, &proposal.tokens, &proposal.bits) {
                Ok(t) => (t.actions, t.counts, Some(t.next)),
                Err(shape) => break Stop::BadProposal { step, shape },
            },
        };
        if let Err(v) = check_step(config.class, step, x.tokens(), &proposal.bits) {
            break Stop::Violation(v);
        }
        let fixed = match &next {
            Some(next) => next.tokens() == x.tokens(),
            // In place no position moves, and only an unmask or a remask changes a token.
            None => counts.unmask + counts.remask == 0,
        };
        if fixed {
            break Stop::FixedPoint;
        }
        let length = next.as_ref().map_or(x.len(), Canvas::len);
        if length > config.limits.max_length {
            break Stop::LengthCap {
                length,
                max_length: config.limits.max_length,
            };
        }
        let end_position = config.end_token.as_ref().and_then(|end| {
            let mut new_index = 0;
            for (action, y) in actions.iter().zip(&proposal.tokens) {
                if action.op == PositionOp::Unmask && y == end {
                    return Some(new_index);
                }
                new_index += usize::from(action.op != PositionOp::Delete);
                new_index += usize::from(action.inserted);
            }
            None
        });
        let detail = match next {
            Some(next) => {
                let detail = (config.recording == Recording::Full).then(|| StepDetail {
                    y: proposal.tokens,
                    bits: BitsRow(proposal.bits),
                    after: next.clone(),
                });
                x = next;
                detail
            }
            None => {
                apply_in_place(&mut x, proposal.tokens, &actions);
                None
            }
        };
        let record = StepRecord {
            step,
            length,
            counts,
            detail,
        };
        f.applied(&actions);
        let cap = observe(&record, &x);
        trace.records.push(record);
        if let Some(position) = end_position {
            break Stop::EndToken { position };
        }
        if let Some(reason) = cap {
            break Stop::CallerCap { reason };
        }
    };
    Run {
        trace,
        last: x,
        stop,
    }
}
