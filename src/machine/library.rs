//! Hand-written step functions, one per model class, with exact step and context formulas.
//!
//! These are small, fully understood machines: the parity eliminator of the paper's AP-MDM
//! experiment, and a "reverse the input" task under each of the other classes with a schedule
//! typical of that class. Tests use them as legal (and, run under a stricter class, illegal)
//! examples; `apmdm check` runs them over sizes and asserts their exact step counts and context
//! lengths; `apmdm demo` prints their traces for students.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::class::ModelClass;
use super::control::ControlBits;
use super::runner::{run, Proposal, Run, RunConfig, StepFunction, StepFunctionError, Stop};
use super::step::Canvas;
use super::token::Token;

/// The parity task's alphabet (the mask is `Token::Mask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParityToken {
    /// Beginning of sequence.
    #[serde(rename = "BOS")]
    Bos,
    /// End of sequence (test strings may carry one; the eliminator leaves it alone).
    #[serde(rename = "EOS")]
    Eos,
    /// The bit 0.
    #[serde(rename = "0")]
    Zero,
    /// The bit 1.
    #[serde(rename = "1")]
    One,
}

impl fmt::Display for ParityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParityToken::Bos => "BOS",
            ParityToken::Eos => "EOS",
            ParityToken::Zero => "0",
            ParityToken::One => "1",
        })
    }
}

/// `BOS b_1 ... b_L`, each bit's payload its 1-based index in the input (BOS has 0).
pub fn parity_canvas(bits: &[bool]) -> Canvas<ParityToken, usize> {
    let mut tokens = vec![Token::Sym(ParityToken::Bos)];
    tokens.extend(bits.iter().map(|&b| {
        Token::Sym(if b {
            ParityToken::One
        } else {
            ParityToken::Zero
        })
    }));
    let payloads = (0..tokens.len()).collect();
    // Lengths agree by construction.
    Canvas::with_payloads(tokens, payloads).unwrap_or_else(|| Canvas::new(Vec::new()))
}

/// The AP-MDM parity procedure of the paper's experiment, written by hand.
///
/// It looks only at the first two symbols after BOS, exactly as in the seven training
/// transitions: a 0 is remasked and then its mask deleted; a pair `1 1` (or `0 0`) is remasked and
/// then both masks deleted. What remains is `BOS` (even) or `BOS 1` (odd), a fixed point.
/// Every elimination takes two steps; the length never grows.
#[derive(Clone, Copy, Debug, Default)]
pub struct ParityEliminator;

impl StepFunction<ParityToken> for ParityEliminator {
    fn propose(
        &mut self,
        x: &[Token<ParityToken>],
    ) -> Result<Proposal<ParityToken>, StepFunctionError> {
        if x.first() != Some(&Token::Sym(ParityToken::Bos)) {
            return Err(StepFunctionError(
                "parity sequences start with BOS".to_string(),
            ));
        }
        let mut bits = vec![ControlBits::NONE; x.len()];
        // A symbol slot is a bit or a mask; BOS and EOS are never touched.
        let slot = |i: usize| {
            x.get(i).filter(|t| {
                matches!(
                    t,
                    Token::Mask | Token::Sym(ParityToken::Zero | ParityToken::One)
                )
            })
        };
        use ParityToken::{One, Zero};
        use Token::{Mask, Sym};
        match (slot(1), slot(2)) {
            (Some(Mask), second) => {
                bits[1] = ControlBits::DELETE;
                if second == Some(&Mask) {
                    bits[2] = ControlBits::DELETE;
                }
            }
            (Some(Sym(_)), Some(Mask)) => bits[2] = ControlBits::DELETE,
            (Some(Sym(Zero)), Some(Sym(One))) => bits[1] = ControlBits::REMASK,
            (Some(Sym(One)), Some(Sym(Zero))) => bits[2] = ControlBits::REMASK,
            (Some(Sym(a)), Some(Sym(b))) if a == b => {
                bits[1] = ControlBits::REMASK;
                bits[2] = ControlBits::REMASK;
            }
            (Some(Sym(Zero)), None) => bits[1] = ControlBits::REMASK,
            _ => {}
        }
        Ok(Proposal {
            tokens: vec![ParityToken::Zero; x.len()],
            bits,
        })
    }
}

/// The parity procedure on a plain list, independently of g: (answer is odd, steps it takes).
pub fn parity_reference(bits: &[bool]) -> (bool, usize) {
    let mut q: VecDeque<bool> = bits.iter().copied().collect();
    let mut steps = 0;
    loop {
        match (q.front().copied(), q.get(1).copied()) {
            (Some(a), Some(b)) if a == b => {
                q.pop_front();
                q.pop_front();
            }
            (Some(false), _) => {
                q.pop_front();
            }
            (Some(true), Some(false)) => {
                q.remove(1);
            }
            _ => break,
        }
        steps += 2;
    }
    (q.front() == Some(&true), steps)
}

/// What a position of a reverse-task canvas stands for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// The i-th input symbol.
    Input(usize),
    /// The separator between input and output.
    #[default]
    Separator,
    /// The j-th output symbol.
    Output(usize),
}

/// The separator of the reverse task.
pub const SEPARATOR: char = '|';
/// The end token the reverse ARM emits after the reversed input.
pub const END: char = '$';

/// The order in which a reverse-task machine fills its output masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Output j is filled once output (j-1)/2 is decoded: heap levels in parallel,
    /// floor(log2 n) + 1 steps (an MDM).
    HeapLevels,
    /// The rightmost mask first, one per step (an AO-MDM).
    RightToLeft,
    /// The leftmost mask first, one per step (a Masked ARM).
    LeftToRight,
}

/// Reverses the input `w` into the output masks of `w | M^n`; masks not yet due are held.
#[derive(Clone, Copy, Debug)]
pub struct ReverseFill(pub Schedule);

/// The reverse task's canvas: `w | M^n` with input and output slots as payloads.
pub fn reverse_canvas(input: &str) -> Canvas<char, Slot> {
    let n = input.chars().count();
    let mut tokens: Vec<Token<char>> = input.chars().map(Token::Sym).collect();
    let mut payloads: Vec<Slot> = (0..n).map(Slot::Input).collect();
    tokens.push(Token::Sym(SEPARATOR));
    payloads.push(Slot::Separator);
    tokens.extend((0..n).map(|_| Token::Mask));
    payloads.extend((0..n).map(Slot::Output));
    Canvas::with_payloads(tokens, payloads).unwrap_or_else(|| Canvas::new(Vec::new()))
}

fn split_at_separator(x: &[Token<char>]) -> Result<usize, StepFunctionError> {
    x.iter()
        .position(|t| t == &Token::Sym(SEPARATOR))
        .ok_or_else(|| StepFunctionError(format!("no separator {SEPARATOR:?} in the sequence")))
}

impl StepFunction<char> for ReverseFill {
    fn propose(&mut self, x: &[Token<char>]) -> Result<Proposal<char>, StepFunctionError> {
        let n = split_at_separator(x)?;
        let output = &x[n + 1..];
        let mut tokens = vec![SEPARATOR; x.len()];
        let mut bits = vec![ControlBits::NONE; x.len()];
        // The one mask an any-order or left-to-right schedule fills, found once per step.
        let only = match self.0 {
            Schedule::HeapLevels => None,
            Schedule::RightToLeft => output.iter().rposition(|t| t.is_mask()),
            Schedule::LeftToRight => output.iter().position(|t| t.is_mask()),
        };
        let due = |j: usize| match self.0 {
            Schedule::HeapLevels => j == 0 || !output[(j - 1) / 2].is_mask(),
            Schedule::RightToLeft | Schedule::LeftToRight => only == Some(j),
        };
        for (j, t) in output.iter().enumerate() {
            if !t.is_mask() {
                continue;
            }
            let source = n.checked_sub(j + 1).and_then(|i| x[i].symbol().copied());
            match source {
                Some(c) if due(j) => tokens[n + 1 + j] = c,
                Some(_) => bits[n + 1 + j] = ControlBits::REMASK,
                // An output slot beyond the input's length stays masked for ever.
                None => bits[n + 1 + j] = ControlBits::REMASK,
            }
        }
        Ok(Proposal { tokens, bits })
    }
}

/// An ARM that reads `w |` and appends w reversed, then the end token `$`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReverseArm;

/// The ARM's initial sequence: `w | M`.
pub fn reverse_arm_canvas(input: &str) -> Canvas<char> {
    let mut tokens: Vec<Token<char>> = input.chars().map(Token::Sym).collect();
    tokens.push(Token::Sym(SEPARATOR));
    tokens.push(Token::Mask);
    Canvas::new(tokens)
}

impl StepFunction<char> for ReverseArm {
    fn propose(&mut self, x: &[Token<char>]) -> Result<Proposal<char>, StepFunctionError> {
        let n = split_at_separator(x)?;
        let produced = x.len().saturating_sub(n + 2);
        let next = match n.checked_sub(produced + 1) {
            Some(i) => x[i].symbol().copied().unwrap_or(END),
            None => END,
        };
        let mut tokens = vec![next; x.len()];
        let mut bits = vec![ControlBits::NONE; x.len()];
        if let Some(last) = x.len().checked_sub(1) {
            tokens[last] = next;
            bits[last] = ControlBits::INSERT;
        }
        Ok(Proposal { tokens, bits })
    }
}

/// A deterministic input string of length n for the reverse task.
pub fn reverse_input(n: usize) -> String {
    (0..n)
        .map(|i| char::from(b'a' + ((i * 7 + 3) % 26) as u8))
        .collect()
}

/// SplitMix64: the small seeded generator the library's inputs are drawn from.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// n random bits.
    pub fn bits(&mut self, n: usize) -> Vec<bool> {
        (0..n).map(|_| self.next_u64() & 1 == 1).collect()
    }
}

/// One built-in machine, run at one size and compared with its exact formulas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseReport {
    /// The machine's name.
    pub program: String,
    /// Its class.
    pub class: ModelClass,
    /// The input size.
    pub n: usize,
    /// Steps taken.
    pub steps: usize,
    /// Steps the formula gives.
    pub expected_steps: usize,
    /// Context length (peak sequence length).
    pub context: usize,
    /// Context length the formula gives.
    pub expected_context: usize,
    /// Whether the output is right (checked independently of the machine).
    pub output_ok: bool,
    /// Why the run stopped.
    pub stop: Stop,
    /// Whether everything above agrees.
    pub pass: bool,
}

/// The built-in machines, each as (name, class, default sizes).
pub const BUILTIN: [(&str, ModelClass, &[usize]); 5] = [
    ("parity", ModelClass::ApMdm, &[8, 16, 64, 256, 1024]),
    ("reverse-arm", ModelClass::Arm, &[1, 8, 16, 64, 256]),
    ("reverse-mdm", ModelClass::Mdm, &[1, 8, 16, 64, 256]),
    ("reverse-ao-mdm", ModelClass::AoMdm, &[1, 8, 16, 64, 256]),
    (
        "reverse-masked-arm",
        ModelClass::MaskedArm,
        &[1, 8, 16, 64, 256],
    ),
];

/// floor(log2 n) for n >= 1.
fn floor_log2(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

fn report<A, P>(program: &str, class: ModelClass, n: usize, run: &Run<A, P>) -> CaseReport {
    CaseReport {
        program: program.to_string(),
        class,
        n,
        steps: run.steps(),
        expected_steps: 0,
        context: run.context_length(),
        expected_context: 0,
        output_ok: false,
        stop: run.stop.clone(),
        pass: false,
    }
}

/// Runs the built-in machine `program` at size `n` (parity draws its bits with `seed`).
/// `None` for an unknown name.
pub fn run_case(program: &str, n: usize, seed: u64) -> Option<CaseReport> {
    let &(_, class, _) = BUILTIN.iter().find(|(name, _, _)| *name == program)?;
    let limit = 4 * n + 16;
    fn config<A>(class: ModelClass, limit: usize) -> RunConfig<A> {
        RunConfig::new(class).max_steps(limit).max_length(limit)
    }
    let mut r = match program {
        "parity" => {
            let bits = SplitMix64(seed ^ n as u64).bits(n);
            let (odd, steps) = parity_reference(&bits);
            let run = run(
                &mut ParityEliminator,
                parity_canvas(&bits),
                &config(class, limit),
            );
            let mut r = report(program, class, n, &run);
            let expected_last = if odd { "BOS 1" } else { "BOS" };
            let xor = bits.iter().fold(false, |acc, &b| acc ^ b);
            r.output_ok = odd == xor && super::render(run.last.tokens()) == expected_last;
            r.expected_steps = steps;
            r.expected_context = n + 1;
            r
        }
        "reverse-arm" => {
            let input = reverse_input(n);
            let config = config(class, limit).end_token(END);
            let run = run(&mut ReverseArm, reverse_arm_canvas(&input), &config);
            let mut r = report(program, class, n, &run);
            // The ARM's last sequence still ends in the trailing mask it inserted with `$`.
            let want: String = input.chars().rev().chain([END, 'M']).collect();
            r.output_ok = output_after_separator(run.last.tokens()) == want;
            r.expected_steps = n + 1;
            r.expected_context = 2 * n + 3;
            r
        }
        _ => {
            let schedule = match class {
                ModelClass::Mdm => Schedule::HeapLevels,
                ModelClass::AoMdm => Schedule::RightToLeft,
                _ => Schedule::LeftToRight,
            };
            let input = reverse_input(n);
            let run = run(
                &mut ReverseFill(schedule),
                reverse_canvas(&input),
                &config(class, limit),
            );
            let mut r = report(program, class, n, &run);
            r.output_ok = output_after_separator(run.last.tokens())
                == input.chars().rev().collect::<String>();
            r.expected_steps = match schedule {
                Schedule::HeapLevels if n > 0 => floor_log2(n) + 1,
                Schedule::HeapLevels => 0,
                _ => n,
            };
            r.expected_context = 2 * n + 1;
            r
        }
    };
    let stop_ok = match program {
        "reverse-arm" => matches!(r.stop, Stop::EndToken { .. }),
        _ => r.stop == Stop::FixedPoint,
    };
    r.pass =
        stop_ok && r.output_ok && r.steps == r.expected_steps && r.context == r.expected_context;
    Some(r)
}

/// The decoded symbols after the separator, masks written as `M`.
fn output_after_separator(x: &[Token<char>]) -> String {
    let start = x
        .iter()
        .position(|t| t == &Token::Sym(SEPARATOR))
        .map_or(x.len(), |i| i + 1);
    x[start..]
        .iter()
        .map(|t| t.symbol().copied().unwrap_or('M'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_parity_matches_hand_examples() {
        assert_eq!(parity_reference(&[]), (false, 0));
        assert_eq!(parity_reference(&[true]), (true, 0));
        assert_eq!(parity_reference(&[false]), (false, 2));
        // 0 1 -> 1 (2 steps); 1 1 -> empty (2 steps); 1 0 1 -> 1 1 -> empty (4 steps).
        assert_eq!(parity_reference(&[false, true]), (true, 2));
        assert_eq!(parity_reference(&[true, true]), (false, 2));
        assert_eq!(parity_reference(&[true, false, true]), (false, 4));
    }

    #[test]
    fn floor_log2_is_exact_at_powers_of_two() {
        assert_eq!(floor_log2(1), 0);
        assert_eq!(floor_log2(2), 1);
        assert_eq!(floor_log2(7), 2);
        assert_eq!(floor_log2(8), 3);
    }

    #[test]
    fn every_builtin_passes_at_its_default_sizes() {
        for (name, _, sizes) in BUILTIN {
            for &n in sizes {
                let r = run_case(name, n, 7).unwrap();
                assert!(r.pass, "{r:?}");
            }
        }
        assert!(run_case("no-such-machine", 8, 0).is_none());
    }
}
