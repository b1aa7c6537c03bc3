//! Learned tasks: training data, held-out test sets and verifiers for the neural backend's models.
//!
//! Each task builds `neural::Example`s from the process it teaches, draws validation and test
//! inputs from separate seeds, and decides correctness from the final canvas with a verifier that
//! does not look at the model. No file I/O here.

pub mod parity;
