//! What a run produces: the outcome (ok, a violation, a fault, a limit, a bound), metrics, output.
//!
//! A program that misbehaves is not a Rust error: the run stops and its `Outcome` says where
//! (round, line, processor). Violations are canonical (THEORY.md): the first round with one, its
//! lowest address, the two lowest processor ids involved, and the source line.

use std::fmt;

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
    /// `--max-pram-work`: the total work W (processor-rounds) of the run.
    MaxPramWork,
    /// `--max-allocated`: the cells allocated by `alloc` scopes over the whole run.
    MaxAllocated,
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
    /// A metric would exceed its declared bound: the round that would take it over (or the
    /// allocation before it) is not run. Bounds are checked before each round in the order
    /// rounds, processors, work, and space at each allocation (`proofs/bounds.md`).
    BoundExceeded {
        /// Which metric.
        metric: Metric,
        /// The value it would reach.
        measured: u64,
        /// Declared bound at this n.
        bound: i64,
        /// The round that would exceed it (1-based; for space, the round after the allocation).
        round: u64,
    },
}

impl Outcome {
    /// Whether the run ended normally within its bounds.
    pub fn is_ok(&self) -> bool {
        *self == Outcome::Ok
    }

    /// The limit this run stopped at, when the compiled schedules do not carry it (total work
    /// and cells allocated over the run are the interpreter's guards alone): such a run has no
    /// schedule to compare with.
    pub fn uncompiled_limit(&self) -> Option<Limit> {
        match self {
            Outcome::Limit {
                limit: l @ (Limit::MaxPramWork | Limit::MaxAllocated),
                ..
            } => Some(*l),
            _ => None,
        }
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

impl fmt::Display for Metrics {
    /// `T = 21, P = 1000, W = 10011, S = 1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "T = {}, P = {}, W = {}, S = {}",
            self.rounds, self.processors, self.work, self.space
        )
    }
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

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ViolationKind::ConcurrentRead => "concurrent read",
            ViolationKind::ConcurrentWrite => "concurrent write",
            ViolationKind::DifferentValues => "different values written",
        })
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Overflow => f.write_str("overflow"),
            FaultKind::DivisionByZero => f.write_str("division by zero"),
            FaultKind::OutOfBounds { array, index, len } => {
                write!(f, "index {index} out of bounds of {array}[{len}]")
            }
            FaultKind::Domain => f.write_str("domain error"),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::MaxRounds => "--max-rounds",
            Limit::MaxProcessors => "--max-processors",
            Limit::MaxCells => "--max-cells",
            Limit::MaxPramWork => "--max-pram-work",
            Limit::MaxAllocated => "--max-allocated",
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Rounds => "rounds",
            Metric::Processors => "processors",
            Metric::Work => "work",
            Metric::Space => "space",
        })
    }
}

impl fmt::Display for Outcome {
    /// One line a person reads: `ok`, `violation: concurrent read of A[1] by processors 1 and 2
    /// at round 2, line 22`, `fault: overflow at round 3, processor 4, line 7`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Violation(v) => write!(
                f,
                "violation: {} of {}[{}] by processors {} and {} at round {}, line {}",
                v.kind, v.array, v.index, v.processors[0], v.processors[1], v.round, v.line
            ),
            Outcome::Fault(x) => write!(
                f,
                "fault: {} at round {}, processor {}, line {}",
                x.kind, x.round, x.processor, x.line
            ),
            Outcome::Limit {
                limit,
                value,
                round,
                line,
            } => write!(f, "limit: {limit} {value} reached at round {round}, line {line}"),
            Outcome::BoundExceeded {
                metric,
                measured,
                bound,
                round,
            } => write!(
                f,
                "declared bound exceeded: {metric} would reach {measured} > {bound} at round {round}"
            ),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(x) => write!(f, "{x}"),
            Value::Array(a) => {
                f.write_str("[")?;
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_words() {
        let v = Outcome::Violation(Violation {
            kind: ViolationKind::ConcurrentRead,
            round: 2,
            array: "A".into(),
            index: 1,
            processors: [1, 2],
            line: 22,
        });
        assert_eq!(
            v.to_string(),
            "violation: concurrent read of A[1] by processors 1 and 2 at round 2, line 22"
        );
        let f = Outcome::Fault(Fault {
            kind: FaultKind::OutOfBounds {
                array: "B".into(),
                index: 9,
                len: 8,
            },
            round: 3,
            processor: 4,
            line: 7,
        });
        assert_eq!(
            f.to_string(),
            "fault: index 9 out of bounds of B[8] at round 3, processor 4, line 7"
        );
        let l = Outcome::Limit {
            limit: Limit::MaxRounds,
            value: 10,
            round: 10,
            line: 5,
        };
        assert_eq!(
            l.to_string(),
            "limit: --max-rounds 10 reached at round 10, line 5"
        );
        assert_eq!(Value::Array(vec![1, -2, 3]).to_string(), "[1 -2 3]");
        for o in [v, f, l, Outcome::Ok] {
            let s = o.to_string();
            assert!(
                !s.contains("Some(") && !s.contains("::") && !s.contains('{'),
                "{s}"
            );
        }
    }
}
