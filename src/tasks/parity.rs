//! Parity: the 7 length-2 transitions of the paper (plus, by default, the two terminal states), the
//! ARM baseline's data, held-out strings, and the evaluation with Wilson intervals.
//!
//! Test strings are generated as `BOS b_1 ... b_L EOS`, as in the authors' generator. The trailing
//! EOS never occurs in the training transitions, so by default it is dropped before decoding
//! ([`Eos::Drop`]); [`Eos::Keep`] feeds it to the model, and the answer is then read from
//! `BOS EOS` / `BOS 1 EOS`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::machine::library::{ParityToken, SplitMix64};
use crate::machine::{apply, run, Canvas, ControlBits, ModelClass, RunConfig, StepFunction, Token};
use crate::neural::{Example, Vocabulary};

use ParityToken::{Bos, Eos as EosTok, One, Zero};

/// The parity vocabulary: `M`, BOS, EOS, 0, 1 (ids 0..=4).
pub fn vocabulary() -> Vocabulary<ParityToken> {
    Vocabulary::new(vec![Bos, EosTok, Zero, One])
}

/// Which training set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The 7 transitions plus the terminal states `BOS` and `BOS 1` with zero controls, so the
    /// model is taught to halt (a fixed point of g).
    Halting,
    /// The paper's 7 transitions only; halting is never supervised.
    Paper,
}

impl Variant {
    /// The task name stored in checkpoints.
    pub fn task(self) -> &'static str {
        match self {
            Variant::Halting => "parity",
            Variant::Paper => "parity-paper",
        }
    }
}

/// What to do with the trailing EOS of test strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eos {
    /// Drop it: decode `BOS b_1 ... b_L`, the form of the training data.
    Drop,
    /// Keep it: decode `BOS b_1 ... b_L EOS`.
    Keep,
}

fn sym(t: ParityToken) -> Token<ParityToken> {
    Token::Sym(t)
}

/// One training transition: x_k, its control bits, and x_{k+1} = g(x_k, ·, bits).
pub type Transition = (
    Vec<Token<ParityToken>>,
    Vec<ControlBits>,
    Vec<Token<ParityToken>>,
);

/// The training transitions of a variant (7, or 9 with the terminal states).
pub fn transitions(variant: Variant) -> Vec<Transition> {
    const N: ControlBits = ControlBits::NONE;
    const R: ControlBits = ControlBits::REMASK;
    const D: ControlBits = ControlBits::DELETE;
    let m = Token::Mask;
    let (b, z, o) = (sym(Bos), sym(Zero), sym(One));
    let mut out = vec![
        (vec![b, z, o], vec![N, R, N], vec![b, m, o]),
        (vec![b, m, o], vec![N, D, N], vec![b, o]),
        (vec![b, o, z], vec![N, N, R], vec![b, o, m]),
        (vec![b, o, m], vec![N, N, D], vec![b, o]),
        (vec![b, z, z], vec![N, R, R], vec![b, m, m]),
        (vec![b, o, o], vec![N, R, R], vec![b, m, m]),
        (vec![b, m, m], vec![N, D, D], vec![b]),
    ];
    if variant == Variant::Halting {
        out.push((vec![b], vec![N], vec![b]));
        out.push((vec![b, o], vec![N, N], vec![b, o]));
    }
    out
}

/// The transitions as training examples: no token targets (no transition unmasks), bits everywhere.
pub fn training_examples(variant: Variant) -> Vec<Example> {
    let vocab = vocabulary();
    transitions(variant)
        .into_iter()
        .map(|(x, bits, _)| Example {
            ids: x
                .iter()
                .map(|t| vocab.id(t).expect("parity token"))
                .collect(),
            targets: vec![None; x.len()],
            bits: bits
                .iter()
                .map(|c| [c.remask, c.insert, c.delete])
                .collect(),
        })
        .collect()
}

/// `count` random bit strings of `length`, fixed by `seed` (and the length, so each length of a
/// sweep gets its own strings).
pub fn strings(length: usize, count: usize, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = SplitMix64(string_seed(length, seed));
    (0..count).map(|_| rng.bits(length)).collect()
}

/// How the strings of a [`TestStrings`] were chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Draw {
    /// Every one of the 2^L strings, once each.
    All,
    /// Distinct strings drawn at random (repeats redrawn).
    Distinct,
    /// Independent draws, repeats kept (training's validation strings, as [`strings`] draws).
    Repeats,
}

/// The strings one length is evaluated on. For tests the unit is a distinct string: a string
/// decoded twice counts twice without adding evidence, and a draw of 1000 at L <= 9 repeats each
/// string many times, so [`TestStrings::new`] decodes every string when there are no more than
/// the count asked for, and distinct drawn strings otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestStrings {
    /// Bits per string.
    pub length: usize,
    /// The strings (in counting order for [`Draw::All`], else in drawing order).
    pub strings: Vec<Vec<bool>>,
    /// How they were chosen.
    pub draw: Draw,
}

impl TestStrings {
    /// All strings of `length` if 2^length <= `count`, else `count` distinct ones drawn with
    /// `seed` (as in [`strings`], the length enters the seed).
    pub fn new(length: usize, count: usize, seed: u64) -> TestStrings {
        let space = u32::try_from(length)
            .ok()
            .and_then(|l| 1usize.checked_shl(l))
            .filter(|&s| s <= count);
        if let Some(space) = space {
            let strings = (0..space)
                .map(|v| {
                    (0..length)
                        .map(|i| (v >> (length - 1 - i)) & 1 == 1)
                        .collect()
                })
                .collect();
            return TestStrings {
                length,
                strings,
                draw: Draw::All,
            };
        }
        // Here 2^length > count, so `count` distinct strings exist and the loop ends.
        let mut rng = SplitMix64(string_seed(length, seed));
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut strings = Vec::with_capacity(count);
        while strings.len() < count {
            let bits = rng.bits(length);
            if seen.insert(bits.clone()) {
                strings.push(bits);
            }
        }
        TestStrings {
            length,
            strings,
            draw: Draw::Distinct,
        }
    }

    /// `count` independent draws, repeats kept: the strings of [`strings`].
    pub fn with_repeats(length: usize, count: usize, seed: u64) -> TestStrings {
        TestStrings {
            length,
            strings: strings(length, count, seed),
            draw: Draw::Repeats,
        }
    }

    /// `all 8`, `1000 drawn`, or `8 drawn with repeats`, for tables.
    pub fn describe(&self) -> String {
        let k = self.strings.len();
        match self.draw {
            Draw::All => format!("all {k}"),
            Draw::Distinct => format!("{k} drawn"),
            Draw::Repeats => format!("{k} drawn with repeats"),
        }
    }
}

fn string_seed(length: usize, seed: u64) -> u64 {
    seed ^ (length as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// The decoding start: `BOS b_1 ... b_L` (then `EOS` when kept).
pub fn canvas(bits: &[bool], eos: Eos) -> Canvas<ParityToken> {
    let mut tokens = vec![sym(Bos)];
    tokens.extend(bits.iter().map(|&b| sym(if b { One } else { Zero })));
    if eos == Eos::Keep {
        tokens.push(sym(EosTok));
    }
    Canvas::new(tokens)
}

/// The answer a final canvas states: `BOS` is even, `BOS 1` odd (each followed by EOS when kept);
/// anything else states no answer.
pub fn answer(last: &[Token<ParityToken>], eos: Eos) -> Option<bool> {
    let body = match eos {
        Eos::Drop => last,
        Eos::Keep => last.strip_suffix(&[sym(EosTok)])?,
    };
    match body {
        [Token::Sym(Bos)] => Some(false),
        [Token::Sym(Bos), Token::Sym(One)] => Some(true),
        _ => None,
    }
}

/// The true parity (true = odd), counted directly.
pub fn parity(bits: &[bool]) -> bool {
    bits.iter().filter(|&&b| b).count() % 2 == 1
}

/// The step cap of a parity run on L bits: 3L + 10 (the procedure needs at most 2L).
pub fn step_cap(length: usize) -> usize {
    3 * length + 10
}

/// The 95% Wilson score interval of `correct` out of `n`.
pub fn wilson(correct: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n_f = n as f64;
    let p = correct as f64 / n_f;
    let denom = 1.0 + z * z / n_f;
    let centre = (p + z * z / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z * z / (4.0 * n_f * n_f)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// One decoded string: (correct, steps, stop label, peak length, stated answer).
type RunOutcome = (bool, usize, String, usize, Option<bool>);

/// Results at one length.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LengthResult {
    /// Bits per string.
    pub length: usize,
    /// Strings decoded.
    pub count: usize,
    /// Strings whose final canvas states the right parity.
    pub correct: usize,
    /// correct / count.
    pub accuracy: f64,
    /// Which strings: `all 8` (every string of this length) or `1000 drawn` (distinct strings
    /// drawn at random).
    pub strings: String,
    /// How they were chosen: `all`, `distinct` or `repeats`.
    pub draw: Draw,
    /// How `ci_low` and `ci_high` were computed: `exact` when every string was decoded (the
    /// accuracy over the length is then known, not estimated, since decoding is deterministic),
    /// `wilson-95` over the strings decoded otherwise (distinct ones, in `eval`).
    pub interval: String,
    /// Lower end of the interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Mean counted decoding steps.
    pub mean_steps: f64,
    /// How many runs stopped for each reason (`fixed-point`, `step-cap`, ...).
    pub stops: BTreeMap<String, usize>,
    /// The longest sequence any run held.
    pub peak_length: usize,
    /// How many final canvases stated "even", "odd", or no answer at all.
    pub answers: BTreeMap<String, usize>,
}

impl LengthResult {
    fn from_runs(set: &TestStrings, runs: &[RunOutcome]) -> Self {
        let length = set.length;
        let count = runs.len();
        let correct = runs.iter().filter(|r| r.0).count();
        let accuracy = if count == 0 {
            0.0
        } else {
            correct as f64 / count as f64
        };
        let (interval, (ci_low, ci_high)) = if set.draw == Draw::All {
            ("exact", (accuracy, accuracy))
        } else {
            ("wilson-95", wilson(correct, count))
        };
        let mut stops = BTreeMap::new();
        let mut answers = BTreeMap::new();
        for r in runs {
            *stops.entry(r.2.clone()).or_insert(0) += 1;
            let said = match r.4 {
                Some(true) => "odd",
                Some(false) => "even",
                None => "none",
            };
            *answers.entry(said.to_string()).or_insert(0) += 1;
        }
        LengthResult {
            length,
            count,
            correct,
            accuracy,
            strings: set.describe(),
            draw: set.draw,
            interval: interval.to_string(),
            ci_low,
            ci_high,
            mean_steps: if count == 0 {
                0.0
            } else {
                runs.iter().map(|r| r.1 as f64).sum::<f64>() / count as f64
            },
            stops,
            peak_length: runs.iter().map(|r| r.3).max().unwrap_or(0),
            answers,
        }
    }
}

/// Decodes every string with a fresh step function from `make` (one per worker thread) under the
/// AP-MDM class and the step cap 3L + 10, and checks the stated answer against the true parity.
pub fn evaluate_ap_mdm<S, F>(make: F, set: &TestStrings, eos: Eos) -> LengthResult
where
    S: StepFunction<ParityToken>,
    F: Fn() -> S + Sync,
{
    let longest = RunConfig::<ParityToken>::new(ModelClass::ApMdm)
        .limits
        .max_length;
    evaluate_ap_mdm_within(make, set, eos, longest)
}

/// [`evaluate_ap_mdm`] with canvases held to `max_length` positions (a memory ceiling: a model
/// that keeps inserting stops at the length cap, and that string counts as not answered).
pub fn evaluate_ap_mdm_within<S, F>(
    make: F,
    set: &TestStrings,
    eos: Eos,
    max_length: usize,
) -> LengthResult
where
    S: StepFunction<ParityToken>,
    F: Fn() -> S + Sync,
{
    let length = set.length;
    let config = RunConfig::new(ModelClass::ApMdm)
        .max_steps(step_cap(length))
        .max_length(max_length);
    let runs: Vec<_> = set
        .strings
        .par_iter()
        .map_init(&make, |f, bits| {
            let r = run(f, canvas(bits, eos), &config);
            let said = answer(r.last.tokens(), eos);
            (
                said == Some(parity(bits)),
                r.steps(),
                r.stop.label().to_string(),
                r.context_length(),
                said,
            )
        })
        .collect();
    LengthResult::from_runs(set, &runs)
}

/// The ARM's input: `BOS b_1 ... b_L EOS M`; the model fills the mask with the answer.
pub fn arm_canvas(bits: &[bool]) -> Canvas<ParityToken> {
    let mut tokens = canvas(bits, Eos::Keep).tokens().to_vec();
    tokens.push(Token::Mask);
    Canvas::new(tokens)
}

/// ARM training strings: lengths uniform in `min..=max`; the target at the EOS position is the
/// answer token (`0` even, `1` odd); no other position is supervised.
pub fn arm_examples(count: usize, min: usize, max: usize, seed: u64) -> Vec<Example> {
    let vocab = vocabulary();
    let mut rng = SplitMix64(seed);
    (0..count)
        .map(|_| {
            let len = min + (rng.next_u64() % (max - min + 1) as u64) as usize;
            let bits = rng.bits(len);
            let x = canvas(&bits, Eos::Keep);
            let ids: Vec<u32> = x
                .tokens()
                .iter()
                .map(|t| vocab.id(t).expect("parity"))
                .collect();
            let mut targets = vec![None; ids.len()];
            let answer = sym(if parity(&bits) { One } else { Zero });
            targets[ids.len() - 1] = vocab.id(&answer);
            Example {
                ids,
                targets,
                bits: Vec::new(),
            }
        })
        .collect()
}

/// Runs an ARM for its one answer step (under the ARM class) and checks the emitted token.
pub fn evaluate_arm<S, F>(make: F, set: &TestStrings) -> LengthResult
where
    S: StepFunction<ParityToken>,
    F: Fn() -> S + Sync,
{
    let length = set.length;
    let config = RunConfig::new(ModelClass::Arm).max_steps(1);
    let runs: Vec<_> = set
        .strings
        .par_iter()
        .map_init(&make, |f, bits| {
            let r = run(f, arm_canvas(bits), &config);
            let emitted = r.last.tokens().get(length + 2).cloned();
            let want = sym(if parity(bits) { One } else { Zero });
            let said = match emitted {
                Some(Token::Sym(One)) => Some(true),
                Some(Token::Sym(Zero)) => Some(false),
                _ => None,
            };
            (
                emitted == Some(want),
                r.steps(),
                r.stop.label().to_string(),
                r.context_length(),
                said,
            )
        })
        .collect();
    LengthResult::from_runs(set, &runs)
}

/// The plain MDM's input: `BOS b_1 ... b_L EOS M`; the model unmasks the answer in place.
pub fn mdm_canvas(bits: &[bool]) -> Canvas<ParityToken> {
    arm_canvas(bits)
}

/// Plain-MDM training strings: `BOS bits EOS M` with the answer as the target at the mask (lengths
/// uniform in `min..=max`).
pub fn mdm_examples(count: usize, min: usize, max: usize, seed: u64) -> Vec<Example> {
    arm_examples(count, min, max, seed)
        .into_iter()
        .map(|mut e| {
            let answer = e.targets.iter().flatten().next().copied();
            e.ids.push(crate::neural::MASK_ID);
            e.targets = vec![None; e.ids.len()];
            *e.targets.last_mut().expect("non-empty") = answer;
            e
        })
        .collect()
}

/// Runs a plain MDM under the AO-MDM class until its one mask is filled, and checks the answer.
pub fn evaluate_mdm<S, F>(make: F, set: &TestStrings) -> LengthResult
where
    S: StepFunction<ParityToken>,
    F: Fn() -> S + Sync,
{
    let length = set.length;
    let config = RunConfig::new(ModelClass::AoMdm).max_steps(2);
    let runs: Vec<_> = set
        .strings
        .par_iter()
        .map_init(&make, |f, bits| {
            let r = run(f, mdm_canvas(bits), &config);
            let said = match r.last.tokens().get(length + 2) {
                Some(Token::Sym(One)) => Some(true),
                Some(Token::Sym(Zero)) => Some(false),
                _ => None,
            };
            (
                said == Some(parity(bits)),
                r.steps(),
                r.stop.label().to_string(),
                r.context_length(),
                said,
            )
        })
        .collect();
    LengthResult::from_runs(set, &runs)
}

/// Checks that every training transition is what g does: g(x_k, ·, bits) = x_{k+1}.
pub fn transitions_follow_g(variant: Variant) -> bool {
    transitions(variant).into_iter().all(|(x, bits, next)| {
        let y = vec![Zero; x.len()];
        apply(&Canvas::<ParityToken>::new(x), &y, &bits)
            .map(|t| t.next.tokens() == next.as_slice())
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::library::ParityEliminator;

    #[test]
    fn the_training_transitions_are_g() {
        assert!(transitions_follow_g(Variant::Halting));
        assert_eq!(transitions(Variant::Paper).len(), 7);
        assert_eq!(transitions(Variant::Halting).len(), 9);
        let ex = training_examples(Variant::Halting);
        assert_eq!(ex.len(), 9);
        // BOS 0 1: ids 1 3 4, remask at position 1 only.
        assert_eq!(ex[0].ids, vec![1, 3, 4]);
        assert_eq!(
            ex[0].bits,
            vec![[false; 3], [true, false, false], [false; 3]]
        );
    }

    #[test]
    fn the_hand_written_eliminator_scores_perfectly_in_this_evaluator() {
        let inputs = TestStrings::new(37, 20, 7);
        let r = evaluate_ap_mdm(|| ParityEliminator, &inputs, Eos::Drop);
        assert_eq!((r.count, r.correct), (20, 20));
        assert_eq!(r.stops.get("fixed-point"), Some(&20));
        let kept = evaluate_ap_mdm(|| ParityEliminator, &inputs, Eos::Keep);
        assert_eq!(kept.correct, 20);
    }

    #[test]
    fn a_space_no_larger_than_the_count_is_evaluated_whole_and_once() {
        for length in 1..=9 {
            let set = TestStrings::new(length, 1000, 2026);
            assert_eq!(set.draw, Draw::All);
            assert_eq!(set.strings.len(), 1 << length);
            let distinct: std::collections::HashSet<_> = set.strings.iter().collect();
            assert_eq!(distinct.len(), 1 << length, "L = {length}");
            assert!(set.strings.iter().all(|s| s.len() == length));
            assert_eq!(set.describe(), format!("all {}", 1 << length));
        }
        // The old draw of 1000 at L = 3 held only 8 distinct strings.
        let old: std::collections::HashSet<_> = strings(3, 1000, 2026).into_iter().collect();
        assert_eq!(old.len(), 8);
        // Exactly 2^L strings asked for: still the whole space.
        assert_eq!(TestStrings::new(4, 16, 1).draw, Draw::All);
    }

    #[test]
    fn a_larger_space_gets_distinct_seeded_draws() {
        let set = TestStrings::new(10, 1000, 2026);
        assert_eq!(set.draw, Draw::Distinct);
        let distinct: std::collections::HashSet<_> = set.strings.iter().collect();
        assert_eq!(distinct.len(), 1000);
        assert_eq!(set, TestStrings::new(10, 1000, 2026));
        assert_ne!(set.strings, TestStrings::new(10, 1000, 2027).strings);
        assert_eq!(set.describe(), "1000 drawn");
        // Independent draws of 1000 from 1024 strings repeat many of them.
        let old: std::collections::HashSet<_> = strings(10, 1000, 2026).into_iter().collect();
        assert!(old.len() < 700, "{}", old.len());
        assert_eq!(TestStrings::new(5, 31, 3).draw, Draw::Distinct);
    }

    #[test]
    fn intervals_are_exact_over_the_whole_space_and_wilson_over_distinct_draws() {
        // A step function that never acts: every run ends at x_0, which states no answer, so
        // nothing is correct; then the eliminator, which is always right.
        struct Idle;
        impl StepFunction<ParityToken> for Idle {
            fn propose(
                &mut self,
                x: &[Token<ParityToken>],
            ) -> Result<crate::machine::Proposal<ParityToken>, crate::machine::StepFunctionError>
            {
                Ok(crate::machine::Proposal {
                    tokens: vec![Zero; x.len()],
                    bits: vec![ControlBits::NONE; x.len()],
                })
            }
        }
        let all = TestStrings::new(3, 1000, 5);
        let r = evaluate_ap_mdm(|| ParityEliminator, &all, Eos::Drop);
        assert_eq!((r.count, r.correct, r.strings.as_str()), (8, 8, "all 8"));
        assert_eq!(
            (r.interval.as_str(), r.ci_low, r.ci_high),
            ("exact", 1.0, 1.0)
        );
        let idle = evaluate_ap_mdm(|| Idle, &all, Eos::Drop);
        assert_eq!((idle.correct, idle.ci_low, idle.ci_high), (0, 0.0, 0.0));
        let drawn = TestStrings::new(12, 50, 5);
        let r = evaluate_ap_mdm(|| ParityEliminator, &drawn, Eos::Drop);
        assert_eq!((r.count, r.correct), (50, 50));
        assert_eq!(r.interval, "wilson-95");
        assert_eq!((r.ci_low, r.ci_high), wilson(50, 50));
        assert!(r.ci_low < 1.0);
    }

    /// A model that inserts after every position at every step doubles the canvas each step: the
    /// evaluation holds it to the length it was given (a memory ceiling), and such a string
    /// counts as not answered.
    #[test]
    fn a_canvas_that_keeps_growing_stops_at_the_length_it_was_given() {
        struct Grow;
        impl StepFunction<ParityToken> for Grow {
            fn propose(
                &mut self,
                x: &[Token<ParityToken>],
            ) -> Result<crate::machine::Proposal<ParityToken>, crate::machine::StepFunctionError>
            {
                Ok(crate::machine::Proposal {
                    tokens: x
                        .iter()
                        .map(|t| t.symbol().copied().unwrap_or(Zero))
                        .collect(),
                    bits: vec![ControlBits::INSERT; x.len()],
                })
            }
        }
        let set = TestStrings::new(6, 4, 5);
        let r = evaluate_ap_mdm_within(|| Grow, &set, Eos::Drop, 100);
        assert_eq!((r.count, r.correct), (4, 0));
        assert!(r.peak_length <= 100, "{}", r.peak_length);
        assert!(r.peak_length > 50, "{}", r.peak_length);
        assert_eq!(r.stops.get("length-cap"), Some(&4), "{:?}", r.stops);
    }

    #[test]
    fn answers_are_read_only_from_the_two_final_forms() {
        let b = sym(Bos);
        assert_eq!(answer(&[b], Eos::Drop), Some(false));
        assert_eq!(answer(&[b, sym(One)], Eos::Drop), Some(true));
        assert_eq!(answer(&[b, sym(Zero)], Eos::Drop), None);
        assert_eq!(answer(&[b, sym(One), sym(EosTok)], Eos::Keep), Some(true));
        assert_eq!(answer(&[b, sym(One)], Eos::Keep), None);
        assert_eq!(answer(&[b, Token::Mask], Eos::Drop), None);
    }

    #[test]
    fn wilson_interval_matches_known_values() {
        let (lo, hi) = wilson(1000, 1000);
        assert!((lo - 0.996_173).abs() < 1e-5 && hi == 1.0, "{lo} {hi}");
        let (lo, hi) = wilson(5, 10);
        assert!((lo - 0.236_593).abs() < 1e-5 && (hi - 0.763_407).abs() < 1e-5);
    }

    #[test]
    fn strings_are_seeded_and_differ_between_seeds() {
        assert_eq!(strings(10, 3, 1), strings(10, 3, 1));
        assert_ne!(strings(10, 3, 1), strings(10, 3, 2));
        let ex = arm_examples(50, 2, 100, 3);
        assert!(ex.iter().all(|e| (4..=102).contains(&e.ids.len())));
        assert!(ex.iter().all(|e| e.targets.iter().flatten().count() == 1));
    }
}
