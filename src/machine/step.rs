//! The step rule g (Algorithm 1 of the paper): from x, proposed tokens y and control bits, the next sequence.

use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use super::control::ControlBits;
use super::token::Token;

/// A sequence together with a payload per position: what the position stands for (a memory cell,
/// a processor, a round, or `()` for nothing).
///
/// Invariant: `tokens.len() == payloads.len()` (the fields are private so that it holds).
/// Payloads are bookkeeping for traces: a [`super::StepFunction`] sees only the tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas<A, P = ()> {
    pub(super) tokens: Vec<Token<A>>,
    pub(super) payloads: Vec<P>,
}

impl<A, P> Canvas<A, P> {
    /// A canvas from tokens and one payload per token; `None` when the lengths differ.
    pub fn with_payloads(tokens: Vec<Token<A>>, payloads: Vec<P>) -> Option<Self> {
        (tokens.len() == payloads.len()).then_some(Canvas { tokens, payloads })
    }

    /// The tokens, which is all a step function may look at.
    pub fn tokens(&self) -> &[Token<A>] {
        &self.tokens
    }

    /// The payloads, one per position.
    pub fn payloads(&self) -> &[P] {
        &self.payloads
    }

    /// The number of positions.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the canvas has no positions.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The number of mask positions.
    pub fn mask_count(&self) -> usize {
        self.tokens.iter().filter(|t| t.is_mask()).count()
    }

    /// Overwrites the token at `position` (for fault injection and tests); `false` if out of range.
    pub fn set_token(&mut self, position: usize, token: Token<A>) -> bool {
        match self.tokens.get_mut(position) {
            Some(slot) => {
                *slot = token;
                true
            }
            None => false,
        }
    }
}

impl<A, P: Default> Canvas<A, P> {
    /// A canvas whose payloads are all `P::default()`.
    pub fn new(tokens: Vec<Token<A>>) -> Self {
        let payloads = tokens.iter().map(|_| P::default()).collect();
        Canvas { tokens, payloads }
    }
}

impl<A, P: Default> FromIterator<Token<A>> for Canvas<A, P> {
    fn from_iter<I: IntoIterator<Item = Token<A>>>(iter: I) -> Self {
        Canvas::new(iter.into_iter().collect())
    }
}

/// What g did to one position of the old sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionOp {
    /// A decoded token kept as it was.
    Keep,
    /// A mask replaced by the proposed token.
    Unmask,
    /// A decoded token replaced by `M`.
    Remask,
    /// A mask kept masked (remask on a mask).
    Hold,
    /// A mask dropped.
    Delete,
}

impl PositionOp {
    /// One letter for aligned renderings: k, u, r, h, d.
    pub fn letter(self) -> char {
        match self {
            PositionOp::Keep => 'k',
            PositionOp::Unmask => 'u',
            PositionOp::Remask => 'r',
            PositionOp::Hold => 'h',
            PositionOp::Delete => 'd',
        }
    }
}

/// What g did to one position: its operation, and whether a new mask was inserted after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Action {
    /// The operation on the position itself.
    pub op: PositionOp,
    /// Whether one new mask followed it (never after a deleted position).
    pub inserted: bool,
}

/// Operation counts of one step (or, summed, of a run).
///
/// Invariants after one step from a sequence of length L to one of length L':
/// `unmask + remask + hold + delete + keep == L` and `L' == L - delete + insert`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpCounts {
    /// Masks replaced by tokens.
    pub unmask: u64,
    /// Decoded tokens replaced by `M`.
    pub remask: u64,
    /// Masks kept masked.
    pub hold: u64,
    /// New masks inserted.
    pub insert: u64,
    /// Masks dropped.
    pub delete: u64,
    /// Decoded tokens kept.
    pub keep: u64,
}

impl OpCounts {
    /// The number of positions of the old sequence these counts cover (every op but insert).
    pub fn positions(&self) -> u64 {
        self.unmask + self.remask + self.hold + self.delete + self.keep
    }

    fn count(&mut self, action: Action) {
        let slot = match action.op {
            PositionOp::Keep => &mut self.keep,
            PositionOp::Unmask => &mut self.unmask,
            PositionOp::Remask => &mut self.remask,
            PositionOp::Hold => &mut self.hold,
            PositionOp::Delete => &mut self.delete,
        };
        *slot += 1;
        self.insert += u64::from(action.inserted);
    }
}

impl AddAssign for OpCounts {
    fn add_assign(&mut self, o: OpCounts) {
        self.unmask += o.unmask;
        self.remask += o.remask;
        self.hold += o.hold;
        self.insert += o.insert;
        self.delete += o.delete;
        self.keep += o.keep;
    }
}

/// The result of one application of g.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition<A, P> {
    /// The next sequence.
    pub next: Canvas<A, P>,
    /// What happened to each position of the old sequence.
    pub actions: Vec<Action>,
    /// The actions, counted.
    pub counts: OpCounts,
}

/// The proposal does not fit the sequence: f must give one token and one set of bits per position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error(
    "proposal has {tokens} tokens and {bits} control-bit rows for a sequence of length {length}"
)]
pub struct ProposalShapeError {
    /// Length of the current sequence.
    pub length: usize,
    /// Number of proposed tokens.
    pub tokens: usize,
    /// Number of proposed control-bit rows.
    pub bits: usize,
}

/// What g does to one position: a mask with `delete` is dropped; otherwise `remask` writes `M`
/// (on a mask: hold), else a mask becomes its proposed token, else the decoded token stays.
fn position_op<A>(token: &Token<A>, b: &ControlBits) -> PositionOp {
    match (token, b.delete, b.remask) {
        (Token::Mask, true, _) => PositionOp::Delete,
        (Token::Mask, false, true) => PositionOp::Hold,
        (Token::Sym(_), _, true) => PositionOp::Remask,
        (Token::Mask, false, false) => PositionOp::Unmask,
        (Token::Sym(_), _, false) => PositionOp::Keep,
    }
}

/// The actions and counts of g on `x` when no position moves (no insert, and no mask deleted),
/// else `None`. With them, [`apply_in_place`] gives [`apply`]'s next sequence.
pub(super) fn unmoved_actions<A, P>(
    x: &Canvas<A, P>,
    bits: &[ControlBits],
) -> Option<(Vec<Action>, OpCounts)> {
    let mut actions = Vec::with_capacity(x.len());
    let mut counts = OpCounts::default();
    for (token, b) in x.tokens.iter().zip(bits) {
        let op = position_op(token, b);
        if b.insert || op == PositionOp::Delete {
            return None;
        }
        let action = Action {
            op,
            inserted: false,
        };
        counts.count(action);
        actions.push(action);
    }
    Some((actions, counts))
}

/// [`apply`] where no position moves (`actions` from [`unmoved_actions`] on this `x`): the
/// unmasked positions take their proposed tokens, the remasked ones the mask, and every other
/// token and every payload stays where it is, uncopied.
pub(super) fn apply_in_place<A, P>(x: &mut Canvas<A, P>, y: Vec<A>, actions: &[Action]) {
    for ((token, y), action) in x.tokens.iter_mut().zip(y).zip(actions) {
        match action.op {
            PositionOp::Unmask => *token = Token::Sym(y),
            PositionOp::Remask => *token = Token::Mask,
            _ => {}
        }
    }
}

/// Applies g once. This is the only implementation of the step rule in apmdm (`apply_in_place`
/// is its copy-free form for steps that move no position, tested equal to it).
///
/// For each position i of x, left to right: a mask with `delete` is dropped (and its insert with
/// it); otherwise `remask` writes `M`, else a mask becomes `y[i]`, else the decoded token stays;
/// then `insert` appends one new `M`, which inherits position i's payload.
pub fn apply<A: Clone, P: Clone>(
    x: &Canvas<A, P>,
    y: &[A],
    bits: &[ControlBits],
) -> Result<Transition<A, P>, ProposalShapeError> {
    let length = x.len();
    if y.len() != length || bits.len() != length {
        return Err(ProposalShapeError {
            length,
            tokens: y.len(),
            bits: bits.len(),
        });
    }
    let inserts = bits.iter().filter(|b| b.insert).count();
    let mut tokens = Vec::with_capacity(length + inserts);
    let mut payloads = Vec::with_capacity(length + inserts);
    let mut actions = Vec::with_capacity(length);
    let mut counts = OpCounts::default();
    for (i, (token, b)) in x.tokens.iter().zip(bits).enumerate() {
        let payload = &x.payloads[i];
        let op = position_op(token, b);
        let action = Action {
            op,
            inserted: b.insert && op != PositionOp::Delete,
        };
        match op {
            PositionOp::Delete => {}
            PositionOp::Hold | PositionOp::Remask => tokens.push(Token::Mask),
            PositionOp::Unmask => tokens.push(Token::Sym(y[i].clone())),
            PositionOp::Keep => tokens.push(token.clone()),
        }
        if op != PositionOp::Delete {
            payloads.push(payload.clone());
        }
        if action.inserted {
            tokens.push(Token::Mask);
            payloads.push(payload.clone());
        }
        counts.count(action);
        actions.push(action);
    }
    Ok(Transition {
        next: Canvas { tokens, payloads },
        actions,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(text: &str) -> Canvas<char, usize> {
        let tokens: Vec<Token<char>> = text
            .chars()
            .map(|c| if c == '_' { Token::Mask } else { Token::Sym(c) })
            .collect();
        let payloads = (0..tokens.len()).collect();
        Canvas::with_payloads(tokens, payloads).unwrap()
    }

    fn bits(codes: &[u8]) -> Vec<ControlBits> {
        codes
            .iter()
            .map(|&c| ControlBits::from_code(c).unwrap())
            .collect()
    }

    #[test]
    fn every_case_of_the_rule_on_one_sequence() {
        // Positions: keep a, unmask _, remask b, hold _, delete _ (its insert cancelled),
        // delete ignored on c, insert after d.
        let x = seq("a_b__cd");
        let y: Vec<char> = "xyzwvut".chars().collect();
        let t = apply(&x, &y, &bits(&[0, 0, 1, 1, 6, 4, 2])).unwrap();
        let rendered: String = t
            .next
            .tokens()
            .iter()
            .map(|t| match t {
                Token::Mask => '_',
                Token::Sym(c) => *c,
            })
            .collect();
        assert_eq!(rendered, "ay__cd_");
        // The inserted mask inherits the payload of position 6; position 4 is gone.
        assert_eq!(t.next.payloads(), &[0, 1, 2, 3, 5, 6, 6]);
        let ops: String = t.actions.iter().map(|a| a.op.letter()).collect();
        assert_eq!(ops, "kurhdkk");
        assert_eq!(
            t.counts,
            OpCounts {
                unmask: 1,
                remask: 1,
                hold: 1,
                insert: 1,
                delete: 1,
                keep: 3
            }
        );
    }

    #[test]
    fn remask_beats_unmask_and_delete_beats_remask_on_masks() {
        let x = seq("__");
        let t = apply(&x, &['p', 'q'], &bits(&[1, 5])).unwrap();
        assert_eq!(t.next.tokens(), &[Token::Mask]);
        assert_eq!(t.actions[0].op, PositionOp::Hold);
        assert_eq!(t.actions[1].op, PositionOp::Delete);
    }

    #[test]
    fn shape_mismatch_is_an_error_not_a_panic() {
        let x = seq("a_");
        let err = apply(&x, &['p'], &bits(&[0, 0])).unwrap_err();
        assert_eq!(
            err,
            ProposalShapeError {
                length: 2,
                tokens: 1,
                bits: 2
            }
        );
        assert!(apply(&x, &['p', 'q'], &bits(&[0])).is_err());
    }
}
