//! The lexer of `.pram` files: source text to tokens with line and column.

use super::error::ParseError;
use super::program::Span;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// An unsigned integer literal.
    Int(i64),
    /// Punctuation or an operator (`..`, `<=`, `<<`, `{`, ...).
    Punct(&'static str),
    /// End of the file.
    End,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Int(v) => write!(f, "`{v}`"),
            Tok::Punct(p) => write!(f, "`{p}`"),
            Tok::End => f.write_str("end of file"),
        }
    }
}

// Longest first, so that `<=` wins over `<`.
const PUNCT: [&str; 31] = [
    "..", "<=", ">=", "==", "!=", "&&", "||", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",",
    "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", ":",
];

/// Splits the source into tokens; `//` starts a comment that runs to the end of the line.
pub fn lex(file: &str, source: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let mut out = Vec::new();
    let chars: Vec<char> = source.chars().collect();
    let (mut i, mut line, mut column) = (0usize, 1u32, 1u32);
    while i < chars.len() {
        let c = chars[i];
        let span = Span { line, column };
        if c == '\n' {
            i += 1;
            line += 1;
            column = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            column += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), span));
        } else if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let value = text.parse::<i64>().map_err(|_| {
                ParseError::new(file, span, format!("integer literal {text} is too large"))
            })?;
            out.push((Tok::Int(value), span));
        } else {
            let rest: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) else {
                return Err(ParseError::new(
                    file,
                    span,
                    format!("unexpected character {c:?}; expected a name, a number or an operator"),
                ));
            };
            i += p.chars().count();
            out.push((Tok::Punct(p), span));
        }
        column += (i - start) as u32;
    }
    out.push((Tok::End, Span { line, column }));
    Ok(out)
}
