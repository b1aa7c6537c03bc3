//! Theorem 5: the Dyck generators' support equals their language (exhaustive search against an
//! independent enumeration), with exact probabilities, steps and context.

use apmdm::generate::dyck::{DyckGenerator, Language};
use apmdm::generate::thm5::{check_probabilities, check_samples, check_support};
use apmdm::generate::{search, Searchable, SupportError, SupportLimits};
use apmdm::machine::Token;

fn check(k: u8, two_sided: bool, max_length: usize) -> apmdm::generate::thm5::SupportRow {
    let row = check_support(Language::new(k, two_sided).unwrap(), max_length, 10_000_000);
    assert!(row.ran, "{:?}", row.problems);
    assert!(row.equal, "{}: {:?}", row.language, row.problems);
    row
}

#[test]
fn two_sided_dyck_2_support_up_to_length_10() {
    let row = check(2, true, 10);
    let counts: Vec<u64> = row.lengths.iter().map(|c| c.language).collect();
    assert_eq!(counts, vec![1, 0, 4, 0, 28, 0, 232, 0, 2092, 0, 19864]);
    // Every word has exactly one generation, so no memoized canvas is reached twice.
    assert_eq!(row.visits, row.states);
    let words: u64 = counts.iter().sum();
    // One draw canvas per word (stop or go) and one per word shorter than the bound (the pair).
    let shorter: u64 = counts[..9].iter().sum();
    assert_eq!(row.states, words + shorter);
}

#[test]
fn one_and_two_sided_support_for_k_1_to_4() {
    for (k, len) in [(1u8, 12usize), (2, 10), (3, 6), (4, 6)] {
        check(k, false, len);
        if k != 2 {
            check(k, true, len.min(8));
        }
    }
}

#[test]
fn exact_probabilities_lengths_steps_and_context() {
    for (k, two) in [(1u8, false), (1, true), (2, false), (2, true), (3, true)] {
        let lang = Language::new(k, two).unwrap();
        let row = check_probabilities(lang, 6, 4, 1_000_000);
        assert!(row.ran && row.problems.is_empty(), "{:?}", row.problems);
    }
    // Two-sided Dyck-1: the empty word 1/2; "()" and ")(" each 1/8 (go 1/2, pair 1/2 of two
    // choices at gap 0, stop 1/2).
    let row = check_probabilities(Language::new(1, true).unwrap(), 2, 2, 1000);
    let table: Vec<(String, String)> = row
        .words
        .iter()
        .map(|w| (w.word.clone(), w.probability.clone()))
        .collect();
    assert_eq!(
        table,
        vec![
            ("".to_string(), "1/2".to_string()),
            ("()".to_string(), "1/8".to_string()),
            (")(".to_string(), "1/8".to_string())
        ]
    );
    assert_eq!(row.words[1].steps, 7);
    assert_eq!(row.words[1].context, 4);
}

#[test]
fn seeded_runs_through_the_runner_stay_in_the_language() {
    for two in [false, true] {
        let row = check_samples(Language::new(2, two).unwrap(), 200, 5);
        assert!(row.problems.is_empty(), "{:?}", row.problems);
        assert_eq!(row.lengths.values().sum::<usize>(), 200);
        assert!(row.longest >= 6, "{:?}", row.lengths);
        // The same seeds give the same lengths.
        assert_eq!(check_samples(Language::new(2, two).unwrap(), 200, 5), row);
    }
}

/// A generator whose potential is wrong (it counts the cell as a letter) must be caught.
struct WrongPotential(DyckGenerator);

impl apmdm::generate::StochasticStep<apmdm::generate::dyck::DyckToken> for WrongPotential {
    fn distributions(
        &self,
        x: &[Token<apmdm::generate::dyck::DyckToken>],
    ) -> Result<
        apmdm::generate::StochasticProposal<apmdm::generate::dyck::DyckToken>,
        apmdm::machine::StepFunctionError,
    > {
        self.0.distributions(x)
    }
}

impl Searchable<apmdm::generate::dyck::DyckToken> for WrongPotential {
    fn alphabet_size(&self) -> u32 {
        self.0.alphabet_size()
    }
    fn index(&self, a: &apmdm::generate::dyck::DyckToken) -> Option<u32> {
        self.0.index(a)
    }
    fn symbol(&self, i: u32) -> Option<apmdm::generate::dyck::DyckToken> {
        self.0.symbol(i)
    }
    fn potential(&self, x: &[Token<apmdm::generate::dyck::DyckToken>]) -> usize {
        self.0.potential(x) + usize::from(x.first().is_some_and(|t| t.is_mask()))
    }
}

#[test]
fn a_decreasing_potential_is_an_error() {
    let g = WrongPotential(DyckGenerator::new(Language::new(2, true).unwrap(), 4));
    let limits = SupportLimits {
        max_potential: 4,
        max_states: 1000,
        max_chain: 64,
    };
    let err = search(&g, DyckGenerator::initial(), limits).unwrap_err();
    assert!(matches!(err, SupportError::NotMonotone { .. }), "{err}");
}

#[test]
fn the_state_limit_is_a_row_not_run_not_a_partial_answer() {
    let row = check_support(Language::new(2, true).unwrap(), 8, 100);
    assert!(!row.ran && !row.equal && row.problems.is_empty());
    let why = row.not_run.unwrap_or_default();
    assert!(why.contains("more than 100"), "{why}");
}
