//! The neural backend: the encoder-only Transformer, its training on transitions, checkpoints, sampling.
//!
//! One trunk serves every learned model: the AP-MDM (bidirectional, token head + control head),
//! the ARM baseline (causal, token head) and a plain MDM (token head only). All ops run through
//! `kernels`, so a model trains on any backend; every model is a `machine::StepFunction`, so
//! decoding is `machine`'s runner and the class of every step is checked there. This module knows
//! nothing about particular tasks; `tasks` builds the data. Files are touched only by
//! `checkpoint`.

pub mod checkpoint;
pub mod config;
pub mod model;
pub mod sample;
pub mod train;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use config::ModelConfig;
pub use model::{Activations, Batch, Model};
pub use sample::{ArmStep, ConfidenceStep, ModelStep, Vocabulary, MASK_ID};
pub use train::{Example, StepReport, TrainConfig, Trainer};

use crate::kernels::KernelError;

/// Errors of the neural backend (bad configs, bad batches, kernel rejections).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NeuralError {
    /// A model or training configuration that cannot run.
    #[error("model configuration: {0}")]
    Config(String),
    /// A batch that does not fit the model.
    #[error("batch: {0}")]
    Batch(String),
    /// A kernel refused its arguments.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod tests;
