//! `KernelError`: the one error type of the kernel layer (bad shapes, ids out of range, bad settings).

use thiserror::Error;

/// Everything an op can reject before it touches any data; a kernel never panics on bad input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum KernelError {
    /// An argument's shape does not match what the op derived from its other arguments.
    #[error("{op}: argument `{argument}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        /// The op that checked the shape, e.g. `matmul_forward`.
        op: &'static str,
        /// The argument's name in the op's signature.
        argument: &'static str,
        /// The shape the op needed.
        expected: Vec<usize>,
        /// The shape it got.
        actual: Vec<usize>,
    },
    /// A tensor's data does not hold exactly the number of elements its shape says.
    #[error("tensor of shape {shape:?} needs {expected} elements, got {actual}")]
    DataLength {
        /// The requested shape.
        shape: Vec<usize>,
        /// The product of the shape.
        expected: usize,
        /// The length of the data given.
        actual: usize,
    },
    /// A token id (or class target) is not a row of the table (or a class of the logits).
    #[error("{op}: id {id} at position {position} is out of range for {limit} entries")]
    IdOutOfRange {
        /// The op that read the id.
        op: &'static str,
        /// Flat position of the id in its slice.
        position: usize,
        /// The offending id.
        id: u32,
        /// The number of valid ids.
        limit: usize,
    },
    /// A scalar setting is outside the op's domain (odd head dimension, negative learning rate, ...).
    #[error("{op}: {reason}")]
    Setting {
        /// The op that rejected the setting.
        op: &'static str,
        /// What is wrong, in words.
        reason: String,
    },
}
