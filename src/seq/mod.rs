//! seq: the transformer-shaped IR of one decoding step's function f, and its two evaluators.
//!
//! A [`Program`] is plain data from a closed operator set: position-wise maps (what an MLP
//! computes), lookups and sums over positions picked by a selector (what an attention head
//! computes), and output heads (a word per position and the control bits remask, insert, delete).
//! [`SeqStep`] makes a program a [`crate::machine::StepFunction`]. `docs/seq.md` states how a
//! constant number of Transformer layers realizes each operator.

mod eval;
mod program;
pub mod range;
mod word;

pub use eval::{
    binary, evaluate, evaluate_counted, evaluate_observed, propose, propose_columns,
    propose_demanded, recycle, uniform_nodes, ColumnUse, Demand, EvalError, Evaluator, OpCount,
    SeqStep,
};
pub use program::{
    BinaryOp, Builder, Cmp, Heads, Op, Prefer, Program, ProgramError, Selector, Shape, UnaryOp,
    Value,
};
pub use word::Word;
