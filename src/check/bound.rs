//! A bound assertion for other crates' tests: compile a program to an MDM schedule at several
//! sizes, run it, and check a measured quantity against a formula in the run's metrics.
//!
//! ```no_run
//! use apmdm::check::bound::Bound;
//! let program = apmdm::pram::library::load("prefix_sum").unwrap().unwrap();
//! Bound::steps(|m| 2 * m.rounds + 3).over([1, 2, 4, 8, 16]).check(&program).unwrap();
//! ```
//!
//! A failure's message is the whole table (size, T, P, W, S, measured, bound), so a failing test
//! shows where the formula broke, not only that it did.

use std::fmt;

use super::mdm::{check_case, MdmBounds, Row};
use crate::compile::pram_to_mdm::{CompileError, CompileLimits};
use crate::pram::program::Program;
use crate::pram::RunConfig;

/// What a bound formula sees: n and the interpreter's exact metrics of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measured {
    /// The size.
    pub n: u64,
    /// Rounds T.
    pub rounds: u64,
    /// Processors P.
    pub processors: u64,
    /// Work W.
    pub work: u64,
    /// Space S.
    pub space: u64,
}

/// Which quantity of the compiled schedule is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Decoding steps.
    Steps,
    /// The laid-out context (canvas length).
    Context,
    /// Positions used by the run.
    ContextUsed,
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Quantity::Steps => "steps",
            Quantity::Context => "context",
            Quantity::ContextUsed => "used context",
        })
    }
}

type Formula = Box<dyn Fn(&Measured) -> u64>;

/// `quantity <= formula(metrics)` at every size and seed.
pub struct Bound {
    quantity: Quantity,
    formula: Formula,
    sizes: Vec<i64>,
    seeds: Vec<u64>,
    limits: CompileLimits,
}

/// One checked size: the schedule's row, the bound's value, whether it held.
#[derive(Clone, Debug)]
pub struct BoundRow {
    /// The checker's row (agreement with the interpreter, steps, context, ...).
    pub row: Row,
    /// The measured quantity.
    pub measured: u64,
    /// The formula's value.
    pub bound: u64,
    /// measured <= bound and the schedule agreed with the interpreter.
    pub ok: bool,
}

/// Why a bound check failed; its `Display` is the whole table.
#[derive(Debug)]
pub enum BoundError {
    /// The program could not be compiled or run at some size.
    Compile {
        /// The size.
        n: i64,
        /// The error.
        error: CompileError,
    },
    /// The bound (or agreement with the interpreter) failed at some size.
    Failed {
        /// The program.
        program: String,
        /// The quantity bounded.
        quantity: Quantity,
        /// Every size checked.
        rows: Vec<BoundRow>,
    },
}

impl fmt::Display for BoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundError::Compile { n, error } => write!(f, "at n = {n}: {error}"),
            BoundError::Failed {
                program,
                quantity,
                rows,
            } => {
                writeln!(f, "{program}: {quantity} bound failed")?;
                writeln!(
                    f,
                    "{:>8} {:>6} {:>8} {:>10} {:>8} {:>10} {:>10}  result",
                    "n", "T", "P", "W", "S", "measured", "bound"
                )?;
                for r in rows {
                    let result = if !r.row.agree {
                        "DISAGREES WITH THE INTERPRETER"
                    } else if r.ok {
                        "ok"
                    } else {
                        "OVER"
                    };
                    writeln!(
                        f,
                        "{:>8} {:>6} {:>8} {:>10} {:>8} {:>10} {:>10}  {result}",
                        r.row.n,
                        r.row.rounds,
                        r.row.processors,
                        r.row.work,
                        r.row.space,
                        r.measured,
                        r.bound
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BoundError {}

impl Bound {
    fn new(quantity: Quantity, formula: impl Fn(&Measured) -> u64 + 'static) -> Bound {
        Bound {
            quantity,
            formula: Box::new(formula),
            sizes: vec![1, 2, 4, 8, 16],
            seeds: vec![1],
            limits: CompileLimits::default(),
        }
    }

    /// Bounds the decoding steps.
    pub fn steps(formula: impl Fn(&Measured) -> u64 + 'static) -> Bound {
        Bound::new(Quantity::Steps, formula)
    }

    /// Bounds the laid-out context.
    pub fn context(formula: impl Fn(&Measured) -> u64 + 'static) -> Bound {
        Bound::new(Quantity::Context, formula)
    }

    /// Bounds the context the run used.
    pub fn context_used(formula: impl Fn(&Measured) -> u64 + 'static) -> Bound {
        Bound::new(Quantity::ContextUsed, formula)
    }

    /// The sizes to check (default 1, 2, 4, 8, 16).
    pub fn over(mut self, sizes: impl IntoIterator<Item = i64>) -> Bound {
        self.sizes = sizes.into_iter().collect();
        self
    }

    /// The input seeds to check at each size (default 1).
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Bound {
        self.seeds = seeds.into_iter().collect();
        self
    }

    /// The longest canvas built (default 2^22 positions).
    pub fn max_length(mut self, max_length: usize) -> Bound {
        self.limits.max_length = max_length;
        self
    }

    /// Compiles and runs `program` at every size and seed; `Ok` with the rows when the
    /// schedule agreed with the interpreter and the bound held everywhere.
    pub fn check(&self, program: &Program) -> Result<Vec<BoundRow>, BoundError> {
        let bounds = MdmBounds::from_file();
        let mut rows = Vec::new();
        for &n in &self.sizes {
            for &seed in &self.seeds {
                let mut config = RunConfig::new(n);
                config.seed = seed;
                let row = check_case(program, &config, &self.limits, &bounds, u64::MAX)
                    .map_err(|error| BoundError::Compile { n, error })?;
                if !row.materialized {
                    return Err(BoundError::Compile {
                        n,
                        error: CompileError::TooLarge(format!(
                            "the canvas has {} positions, above the limit",
                            row.context
                        )),
                    });
                }
                let m = Measured {
                    n: n as u64,
                    rounds: row.rounds,
                    processors: row.processors,
                    work: row.work,
                    space: row.space,
                };
                let measured = match self.quantity {
                    Quantity::Steps => row.steps,
                    Quantity::Context => row.context.parse().unwrap_or(u64::MAX),
                    Quantity::ContextUsed => row.context_used,
                };
                let bound = (self.formula)(&m);
                let ok = row.agree && measured <= bound;
                rows.push(BoundRow {
                    row,
                    measured,
                    bound,
                    ok,
                });
            }
        }
        if rows.iter().all(|r| r.ok) {
            Ok(rows)
        } else {
            Err(BoundError::Failed {
                program: program.name.clone(),
                quantity: self.quantity,
                rows,
            })
        }
    }
}
