//! The one transition rule g, the model classes as restrictions of it, the runner and traces.
//!
//! Both halves of apmdm step sequences through this module: compiled PRAM schedules and learned
//! models implement [`StepFunction`] (f), and [`run`] applies g (Algorithm 1 of the paper, in
//! [`apply`]) after every proposal, checking the run's [`ModelClass`] at every step. There is no
//! other implementation of g in the crate. `machine` depends on nothing else in the crate.

mod class;
mod control;
pub mod library;
mod runner;
mod step;
mod token;
mod trace;

pub use class::{check_step, ClassViolation, ModelClass, Rule};
pub use control::{BitsRow, ControlBits};
pub use runner::{
    run, run_observed, run_until, run_watched, CapWatcher, FnStep, Limits, MachineError, Proposal,
    Recording, Run, RunConfig, StepFunction, StepFunctionError, Stop,
};
pub use step::{apply, Action, Canvas, OpCounts, PositionOp, ProposalShapeError, Transition};
pub use token::{render, Symbol, Token, MASK_TEXT};
pub use trace::{
    render_step, ReplayError, StepDetail, StepRecord, Trace, TraceFormatError, TraceText,
};
