//! PRAM programs: the `.pram` language, its checked `Program` form, and the interpreter (the spec).
//!
//! `parse` turns source into a `Program` (declarations, sequential statements, and `pardo`
//! rounds whose bodies are read / compute / write operations); `run` executes it exactly
//! synchronously under an access model and reports an `Outcome`, the output region and the exact
//! metrics T, P, W, S. `library` holds the built-in programs. This module knows nothing about
//! diffusion models, sequences or files.

mod columns;
pub mod error;
pub mod exact;
pub mod input;
pub mod interp;
mod lex;
pub mod library;
pub mod lower;
pub mod outcome;
pub mod parse;
mod parse_expr;
pub mod program;
pub mod round;
pub mod word;

pub use error::{ParseError, SetupError};
pub use interp::{inputs, run, run_traced, RunConfig, TraceRound};
pub use lex::decode_source;
pub use outcome::{Fault, FaultKind, Limit, Metric, Metrics, Outcome, RunReport, Value, Violation};
pub use parse::parse;
pub use program::{AccessModel, Program};
