//! Theorem 6: tracking tokens through edits (PRESERVE, as defined in proofs/thm6.md), a direct
//! reference, and a hand-built AP-MDM that applies each edit in at most three steps.
//!
//! The canvas is `BOS data SEP e_1 ... e_m`: the current sequence between BOS and SEP, then the
//! edits not yet applied, one token each. The machine always works on the first edit after SEP,
//! finds positions by index, and deletes the edit's token when done, so the context is the
//! current length plus the edits left plus a constant.

use std::fmt;

use crate::machine::library::SplitMix64;
use crate::machine::{
    ControlBits, ModelClass, Proposal, Run, RunConfig, StepFunction, StepFunctionError, Stop, Token,
};

/// One edit of the current sequence (positions are 0-based indices into it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edit {
    /// Insert `token` so that it lands at index `at` (0 ..= length).
    Insert {
        /// Its index afterwards.
        at: u32,
        /// The token.
        token: u16,
    },
    /// Delete the token at index `at` (0 .. length).
    Delete {
        /// Its index.
        at: u32,
    },
    /// Take the token at `from` out and insert it so that it lands at index `to` of the result
    /// (both 0 .. length).
    Move {
        /// Where it is.
        from: u32,
        /// Where it ends up.
        to: u32,
    },
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Edit::Insert { at, token } => write!(f, "ins({at},{token})"),
            Edit::Delete { at } => write!(f, "del({at})"),
            Edit::Move { from, to } => write!(f, "mov({from},{to})"),
        }
    }
}

/// The machine's alphabet; the mask is `Token::Mask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EditToken {
    /// Start of the canvas (the left neighbour of gap 0).
    Bos,
    /// End of the current sequence, start of the edits.
    Sep,
    /// A token of the sequence.
    Data(u16),
    /// An edit not yet applied.
    Op(Edit),
}

impl fmt::Display for EditToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditToken::Bos => f.write_str("BOS"),
            EditToken::Sep => f.write_str("|"),
            EditToken::Data(t) => write!(f, "{t}"),
            EditToken::Op(e) => e.fmt(f),
        }
    }
}

/// An edit that does not fit the sequence it is applied to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("edit {number} ({edit}) does not fit a sequence of length {length}")]
pub struct EditError {
    /// 1-based number of the edit.
    pub number: usize,
    /// The edit.
    pub edit: Edit,
    /// The length of the sequence at that point.
    pub length: usize,
}

/// The direct reference: the edits applied to a vector, one after the other.
pub fn apply_edits(input: &[u16], edits: &[Edit]) -> Result<Vec<u16>, EditError> {
    let mut s = input.to_vec();
    for (i, &e) in edits.iter().enumerate() {
        let err = EditError {
            number: i + 1,
            edit: e,
            length: s.len(),
        };
        match e {
            Edit::Insert { at, token } => {
                let at = at as usize;
                if at > s.len() {
                    return Err(err);
                }
                s.insert(at, token);
            }
            Edit::Delete { at } => {
                if at as usize >= s.len() {
                    return Err(err);
                }
                s.remove(at as usize);
            }
            Edit::Move { from, to } => {
                let (from, to) = (from as usize, to as usize);
                if from >= s.len() || to >= s.len() {
                    return Err(err);
                }
                let t = s.remove(from);
                s.insert(to, t);
            }
        }
    }
    Ok(s)
}

/// Exact cost of the machine on an instance, from the edits and the lengths alone: steps are 3
/// per insert and move and 2 per delete; the context is the largest of `n + m + 2` (the start),
/// and for each edit t (1-based, length L before it) `L + (m - t + 1) + 2`, plus one while an
/// insert or move holds its new mask next to its edit token.
pub fn cost_formula(input_len: usize, edits: &[Edit]) -> (usize, usize) {
    let m = edits.len();
    let mut length = input_len;
    let mut steps = 0;
    let mut context = input_len + m + 2;
    for (i, e) in edits.iter().enumerate() {
        let left = m - i;
        let grows = !matches!(e, Edit::Delete { .. });
        context = context.max(length + left + 2 + usize::from(grows));
        steps += if grows { 3 } else { 2 };
        match e {
            Edit::Insert { .. } => length += 1,
            Edit::Delete { .. } => length -= 1,
            Edit::Move { .. } => {}
        }
    }
    (steps, context)
}

/// The initial canvas `BOS input SEP edits`.
pub fn edit_canvas(input: &[u16], edits: &[Edit]) -> Vec<Token<EditToken>> {
    let mut x = vec![Token::Sym(EditToken::Bos)];
    x.extend(input.iter().map(|&t| Token::Sym(EditToken::Data(t))));
    x.push(Token::Sym(EditToken::Sep));
    x.extend(edits.iter().map(|&e| Token::Sym(EditToken::Op(e))));
    x
}

/// The hand-built AP-MDM (deterministic): one edit in at most three steps.
///
/// With the first edit token after SEP decoded and no mask in the data: insert(p, t) and
/// move(p, q) insert a mask at their gap (gap g follows canvas position g, BOS being 0; a move
/// to q > p uses gap q + 1 because its source is still there); delete(p) remasks its token and
/// its own edit token. With one mask in the data and the edit decoded: insert fills it with t;
/// move fills it with its source token and remasks the source; both remask the edit token.
/// With the edit token masked: it and any data mask are deleted.
#[derive(Clone, Copy, Debug, Default)]
pub struct EditTracker;

fn fail(message: String) -> StepFunctionError {
    StepFunctionError(message)
}

impl StepFunction<EditToken> for EditTracker {
    fn propose(
        &mut self,
        x: &[Token<EditToken>],
    ) -> Result<Proposal<EditToken>, StepFunctionError> {
        if x.first() != Some(&Token::Sym(EditToken::Bos)) {
            return Err(fail("the canvas must start with BOS".into()));
        }
        let sep = x
            .iter()
            .position(|t| *t == Token::Sym(EditToken::Sep))
            .ok_or_else(|| fail("no separator".into()))?;
        let tokens: Vec<EditToken> = x
            .iter()
            .map(|t| t.symbol().copied().unwrap_or(EditToken::Sep))
            .collect();
        let mut p = Proposal {
            tokens,
            bits: vec![ControlBits::NONE; x.len()],
        };
        let data_masks: Vec<usize> = (1..sep).filter(|&i| x[i].is_mask()).collect();
        if data_masks.len() > 1 {
            return Err(fail("more than one mask in the sequence".into()));
        }
        let length = sep - 1 - data_masks.len();
        let Some(current) = x.get(sep + 1) else {
            return if data_masks.is_empty() {
                Ok(p)
            } else {
                Err(fail("a mask in the sequence and no edit left".into()))
            };
        };
        let edit = match current {
            Token::Mask => {
                p.bits[sep + 1] = ControlBits::DELETE;
                for &i in &data_masks {
                    p.bits[i] = ControlBits::DELETE;
                }
                return Ok(p);
            }
            Token::Sym(EditToken::Op(e)) => *e,
            Token::Sym(t) => return Err(fail(format!("{t} where an edit was expected"))),
        };
        let bad = || {
            fail(format!(
                "edit {edit} does not fit a sequence of length {length}"
            ))
        };
        match (edit, data_masks.first()) {
            (Edit::Insert { at, .. }, None) => {
                let at = at as usize;
                if at > length {
                    return Err(bad());
                }
                p.bits[at] = ControlBits::INSERT;
            }
            (Edit::Delete { at }, None) => {
                let at = at as usize;
                if at >= length {
                    return Err(bad());
                }
                p.bits[at + 1] = ControlBits::REMASK;
                p.bits[sep + 1] = ControlBits::REMASK;
            }
            (Edit::Move { from, to }, None) => {
                let (from, to) = (from as usize, to as usize);
                if from >= length || to >= length {
                    return Err(bad());
                }
                let gap = if to <= from { to } else { to + 1 };
                p.bits[gap] = ControlBits::INSERT;
            }
            (Edit::Insert { at, token }, Some(&mask)) => {
                if mask != at as usize + 1 {
                    return Err(fail(format!("the new mask of {edit} is misplaced")));
                }
                p.tokens[mask] = EditToken::Data(token);
                p.bits[sep + 1] = ControlBits::REMASK;
            }
            (Edit::Move { from, to }, Some(&mask)) => {
                let (from, to) = (from as usize, to as usize);
                let gap = if to <= from { to } else { to + 1 };
                if mask != gap + 1 {
                    return Err(fail(format!("the new mask of {edit} is misplaced")));
                }
                // The source's canvas position, shifted by the new mask when that lies before it.
                let source = if gap <= from { from + 2 } else { from + 1 };
                let Some(&Token::Sym(EditToken::Data(t))) = x.get(source) else {
                    return Err(fail(format!("the source of {edit} is not a token")));
                };
                p.tokens[mask] = EditToken::Data(t);
                p.bits[source] = ControlBits::REMASK;
                p.bits[sep + 1] = ControlBits::REMASK;
            }
            (Edit::Delete { .. }, Some(_)) => {
                return Err(fail("a delete with a mask already in the sequence".into()))
            }
        }
        Ok(p)
    }
}

/// Runs the tracker on an instance under the AP-MDM class.
pub fn run_tracker(input: &[u16], edits: &[Edit], max_steps: usize) -> Run<EditToken> {
    let initial = edit_canvas(input, edits).into_iter().collect();
    let config = RunConfig::new(ModelClass::ApMdm)
        .max_steps(max_steps)
        .max_length(input.len() + 2 * edits.len() + 4);
    crate::machine::run(&mut EditTracker, initial, &config)
}

/// The sequence a finished run holds between BOS and SEP, if the canvas has that shape.
pub fn tracked_output(x: &[Token<EditToken>]) -> Option<Vec<u16>> {
    let (first, rest) = x.split_first()?;
    if *first != Token::Sym(EditToken::Bos) || rest.last() != Some(&Token::Sym(EditToken::Sep)) {
        return None;
    }
    rest[..rest.len() - 1]
        .iter()
        .map(|t| match t {
            Token::Sym(EditToken::Data(v)) => Some(*v),
            _ => None,
        })
        .collect()
}

/// A random instance: `n` tokens below `alphabet` and `m` edits valid in turn (a third of each
/// kind on average; a delete or move on an empty sequence becomes an insert), from `seed`.
pub fn random_instance(n: usize, m: usize, alphabet: u16, seed: u64) -> (Vec<u16>, Vec<Edit>) {
    let mut rng = SplitMix64(seed ^ ((n as u64) << 32) ^ m as u64);
    let alphabet = u64::from(alphabet.max(1));
    let input: Vec<u16> = (0..n).map(|_| (rng.next_u64() % alphabet) as u16).collect();
    let mut length = n;
    let mut edits = Vec::with_capacity(m);
    for _ in 0..m {
        let kind = rng.next_u64() % 3;
        let e = if kind == 0 || length == 0 {
            Edit::Insert {
                at: (rng.next_u64() % (length as u64 + 1)) as u32,
                token: (rng.next_u64() % alphabet) as u16,
            }
        } else if kind == 1 {
            Edit::Delete {
                at: (rng.next_u64() % length as u64) as u32,
            }
        } else {
            Edit::Move {
                from: (rng.next_u64() % length as u64) as u32,
                to: (rng.next_u64() % length as u64) as u32,
            }
        };
        match e {
            Edit::Insert { .. } => length += 1,
            Edit::Delete { .. } => length -= 1,
            Edit::Move { .. } => {}
        }
        edits.push(e);
    }
    (input, edits)
}

/// One checked instance of Theorem 6.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditCase {
    /// Input length.
    pub n: usize,
    /// Edits.
    pub m: usize,
    /// Measured steps and context length.
    pub steps: usize,
    /// Context length measured.
    pub context: usize,
    /// The formulas' values.
    pub expected: (usize, usize),
    /// Everything that did not hold.
    pub problems: Vec<String>,
}

/// Runs the tracker on one instance and compares output, steps and context with the reference.
pub fn check_instance(input: &[u16], edits: &[Edit]) -> EditCase {
    let mut problems = Vec::new();
    let expected = cost_formula(input.len(), edits);
    let reference = apply_edits(input, edits);
    let r = run_tracker(input, edits, 3 * edits.len() + 10);
    if r.stop != Stop::FixedPoint {
        problems.push(format!("the run stopped with {}", r.stop));
    }
    match (reference, tracked_output(r.last.tokens())) {
        (Ok(want), Some(got)) if want == got => {}
        (Ok(want), got) => problems.push(format!(
            "output {got:?} differs from the reference {want:?}"
        )),
        (Err(e), _) => problems.push(format!("invalid instance: {e}")),
    }
    if r.steps() != expected.0 {
        problems.push(format!("{} steps, formula {}", r.steps(), expected.0));
    }
    if r.context_length() != expected.1 {
        problems.push(format!(
            "context {}, formula {}",
            r.context_length(),
            expected.1
        ));
    }
    EditCase {
        n: input.len(),
        m: edits.len(),
        steps: r.steps(),
        context: r.context_length(),
        expected,
        problems,
    }
}

/// Instances of one size, checked against the reference and the formulas.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EditRow {
    /// What the row covers (`random`, `every single edit`, `S5 word problem`).
    pub kind: String,
    /// Input length.
    pub n: usize,
    /// Edits per instance.
    pub m: usize,
    /// Instances run.
    pub instances: usize,
    /// Steps of all instances together, measured.
    pub steps: usize,
    /// Steps of all instances together, by the formula.
    pub expected_steps: usize,
    /// The largest context length measured.
    pub context: usize,
    /// The largest context length by the formula.
    pub expected_context: usize,
    /// The most steps one edit took (at most 3).
    pub steps_per_edit: usize,
    /// Steps at which the seq program's run ([`crate::generate::edits_seq`]) was compared with
    /// the tracker's (canvases equal after every one of them).
    pub seq_steps: usize,
    /// Canvases on which the seq program's proposal was compared with the tracker's.
    pub seq_proposals: usize,
    /// Whether the seq program agreed with the tracker on every instance, step and position.
    pub seq_agrees: bool,
    /// Everything that did not hold.
    pub problems: Vec<String>,
}

impl EditRow {
    fn new(kind: &str, n: usize, m: usize) -> EditRow {
        EditRow {
            kind: kind.to_string(),
            n,
            m,
            instances: 0,
            steps: 0,
            expected_steps: 0,
            context: 0,
            expected_context: 0,
            steps_per_edit: 0,
            seq_steps: 0,
            seq_proposals: 0,
            seq_agrees: true,
            problems: Vec::new(),
        }
    }

    fn add(&mut self, input: &[u16], edits: &[Edit], expected_output: Option<&[u16]>) {
        let case = check_instance(input, edits);
        self.instances += 1;
        self.steps += case.steps;
        self.expected_steps += case.expected.0;
        self.context = self.context.max(case.context);
        self.expected_context = self.expected_context.max(case.expected.1);
        for e in edits {
            let per = if matches!(e, Edit::Delete { .. }) {
                2
            } else {
                3
            };
            self.steps_per_edit = self.steps_per_edit.max(per);
        }
        if let Some(want) = expected_output {
            let r = run_tracker(input, edits, 3 * edits.len() + 10);
            if tracked_output(r.last.tokens()).as_deref() != Some(want) {
                self.problems.push(format!(
                    "instance {}: not the permutation's result",
                    self.instances
                ));
            }
        }
        let seq = crate::generate::edits_seq::seq_agreement(input, edits, 3 * edits.len() + 10);
        self.seq_steps += seq.steps;
        self.seq_proposals += seq.proposals;
        self.seq_agrees &= seq.problems.is_empty();
        let seq_problems = seq
            .problems
            .into_iter()
            .map(|p| format!("seq program: {p}"));
        for p in case.problems.into_iter().chain(seq_problems) {
            if self.problems.len() < 5 {
                self.problems.push(format!(
                    "instance {} ({} edits): {p}",
                    self.instances,
                    edits.len()
                ));
            }
        }
    }
}

/// `instances` random instances of input length `n` with `m` edits, seeded.
pub fn check_random(n: usize, m: usize, instances: usize, seed: u64) -> EditRow {
    let mut row = EditRow::new("random", n, m);
    for i in 0..instances {
        let (input, edits) = random_instance(n, m, 16, seed.wrapping_add(i as u64));
        row.add(&input, &edits, None);
    }
    row
}

/// Every single insert, delete and move on a sequence of length `n`.
pub fn check_every_single_edit(n: usize) -> EditRow {
    let input: Vec<u16> = (0..n as u16).collect();
    let mut row = EditRow::new("every single edit", n, 1);
    let n32 = n as u32;
    for a in 0..=n32 {
        row.add(&input, &[Edit::Insert { at: a, token: 99 }], None);
    }
    for a in 0..n32 {
        row.add(&input, &[Edit::Delete { at: a }], None);
        for b in 0..n32 {
            row.add(&input, &[Edit::Move { from: a, to: b }], None);
        }
    }
    row
}

/// The generators of S5 as moves on a 5-token prefix: the four adjacent transpositions
/// (move(i, i+1) swaps i and i+1) and the 5-cycle move(0, 4).
pub const S5_GENERATORS: [Edit; 5] = [
    Edit::Move { from: 0, to: 1 },
    Edit::Move { from: 1, to: 2 },
    Edit::Move { from: 2, to: 3 },
    Edit::Move { from: 3, to: 4 },
    Edit::Move { from: 0, to: 4 },
];

/// The arrangement of 0..5 after a word over [`S5_GENERATORS`] (indices into it), computed by
/// composing permutations (`arrangement[i]` is the token at index i), not by editing a vector.
pub fn s5_arrangement(word: &[usize]) -> Vec<u16> {
    let mut a: [u16; 5] = [0, 1, 2, 3, 4];
    for &g in word {
        // The generator as "new index i takes the token at old index from[i]".
        let from: [usize; 5] = match g {
            0 => [1, 0, 2, 3, 4],
            1 => [0, 2, 1, 3, 4],
            2 => [0, 1, 3, 2, 4],
            3 => [0, 1, 2, 4, 3],
            _ => [1, 2, 3, 4, 0],
        };
        a = from.map(|j| a[j]);
    }
    a.to_vec()
}

/// Random words over the S5 generators, applied as moves to `0 1 2 3 4` followed by `tail`
/// more tokens; the prefix must come out as the composed permutation.
pub fn check_s5(m: usize, tail: usize, instances: usize, seed: u64) -> EditRow {
    let mut row = EditRow::new("S5 word problem", 5 + tail, m);
    let mut rng = SplitMix64(seed ^ 0x55);
    for _ in 0..instances {
        let word: Vec<usize> = (0..m).map(|_| (rng.next_u64() % 5) as usize).collect();
        let edits: Vec<Edit> = word.iter().map(|&g| S5_GENERATORS[g]).collect();
        let input: Vec<u16> = (0..(5 + tail) as u16).collect();
        let mut want = s5_arrangement(&word);
        want.extend(5..(5 + tail) as u16);
        row.add(&input, &edits, Some(&want));
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_moves_to_the_index_of_the_result() {
        let s = [10, 11, 12, 13];
        assert_eq!(
            apply_edits(&s, &[Edit::Move { from: 0, to: 3 }]).unwrap(),
            vec![11, 12, 13, 10]
        );
        assert_eq!(
            apply_edits(&s, &[Edit::Move { from: 3, to: 1 }]).unwrap(),
            vec![10, 13, 11, 12]
        );
        let err = apply_edits(&s, &[Edit::Delete { at: 4 }]).unwrap_err();
        assert_eq!(err.length, 4);
    }

    #[test]
    fn every_kind_of_edit_at_every_position_matches_the_reference() {
        let s: Vec<u16> = (0..5).collect();
        let mut all = Vec::new();
        for a in 0..=5u32 {
            all.push(Edit::Insert { at: a, token: 9 });
        }
        for a in 0..5u32 {
            all.push(Edit::Delete { at: a });
            for b in 0..5u32 {
                all.push(Edit::Move { from: a, to: b });
            }
        }
        for e in all {
            let case = check_instance(&s, &[e]);
            assert!(case.problems.is_empty(), "{e}: {:?}", case.problems);
        }
    }

    #[test]
    fn a_bad_edit_is_a_step_function_error() {
        let r = run_tracker(&[1, 2], &[Edit::Delete { at: 7 }], 10);
        assert!(
            matches!(r.stop, Stop::StepFunctionFailed { .. }),
            "{}",
            r.stop
        );
    }
}
