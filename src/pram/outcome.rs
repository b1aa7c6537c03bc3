//! What a run produces: the outcome (ok, a violation, a fault, a limit, a bound), metrics, output.
//!
//! A program that misbehaves is not a Rust error: the run stops and its `Outcome` says where
//! (round, line, processor). Violations are canonical (THEORY.md): the first round with one, its
//! lowest address, the two lowest processor ids involved, and the source line.

use serde::Serialize;

/// The kind of a concurrent-access violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    /// Two processors read one cell under EREW.
    ConcurrentRead,
    /// Two processors wrote one cell under EREW or CREW.
    ConcurrentWrite,
    /// Two processors wrote different values to one cell under CRCW-common.
    DifferentValues,
}

/// A concurrent-access violation, reported canonically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// What happened.
    pub kind: ViolationKind,
    /// The round (1-based).
    pub round: u64,
    /// The array of the lowest address with a violation.
    pub array: String,
    /// Its index.
    pub index: i64,
    /// The two lowest processor ids involved.
    pub processors: [u64; 2],
    /// The source line of the lowest processor's access.
    pub line: u32,
}

/// The kind of a processor fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// A value outside the word range `-2^(w-1) .. 2^(w-1)`.
    Overflow,
    /// Division or remainder by zero.
    DivisionByZero,
    /// An array index outside the array.
    OutOfBounds {
        /// The array.
        array: String,
        /// The index asked for.
        index: i64,
        /// Its length.
        len: u64,
    },
    /// `log2` or `clog2` of a value below 1, or a negative shift.
    Domain,
}

/// A processor fault: the lowest faulting processor of the first round with a fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// What happened.
    pub kind: FaultKind,
    /// The round (1-based).
    pub round: u64,
    /// The processor id (0 for sequential statements).
    pub processor: u64,
    /// The source line.
    pub line: u32,
}

/// A named resource limit of the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// `--max-rounds`.
    MaxRounds,
    /// `--max-processors`.
    MaxProcessors,
    /// `--max-cells`.
    MaxCells,
}

/// A declared bound, by metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// T.
    Rounds,
    /// P.
    Processors,
    /// W.
    Work,
    /// S.
    Space,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// Ran to the end within every declared bound.
    Ok,
    /// A concurrent-access violation of the access model.
    Violation(Violation),
    /// A processor fault.
    Fault(Fault),
    /// A resource limit was hit (the run stopped there).
    Limit {
        /// Which limit.
        limit: Limit,
        /// Its value.
        value: u64,
        /// The round at which it was hit.
        round: u64,
        /// The source line of the statement that hit it.
        line: u32,
    },
    /// The run finished but a metric exceeds its declared bound.
    BoundExceeded {
        /// Which metric.
        metric: Metric,
        /// Measured.
        measured: u64,
        /// Declared bound at this n.
        bound: i64,
    },
}

impl Outcome {
    /// Whether the run ended normally within its bounds.
    pub fn is_ok(&self) -> bool {
        *self == Outcome::Ok
    }
}

/// Exact cost of a run (THEORY.md, "The cost model").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// T: rounds.
    pub rounds: u64,
    /// P: most processors active in one round.
    pub processors: u64,
    /// W: sum over rounds of active processors.
    pub work: u64,
    /// S: peak shared-memory cells in use.
    pub space: u64,
}

/// Per-round active processor counts, run-length encoded: `(active, how many rounds in a row)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActiveCounts(pub Vec<(u64, u64)>);

impl ActiveCounts {
    /// Appends one round with `active` processors.
    pub fn push(&mut self, active: u64) {
        match self.0.last_mut() {
            Some((a, k)) if *a == active => *k += 1,
            _ => self.0.push((active, 1)),
        }
    }

    /// The counts, one per round.
    pub fn expand(&self) -> Vec<u64> {
        self.0
            .iter()
            .flat_map(|&(a, k)| std::iter::repeat_n(a, k as usize))
            .collect()
    }
}

/// The value of an output: a scalar or an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A scalar.
    Scalar(i64),
    /// An array.
    Array(Vec<i64>),
}

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// The output region at the end (or where the run stopped), by name in declaration order.
    pub output: Vec<(String, Value)>,
    /// T, P, W, S.
    pub metrics: Metrics,
    /// Active processors of every round.
    pub active: ActiveCounts,
}

impl RunReport {
    /// The output named `name`.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.output.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}
