//! The canvas of the Theorem 1 construction (PRAM -> MDM), laid out from n and the declared bounds.
//!
//! The layout is fixed before decoding starts and depends only on the program and n, never on a
//! run (THEORY.md, "Honesty rules"). `proofs/mdm.md` gives the construction; this file computes
//! its length exactly, so that programs whose canvas is astronomically long (exponential-time
//! search) still get an exact row, marked not materialized.

use num_bigint::BigInt;
use num_traits::{ToPrimitive, Zero};

use super::declared::{Declared, DeclaredError};
use crate::pram::program::{ArrayDecl, Generator, Program};

/// The regions of the canvas, in order, with their exact sizes.
///
/// `[start] [input cells: I] [round headers: T_decl + 1] [processor slots] [output cells: O]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdmLayout {
    /// I: one cell per element of every input array.
    pub input_cells: BigInt,
    /// T_decl + 1: one header per round and a final status header.
    pub headers: BigInt,
    /// min(W_decl, P_decl * T_decl): one slot per processor activation (a pardo processor or a
    /// sequential statement). Both are upper bounds on the measured work W, since W <= P * T.
    pub slots: BigInt,
    /// O: one cell per element of every output array.
    pub output_cells: BigInt,
    /// The whole length: 1 + I + (T_decl + 1) + slots + O.
    pub length: BigInt,
    /// T_decl.
    pub rounds_declared: BigInt,
    /// P_decl.
    pub processors_declared: BigInt,
    /// W_decl.
    pub work_declared: BigInt,
}

/// Why a program has no MDM layout at n.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A declaration failed to evaluate.
    #[error(transparent)]
    Declared(#[from] DeclaredError),
    /// The layout needs a bound the program does not declare.
    #[error("the program declares no {0} bound; the canvas is laid out from it")]
    MissingBound(&'static str),
    /// A region would have negative size.
    #[error("{0} is negative at this n")]
    Negative(&'static str),
}

/// Whether an array's cells are written onto the canvas at the start: a static array that is an
/// input or has a generator (its initial content is data, not zeros).
pub fn is_given(a: &ArrayDecl) -> bool {
    !a.scoped && (a.input || a.init != Generator::Zeros)
}

impl MdmLayout {
    /// Lays out `program` at `n`.
    pub fn at(program: &Program, n: u64) -> Result<MdmLayout, LayoutError> {
        let d = Declared::at(program, n)?;
        let need = |v: &Option<BigInt>, name: &'static str| -> Result<BigInt, LayoutError> {
            let v = v.clone().ok_or(LayoutError::MissingBound(name))?;
            if v < BigInt::zero() {
                return Err(LayoutError::Negative(name));
            }
            Ok(v)
        };
        let rounds = need(&d.rounds, "rounds")?;
        let processors = need(&d.processors, "processors")?;
        let work = need(&d.work, "work")?;
        let mut input_cells = BigInt::zero();
        for (id, a) in program.arrays.iter().enumerate() {
            if is_given(a) {
                input_cells += d.array_len(program, id as u32)?;
            }
        }
        let mut output_cells = BigInt::zero();
        for &id in &program.outputs {
            output_cells += d.array_len(program, id)?;
        }
        if input_cells < BigInt::zero() || output_cells < BigInt::zero() {
            return Err(LayoutError::Negative("an array length"));
        }
        let headers = &rounds + 1;
        let slots = (&processors * &rounds).min(work.clone());
        let length = 1 + &input_cells + &headers + &slots + &output_cells;
        Ok(MdmLayout {
            input_cells,
            headers,
            slots,
            output_cells,
            length,
            rounds_declared: rounds,
            processors_declared: processors,
            work_declared: work,
        })
    }

    /// The length as a machine integer when it is at most `limit` (the canvas can be built).
    pub fn materializable(&self, limit: usize) -> Option<usize> {
        self.length.to_usize().filter(|&l| l <= limit)
    }

    /// The construction's bound in terms of work: I + O + W_decl + T_decl + 2 (c = 1, d = 2).
    pub fn work_form(&self) -> BigInt {
        &self.input_cells + &self.output_cells + &self.work_declared + &self.rounds_declared + 2
    }

    /// The paper's form: I + O + P_decl * T_decl + T_decl + 2 (c = 1, d = 2).
    pub fn paper_form(&self) -> BigInt {
        &self.input_cells
            + &self.output_cells
            + &self.processors_declared * &self.rounds_declared
            + &self.rounds_declared
            + 2
    }
}
