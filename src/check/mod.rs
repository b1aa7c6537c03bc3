//! check: the cross-checker. `fit` classifies empirical growth; `mdm` compiles, runs and checks
//! the Theorem 1 construction against the interpreter and the bounds file of `proofs/`; `bound`
//! is the assertion other crates' tests use (`Bound::steps(|m| 2 * m.rounds + 3)...`).

pub mod apmdm;
pub mod bound;
pub mod fit;
pub mod mdm;
