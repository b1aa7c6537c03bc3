//! The built-in program library: every file of `pram_programs/`, embedded in the binary.

use super::error::ParseError;
use super::parse::parse;
use super::program::Program;

/// Every built-in program: its name and source.
pub const PROGRAMS: [(&str, &str); 2] = [
    (
        "prefix_sum",
        include_str!("../../pram_programs/prefix_sum.pram"),
    ),
    (
        "reduce_sum",
        include_str!("../../pram_programs/reduce_sum.pram"),
    ),
];

/// The source of a built-in program.
pub fn source(name: &str) -> Option<&'static str> {
    PROGRAMS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// A built-in program, parsed (`None` if there is no such program).
pub fn load(name: &str) -> Option<Result<Program, ParseError>> {
    source(name).map(|s| parse(&format!("{name}.pram"), s))
}

/// The test directive `//# key: values` of a program's source, as numbers (e.g. `sizes`, `seeds`).
pub fn directive(source: &str, key: &str) -> Vec<i64> {
    source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("//#"))
        .filter_map(|l| l.trim().strip_prefix(key))
        .filter_map(|l| l.trim().strip_prefix(':'))
        .flat_map(|l| l.split([',', ' ']).filter_map(|t| t.trim().parse().ok()))
        .collect()
}
