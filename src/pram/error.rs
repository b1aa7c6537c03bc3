//! Errors of the PRAM front end (parse and semantic checks) and of preparing a run (inputs, sizes).

use super::program::Span;

/// A parse or semantic error, located in the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    /// The file (or library program) name.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ParseError {
    /// An error at `span` of `file`.
    pub fn new(file: &str, span: Span, message: String) -> Self {
        ParseError {
            file: file.to_string(),
            line: span.line,
            column: span.column,
            message,
        }
    }
}

/// Why a run could not start (the program itself is fine; its setup is not).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// `n` out of the accepted range.
    #[error("n = {n} is out of range; expected {min} <= n <= {max}")]
    SizeOutOfRange {
        /// The size asked for.
        n: i64,
        /// Smallest accepted.
        min: i64,
        /// Largest accepted.
        max: i64,
    },
    /// A declaration (word size, parameter, array length, generator argument) could not be evaluated.
    #[error("{what}{} cannot be evaluated at this n: {why}", on_line(*.line))]
    Declaration {
        /// What was evaluated.
        what: String,
        /// Its line (0 where the declaration has none: word size, parameters, bounds).
        line: u32,
        /// Why not.
        why: String,
    },
    /// The input file does not fit the program.
    #[error("input: {0}")]
    Input(String),
    /// The declared memory exceeds the cell limit before the program starts.
    #[error(
        "the declared arrays need {cells} cells, above the limit of {limit} (raise --max-cells)"
    )]
    TooManyCells {
        /// Cells needed.
        cells: u64,
        /// The limit.
        limit: u64,
    },
}

/// ` (line N)`, or nothing for line 0.
fn on_line(line: u32) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}
