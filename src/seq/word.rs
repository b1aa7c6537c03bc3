//! `Word`: the alphabet of compiled schedules, a token as a fixed-length tuple of integer fields.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A decoded token of a compiled schedule: a tuple of integer fields (kind, address, value, ...).
///
/// The vocabulary of a compiled program is the set of tuples it can emit; its size is a formula in
/// n stated by the compiler. A Transformer embeds a word by the binary encodings of its fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Word(pub Vec<i64>);

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{v}")?;
        }
        f.write_str(")")
    }
}
