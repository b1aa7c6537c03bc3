//! check: the cross-checker. `fit` classifies empirical growth; `mdm` compiles, runs and checks
//! the Theorem 1 construction against the interpreter and the bounds file of `proofs/`.

pub mod fit;
pub mod mdm;
