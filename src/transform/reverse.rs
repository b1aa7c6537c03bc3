//! The hand-written AO-MDM reverse machine (`machine::library::ReverseFill(RightToLeft)`) as a
//! seq program, so that it goes through `ao_to_marm` like the transformed PRAM schedules.
//!
//! Words are `[kind, code]`: kind 1 an input symbol (its character code), kind 2 the separator.
//! The canvas is `w | M^n`; each step unmasks the rightmost mask j with the input symbol at
//! 2n - j (n the separator's position), every other mask is held.

use crate::machine::library::SEPARATOR;
use crate::machine::Token;
use crate::seq::{BinaryOp as B, Builder, Cmp, Heads, Prefer, Program, Selector, UnaryOp, Word};

/// Kind of an input symbol.
pub const INPUT: i64 = 1;
/// Kind of the separator.
pub const SEP: i64 = 2;

/// The reverse machine's step function for inputs of `n` symbols (canvas length 2n + 1).
pub fn reverse_ao_mdm(n: usize) -> Result<Program, crate::seq::ProgramError> {
    let mut b = Builder::new(2);
    let zero = b.constant(0);
    let one = b.constant(1);
    let sep = b.constant(SEP);
    let input = b.constant(INPUT);
    let kind = b.field(0);
    let code = b.field(1);
    let is_mask = b.is_mask();
    let idx = b.index();
    let is_sep = b.binary(B::Eq, kind, sep);
    let at = b.lookup(Selector::eq(is_sep, one), Prefer::Latest, idx, zero);
    let twice = b.binary(B::Add, at, at);
    let source = b.binary(B::Sub, twice, idx);
    let source = b.binary(B::Max, source, zero);
    let symbol = b.lookup(Selector::eq(idx, source), Prefer::Latest, code, zero);
    let later = b.lookup(
        Selector {
            key: is_mask,
            query: one,
            position: Some(Cmp::Gt),
            pair: None,
        },
        Prefer::Latest,
        one,
        zero,
    );
    let rightmost = b.unary(UnaryOp::Not, later);
    let due = b.binary(B::And, is_mask, rightmost);
    let hold = b.unary(UnaryOp::Not, due);
    let remask = b.binary(B::And, is_mask, hold);
    let length = 2 * n as i64 + 1;
    b.finish_ranged(
        Heads {
            token: vec![input, symbol],
            remask,
            insert: zero,
            delete: zero,
        },
        &[(0, SEP), (0, 0x10FFFF)],
        length,
    )
}

/// The reverse task's canvas `w | M^n` as words.
pub fn reverse_words(input: &str) -> Vec<Token<Word>> {
    let mut x: Vec<Token<Word>> = input
        .chars()
        .map(|c| Token::Sym(Word(vec![INPUT, c as i64])))
        .collect();
    x.push(Token::Sym(Word(vec![SEP, SEPARATOR as i64])));
    x.extend(input.chars().map(|_| Token::Mask));
    x
}
