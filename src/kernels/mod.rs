//! The kernel layer: f32 tensors and every Transformer op, forward and backward, on several backends.
//!
//! The ops (each in [`ops`]): batched matmul, linear, embedding, RoPE, fused masked attention,
//! attention with an explicit mask and scale (forward only, for hand-set weights), layer norm,
//! tanh-GELU, ReLU (relu'(0) = 0), residual add, cross-entropy, BCE with logits, AdamW and
//! global-norm clipping.
//!
//! `ops` checks shapes once and then calls a [`Backend`]; `reference` is the readable definition of
//! every op, `cpu` the fast one. Gradient kernels add into their outputs (llm.c style): the caller
//! zeroes gradient buffers once per step, so a parameter used twice accumulates both uses.
//! This module knows nothing about models.

pub mod backend;
pub mod cpu;

pub mod error;
pub mod math;
pub mod ops;
pub mod reference;
pub mod rng;
pub mod tensor;
pub mod wgpu;

pub use backend::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MaskedAttentionDims, MatmulDims,
    NormDims, RopeDims,
};
pub use cpu::Cpu;

pub use error::KernelError;
pub use reference::Reference;
pub use rng::Rng;
pub use tensor::Tensor;
pub use wgpu::Wgpu;
