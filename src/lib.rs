//! apmdm: PRAM programs compiled into MDM and AP-MDM transition schedules, run and checked exactly.
//!
//! The crate makes the constructions of "On Powerful Ways to Generate" (arXiv 2510.06190)
//! executable. See `ARCHITECTURE.md` for the module map and each module's invariants.

pub mod check;
pub mod compile;
pub mod generate;
pub mod kernels;
pub mod machine;
pub mod neural;
pub mod output_file;
pub mod plot;
pub mod pram;
pub mod seq;
pub mod tasks;
pub mod transform;
pub mod view;
pub mod weights;
