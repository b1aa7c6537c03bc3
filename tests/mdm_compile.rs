//! pram_to_mdm on the library: every program, at its own sizes and two seeds, compiles to an MDM
//! schedule that reproduces the interpreter (outcome, output, T, P, W, S) within the bounds of
//! proofs/mdm.bounds.json, with zero slack where the proof says the constants are tight.

use apmdm::check::mdm::{check_case, fits, MdmBounds, BOUNDS_FILE};
use apmdm::check::verdict::Status;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::pram::{library, RunConfig};

/// Position-steps per checked case (keeps the debug-build test short; `apmdm check` goes further).
const BUDGET: u64 = 300_000;

#[test]
fn library_programs_agree_with_the_interpreter_within_the_bounds() {
    let bounds = MdmBounds::from_file();
    let limits = CompileLimits::default();
    let mut failures = Vec::new();
    for (name, source) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        let mut rows = Vec::new();
        for &n in &library::directive(source, "sizes") {
            for &seed in library::directive(source, "seeds").iter().take(2) {
                let mut config = RunConfig::new(n);
                config.seed = seed as u64;
                let row = check_case(&program, &config, &limits, &bounds, BUDGET).unwrap();
                match row.status {
                    Status::Fail => {
                        failures.push(format!("{name} n={n} seed={seed}: {:?}", row.problems))
                    }
                    Status::NotRun => {
                        // Nothing measured: only the layout's prediction and the reason.
                        assert!(
                            row.steps.is_none() && row.context.is_none() && row.agree.is_none()
                        );
                        assert!(row.predicted_context.is_some() && row.reason.is_some());
                    }
                    Status::Pass => {
                        assert_eq!(row.agree, Some(true), "{name} n={n}");
                        // One step per round plus the finishing step, exactly.
                        assert_eq!(row.steps, Some(row.rounds + 1), "{name} n={n}");
                        // Used context is exactly 2 + I + O + T + W.
                        assert_eq!(
                            row.context_used,
                            Some(row.context_used_bound),
                            "{name} n={n}"
                        );
                    }
                }
                rows.push(row);
            }
        }
        assert!(
            rows.iter().any(|r| r.status == Status::Pass),
            "{name}: no size ran within the budget"
        );
        // The steps bound is met with zero slack at every size (steps = T + 1 by construction).
        for f in fits(&rows) {
            if f.quantity == "steps" {
                assert_eq!(f.slack, Some(0), "{name}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_bounds_file_states_what_the_proof_states() {
    // The proof is the specification: every constant of the embedded bounds file must be the one
    // the proof writes down.
    let b = MdmBounds::from_file();
    let proof = include_str!("../proofs/mdm.md");
    let steps = format!("steps = T + 1      (a = {}, b = {};", b.steps.a, b.steps.b);
    assert!(proof.contains(&steps), "the proof does not state {steps:?}");
    for (form, l) in [
        ("(I + O + W_decl + T_decl)", b.context_work),
        ("(I + O + P_decl * T_decl + T_decl)", b.context_paper),
        ("(I + O + W + T)", b.context_used),
    ] {
        let stated = format!("<= {} * {form} + {}", l.a, l.b);
        assert!(
            proof.contains(&stated),
            "the proof does not state {stated:?}"
        );
    }
    assert!(BOUNDS_FILE.contains("proofs/mdm.md"));
}

#[test]
fn the_bound_api_passes_true_bounds_and_prints_the_table_on_false_ones() {
    use apmdm::check::bound::{Bound, BoundError};
    let program = library::load("prefix_sum").unwrap().unwrap();
    let rows = Bound::steps(|m| m.rounds + 1)
        .over([1, 3, 8])
        .seeds([1, 2])
        .check(&program)
        .unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.ok && r.measured == r.bound));
    let err = Bound::context(|m| m.work)
        .over([2, 8])
        .check(&program)
        .unwrap_err();
    let BoundError::Failed { rows, .. } = &err else {
        panic!("{err}")
    };
    // prefix_sum at n = 8: laid-out 2 + 8 + 8 + 7 + 28 = 53 against W = 28.
    assert_eq!((rows[1].measured, rows[1].bound), (53, 28));
    let text = err.to_string();
    assert!(
        text.contains("context bound failed") && text.contains("OVER"),
        "{text}"
    );
}

/// A row over the position-step budget but within a trial's ceiling is started and judged by its
/// own first steps: stopped and reported not run (nothing claimed, what was measured said) when
/// they project past the time budget, run to the same row as without a budget when they fit,
/// and never started above the ceiling.
#[test]
fn rows_over_the_budget_are_started_as_trials_and_judged_by_their_first_steps() {
    use apmdm::check::mdm::{check_case_watched, Trial};
    use apmdm::check::weights::ExecutorOptions;
    let program = library::load("tqbf").unwrap().unwrap();
    let bounds = MdmBounds::from_file();
    let limits = CompileLimits::default();
    let config = RunConfig::new(2);
    let row = |max_work: u64, trial: Option<Trial>| {
        check_case_watched(
            &program,
            &config,
            &limits,
            &bounds,
            max_work,
            trial,
            ExecutorOptions::seq(),
            &mut |_| {},
            &mut |_| {},
        )
        .unwrap()
    };
    let free = row(u64::MAX, None);
    assert_eq!(free.status, Status::Pass);
    // No time at all: judged after a quarter of its steps, and stopped there.
    let stopped = row(
        0,
        Some(Trial {
            ceiling: u64::MAX,
            max_seconds: 0.0,
            clock: None,
        }),
    );
    assert_eq!(stopped.status, Status::NotRun);
    assert!(stopped.steps.is_none() && stopped.agree.is_none() && stopped.context.is_none());
    let why = stopped.reason.clone().unwrap();
    assert!(why.contains("over the budget of 0 position-steps"), "{why}");
    let quarter = free.steps.unwrap().div_ceil(4);
    assert!(
        why.contains(&format!(
            "started as a trial: {quarter} of {} steps",
            free.steps.unwrap()
        )),
        "{why}"
    );
    // Time to spare: the same row as without a budget.
    let ran = row(
        0,
        Some(Trial {
            ceiling: u64::MAX,
            max_seconds: 1e9,
            clock: None,
        }),
    );
    assert_eq!(ran.status, Status::Pass);
    assert_eq!(
        (ran.steps, ran.context.clone(), ran.agree),
        (free.steps, free.context.clone(), free.agree)
    );
    // Above the ceiling: never started.
    let ceiling = row(
        0,
        Some(Trial {
            ceiling: 1,
            max_seconds: 1e9,
            clock: None,
        }),
    );
    assert_eq!(ceiling.status, Status::NotRun);
    assert!(!ceiling.reason.unwrap().contains("trial"));
}
