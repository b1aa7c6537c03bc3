//! The value-width bound of the compiled step functions: every node value and token field of f
//! fits in `c * max(w, ceil(log2 L)) + d` bits (`seq::range::width`), w the declared word size and
//! L the row's peak context. The constants c and d are data in `proofs/mdm.bounds.json` and
//! `proofs/apmdm.bounds.json` ("width"), argued in `proofs/mdm.md` and `proofs/apmdm.md`.

use serde::Deserialize;

use crate::seq::range::width;

/// The width bound's constants: `bits <= c * max(w, ceil(log2 L)) + d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct WidthBound {
    /// Factor on max(w, ceil(log2 L)).
    pub c: u32,
    /// Offset.
    pub d: u32,
}

#[derive(Deserialize)]
struct File {
    width: WidthBound,
}

fn read(text: &str, name: &str) -> WidthBound {
    // The files are part of the crate and read by a test; a malformed one is a build defect.
    serde_json::from_str::<File>(text)
        .unwrap_or_else(|e| panic!("{name} has no well-formed \"width\": {e}"))
        .width
}

impl WidthBound {
    /// The MDM construction's constants (`proofs/mdm.bounds.json`).
    pub fn mdm() -> WidthBound {
        read(
            include_str!("../../proofs/mdm.bounds.json"),
            "proofs/mdm.bounds.json",
        )
    }

    /// The AP-MDM construction's constants (`proofs/apmdm.bounds.json`).
    pub fn apmdm() -> WidthBound {
        read(
            include_str!("../../proofs/apmdm.bounds.json"),
            "proofs/apmdm.bounds.json",
        )
    }

    /// The bound in bits for a word range and a peak context of `context` positions.
    pub fn bits(&self, word: (i64, i64), context: usize) -> u32 {
        let w = width(word);
        let log_l = (context.max(1) as u64).next_power_of_two().trailing_zeros();
        self.c * w.max(log_l) + self.d
    }
}
