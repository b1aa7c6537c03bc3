//! transform: Theorem 3 as two seq-to-seq transformations (`proofs/thm3.md`). `mdm_to_ao` turns
//! an MDM step function into an any-order MDM one that decodes each MDM step's positions one at
//! a time; `ao_to_marm` turns an any-order MDM step function over context S into a Masked ARM
//! one over `[x_0][records]` (context <= 2S). `embed` copies a program into another over a
//! virtual canvas; `reverse` is the hand-written AO-MDM reverse machine as a seq program.

pub mod ao_to_marm;
pub mod embed;
pub mod mdm_to_ao;
pub mod reverse;

pub use ao_to_marm::{ao_to_marm, marm_canvas, read_back, ReadBackError};
pub use embed::{embed, EmbedError, Virtual};
pub use mdm_to_ao::{ao_canvas, mdm_to_ao, mdm_view};
