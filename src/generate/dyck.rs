//! Theorem 5: a stochastic AP-MDM whose support is exactly one-sided or two-sided Dyck-k, and an
//! independent enumeration of those languages.
//!
//! The canvas is a phase cell followed by the word. One cycle inserts one cancelling pair in six
//! steps (proofs/thm5.md): the cell draws stop or go; go inserts a mask after the cell; that mask
//! draws where and which pair; the chosen gap inserts a mask; it becomes the pair's first letter
//! and inserts the second mask; that mask copies the inverse of its left neighbour. Stop deletes
//! the (masked) cell, so the final canvas is the word itself.

use std::fmt;

use crate::machine::{ControlBits, StepFunctionError, Token};

use super::stochastic::{Choice, RandomPosition, StochasticProposal, StochasticStep};
use super::support::Searchable;

/// The largest number of bracket types (each has a printable pair).
pub const MAX_K: u8 = 4;

const OPEN: [char; 4] = ['(', '[', '{', '<'];
const CLOSE: [char; 4] = [')', ']', '}', '>'];

/// The generator's alphabet; the mask is `Token::Mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DyckToken {
    /// A letter of the word: `0..k` are the openers, `k..2k` their closers (inverses).
    Letter {
        /// The letter's index.
        index: u8,
        /// The number of bracket types (for printing).
        k: u8,
    },
    /// The phase cell's "go": insert one more pair.
    Go,
    /// The drawn pair: its first letter goes into `gap` (the number of word letters before it).
    Pair {
        /// Where the pair goes.
        gap: u16,
        /// Its first letter (the second is its inverse).
        letter: u8,
        /// The number of bracket types (for printing).
        k: u8,
    },
}

fn letter_char(index: u8, k: u8) -> char {
    if index < k {
        OPEN[usize::from(index)]
    } else {
        CLOSE[usize::from(index - k)]
    }
}

impl fmt::Display for DyckToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DyckToken::Letter { index, k } => write!(f, "{}", letter_char(index, k)),
            DyckToken::Go => f.write_str("go"),
            DyckToken::Pair { gap, letter, k } => {
                let a = letter_char(letter, k);
                let b = letter_char(inverse(letter, k), k);
                write!(f, "pair@{gap}:{a}{b}")
            }
        }
    }
}

/// In JSON a token is its text (`(`, `go`, `pair@0:()`).
impl serde::Serialize for DyckToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// The inverse of a letter: an opener's closer and a closer's opener.
pub fn inverse(letter: u8, k: u8) -> u8 {
    if letter < k {
        letter + k
    } else {
        letter - k
    }
}

/// One of the languages: Dyck-k with one rule (opener then its closer cancels) or two (either order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language {
    /// Bracket types, 1..=4.
    pub k: u8,
    /// Whether `x' x` cancels too (the trivial words of the free group on k generators).
    pub two_sided: bool,
}

impl Language {
    /// The language, or an error for k outside 1..=4.
    pub fn new(k: u8, two_sided: bool) -> Result<Language, String> {
        if k == 0 || k > MAX_K {
            return Err(format!("k = {k}: bracket types must be 1 to {MAX_K}"));
        }
        Ok(Language { k, two_sided })
    }

    /// The letters, 2k of them.
    pub fn letters(self) -> u8 {
        2 * self.k
    }

    /// Whether the adjacent pair `a b` is erased by a rule.
    pub fn cancels(self, a: u8, b: u8) -> bool {
        b == inverse(a, self.k) && (self.two_sided || a < self.k)
    }

    /// "one-sided Dyck-2" and the like.
    pub fn name(self) -> String {
        let side = if self.two_sided { "two" } else { "one" };
        format!("{side}-sided Dyck-{}", self.k)
    }

    /// Membership by rewriting: cancel adjacent pairs with a stack; the word is in the language
    /// when nothing is left. Letters out of range are not in the language.
    pub fn contains(self, word: &[u8]) -> bool {
        let mut stack: Vec<u8> = Vec::with_capacity(word.len());
        for &c in word {
            if c >= self.letters() {
                return false;
            }
            match stack.last() {
                Some(&top) if self.cancels(top, c) => {
                    stack.pop();
                }
                _ => stack.push(c),
            }
        }
        stack.is_empty()
    }

    /// Calls `visit` on every word of the language of exactly `length` letters, in lexicographic
    /// order of letter indices, each once. This is the independent side of the support check: a
    /// direct depth-first generator over letters (keeping the reduced prefix on a stack, cutting
    /// prefixes whose stack is deeper than the letters left), which knows nothing of the AP-MDM.
    pub fn enumerate(self, length: usize, visit: &mut dyn FnMut(&[u8])) {
        let mut word = Vec::with_capacity(length);
        let mut stack = Vec::with_capacity(length);
        self.extend(length, &mut word, &mut stack, visit);
    }

    fn extend(
        self,
        length: usize,
        word: &mut Vec<u8>,
        stack: &mut Vec<u8>,
        visit: &mut dyn FnMut(&[u8]),
    ) {
        if word.len() == length {
            if stack.is_empty() {
                visit(word);
            }
            return;
        }
        let left = length - word.len() - 1;
        for c in 0..self.letters() {
            let top = stack.last().copied();
            let popped = match top {
                Some(t) if self.cancels(t, c) => {
                    stack.pop();
                    true
                }
                _ => {
                    if !self.two_sided && c >= self.k {
                        // A closer that does not close the top can never be cancelled.
                        continue;
                    }
                    stack.push(c);
                    false
                }
            };
            if stack.len() <= left {
                word.push(c);
                self.extend(length, word, stack, visit);
                word.pop();
            }
            if popped {
                stack.push(top.unwrap_or(0));
            } else {
                stack.pop();
            }
        }
    }

    /// The number of words of exactly `length` letters (by enumeration).
    pub fn count(self, length: usize) -> u64 {
        let mut n = 0;
        self.enumerate(length, &mut |_| n += 1);
        n
    }
}

/// The generator: a stochastic AP-MDM for one language.
///
/// `max_gap` only sizes the alphabet of memo keys (pairs drawn at larger gaps have no key); the
/// process itself is unbounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DyckGenerator {
    /// The language generated.
    pub language: Language,
    /// The largest gap the memo keys can hold.
    pub max_gap: u16,
}

/// Where a canvas is in the cycle (proofs/thm5.md names the phases A to F).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No phase cell: the word is done.
    Done,
    /// A: the cell is a mask, the word is clean: draw stop or go.
    Choose,
    /// B: the cell is `go`: insert the mask that will draw the pair.
    Go,
    /// C: that mask draws a pair.
    Draw,
    /// D: the chosen gap inserts a mask.
    Open { gap: u16, letter: u8 },
    /// E: the mask at this position becomes the first letter and inserts the second mask.
    Place { at: usize, letter: u8 },
    /// F: the mask at this position becomes the inverse of its left neighbour.
    Close { at: usize, left: u8 },
}

impl DyckGenerator {
    /// A generator whose memo keys hold words up to `max_length` letters.
    pub fn new(language: Language, max_length: usize) -> DyckGenerator {
        DyckGenerator {
            language,
            max_gap: u16::try_from(max_length).unwrap_or(u16::MAX),
        }
    }

    /// The initial canvas: the phase cell, masked; the word is empty.
    pub fn initial() -> Vec<Token<DyckToken>> {
        vec![Token::Mask]
    }

    /// A word's canvas tokens.
    pub fn word_tokens(&self, word: &[u8]) -> Vec<Token<DyckToken>> {
        word.iter()
            .map(|&index| {
                Token::Sym(DyckToken::Letter {
                    index,
                    k: self.language.k,
                })
            })
            .collect()
    }

    /// The word of a canvas made of letters only.
    pub fn word_of(x: &[Token<DyckToken>]) -> Option<Vec<u8>> {
        x.iter()
            .map(|t| match t {
                Token::Sym(DyckToken::Letter { index, .. }) => Some(*index),
                _ => None,
            })
            .collect()
    }

    /// Decoding steps to generate a word of `length` letters: six per pair and one to stop.
    pub fn steps_formula(length: usize) -> usize {
        3 * length + 1
    }

    /// Context length of a word of `length` letters: the cell, the second cell, the word before
    /// the last pair, and the pair's two masks (`length + 2`); 1 for the empty word.
    pub fn context_formula(length: usize) -> usize {
        if length == 0 {
            1
        } else {
            length + 2
        }
    }

    /// The gaps and letters the draw at a word may choose: gaps up to one past the leftmost
    /// cancelling pair, and no first letter that would cancel with its left neighbour. This
    /// makes the inserted pair the leftmost cancelling pair of the new word, so every word has
    /// exactly one generation (proofs/thm5.md).
    pub fn pair_choices(&self, word: &[u8]) -> Vec<(u16, u8)> {
        let lang = self.language;
        let leftmost = word.windows(2).position(|w| lang.cancels(w[0], w[1]));
        let last_gap = match leftmost {
            Some(p) => (p + 1).min(word.len()),
            None => word.len(),
        };
        let firsts: Vec<u8> = if lang.two_sided {
            (0..lang.letters()).collect()
        } else {
            (0..lang.k).collect()
        };
        let mut out = Vec::new();
        for gap in 0..=last_gap {
            for &a in &firsts {
                if gap > 0 && lang.cancels(word[gap - 1], a) {
                    continue;
                }
                out.push((u16::try_from(gap).unwrap_or(u16::MAX), a));
            }
        }
        out
    }

    fn letter(&self, t: &Token<DyckToken>) -> Option<u8> {
        match t {
            Token::Sym(DyckToken::Letter { index, k }) if *k == self.language.k => Some(*index),
            _ => None,
        }
    }

    fn phase(&self, x: &[Token<DyckToken>]) -> Result<Phase, String> {
        let letters_from = |from: usize| x[from..].iter().all(|t| self.letter(t).is_some());
        let single_mask = |from: usize| -> Option<usize> {
            let masks: Vec<usize> = (from..x.len()).filter(|&i| x[i].is_mask()).collect();
            let others_ok = (from..x.len()).all(|i| x[i].is_mask() || self.letter(&x[i]).is_some());
            (masks.len() == 1 && others_ok).then(|| masks[0])
        };
        let Some(first) = x.first() else {
            return Ok(Phase::Done);
        };
        if self.letter(first).is_some() {
            return if letters_from(0) {
                Ok(Phase::Done)
            } else {
                Err("a word with a non-letter after its first letter".into())
            };
        }
        let second = x.get(1);
        match (first, second) {
            (Token::Mask, _) if letters_from(1) => Ok(Phase::Choose),
            (Token::Sym(DyckToken::Go), _) if letters_from(1) => Ok(Phase::Go),
            (Token::Sym(DyckToken::Go), Some(Token::Mask)) if letters_from(2) => Ok(Phase::Draw),
            (Token::Sym(DyckToken::Go), Some(Token::Sym(DyckToken::Pair { gap, letter, .. })))
                if letters_from(2) =>
            {
                Ok(Phase::Open {
                    gap: *gap,
                    letter: *letter,
                })
            }
            (Token::Mask, Some(Token::Sym(DyckToken::Pair { letter, .. }))) => {
                match single_mask(2) {
                    Some(at) => Ok(Phase::Place {
                        at,
                        letter: *letter,
                    }),
                    None => Err("a drawn pair without exactly one open gap".into()),
                }
            }
            (Token::Mask, Some(Token::Mask)) => match single_mask(2) {
                Some(at) => match self.letter(&x[at - 1]) {
                    Some(left) => Ok(Phase::Close { at, left }),
                    None => Err("a closing mask without a letter on its left".into()),
                },
                None => Err("no single mask to close".into()),
            },
            _ => Err("not a canvas of the Dyck generator".into()),
        }
    }
}

impl StochasticStep<DyckToken> for DyckGenerator {
    fn distributions(
        &self,
        x: &[Token<DyckToken>],
    ) -> Result<StochasticProposal<DyckToken>, StepFunctionError> {
        let phase = self.phase(x).map_err(StepFunctionError)?;
        let mut d = StochasticProposal::keep_all(x, &DyckToken::Go);
        let k = self.language.k;
        match phase {
            Phase::Done => {}
            Phase::Choose => d.random.push(RandomPosition {
                position: 0,
                choices: vec![
                    Choice {
                        token: DyckToken::Go,
                        bits: ControlBits::NONE,
                        weight: 1,
                    },
                    Choice {
                        token: DyckToken::Go,
                        bits: ControlBits::DELETE,
                        weight: 1,
                    },
                ],
            }),
            Phase::Go => d.base.bits[0] = ControlBits::INSERT,
            Phase::Draw => {
                let word: Vec<u8> = x[2..].iter().filter_map(|t| self.letter(t)).collect();
                let choices = self
                    .pair_choices(&word)
                    .into_iter()
                    .map(|(gap, letter)| Choice {
                        token: DyckToken::Pair { gap, letter, k },
                        bits: ControlBits::NONE,
                        weight: 1,
                    })
                    .collect();
                d.random.push(RandomPosition {
                    position: 1,
                    choices,
                });
            }
            Phase::Open { gap, .. } => {
                // Gap g follows canvas position 1 + g: the pair cell itself for g = 0, else the
                // g-th letter of the word (which starts at position 2).
                let at = 1 + usize::from(gap);
                if at >= x.len() {
                    return Err(StepFunctionError(format!(
                        "gap {gap} is past the end of a word of {} letters",
                        x.len() - 2
                    )));
                }
                d.base.bits[at] = ControlBits::INSERT;
                d.base.bits[0] = ControlBits::REMASK;
            }
            Phase::Place { at, letter } => {
                d.base.tokens[at] = DyckToken::Letter { index: letter, k };
                d.base.bits[at] = ControlBits::INSERT;
                d.base.bits[0] = ControlBits::REMASK;
                d.base.bits[1] = ControlBits::REMASK;
            }
            Phase::Close { at, left } => {
                d.base.tokens[at] = DyckToken::Letter {
                    index: inverse(left, k),
                    k,
                };
                d.base.bits[0] = ControlBits::REMASK;
                d.base.bits[1] = ControlBits::DELETE;
            }
        }
        Ok(d)
    }
}

impl Searchable<DyckToken> for DyckGenerator {
    fn alphabet_size(&self) -> u32 {
        let l = u32::from(self.language.letters());
        l + 1 + (u32::from(self.max_gap) + 1) * l
    }

    fn index(&self, a: &DyckToken) -> Option<u32> {
        let l = u32::from(self.language.letters());
        match *a {
            DyckToken::Letter { index, k } if k == self.language.k && u32::from(index) < l => {
                Some(u32::from(index))
            }
            DyckToken::Go => Some(l),
            DyckToken::Pair { gap, letter, k }
                if k == self.language.k && gap <= self.max_gap && u32::from(letter) < l =>
            {
                Some(l + 1 + u32::from(gap) * l + u32::from(letter))
            }
            _ => None,
        }
    }

    fn symbol(&self, index: u32) -> Option<DyckToken> {
        let l = u32::from(self.language.letters());
        let k = self.language.k;
        if index < l {
            return Some(DyckToken::Letter {
                index: u8::try_from(index).ok()?,
                k,
            });
        }
        if index == l {
            return Some(DyckToken::Go);
        }
        let rest = index - l - 1;
        let gap = u16::try_from(rest / l).ok()?;
        (gap <= self.max_gap).then_some(DyckToken::Pair {
            gap,
            letter: u8::try_from(rest % l).ok()?,
            k,
        })
    }

    /// Letters on the canvas plus the letters already promised: 2 while a pair is being drawn
    /// or opened (the cell is `go`, or the second cell holds the pair), 1 while the closer is
    /// still a mask (both cells masked).
    fn potential(&self, x: &[Token<DyckToken>]) -> usize {
        let letters = x.iter().filter(|t| self.letter(t).is_some()).count();
        let promised = match (x.first(), x.get(1)) {
            (Some(Token::Sym(DyckToken::Go)), _) => 2,
            (_, Some(Token::Sym(DyckToken::Pair { .. }))) => 2,
            (Some(Token::Mask), Some(Token::Mask)) => 1,
            _ => 0,
        };
        letters + promised
    }
}

/// Letters as text (`([])` and the like).
pub fn render_word(word: &[u8], k: u8) -> String {
    word.iter().map(|&c| letter_char(c, k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_systems_differ_on_reversed_pairs() {
        let one = Language::new(2, false).unwrap();
        let two = Language::new(2, true).unwrap();
        // ")(": a closer before its opener.
        assert!(!one.contains(&[2, 0]));
        assert!(two.contains(&[2, 0]));
        assert!(one.contains(&[0, 1, 3, 2]));
        assert!(!one.contains(&[0, 1, 2, 3]));
        assert!(Language::new(5, true).is_err());
        assert!(Language::new(0, true).is_err());
    }

    #[test]
    fn enumeration_counts_match_catalan_and_membership() {
        // One-sided Dyck-k of length 2m: Catalan(m) * k^m.
        let catalan = [1u64, 1, 2, 5, 14, 42];
        for k in 1..=3u8 {
            let lang = Language::new(k, false).unwrap();
            for (m, c) in catalan.iter().enumerate() {
                assert_eq!(
                    lang.count(2 * m),
                    c * u64::from(k).pow(m as u32),
                    "k = {k}, m = {m}"
                );
            }
            assert_eq!(lang.count(3), 0);
        }
        // Two-sided: every enumerated word is a member; every word of length 6 over 4 letters
        // that is a member is enumerated (brute force over 4^6 words).
        let two = Language::new(2, true).unwrap();
        let mut listed = Vec::new();
        two.enumerate(6, &mut |w| listed.push(w.to_vec()));
        let mut brute = Vec::new();
        for n in 0..4usize.pow(6) {
            let w: Vec<u8> = (0..6).rev().map(|i| ((n >> (2 * i)) & 3) as u8).collect();
            if two.contains(&w) {
                brute.push(w);
            }
        }
        assert_eq!(listed, brute);
    }
}
