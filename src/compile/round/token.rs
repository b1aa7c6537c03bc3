//! The token format both constructions share: token kinds, run status and fault codes, and the
//! indices of header and slot fields (`envelope_layout` records them for decoders).

/// Token kinds (field 0; a mask reads as 0).
pub mod kind {
    /// A header: the control state before a round, or the final status.
    pub const HEADER: i64 = 1;
    /// A given memory cell (an input, or an array with a generator).
    pub const GIVEN: i64 = 2;
    /// A processor slot: one processor's activation in one round.
    pub const SLOT: i64 = 3;
    /// An output cell.
    pub const OUTPUT: i64 = 4;
    /// Padding (positions the run did not need).
    pub const PAD: i64 = 5;
}

/// Header status codes.
pub mod status {
    /// Rounds remain.
    pub const RUNNING: i64 = 0;
    /// The program ended normally.
    pub const HALTED: i64 = 1;
    /// A fault (d: kind, round, processor, line, array, index, length).
    pub const FAULT: i64 = 2;
    /// An access violation (d: kind, round, first processor, line, array, index, second processor).
    pub const VIOLATION: i64 = 3;
    /// A resource limit (d: limit, round, -, line, value).
    pub const LIMIT: i64 = 4;
    /// A declared bound exceeded (d: metric, measured, bound).
    pub const BOUND: i64 = 5;
}

/// Header fields.
pub mod hf {
    /// Ordinal (0 for the start token, t for the header decoded at step t).
    pub const ORD: usize = 1;
    /// Program counter of the round this header starts (-1 at the start, 0 at the end).
    pub const PC: usize = 2;
    /// Status code.
    pub const STATUS: usize = 3;
    /// Processors of the round this header starts.
    pub const CNT: usize = 4;
    /// Rounds counted so far (this header's round included).
    pub const T: usize = 5;
    /// Work so far.
    pub const W: usize = 6;
    /// Largest processor count so far.
    pub const P: usize = 7;
    /// Largest space so far.
    pub const S: usize = 8;
    /// The seed (CRCW-arbitrary draws).
    pub const SEED: usize = 9;
    /// First of seven detail fields.
    pub const D: usize = 10;
    /// First register.
    pub const REGS: usize = 17;
}

/// Slot fields.
pub mod sf {
    /// The round.
    pub const ROUND: usize = 1;
    /// The processor id.
    pub const PID: usize = 2;
    /// A test's value.
    pub const BRANCH: usize = 3;
    /// Fault kind (0: none), line, and details a, b, c.
    pub const FAULT: usize = 4;
    /// First write site: key, value, address, array, index, line, target position.
    pub const WRITES: usize = 9;
    /// Fields per write site.
    pub const PER_WRITE: usize = 7;
    /// Offset of a write site's target position: where the written cell stands on the canvas
    /// (AP-MDM, whose cells are rewritten in place; 0 in MDM slots).
    pub const TARGET: usize = 6;
    // The target position is the last field of a write site.
    const _: () = assert!(TARGET + 1 == PER_WRITE);
    /// Fields per read site: address, array, index, line.
    pub const PER_READ: usize = 4;
}

/// Fault kind codes.
pub mod fault {
    /// Overflow of the word.
    pub const OVERFLOW: i64 = 1;
    /// Division or remainder by zero.
    pub const DIVISION_BY_ZERO: i64 = 2;
    /// An index outside its array (a: array, b: index, c: length).
    pub const OUT_OF_BOUNDS: i64 = 3;
    /// log2 of a non-positive value, a negative shift, a negative allocation.
    pub const DOMAIN: i64 = 4;
}
