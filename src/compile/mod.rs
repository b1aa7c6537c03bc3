//! compile: what the constructions need from a PRAM program before compiling it.
//!
//! Today: declarations evaluated exactly at n (`declared`) and the canvas layout of the
//! Theorem 1 construction (`mdm_layout`, specified in `proofs/mdm.md`). The compilers
//! `pram_to_mdm` and `pram_to_apmdm` are not built yet.

pub mod declared;
pub mod mdm_layout;
