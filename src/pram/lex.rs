//! The lexer of `.pram` files: source text to tokens with line and column.

use super::error::ParseError;
use super::parse::echo;
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
            Tok::Ident(s) => write!(f, "`{}`", echo(s)),
            Tok::Int(v) => write!(f, "`{v}`"),
            Tok::Punct(p) => write!(f, "`{p}`"),
            Tok::End => f.write_str("end of file"),
        }
    }
}

/// `bytes` as text; invalid UTF-8 is an error at the line and column of the first bad byte, with
/// its byte offset.
pub fn decode_source(file: &str, bytes: Vec<u8>) -> Result<String, ParseError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let good = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
        let line = good.matches('\n').count() as u32 + 1;
        let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        ParseError::new(
            file,
            Span { line, column },
            format!(
                "invalid UTF-8 at byte offset {offset} (byte 0x{:02X}); the file must be UTF-8 text",
                e.as_bytes()[offset]
            ),
        )
    })
}

// Longest first, so that `<=` wins over `<`.
const PUNCT: [&str; 31] = [
    "..", "<=", ">=", "==", "!=", "&&", "||", "<<", ">>", "{", "}", "(", ")", "[", "]", ";", ",",
    "=", "<", ">", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", ":",
];

/// Splits the source into tokens; `//` starts a comment that runs to the end of the line. A
/// leading byte-order mark is skipped.
pub fn lex(file: &str, source: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
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
                ParseError::new(
                    file,
                    span,
                    format!(
                        "integer literal {} is too large (the largest is {})",
                        echo(&text),
                        i64::MAX
                    ),
                )
            })?;
            out.push((Tok::Int(value), span));
        } else {
            let rest: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) else {
                return Err(ParseError::new(
                    file,
                    span,
                    format!(
                        "unexpected character {}; expected a name, a number or an operator",
                        if c.is_control() || c.is_whitespace() {
                            format!("U+{:04X}", c as u32)
                        } else {
                            format!("`{c}` (U+{:04X})", c as u32)
                        }
                    ),
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
