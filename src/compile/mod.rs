//! compile: PRAM programs compiled into decoding schedules.
//!
//! `declared` evaluates declarations exactly at n; `mdm_layout` lays out the Theorem 1 canvas;
//! `cfg` is the sequential control-flow graph the schedules follow; `round` is the round compiler
//! both constructions share (the token format, what a position observes, the transition, the
//! processor slots, memory loads); `pram_to_mdm` lays it out as Theorem 1's seq step function and
//! canvas (`proofs/mdm.md`); `mdm_run` runs that schedule with `machine`'s runner and decodes its
//! final canvas into an interpreter-style report. `pram_to_apmdm` is Theorem 4's construction on
//! the same round compiler, memory held in place (`proofs/apmdm.md`); `apmdm_run` runs and
//! decodes it. `envelope` is the versioned file form of
//! either schedule (f plus the `envelope_layout` its decoder reads, `docs/envelope.md`); `envelope_run` runs
//! and decodes one from the envelope alone. `width` states the bound on the bits of every value f
//! computes (`proofs/mdm.md`, `proofs/apmdm.md`). `memory` estimates a run's peak memory before it
//! allocates and holds it under `--max-memory`.

pub mod apmdm_run;
pub mod cfg;
pub mod declared;
pub mod envelope;
pub mod envelope_layout;
pub mod envelope_run;
pub mod mdm_layout;
pub mod mdm_run;
pub mod memory;
pub mod pram_to_apmdm;
pub mod pram_to_mdm;
mod round;
pub mod width;
