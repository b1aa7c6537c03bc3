//! Tokens over a generic alphabet, with the one distinguished mask `M`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What an alphabet needs so that sequences over it can be stepped, compared and printed.
///
/// Compiled PRAM programs and learned tasks have different vocabularies, so `machine` is generic
/// over the alphabet. The mask is not a member of the alphabet: it is `Token::Mask`, which makes
/// "f never proposes M" a property of the types rather than a runtime check.
pub trait Symbol: Clone + PartialEq + fmt::Debug + fmt::Display {}

impl<T: Clone + PartialEq + fmt::Debug + fmt::Display> Symbol for T {}

/// One position of a sequence: the mask `M` or a decoded symbol of the alphabet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Token<A> {
    /// The mask token `M`.
    Mask,
    /// A decoded symbol.
    Sym(A),
}

impl<A> Token<A> {
    /// Whether this position holds the mask.
    pub fn is_mask(&self) -> bool {
        matches!(self, Token::Mask)
    }

    /// The decoded symbol, or `None` for the mask.
    pub fn symbol(&self) -> Option<&A> {
        match self {
            Token::Mask => None,
            Token::Sym(a) => Some(a),
        }
    }
}

impl<A: fmt::Display> fmt::Display for Token<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Mask => f.write_str(MASK_TEXT),
            Token::Sym(a) => a.fmt(f),
        }
    }
}

/// How the mask is written in text renderings (the paper's notation).
pub const MASK_TEXT: &str = "M";

/// In JSON a token is its symbol, and the mask is `null`: traces stay readable and compact.
impl<A: Serialize> Serialize for Token<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.symbol().serialize(s)
    }
}

impl<'de, A: Deserialize<'de>> Deserialize<'de> for Token<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<A>::deserialize(d)? {
            None => Token::Mask,
            Some(a) => Token::Sym(a),
        })
    }
}

/// Renders a sequence compactly for terminals and tests: tokens separated by single spaces, the
/// mask written `M` (for example `BOS M 1`).
pub fn render<A: fmt::Display>(tokens: &[Token<A>]) -> String {
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&t.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_is_null_in_json_and_round_trips() {
        let seq = vec![Token::Sym('a'), Token::Mask, Token::Sym('b')];
        let text = serde_json::to_string(&seq).unwrap();
        assert_eq!(text, r#"["a",null,"b"]"#);
        let back: Vec<Token<char>> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, seq);
    }

    #[test]
    fn render_writes_masks_as_m() {
        let seq = vec![Token::Sym("BOS"), Token::Mask, Token::Sym("1")];
        assert_eq!(render(&seq), "BOS M 1");
        assert_eq!(render::<char>(&[]), "");
    }
}
