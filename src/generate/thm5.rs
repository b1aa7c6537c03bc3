//! Theorem 5 checked: the Dyck generators' support against the independent enumeration, their
//! exact word probabilities and length distribution, and seeded runs through the machine runner.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::Serialize;

use crate::machine::{self, ModelClass, RunConfig, Stop};

use super::dyck::{render_word, DyckGenerator, Language};
use super::stochastic::Sampler;
use super::support::{paths, search, Fraction, Keys, SupportError, SupportLimits};

/// Counts at one word length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LengthCount {
    /// Word length.
    pub length: usize,
    /// Distinct terminal words the search found.
    pub generated: u64,
    /// Words of the language (independent enumeration).
    pub language: u64,
}

/// The support of one generator compared with its language up to a length.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SupportRow {
    /// "two-sided Dyck-2" and the like.
    pub language: String,
    /// Bracket types.
    pub k: u8,
    /// Whether both rewriting rules hold.
    pub two_sided: bool,
    /// Words up to this length are compared.
    pub max_length: usize,
    /// Distinct memoized canvases (where a position draws).
    pub states: u64,
    /// Times a memoized canvas was reached.
    pub visits: u64,
    /// Applications of g.
    pub transitions: u64,
    /// Transitions cut by the potential.
    pub pruned: u64,
    /// Per length: generated and language counts.
    pub lengths: Vec<LengthCount>,
    /// Whether the two sets are equal at every length.
    pub equal: bool,
    /// The first difference: shortest, then least in letter order.
    pub counterexample: Option<String>,
    /// Seconds spent in the search.
    pub search_seconds: f64,
    /// Seconds spent enumerating the language and comparing.
    pub compare_seconds: f64,
    /// Whether the search finished.
    pub ran: bool,
    /// Why it did not run (a resource limit), if it did not.
    pub not_run: Option<String>,
    /// Everything that did not hold.
    pub problems: Vec<String>,
}

/// Searches the support of `language`'s generator up to `max_length` letters and compares it,
/// length by length, with the independent enumeration.
pub fn check_support(language: Language, max_length: usize, max_states: u64) -> SupportRow {
    let generator = DyckGenerator::new(language, max_length);
    let mut row = SupportRow {
        language: language.name(),
        k: language.k,
        two_sided: language.two_sided,
        max_length,
        states: 0,
        visits: 0,
        transitions: 0,
        pruned: 0,
        lengths: Vec::new(),
        equal: false,
        counterexample: None,
        search_seconds: 0.0,
        compare_seconds: 0.0,
        ran: false,
        not_run: None,
        problems: Vec::new(),
    };
    let limits = SupportLimits {
        max_potential: max_length,
        max_states,
        max_chain: 64,
    };
    let start = Instant::now();
    let support = match search(&generator, DyckGenerator::initial(), limits) {
        Ok(s) => s,
        Err(e @ SupportError::TooManyStates { .. }) => {
            row.not_run = Some(format!("search: {e}"));
            return row;
        }
        Err(e) => {
            row.problems.push(format!("search: {e}"));
            return row;
        }
    };
    row.search_seconds = start.elapsed().as_secs_f64();
    row.ran = true;
    row.states = support.states;
    row.visits = support.visits;
    row.transitions = support.transitions;
    row.pruned = support.pruned;
    let start = Instant::now();
    let keys = Keys::new(&generator);
    // (length, word) of the first difference, and what it is.
    let mut first: Option<(usize, Vec<u8>, &str)> = None;
    let mut note = |len: usize, w: Vec<u8>, what: &'static str| {
        if first.as_ref().is_none_or(|(l, f, _)| (len, &w) < (*l, f)) {
            first = Some((len, w, what));
        }
    };
    for length in 0..=max_length {
        let empty = Default::default();
        let found = support.terminals.get(&length).unwrap_or(&empty);
        let mut language_count = 0u64;
        let mut key_error = None;
        let mut missing: Option<Vec<u8>> = None;
        language.enumerate(length, &mut |w| {
            language_count += 1;
            match keys.key(&generator.word_tokens(w)) {
                Ok(key) => {
                    if missing.is_none() && !found.contains(&key) {
                        missing = Some(w.to_vec());
                    }
                }
                Err(e) => key_error = Some(e),
            }
        });
        if let Some(e) = key_error {
            row.problems.push(format!("length {length}: {e}"));
        }
        if let Some(w) = missing {
            note(length, w, "in the language but never generated");
        }
        for &key in found {
            let canvas = keys.canvas::<super::dyck::DyckToken>(key);
            match canvas.as_deref().and_then(DyckGenerator::word_of) {
                Some(w) if language.contains(&w) => {}
                Some(w) => note(length, w, "generated but not in the language"),
                None => row.problems.push(format!(
                    "a terminal canvas of length {length} is not a word: {}",
                    canvas.map(|c| machine::render(&c)).unwrap_or_default()
                )),
            }
        }
        row.lengths.push(LengthCount {
            length,
            generated: found.len() as u64,
            language: language_count,
        });
    }
    if let Some(&l) = support.terminals.keys().find(|&&l| l > max_length) {
        row.problems.push(format!(
            "a terminal of length {l} above the bound {max_length}"
        ));
    }
    row.compare_seconds = start.elapsed().as_secs_f64();
    let counts_agree = row.lengths.iter().all(|c| c.generated == c.language);
    if let Some((len, w, what)) = first {
        row.counterexample = Some(format!(
            "{:?} (length {len}) is {what}",
            render_word(&w, language.k)
        ));
        row.problems.push(format!(
            "support differs: {}",
            row.counterexample.clone().unwrap_or_default()
        ));
    } else if !counts_agree {
        row.problems
            .push("support counts differ from the language".into());
    }
    row.equal = row.counterexample.is_none() && counts_agree && row.problems.is_empty();
    row
}

/// The distribution at one length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LengthMass {
    /// Word length.
    pub length: usize,
    /// Words of that length with positive probability.
    pub words: u64,
    /// Their total probability (exact).
    pub mass: String,
    /// 2^-(length/2 + 1) for even lengths, 0 for odd: what the stop/go draw gives.
    pub expected_mass: String,
    /// The least and largest word probability.
    pub min_probability: String,
    /// The largest word probability.
    pub max_probability: String,
    /// Steps of every path (all equal to 3 * length + 1 when they pass).
    pub steps: usize,
    /// Context length of every path (length + 2; 1 for the empty word).
    pub context: usize,
}

/// One word's exact probability, steps and context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WordProbability {
    /// The word.
    pub word: String,
    /// Its exact probability.
    pub probability: String,
    /// Generation paths ending on it (1 when derivations are unique).
    pub paths: u64,
    /// Decoding steps.
    pub steps: usize,
    /// Context length.
    pub context: usize,
}

/// Exact probabilities of one generator up to a length.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProbabilityRow {
    /// The language.
    pub language: String,
    /// Words up to this length.
    pub max_length: usize,
    /// Per length.
    pub lengths: Vec<LengthMass>,
    /// Every word, shortest first, then in letter order (only up to `list_length`).
    pub words: Vec<WordProbability>,
    /// Whether it ran.
    pub ran: bool,
    /// What did not hold.
    pub problems: Vec<String>,
}

fn power_of_two_inverse(e: usize) -> Fraction {
    Fraction::new(1, 1u128 << e.min(120))
}

/// Every generation path up to `max_length` letters, without memo: exact word probabilities,
/// the length distribution (checked against 2^-(m+1) for length 2m), steps and context per word
/// (checked against their formulas), and that exactly the language's words have positive mass.
pub fn check_probabilities(
    language: Language,
    max_length: usize,
    list_length: usize,
    max_paths: u64,
) -> ProbabilityRow {
    let generator = DyckGenerator::new(language, max_length);
    let mut row = ProbabilityRow {
        language: language.name(),
        max_length,
        lengths: Vec::new(),
        words: Vec::new(),
        ran: false,
        problems: Vec::new(),
    };
    let all = match paths(&generator, DyckGenerator::initial(), max_length, max_paths) {
        Ok(a) => a,
        Err(e) => {
            row.problems.push(format!("paths: {e}"));
            return row;
        }
    };
    row.ran = true;
    let mut by_length: BTreeMap<usize, Vec<(Vec<u8>, super::support::PathStats)>> = BTreeMap::new();
    for (canvas, stats) in &all {
        match DyckGenerator::word_of(canvas) {
            Some(w) => by_length.entry(w.len()).or_default().push((w, *stats)),
            None => row.problems.push(format!(
                "a terminal that is not a word: {}",
                machine::render(canvas)
            )),
        }
    }
    for length in 0..=max_length {
        let mut words = by_length.remove(&length).unwrap_or_default();
        words.sort_by(|a, b| a.0.cmp(&b.0));
        let expected = if length % 2 == 0 {
            power_of_two_inverse(length / 2 + 1)
        } else {
            Fraction::ZERO
        };
        let mut mass = Fraction::ZERO;
        let mut min: Option<Fraction> = None;
        let mut max: Option<Fraction> = None;
        let steps = DyckGenerator::steps_formula(length);
        let context = DyckGenerator::context_formula(length);
        let smaller = |a: Fraction, b: Fraction| a.num * b.den < b.num * a.den;
        for (w, s) in &words {
            match mass.checked_add(s.probability) {
                Some(m) => mass = m,
                None => row.problems.push("probability overflow".into()),
            }
            if min.is_none_or(|m| smaller(s.probability, m)) {
                min = Some(s.probability);
            }
            if max.is_none_or(|m| smaller(m, s.probability)) {
                max = Some(s.probability);
            }
            let text = render_word(w, language.k);
            if !language.contains(w) {
                row.problems.push(format!(
                    "{text:?} has positive probability but is not in the language"
                ));
            }
            if s.steps != (steps, steps) || s.context != (context, context) {
                row.problems.push(format!(
                    "{text:?}: steps {:?} and context {:?}, formulas {steps} and {context}",
                    s.steps, s.context
                ));
            }
            if length <= list_length {
                row.words.push(WordProbability {
                    word: text,
                    probability: s.probability.to_string(),
                    paths: s.paths,
                    steps: s.steps.0,
                    context: s.context.0,
                });
            }
        }
        let language_count = language.count(length);
        if words.len() as u64 != language_count {
            row.problems.push(format!(
                "length {length}: {} words have positive probability, the language has {language_count}",
                words.len()
            ));
        }
        if mass != expected {
            row.problems.push(format!(
                "length {length}: total probability {mass}, expected {expected}"
            ));
        }
        row.lengths.push(LengthMass {
            length,
            words: words.len() as u64,
            mass: mass.to_string(),
            expected_mass: expected.to_string(),
            min_probability: min.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
            max_probability: max.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
            steps,
            context,
        });
    }
    row
}

/// Seeded generations through the machine runner.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleRow {
    /// The language.
    pub language: String,
    /// Runs made.
    pub samples: usize,
    /// The first seed (run i uses seed + i).
    pub seed: u64,
    /// How many outputs had each length.
    pub lengths: BTreeMap<usize, usize>,
    /// The longest output.
    pub longest: usize,
    /// What did not hold.
    pub problems: Vec<String>,
}

/// Runs the sampler `samples` times through `machine::run` under the AP-MDM class: every output
/// must be in the language, with steps and context equal to their formulas.
pub fn check_samples(language: Language, samples: usize, seed: u64) -> SampleRow {
    let generator = DyckGenerator::new(language, 0);
    let mut row = SampleRow {
        language: language.name(),
        samples,
        seed,
        lengths: BTreeMap::new(),
        longest: 0,
        problems: Vec::new(),
    };
    let config = RunConfig::new(ModelClass::ApMdm).max_steps(1_000_000);
    for i in 0..samples {
        let s = seed.wrapping_add(i as u64);
        let mut f = Sampler::new(&generator, s);
        let initial: machine::Canvas<_> = DyckGenerator::initial().into_iter().collect();
        let r = machine::run(&mut f, initial, &config);
        if r.stop != Stop::FixedPoint {
            row.problems
                .push(format!("seed {s}: stopped with {}", r.stop));
            continue;
        }
        let Some(w) = DyckGenerator::word_of(r.last.tokens()) else {
            row.problems.push(format!(
                "seed {s}: the final canvas is not a word: {}",
                machine::render(r.last.tokens())
            ));
            continue;
        };
        if !language.contains(&w) {
            row.problems.push(format!(
                "seed {s}: {:?} is not in the language",
                render_word(&w, language.k)
            ));
        }
        let (steps, context) = (
            DyckGenerator::steps_formula(w.len()),
            DyckGenerator::context_formula(w.len()),
        );
        if r.steps() != steps || r.context_length() != context {
            row.problems.push(format!(
                "seed {s}: {} steps and context {}, formulas {steps} and {context}",
                r.steps(),
                r.context_length()
            ));
        }
        *row.lengths.entry(w.len()).or_default() += 1;
        row.longest = row.longest.max(w.len());
    }
    row
}

/// Support rows' per-length counts as a map (for callers that want to look one up).
pub fn counts(row: &SupportRow) -> HashMap<usize, (u64, u64)> {
    row.lengths
        .iter()
        .map(|c| (c.length, (c.generated, c.language)))
        .collect()
}
