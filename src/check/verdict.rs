//! The check schema: what a checked row can say, how rows add up, and what the process exits with.
//!
//! A row is `pass`, `fail` or `not-run`, never a pass without a run: a row passes only when its
//! schedule was built and run and every check of it held. A summary counts the three; its overall
//! status is `fail` when any row failed, `pass` when rows ran and none was left out, and
//! `incomplete` otherwise (some rows not run, or none at all). Exit codes follow the summary.

use std::fmt;

use serde::Serialize;

/// The verdict of one checked row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Built, run, and every check held.
    Pass,
    /// Built and run (or refused by a check before running), and some check did not hold.
    Fail,
    /// Not run (a resource limit, or a canvas too long to build); nothing was checked.
    NotRun,
}

impl Status {
    /// The verdict of a row: not run when it was not, else pass exactly when nothing failed.
    pub fn of(ran: bool, problems: &[String]) -> Status {
        if !problems.is_empty() {
            Status::Fail
        } else if ran {
            Status::Pass
        } else {
            Status::NotRun
        }
    }

    /// The word printed in a table's result column.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotRun => "NOT RUN",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotRun => "not-run",
        })
    }
}

/// The overall status of a set of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// At least one row ran, every row ran, and every one passed.
    Pass,
    /// Some row failed.
    Fail,
    /// Nothing failed, but some rows (or all) were not run.
    Incomplete,
}

/// Exit code: every row that ran passed, and at least one ran.
pub const EXIT_PASS: u8 = 0;
/// Exit code: some row failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: a usage or input error (nothing was checked).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: nothing ran, or (with `--require-run`) some row was not run.
pub const EXIT_NOT_RUN: u8 = 3;

/// Counts of the three verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rows that ran and passed.
    pub passed: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Rows not run.
    pub not_run: usize,
}

impl Summary {
    /// The counts of `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = Status>) -> Summary {
        let mut s = Summary::default();
        for status in statuses {
            s.add(status);
        }
        s
    }

    /// Counts one more row.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::NotRun => self.not_run += 1,
        }
    }

    /// Adds another summary's counts.
    pub fn merge(&mut self, other: Summary) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.not_run += other.not_run;
    }

    /// All rows counted.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.not_run
    }

    /// Fail if any row failed; pass if rows ran and none was left out; incomplete otherwise.
    pub fn overall(&self) -> Overall {
        if self.failed > 0 {
            Overall::Fail
        } else if self.passed > 0 && self.not_run == 0 {
            Overall::Pass
        } else {
            Overall::Incomplete
        }
    }

    /// The process's exit code: 1 on a failure; 3 when nothing ran, or when `require_run` and
    /// some row was not run; 0 otherwise.
    pub fn exit_code(&self, require_run: bool) -> u8 {
        if self.failed > 0 {
            EXIT_FAIL
        } else if self.passed == 0 || (require_run && self.not_run > 0) {
            EXIT_NOT_RUN
        } else {
            EXIT_PASS
        }
    }
}

impl fmt::Display for Summary {
    /// `N passed, M not run, K failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} not run, {} failed",
            self.passed, self.not_run, self.failed
        )
    }
}

/// One check of a row: what was compared, whether it can fail, whether it held.
///
/// An *identity* compares two numbers computed from the same declared quantities (a laid-out
/// length against a bound on the layout): it holds by construction and is not evidence. Only
/// checks of measured quantities (a run's steps, the context it reached, its agreement with the
/// interpreter) are evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was compared, e.g. `steps 23 <= T + 1 = 23`.
    pub what: String,
    /// Whether it is evidence (a measured quantity) rather than an identity of the layout.
    pub evidence: bool,
    /// Whether it held.
    pub held: bool,
}

impl Check {
    /// `what value <= bound`, worded as what was found: `steps 23 <= aT + b = 23` when it
    /// holds, `steps 25 > aT + b = 23` when it does not.
    pub fn at_most<T: PartialOrd + fmt::Display>(
        what: &str,
        value: T,
        bound_name: &str,
        bound: T,
        evidence: bool,
    ) -> Check {
        let held = value <= bound;
        Check {
            what: format!(
                "{what} {value} {} {bound_name}{bound}",
                if held { "<=" } else { ">" }
            ),
            evidence,
            held,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_not_run_never_passes() {
        assert_eq!(Status::of(false, &[]), Status::NotRun);
        assert_eq!(Status::of(true, &[]), Status::Pass);
        assert_eq!(Status::of(true, &["x".into()]), Status::Fail);
        assert_eq!(Status::of(false, &["x".into()]), Status::Fail);
    }

    #[test]
    fn comparisons_are_worded_as_found() {
        let ok = Check::at_most("steps", 23, "aT + b = ", 23, true);
        assert!(ok.held && ok.what == "steps 23 <= aT + b = 23");
        let over = Check::at_most("steps", 25, "aT + b = ", 23, true);
        assert!(!over.held && over.what == "steps 25 > aT + b = 23");
    }

    #[test]
    fn overall_status_and_exit_codes() {
        let nothing = Summary::default();
        assert_eq!(nothing.overall(), Overall::Incomplete);
        assert_eq!(nothing.exit_code(false), EXIT_NOT_RUN);
        let all_not_run = Summary::of([Status::NotRun, Status::NotRun]);
        assert_eq!(all_not_run.overall(), Overall::Incomplete);
        assert_eq!(all_not_run.exit_code(false), EXIT_NOT_RUN);
        let some = Summary::of([Status::Pass, Status::NotRun]);
        assert_eq!(some.overall(), Overall::Incomplete);
        assert_eq!(some.exit_code(false), EXIT_PASS);
        assert_eq!(some.exit_code(true), EXIT_NOT_RUN);
        let all = Summary::of([Status::Pass, Status::Pass]);
        assert_eq!(all.overall(), Overall::Pass);
        assert_eq!(all.exit_code(true), EXIT_PASS);
        let failed = Summary::of([Status::Pass, Status::Fail, Status::NotRun]);
        assert_eq!(failed.overall(), Overall::Fail);
        assert_eq!(failed.exit_code(false), EXIT_FAIL);
        assert_eq!(failed.to_string(), "1 passed, 1 not run, 1 failed");
    }
}
