//! check: the cross-checker. `verdict` is the schema every checked row and summary follows
//! (pass, fail, not-run; counts; exit codes); `fit` classifies empirical growth; `mdm` compiles,
//! runs and checks the Theorem 1 construction against the interpreter and the bounds file of
//! `proofs/`; `apmdm` does the same for Theorem 4, every step held against the space in use;
//! `growth` compares each program's measured T, W and S with the classes it declares; `bound`
//! is the assertion other crates' tests use (`Bound::steps(|m| 2 * m.rounds + 3)...`); `weights`
//! is what a row run by the hand-set Transformer (`--executor weights`) adds; `thm2` is Theorem 2's
//! accounting (progress lemma and counted naive cost per step).

pub mod apmdm;
pub mod bound;
pub mod fit;
pub mod growth;
pub mod mdm;
pub mod thm2;
pub mod thm3;
pub mod verdict;
pub mod weights;
