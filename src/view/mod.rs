//! Trace files and the step-through page: trace format 1 (`docs/trace.md`), its reader (which
//! also takes the older header-less forms) and the self-contained HTML viewer built from it.

pub mod format;
pub mod page;

pub use format::{
    advance, step_line, Header, Origin, Record, Region, RoundLine, StepLine, TraceFile, FORMAT,
};
pub use page::{render, render_with, PageError, DEFAULT_MAX_PAGE_BYTES, SAMPLE_BUDGET};
