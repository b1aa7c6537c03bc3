//! `mdm_to_ao`: an MDM step function f becomes an any-order MDM step function f_AO that decodes
//! one MDM step's positions one at a time, each with the token f gives it on the canvas as it
//! stood at the start of that MDM step (`proofs/thm3.md`, part A).
//!
//! Every word gets three fields: the MDM step t that decoded it (0 for tokens of x_0), its rank
//! among step t's positions, and the number of positions step t decodes. f_AO finds the last
//! decoded step m and whether it is complete (its last rank + 1 equals its count), so the step
//! in progress t (m, or m + 1 when m is complete); evaluates f on the virtual canvas "tokens
//! tagged below t, masks elsewhere" (exactly the MDM's canvas x_{t-1}); and unmasks the lowest
//! mask that f unmasks there. f is evaluated only on canvases the MDM itself held.

use crate::machine::Token;
use crate::seq::{BinaryOp as B, Builder, Cmp, Heads, Prefer, Program, Selector, UnaryOp, Word};

use super::embed::{embed, EmbedError, Virtual};

/// The three fields added after f's fields: step tag, rank in the step, the step's count.
pub const ADDED: usize = 3;

/// Builds f_AO from the MDM step function `f` for canvases of length `length`.
pub fn mdm_to_ao(f: &Program, length: usize) -> Result<Program, EmbedError> {
    let k = f.fields;
    let mut b = Builder::new(k + ADDED);
    let zero = b.constant(0);
    let one = b.constant(1);
    let tag = b.field(k);
    let rank = b.field(k + 1);
    let count = b.field(k + 2);
    let is_mask = b.is_mask();
    let idx = b.index();
    let len = b.length();
    let all = Selector::eq(zero, zero);
    let latest = Prefer::MaxByPair(tag, rank);
    let m = b.lookup(all, latest, tag, zero);
    b.name(m, "last step");
    let last_rank = b.lookup(all, latest, rank, zero);
    let last_count = b.lookup(all, latest, count, zero);
    let none_yet = b.binary(B::Eq, m, zero);
    let next_rank = b.binary(B::Add, last_rank, one);
    let filled = b.binary(B::Eq, next_rank, last_count);
    let complete = b.binary(B::Or, none_yet, filled);
    let m_next = b.binary(B::Add, m, one);
    let t = b.select(complete, m_next, m);
    b.name(t, "step in progress");
    // The virtual canvas x_{t-1}: tokens tagged below t.
    let decoded = b.unary(UnaryOp::Not, is_mask);
    let earlier = b.binary(B::Lt, tag, t);
    let visible = b.binary(B::And, decoded, earlier);
    let vmask = b.unary(UnaryOp::Not, visible);
    let fields: Vec<_> = (0..k)
        .map(|i| {
            let x = b.field(i);
            b.select(visible, x, zero)
        })
        .collect();
    let map = embed(
        &mut b,
        f,
        &Virtual {
            fields,
            is_mask: vmask,
            index: idx,
            length: len,
            gate: None,
        },
    )?;
    let h = &f.heads;
    let f_remask = map[h.remask.index()];
    let keeps = b.unary(UnaryOp::Not, f_remask);
    let f_unmask = b.binary(B::And, vmask, keeps);
    let pending = b.binary(B::And, is_mask, f_unmask);
    let before = b.lookup(
        Selector {
            key: pending,
            query: one,
            position: Some(Cmp::Lt),
            pair: None,
        },
        Prefer::Latest,
        one,
        zero,
    );
    let first = b.unary(UnaryOp::Not, before);
    let here = b.binary(B::And, pending, first);
    b.name(here, "unmask here");
    let step_count = b.sum(all, f_unmask);
    let rank_new = b.select(complete, zero, next_rank);
    let mut token: Vec<_> = h.token.iter().map(|v| map[v.index()]).collect();
    token.extend([t, rank_new, step_count]);
    let not_here = b.unary(UnaryOp::Not, here);
    let remask = b.binary(B::And, is_mask, not_here);
    // Field ranges: f's fields as f's Field nodes declare them; the tags within the length.
    let mut initial: Vec<(i64, i64)> = (0..k)
        .map(|i| {
            f.nodes
                .iter()
                .position(|op| *op == crate::seq::Op::Field(i))
                .and_then(|n| f.ranges.get(n).copied())
                .unwrap_or((0, 0))
        })
        .collect();
    let l = length as i64;
    initial.extend([(0, l + 1), (0, l), (0, l)]);
    b.declare(tag, (0, l + 1));
    b.declare(rank, (0, l));
    b.declare(count, (0, l));
    let heads = Heads {
        token,
        remask,
        insert: zero,
        delete: zero,
    };
    let p = if f.ranges.is_empty() {
        b.finish(heads)
    } else {
        b.finish_ranged(heads, &initial, l)
    };
    p.map_err(|e| EmbedError::Internal(e.to_string()))
}

/// The AO canvas of an MDM canvas: every word tagged step 0, rank 0, count 0.
pub fn ao_canvas(x: &[Token<Word>]) -> Vec<Token<Word>> {
    x.iter()
        .map(|t| match t {
            Token::Mask => Token::Mask,
            Token::Sym(w) => {
                let mut w = w.0.clone();
                w.extend([0; ADDED]);
                Token::Sym(Word(w))
            }
        })
        .collect()
}

/// An AO canvas with the three added fields dropped: the MDM canvas it stands for.
pub fn mdm_view(x: &[Token<Word>]) -> Vec<Token<Word>> {
    x.iter()
        .map(|t| match t {
            Token::Mask => Token::Mask,
            Token::Sym(w) => Token::Sym(Word(w.0[..w.0.len().saturating_sub(ADDED)].to_vec())),
        })
        .collect()
}
