//! The built-in program library: every file of `pram_programs/`, embedded in the binary.

use super::error::ParseError;
use super::parse::parse;
use super::program::Program;

/// Every built-in program: its name and source.
pub const PROGRAMS: [(&str, &str); 14] = [
    (
        "bitonic_sort",
        include_str!("../../pram_programs/bitonic_sort.pram"),
    ),
    (
        "connected_components",
        include_str!("../../pram_programs/connected_components.pram"),
    ),
    ("dyck", include_str!("../../pram_programs/dyck.pram")),
    (
        "geography",
        include_str!("../../pram_programs/geography.pram"),
    ),
    (
        "list_ranking",
        include_str!("../../pram_programs/list_ranking.pram"),
    ),
    (
        "matrix_multiply",
        include_str!("../../pram_programs/matrix_multiply.pram"),
    ),
    ("parity", include_str!("../../pram_programs/parity.pram")),
    (
        "prefix_sum",
        include_str!("../../pram_programs/prefix_sum.pram"),
    ),
    (
        "prefix_sum_blelloch",
        include_str!("../../pram_programs/prefix_sum_blelloch.pram"),
    ),
    (
        "reduce_max",
        include_str!("../../pram_programs/reduce_max.pram"),
    ),
    (
        "reduce_sum",
        include_str!("../../pram_programs/reduce_sum.pram"),
    ),
    ("sudoku", include_str!("../../pram_programs/sudoku.pram")),
    ("tqbf", include_str!("../../pram_programs/tqbf.pram")),
    (
        "tree_depth",
        include_str!("../../pram_programs/tree_depth.pram"),
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
