//! check: the cross-checker. `fit` classifies empirical growth; `mdm` compiles, runs and checks
//! the Theorem 1 construction against the interpreter and the bounds file of `proofs/`; `apmdm`
//! does the same for Theorem 4, every step held against the space in use; `bound`
//! is the assertion other crates' tests use (`Bound::steps(|m| 2 * m.rounds + 3)...`).

pub mod apmdm;
pub mod bound;
pub mod fit;
pub mod mdm;
