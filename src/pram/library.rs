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

/// The names among `names` closest to `name`, closest first: those within an edit distance of a
/// third of the longer name (at least 2), or that contain it or are contained in it; at most 3.
/// For "did you mean" lists when a name is not found.
pub fn closest<'a>(name: &str, names: &[&'a str]) -> Vec<&'a str> {
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'a str)> = names
        .iter()
        .filter_map(|&candidate| {
            let d = edit_distance(&lower, candidate);
            let limit = (lower.len().max(candidate.len()) / 3).max(2);
            let related =
                lower.len() >= 3 && (candidate.contains(&lower) || lower.contains(candidate));
            (d <= limit || related).then_some((d, candidate))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

/// Levenshtein distance over bytes (insert, delete, substitute: each 1).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &y) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(x != y);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, PROGRAMS};

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("tqbf", "tqbf"), 0);
        assert_eq!(edit_distance("prefix_sun", "prefix_sum"), 1);
    }

    #[test]
    fn closest_names() {
        let names: Vec<&str> = PROGRAMS.iter().map(|(n, _)| *n).collect();
        assert_eq!(closest("prefix_sun", &names), ["prefix_sum"]);
        assert_eq!(
            closest("prefix", &names),
            ["prefix_sum", "prefix_sum_blelloch"]
        );
        assert_eq!(closest("TQBF", &names), ["tqbf"]);
        assert_eq!(closest("sort", &names), ["bitonic_sort"]);
        assert_eq!(closest("reduce", &names), ["reduce_max", "reduce_sum"]);
        assert!(closest("zzzzzzzz", &names).is_empty());
    }
}
