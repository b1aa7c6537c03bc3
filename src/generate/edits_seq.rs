//! Theorem 6's edit tracker as a seq program: the same AP-MDM as [`EditTracker`], written in the
//! transformer-shaped IR (`seq`), and the per-step comparison of the two.
//!
//! Words are `[kind, a, b, c]`:
//!
//! | token | word |
//! |---|---|
//! | BOS | `[1, 0, 0, 0]` |
//! | SEP | `[2, 0, 0, 0]` |
//! | data t | `[3, t, 0, 0]` |
//! | `ins(p, t)` | `[4, 1, p, t]` |
//! | `del(p)` | `[4, 2, p, 0]` |
//! | `mov(p, q)` | `[4, 3, p, q]` |
//!
//! A mask reads as `[0, 0, 0, 0]` (every field is 0 on a mask). The program finds the separator
//! (one lookup), reads the first edit after it (lookups by index at sep + 1), counts and locates
//! the mask between BOS and SEP (a sum and a lookup), reads a move's source token (a lookup by
//! index), and computes everything else position by position, as `EditTracker::propose` does: on
//! a mask it proposes the SEP word (the tracker's placeholder) unless the mask is filled.

use crate::machine::{
    run_watched, Canvas, ModelClass, Proposal, RunConfig, StepFunction, Stop, Token,
};
use crate::seq::{
    self, BinaryOp as B, Builder, Evaluator, Heads, Prefer, Program, ProgramError, Selector,
    SeqStep, UnaryOp, Word,
};

use super::edits::{edit_canvas, Edit, EditToken, EditTracker};

/// Kind of BOS.
pub const BOS: i64 = 1;
/// Kind of SEP.
pub const SEP: i64 = 2;
/// Kind of a data token.
pub const DATA: i64 = 3;
/// Kind of an edit token.
pub const OP: i64 = 4;
/// Field a of an insert.
pub const INSERT: i64 = 1;
/// Field a of a delete.
pub const DELETE: i64 = 2;
/// Field a of a move.
pub const MOVE: i64 = 3;

/// The word of one token of the tracker's alphabet.
pub fn word_of(t: &EditToken) -> Word {
    let w = match *t {
        EditToken::Bos => [BOS, 0, 0, 0],
        EditToken::Sep => [SEP, 0, 0, 0],
        EditToken::Data(v) => [DATA, i64::from(v), 0, 0],
        EditToken::Op(Edit::Insert { at, token }) => [OP, INSERT, i64::from(at), i64::from(token)],
        EditToken::Op(Edit::Delete { at }) => [OP, DELETE, i64::from(at), 0],
        EditToken::Op(Edit::Move { from, to }) => [OP, MOVE, i64::from(from), i64::from(to)],
    };
    Word(w.to_vec())
}

/// A word that is not the encoding of a tracker token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("word {word} at position {position} encodes no edit-tracker token")]
pub struct WordError {
    /// Its position.
    pub position: usize,
    /// The word.
    pub word: Word,
}

/// The inverse of [`word_of`], `None` for a word outside the encoding.
pub fn token_of(w: &Word) -> Option<EditToken> {
    let u16_of = |v: i64| u16::try_from(v).ok();
    let u32_of = |v: i64| u32::try_from(v).ok();
    let t = match *w.0.as_slice() {
        [BOS, 0, 0, 0] => EditToken::Bos,
        [SEP, 0, 0, 0] => EditToken::Sep,
        [DATA, v, 0, 0] => EditToken::Data(u16_of(v)?),
        [OP, INSERT, p, t] => EditToken::Op(Edit::Insert {
            at: u32_of(p)?,
            token: u16_of(t)?,
        }),
        [OP, DELETE, p, 0] => EditToken::Op(Edit::Delete { at: u32_of(p)? }),
        [OP, MOVE, p, q] => EditToken::Op(Edit::Move {
            from: u32_of(p)?,
            to: u32_of(q)?,
        }),
        _ => return None,
    };
    Some(t)
}

/// A tracker canvas as words (masks stay masks).
pub fn words_of(canvas: &[Token<EditToken>]) -> Vec<Token<Word>> {
    canvas
        .iter()
        .map(|t| match t {
            Token::Mask => Token::Mask,
            Token::Sym(s) => Token::Sym(word_of(s)),
        })
        .collect()
}

/// Words back to a tracker canvas; a word outside the encoding is an error.
pub fn edit_tokens_of(words: &[Token<Word>]) -> Result<Vec<Token<EditToken>>, WordError> {
    words
        .iter()
        .enumerate()
        .map(|(position, t)| match t {
            Token::Mask => Ok(Token::Mask),
            Token::Sym(w) => token_of(w).map(Token::Sym).ok_or_else(|| WordError {
                position,
                word: w.clone(),
            }),
        })
        .collect()
}

/// Largest data token (the alphabet is 16-bit).
const TOKEN_MAX: i64 = u16::MAX as i64;

/// The tracker's step function as a seq program for canvases of at most `max_len` positions
/// (edit indices are below `max_len`, data tokens 16-bit).
///
/// Attention: the separator's position; the edit word at sep + 1 (five lookups by index, one per
/// field and its mask flag); the number and position of masks between BOS and SEP (a sum and a
/// lookup); the token at a move's source (a lookup by index). Everything else is position-wise.
pub fn edit_tracker_seq(max_len: usize) -> Result<Program, ProgramError> {
    let mut b = Builder::new(4);
    let zero = b.constant(0);
    let one = b.constant(1);
    let two = b.constant(2);
    let c_sep = b.constant(SEP);
    let c_data = b.constant(DATA);
    let c_op = b.constant(OP);
    let c_ins = b.constant(INSERT);
    let c_del = b.constant(DELETE);
    let c_mov = b.constant(MOVE);
    let kind = b.field(0);
    let fa = b.field(1);
    let fb = b.field(2);
    let fc = b.field(3);
    let is_mask = b.is_mask();
    let idx = b.index();

    // The separator: the earliest position whose kind is SEP (a mask has kind 0).
    let is_sep = b.binary(B::Eq, kind, c_sep);
    let sep = b.lookup(Selector::eq(is_sep, one), Prefer::Earliest, idx, zero);
    let sep = b.name(sep, "sep");
    let sep1 = b.binary(B::Add, sep, one);
    let sep1 = b.name(sep1, "first edit");

    // The masks of the sequence (between BOS and SEP): how many, and where the first is.
    let after_bos = b.binary(B::Le, one, idx);
    let before_sep = b.binary(B::Lt, idx, sep);
    let inside = b.binary(B::And, after_bos, before_sep);
    let data_mask = b.binary(B::And, inside, is_mask);
    let masks = b.sum(Selector::eq(data_mask, one), one);
    let masks = b.name(masks, "data masks");
    let mask_at = b.lookup(Selector::eq(data_mask, one), Prefer::Earliest, idx, zero);
    let mask_at = b.name(mask_at, "data mask");
    let has_mask = b.binary(B::Lt, zero, masks);
    let no_mask = b.unary(UnaryOp::Not, has_mask);

    // The first edit after SEP, read by index.
    let by_index = |q| Selector::eq(idx, q);
    let present = b.lookup(by_index(sep1), Prefer::Latest, one, zero);
    let e_mask = b.lookup(by_index(sep1), Prefer::Latest, is_mask, zero);
    let e_kind = b.lookup(by_index(sep1), Prefer::Latest, kind, zero);
    let e_op = b.lookup(by_index(sep1), Prefer::Latest, fa, zero);
    let e_p = b.lookup(by_index(sep1), Prefer::Latest, fb, zero);
    let e_q = b.lookup(by_index(sep1), Prefer::Latest, fc, zero);
    let e_decoded = b.binary(B::Eq, e_kind, c_op);
    let is_ins0 = b.binary(B::Eq, e_op, c_ins);
    let is_del0 = b.binary(B::Eq, e_op, c_del);
    let is_mov0 = b.binary(B::Eq, e_op, c_mov);
    let is_ins = b.binary(B::And, e_decoded, is_ins0);
    let is_del = b.binary(B::And, e_decoded, is_del0);
    let is_mov = b.binary(B::And, e_decoded, is_mov0);
    let e_gone = b.binary(B::And, present, e_mask);

    // A move's gap: q if q <= p, else q + 1 (its source is still there).
    let q1 = b.binary(B::Add, e_q, one);
    let back = b.binary(B::Le, e_q, e_p);
    let move_gap = b.select(back, e_q, q1);
    // The position that inserts the new mask: p for an insert, the move's gap for a move.
    let gap = b.select(is_ins, e_p, move_gap);
    let gap = b.name(gap, "insert gap");
    // A move's source with its new mask in place: p + 2 if the gap is at or before p, else p + 1.
    let gap_first = b.binary(B::Le, move_gap, e_p);
    let shift = b.select(gap_first, two, one);
    let source = b.binary(B::Add, e_p, shift);
    let source = b.name(source, "move source");
    let source_token = b.lookup(by_index(source), Prefer::Latest, fa, zero);

    // Position tests.
    let at_sep1 = b.binary(B::Eq, idx, sep1);
    let at_gap = b.binary(B::Eq, idx, gap);
    let p1 = b.binary(B::Add, e_p, one);
    let at_p1 = b.binary(B::Eq, idx, p1);
    let at_source = b.binary(B::Eq, idx, source);
    let at_mask = b.binary(B::Eq, idx, mask_at);

    // State A: an edit decoded, no mask in the sequence.
    let grows = b.binary(B::Or, is_ins, is_mov);
    let a_grow = b.binary(B::And, grows, no_mask);
    let insert = b.binary(B::And, a_grow, at_gap);
    let a_del = b.binary(B::And, is_del, no_mask);
    let del_here = b.binary(B::Or, at_p1, at_sep1);
    let remask_a = b.binary(B::And, a_del, del_here);
    // State B: an insert or move decoded, its new mask in the sequence.
    let b_grow = b.binary(B::And, grows, has_mask);
    let b_mov = b.binary(B::And, is_mov, has_mask);
    let remask_src = b.binary(B::And, b_mov, at_source);
    let remask_edit = b.binary(B::And, b_grow, at_sep1);
    let remask_b = b.binary(B::Or, remask_src, remask_edit);
    let remask = b.binary(B::Or, remask_a, remask_b);
    let fill0 = b.binary(B::And, b_grow, at_mask);
    let fill = b.binary(B::And, fill0, is_mask);
    let fill_value = b.select(is_ins, e_q, source_token);
    // State C: the edit token masked: it and the sequence's mask are deleted.
    let drop_here = b.binary(B::Or, at_sep1, data_mask);
    let delete = b.binary(B::And, e_gone, drop_here);

    // Tokens: a decoded position proposes itself, a mask the SEP word, a filled mask its token.
    let own_kind = b.select(is_mask, c_sep, kind);
    let out_kind = b.select(fill, c_data, own_kind);
    let out_a = b.select(fill, fill_value, fa);
    let out_b = b.select(fill, zero, fb);
    let out_c = b.select(fill, zero, fc);
    let max_index = max_len as i64;
    b.finish_ranged(
        Heads {
            token: vec![out_kind, out_a, out_b, out_c],
            remask,
            insert,
            delete,
        },
        &[
            (0, OP),
            (0, TOKEN_MAX),
            (0, max_index),
            (0, TOKEN_MAX.max(max_index)),
        ],
        max_index,
    )
}

/// The proposal of the seq program on a tracker canvas (as words).
fn seq_proposal(program: &Program, x: &[Token<EditToken>]) -> Result<Proposal<Word>, String> {
    seq::propose(program, &words_of(x), Evaluator::Indexed).map_err(|e| e.to_string())
}

/// What the per-step comparison of the seq program with [`EditTracker`] measured on one
/// instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqAgreement {
    /// Steps compared (the tracker's run).
    pub steps: usize,
    /// Canvases whose proposals were compared (every canvas the tracker reached).
    pub proposals: usize,
    /// Everything that differed (empty: the two agree).
    pub problems: Vec<String>,
}

/// Runs [`EditTracker`] and [`edit_tracker_seq`] (as a [`SeqStep`]) on the instance under the
/// AP-MDM class, each with `machine::run_watched`, and compares them after every step: the same
/// canvas (as words), the same number of steps, context and stop. On every canvas the tracker
/// reaches (the start included) the two proposals (tokens and control bits at every position)
/// are compared as well.
pub fn seq_agreement(input: &[u16], edits: &[Edit], max_steps: usize) -> SeqAgreement {
    match edit_tracker_seq(seq_max_len(input, edits)) {
        Ok(program) => seq_agreement_of(&program, input, edits, max_steps),
        Err(e) => SeqAgreement {
            steps: 0,
            proposals: 0,
            problems: vec![format!("the seq program is malformed: {e}")],
        },
    }
}

/// The canvas bound both runs use (as `run_tracker`): `n + 2m + 4`.
pub fn seq_max_len(input: &[u16], edits: &[Edit]) -> usize {
    input.len() + 2 * edits.len() + 4
}

/// [`seq_agreement`] with a given program in place of [`edit_tracker_seq`] (to show that an
/// altered program is caught).
pub fn seq_agreement_of(
    program: &Program,
    input: &[u16],
    edits: &[Edit],
    max_steps: usize,
) -> SeqAgreement {
    let max_len = seq_max_len(input, edits);
    let mut problems = Vec::new();
    let start = edit_canvas(input, edits);
    let config = RunConfig::new(ModelClass::ApMdm)
        .max_steps(max_steps)
        .max_length(max_len);
    let mut tracked: Vec<Vec<Token<EditToken>>> = vec![start.clone()];
    let tracker = run_watched(
        &mut EditTracker,
        Canvas::<EditToken, ()>::new(start.clone()),
        &config,
        &mut |_, x| tracked.push(x.tokens().to_vec()),
    );
    let config = RunConfig::new(ModelClass::ApMdm)
        .max_steps(max_steps)
        .max_length(max_len);
    let mut seq_canvases: Vec<Vec<Token<Word>>> = vec![words_of(&start)];
    let mut f = SeqStep::new(program.clone(), Evaluator::Indexed);
    let seq_run = run_watched(
        &mut f,
        Canvas::<Word, ()>::new(words_of(&start)),
        &config,
        &mut |_, x| seq_canvases.push(x.tokens().to_vec()),
    );
    for (k, (t, s)) in tracked.iter().zip(&seq_canvases).enumerate() {
        if words_of(t) != *s {
            let shown = match edit_tokens_of(s) {
                Ok(x) => crate::machine::render(&x),
                Err(e) => e.to_string(),
            };
            problems.push(format!(
                "after step {k} the seq canvas is {shown}, the tracker's {}",
                crate::machine::render(t)
            ));
            break;
        }
    }
    if tracker.steps() != seq_run.steps() {
        problems.push(format!(
            "{} tracker steps, {} seq steps",
            tracker.steps(),
            seq_run.steps()
        ));
    }
    if tracker.context_length() != seq_run.context_length() {
        problems.push(format!(
            "tracker context {}, seq context {}",
            tracker.context_length(),
            seq_run.context_length()
        ));
    }
    if tracker.stop.label() != seq_run.stop.label() || tracker.stop != Stop::FixedPoint {
        problems.push(format!(
            "the tracker stopped with {}, the seq program with {}",
            tracker.stop, seq_run.stop
        ));
    }
    let mut proposals = 0;
    for (k, x) in tracked.iter().enumerate() {
        let want = match EditTracker.propose(x) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("the tracker fails on canvas {k}: {e}"));
                break;
            }
        };
        let got = match seq_proposal(program, x) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("the seq program fails on canvas {k}: {e}"));
                break;
            }
        };
        proposals += 1;
        let want_tokens: Vec<Word> = want.tokens.iter().map(word_of).collect();
        if let Some(i) = (0..x.len()).find(|&i| {
            want_tokens.get(i) != got.tokens.get(i) || want.bits.get(i) != got.bits.get(i)
        }) {
            problems.push(format!(
                "on canvas {k} ({}) position {i}: the tracker proposes {} {:?}, the seq program {} {:?}",
                crate::machine::render(x),
                want_tokens[i],
                want.bits[i],
                got.tokens[i],
                got.bits[i]
            ));
            break;
        }
    }
    SeqAgreement {
        steps: tracker.steps(),
        proposals,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        let x = edit_canvas(
            &[0, 65535],
            &[
                Edit::Insert { at: 2, token: 7 },
                Edit::Delete { at: 0 },
                Edit::Move { from: 1, to: 0 },
            ],
        );
        let mut x = x;
        x.push(Token::Mask);
        assert_eq!(edit_tokens_of(&words_of(&x)).unwrap(), x);
        let bad = vec![Token::Sym(Word(vec![DATA, 70000, 0, 0]))];
        assert_eq!(edit_tokens_of(&bad).unwrap_err().position, 0);
    }
}
