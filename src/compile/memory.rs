//! memory: what a compiled schedule's run holds, estimated before anything is allocated, and the
//! `--max-memory` ceiling it is checked against.
//!
//! A step of the seq evaluator holds one column of 8-byte integers per node over the whole canvas
//! (`seq::eval`), plus the canvas itself (a token per position, each a word of 8-byte fields on
//! the heap) and transient per-lookup buffers of a few words per position. The estimate is that
//! per-position cost times the longest canvas of the run (the laid-out length for the MDM; for the
//! AP-MDM, the proof's peak context where it is known, and a length cap the runner enforces
//! otherwise); a full trace adds every kept canvas. It counts what the evaluator allocates, not
//! the allocator's or the kernel's overheads exactly, so it adds a margin per position and a fixed
//! base measured above them: a run whose estimate passes stays under the ceiling measured as peak
//! RSS (`README.md`, Limits).

use crate::seq;

/// `--max-memory`'s default: 4 GiB.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// Transient bytes per position beside the columns: the indexed evaluator's sort keys and picks
/// for one lookup at a time, the runner's proposal and the decoded result. Measured peak RSS
/// over the estimate's columns and tokens was 300 to 400 bytes per position (prefix_sum at
/// n = 1024 to 4096, dyck at 64); this leaves room above it.
const SCRATCH_BYTES: u64 = 512;

/// Bytes every run holds whatever its length: the program, the interpreter's run beside it, the
/// binary's own pages (measured: 8 MiB).
const BASE_BYTES: u64 = 32 << 20;

/// Bytes one canvas position holds as a token: the token itself and its word's fields on the heap
/// (with the allocator's 16-byte header).
pub fn token_bytes(fields: usize) -> u64 {
    std::mem::size_of::<crate::machine::Token<seq::Word>>() as u64 + 8 * fields as u64 + 16
}

/// Bytes per canvas position while one step is evaluated: a column per node, the token, scratch.
pub fn per_position(program: &seq::Program) -> u64 {
    8 * program.nodes.len() as u64 + token_bytes(program.fields) + SCRATCH_BYTES
}

/// An estimate of a run's peak memory, and the ceiling it is over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the run would hold about {} ({length} positions x {per_position} bytes per position: the \
     evaluator's columns and the canvas{}; and 32 MiB besides), above --max-memory {}; raise \
     --max-memory to run it",
    bytes(*estimate),
    if *kept > 0 { ", and the trace's canvases" } else { "" },
    bytes(*limit)
)]
pub struct OverMemory {
    /// The estimated peak, in bytes.
    pub estimate: u64,
    /// The ceiling, in bytes.
    pub limit: u64,
    /// The longest canvas of the run.
    pub length: u64,
    /// Bytes per position while a step is evaluated.
    pub per_position: u64,
    /// Bytes of canvases a full trace keeps.
    pub kept: u64,
}

/// Checks the run of `program` over canvases up to `length` positions, keeping `kept_canvases`
/// whole canvases of at most that length (a full trace), against `limit` bytes.
pub fn check(
    program: &seq::Program,
    length: u64,
    kept_canvases: u64,
    limit: u64,
) -> Result<u64, OverMemory> {
    let per_position = per_position(program);
    let kept = kept_canvases
        .saturating_mul(length)
        .saturating_mul(token_bytes(program.fields));
    let estimate = length
        .saturating_mul(per_position)
        .saturating_add(kept)
        .saturating_add(BASE_BYTES);
    if estimate > limit {
        return Err(OverMemory {
            estimate,
            limit,
            length,
            per_position,
            kept,
        });
    }
    Ok(estimate)
}

/// The longest canvas a run of `program` may reach under `limit` bytes (no trace kept).
pub fn longest_within(program: &seq::Program, limit: u64) -> usize {
    usize::try_from(limit.saturating_sub(BASE_BYTES) / per_position(program).max(1))
        .unwrap_or(usize::MAX)
}

/// Bytes in the units a person reads: B, KiB, MiB, GiB with one decimal.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(1000), "1000 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(4 << 30), "4.0 GiB");
        assert_eq!(bytes(u64::MAX), "17179869184.0 GiB");
    }
}
