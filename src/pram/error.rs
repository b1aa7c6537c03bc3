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
    #[error("{}{what} cannot be evaluated at this n: {why}", place(file, *span))]
    Declaration {
        /// What was evaluated.
        what: String,
        /// The file it is declared in (empty for a program not parsed from a file).
        file: String,
        /// Where it is declared (line 0 where unknown).
        span: Span,
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

/// `file:line:column: `, or less where the place is not known.
pub fn place(file: &str, span: Span) -> String {
    match (file.is_empty(), span.line) {
        (_, 0) if file.is_empty() => String::new(),
        (_, 0) => format!("{file}: "),
        (true, line) => format!("line {line}, column {}: ", span.column),
        (false, line) => format!("{file}:{line}:{}: ", span.column),
    }
}
