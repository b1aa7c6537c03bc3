//! `ao_to_marm`: an any-order MDM step function f over context S becomes a Masked ARM step
//! function f' (`proofs/thm3.md`, part B).
//!
//! f' runs on `[x_0 with every mask replaced by a placeholder][R record slots]`, R the masks of
//! x_0 (so the context is S + R <= 2S). Its words are `[kind, position, f's fields...]`. f'
//! rebuilds the AO canvas virtually on positions 0..S (a given token, or the record naming the
//! position, found by one lookup), evaluates a copy of f there (index and length remapped, every
//! attention key gated so that no record slot is selected), finds the one position f unmasks
//! and its token (one lookup), and writes the record (position, token) into the leftmost mask.

use crate::machine::Token;
use crate::seq::{BinaryOp as B, Builder, Cmp, Heads, Prefer, Program, Selector, UnaryOp, Word};

use super::embed::{embed, EmbedError, Virtual};

/// Field 0 of f''s words: what the position holds.
pub const KIND: usize = 0;
/// Field 1: the AO position a record names.
pub const POS: usize = 1;
/// f's fields start here.
pub const FIRST: usize = 2;
/// A token of x_0, kept.
pub const GIVEN: i64 = 1;
/// A mask of x_0, decoded as a placeholder.
pub const PLACEHOLDER: i64 = 2;
/// A record: the AO step unmasked `POS` with the fields that follow.
pub const RECORD: i64 = 3;
/// A record of a step where f unmasked nothing (an AO run that stopped; the decoder refuses it).
pub const STUCK: i64 = 4;

/// Builds f' from the AO step function `f` over canvases of length `s`.
pub fn ao_to_marm(f: &Program, s: usize) -> Result<Program, EmbedError> {
    let k = f.fields;
    let sl = s as i64;
    let mut b = Builder::new(k + FIRST);
    let zero = b.constant(0);
    let one = b.constant(1);
    let kind = b.field(KIND);
    let pos = b.field(POS);
    let words: Vec<_> = (0..k).map(|i| b.field(FIRST + i)).collect();
    let is_mask = b.is_mask();
    let idx = b.index();
    let record_kind = b.constant(RECORD);
    let given_kind = b.constant(GIVEN);
    let placeholder_kind = b.constant(PLACEHOLDER);
    // Layer 1: the record naming this position, if any.
    let names_me = Selector {
        key: pos,
        query: idx,
        position: None,
        pair: Some((kind, record_kind)),
    };
    let found = b.lookup(names_me, Prefer::Latest, one, zero);
    let recorded: Vec<_> = words
        .iter()
        .map(|&w| b.lookup(names_me, Prefer::Latest, w, zero))
        .collect();
    let last = b.constant(sl - 1);
    let size = b.constant(sl);
    let inside = b.binary(B::Lt, idx, size);
    let is_given = b.binary(B::Eq, kind, given_kind);
    let is_placeholder = b.binary(B::Eq, kind, placeholder_kind);
    let filled = b.binary(B::And, is_placeholder, found);
    let decoded = b.binary(B::Or, is_given, filled);
    let decoded = b.binary(B::And, decoded, inside);
    let vmask = b.unary(UnaryOp::Not, decoded);
    let fields: Vec<_> = (0..k)
        .map(|i| {
            let r = b.select(filled, recorded[i], zero);
            b.select(is_given, words[i], r)
        })
        .collect();
    let vindex = b.binary(B::Min, idx, last);
    let map = embed(
        &mut b,
        f,
        &Virtual {
            fields,
            is_mask: vmask,
            index: vindex,
            length: size,
            gate: Some(inside),
        },
    )?;
    let h = &f.heads;
    let keeps = b.unary(UnaryOp::Not, map[h.remask.index()]);
    let unmask = b.binary(B::And, vmask, keeps);
    let unmask = b.binary(B::And, unmask, inside);
    b.name(unmask, "AO unmasks here");
    // The position f unmasks and its token.
    let chosen = Selector::eq(unmask, one);
    let moved = b.lookup(chosen, Prefer::Earliest, one, zero);
    let target = b.lookup(chosen, Prefer::Earliest, idx, zero);
    let token: Vec<_> = h
        .token
        .iter()
        .map(|v| b.lookup(chosen, Prefer::Earliest, map[v.index()], zero))
        .collect();
    // The leftmost mask writes the record.
    let mask_before = b.lookup(
        Selector {
            key: is_mask,
            query: one,
            position: Some(Cmp::Lt),
            pair: None,
        },
        Prefer::Latest,
        one,
        zero,
    );
    let leftmost = b.unary(UnaryOp::Not, mask_before);
    let here = b.binary(B::And, is_mask, leftmost);
    let stuck_kind = b.constant(STUCK);
    let out_kind = b.select(moved, record_kind, stuck_kind);
    let mut heads_token = vec![out_kind, target];
    heads_token.extend(token);
    let not_here = b.unary(UnaryOp::Not, here);
    let remask = b.binary(B::And, is_mask, not_here);
    let mut initial: Vec<(i64, i64)> = vec![(0, STUCK), (0, (sl - 1).max(0))];
    initial.extend((0..k).map(|i| {
        f.nodes
            .iter()
            .position(|op| *op == crate::seq::Op::Field(i))
            .and_then(|n| f.ranges.get(n).copied())
            .unwrap_or((0, 0))
    }));
    let heads = Heads {
        token: heads_token,
        remask,
        insert: zero,
        delete: zero,
    };
    b.finish_ranged(heads, &initial, 2 * sl)
        .map_err(|e| EmbedError::Internal(e.to_string()))
}

/// The Masked ARM's initial canvas for the AO canvas `x0`: given tokens, placeholders, then
/// one record slot per mask of `x0`.
pub fn marm_canvas(x0: &[Token<Word>], fields: usize) -> Vec<Token<Word>> {
    let mut out: Vec<Token<Word>> = x0
        .iter()
        .map(|t| {
            let mut w = vec![0; fields + FIRST];
            match t {
                Token::Sym(x) => {
                    w[KIND] = GIVEN;
                    w[FIRST..FIRST + x.0.len().min(fields)]
                        .copy_from_slice(&x.0[..x.0.len().min(fields)]);
                }
                Token::Mask => w[KIND] = PLACEHOLDER,
            }
            Token::Sym(Word(w))
        })
        .collect();
    let records = x0.iter().filter(|t| t.is_mask()).count();
    out.extend((0..records).map(|_| Token::Mask));
    out
}

/// Why a Masked ARM canvas does not read back as an AO canvas.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadBackError {
    /// A record slot holds a record of a step where f unmasked nothing.
    #[error("record slot {0} says the any-order step function unmasked nothing")]
    Stuck(usize),
    /// A record names a position outside the AO canvas or not a placeholder, or one named twice.
    #[error("record slot {slot} names position {position}, which it cannot fill")]
    BadPosition {
        /// The record's position in the Masked ARM canvas.
        slot: usize,
        /// The AO position it names.
        position: i64,
    },
    /// A word of an unexpected shape or kind.
    #[error("position {0} holds a word of an unexpected shape or kind")]
    Shape(usize),
}

/// The AO canvas a Masked ARM canvas stands for: `x_0` of length `s` with every record's token
/// at its position (a record slot still masked changes nothing).
pub fn read_back(
    marm: &[Token<Word>],
    s: usize,
    fields: usize,
) -> Result<Vec<Token<Word>>, ReadBackError> {
    let mut out: Vec<Token<Word>> = Vec::with_capacity(s);
    for (i, t) in marm.iter().take(s).enumerate() {
        match t {
            Token::Sym(w) if w.0.len() == fields + FIRST && w.0[KIND] == GIVEN => {
                out.push(Token::Sym(Word(w.0[FIRST..].to_vec())))
            }
            Token::Sym(w) if w.0.len() == fields + FIRST && w.0[KIND] == PLACEHOLDER => {
                out.push(Token::Mask)
            }
            _ => return Err(ReadBackError::Shape(i)),
        }
    }
    if out.len() != s {
        return Err(ReadBackError::Shape(marm.len()));
    }
    let placeholder: Vec<bool> = out.iter().map(|t| t.is_mask()).collect();
    for (slot, t) in marm.iter().enumerate().skip(s) {
        let Token::Sym(w) = t else { continue };
        if w.0.len() != fields + FIRST {
            return Err(ReadBackError::Shape(slot));
        }
        match w.0[KIND] {
            RECORD => {}
            STUCK => return Err(ReadBackError::Stuck(slot)),
            _ => return Err(ReadBackError::Shape(slot)),
        }
        let position = w.0[POS];
        let ok = usize::try_from(position)
            .ok()
            .filter(|&p| p < s && placeholder[p] && out[p].is_mask());
        let Some(p) = ok else {
            return Err(ReadBackError::BadPosition { slot, position });
        };
        out[p] = Token::Sym(Word(w.0[FIRST..].to_vec()));
    }
    Ok(out)
}
