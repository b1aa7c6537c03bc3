//! A bound assertion for other crates' tests: compile a program to an MDM (or, with `.apmdm()`,
//! an AP-MDM) schedule at several sizes, run it, and check a measured quantity against a formula
//! in the run's metrics.
//!
//! ```no_run
//! use apmdm::check::bound::Bound;
//! let program = apmdm::pram::library::load("prefix_sum").unwrap().unwrap();
//! Bound::steps(|m| 2 * m.rounds + 3).over([1, 2, 4, 8, 16]).check(&program).unwrap();
//! Bound::context(|m| m.space + m.n + 2).apmdm().over([1, 8, 64]).check(&program).unwrap();
//! ```
//!
//! A failure's message is the whole table (size, T, P, W, S, measured, bound), so a failing test
//! shows where the formula broke, not only that it did.

use std::fmt;

use super::apmdm::{check_apmdm_case, ApmdmBounds};
use super::mdm::{check_case, MdmBounds};
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

/// Which construction is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Theorem 1 (`pram_to_mdm`).
    Mdm,
    /// Theorem 4 (`pram_to_apmdm`).
    Apmdm,
}

/// Which quantity of the compiled schedule is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Decoding steps.
    Steps,
    /// The context: the laid-out canvas length (MDM), the longest canvas held (AP-MDM).
    Context,
    /// Positions used by the run (AP-MDM: the longest canvas, which it uses whole).
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
    target: Target,
}

/// One checked (size, seed): the interpreter's metrics, the measured quantity, the bound.
#[derive(Clone, Debug)]
pub struct BoundRow {
    /// The seed.
    pub seed: u64,
    /// n and the interpreter's T, P, W, S.
    pub metrics: Measured,
    /// The schedule reproduced the interpreter (outcome, output, metrics).
    pub agree: bool,
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
    /// The schedule at some size was not run (its canvas is longer than `max_length`): a bound
    /// is never reported as holding where nothing was measured.
    NotRun {
        /// The size.
        n: i64,
        /// The seed.
        seed: u64,
        /// Why.
        reason: String,
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
            BoundError::NotRun { n, seed, reason } => {
                write!(
                    f,
                    "at n = {n}, seed {seed}: not run ({reason}); nothing was checked"
                )
            }
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
                    let result = if !r.agree {
                        "DISAGREES WITH THE INTERPRETER"
                    } else if r.ok {
                        "ok"
                    } else {
                        "OVER"
                    };
                    writeln!(
                        f,
                        "{:>8} {:>6} {:>8} {:>10} {:>8} {:>10} {:>10}  {result}",
                        r.metrics.n,
                        r.metrics.rounds,
                        r.metrics.processors,
                        r.metrics.work,
                        r.metrics.space,
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
            target: Target::Mdm,
        }
    }

    /// Checks the AP-MDM construction (Theorem 4) instead of the MDM one, in its tight layout
    /// (the context follows the space in use; `check --layout declared` checks the other).
    pub fn apmdm(mut self) -> Bound {
        self.target = Target::Apmdm;
        self
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
    /// schedule ran, agreed with the interpreter and the bound held everywhere. A size that
    /// could not be run is an error (`NotRun`), never a pass; so is an empty list of sizes.
    pub fn check(&self, program: &Program) -> Result<Vec<BoundRow>, BoundError> {
        let mut rows = Vec::new();
        for &n in &self.sizes {
            for &seed in &self.seeds {
                let mut config = RunConfig::new(n);
                config.seed = seed;
                let compile = |error| BoundError::Compile { n, error };
                let not_run = |reason: Option<String>| BoundError::NotRun {
                    n,
                    seed,
                    reason: reason.unwrap_or_default(),
                };
                let (m, agree, measured) = match self.target {
                    Target::Mdm => {
                        let bounds = MdmBounds::from_file();
                        let row = check_case(program, &config, &self.limits, &bounds, u64::MAX)
                            .map_err(compile)?;
                        let measured = match self.quantity {
                            Quantity::Steps => row.steps,
                            Quantity::Context => {
                                row.context.as_deref().and_then(|c| c.parse().ok())
                            }
                            Quantity::ContextUsed => row.context_used,
                        };
                        let (Some(agree), Some(measured)) = (row.agree, measured) else {
                            return Err(not_run(row.reason));
                        };
                        let m = (row.rounds, row.processors, row.work, row.space);
                        (m, agree, measured)
                    }
                    Target::Apmdm => {
                        let bounds = ApmdmBounds::from_file();
                        let row =
                            check_apmdm_case(program, &config, &self.limits, &bounds, u64::MAX)
                                .map_err(compile)?;
                        let measured = match self.quantity {
                            Quantity::Steps => row.steps,
                            Quantity::Context | Quantity::ContextUsed => row.context,
                        };
                        let (Some(agree), Some(measured)) = (row.agree, measured) else {
                            return Err(not_run(row.reason));
                        };
                        let m = (row.rounds, row.processors, row.work, row.space);
                        (m, agree, measured)
                    }
                };
                let metrics = Measured {
                    n: n as u64,
                    rounds: m.0,
                    processors: m.1,
                    work: m.2,
                    space: m.3,
                };
                let bound = (self.formula)(&metrics);
                rows.push(BoundRow {
                    seed,
                    metrics,
                    agree,
                    measured,
                    bound,
                    ok: agree && measured <= bound,
                });
            }
        }
        if rows.is_empty() {
            return Err(BoundError::NotRun {
                n: 0,
                seed: 0,
                reason: "no sizes or seeds were given".into(),
            });
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
