//! weights: a compiled step function as a real Transformer with hand-set weights.
//!
//! `lower` turns a ranged seq program into a circuit of exact ReLU gadgets and attention heads
//! (`circuit`); `model` allocates residual coordinates with reuse, writes every layer's weights
//! and runs the f64 forward pass that defines the model; `shadow` runs it as `machine`'s step
//! function, comparing every live value with the seq evaluator after every sublayer and every
//! proposal with the seq evaluator's; `f32_forward` runs the same forward in f32 on the kernel
//! layer's cpu backend. `docs/weights.md` states the architecture and each
//! construction; `proofs/weights.md` the margins.

pub mod circuit;
pub mod export;
pub mod f32_forward;
pub mod lower;
pub mod model;
pub mod noise;
pub mod shadow;

pub use lower::{LowerError, Options};
pub use model::{Config, Model};
pub use shadow::{ShadowReport, WeightsStep};

/// Compiles a ranged seq program into a model for canvases up to `options.max_len`.
pub fn compile(program: &crate::seq::Program, options: Options) -> Result<Model, LowerError> {
    let lowered = lower::lower(program, options)?;
    Ok(Model::build(lowered))
}

/// The longest canvas a ranged program's own ranges allow: one past the top of its `Index`
/// nodes' range, or the top of its `Length` nodes' range (`None` when it reads neither).
pub fn longest_canvas(program: &crate::seq::Program) -> Option<usize> {
    use crate::seq::Op;
    let mut best: Option<i64> = None;
    for (n, op) in program.nodes.iter().enumerate() {
        let hi = program.ranges.get(n)?.1;
        let l = match op {
            Op::Index => hi.checked_add(1)?,
            Op::Length => hi,
            _ => continue,
        };
        best = Some(best.map_or(l, |b| b.max(l)));
    }
    best.and_then(|b| usize::try_from(b).ok())
}
