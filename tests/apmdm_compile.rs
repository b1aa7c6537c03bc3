//! pram_to_apmdm on the library: every program, at its own sizes and two seeds, compiles to an
//! AP-MDM schedule that reproduces the interpreter (outcome, output, T, P, W, S) within the
//! bounds of proofs/apmdm.bounds.json, checked at every step against the space in use.

use apmdm::check::apmdm::{check_apmdm_case, ApmdmBounds};
use apmdm::check::verdict::Status;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::pram::{library, RunConfig};

/// Position-steps per checked case (keeps the debug-build test short; `apmdm check` goes further).
const BUDGET: u64 = 400_000;

#[test]
fn library_programs_agree_with_the_interpreter_within_the_bounds_at_every_step() {
    let bounds = ApmdmBounds::from_file();
    let limits = CompileLimits::default();
    let mut failures = Vec::new();
    for (name, source) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        let mut ran = 0;
        for &n in &library::directive(source, "sizes") {
            for &seed in library::directive(source, "seeds").iter().take(2) {
                let mut config = RunConfig::new(n);
                config.seed = seed as u64;
                let row = check_apmdm_case(&program, &config, &limits, &bounds, BUDGET).unwrap();
                match row.status {
                    Status::Fail => {
                        failures.push(format!("{name} n={n} seed={seed}: {:?}", row.problems));
                        continue;
                    }
                    Status::NotRun => {
                        assert!(
                            row.steps.is_none() && row.context.is_none() && row.agree.is_none()
                        );
                        assert!(row.predicted_context.is_some() && row.reason.is_some());
                        continue;
                    }
                    Status::Pass => {}
                }
                ran += 1;
                assert_eq!(row.agree, Some(true), "{name} n={n}");
                let (steps, context) = (row.steps.unwrap(), row.context.unwrap());
                // Three steps per round, the proof's allocation steps, and two to finish: the
                // steps bound holds with equality.
                assert_eq!(steps, row.steps_bound, "{name} n={n} seed={seed}");
                assert_eq!(
                    steps,
                    3 * row.rounds + row.allocation_steps + 2,
                    "{name} n={n}"
                );
                // The peak canvas is two headers, the peak space and the processor region.
                assert_eq!(context, 2 + row.space + row.slots, "{name} n={n}");
                assert_eq!(row.steps_checked, steps, "{name} n={n}");
            }
        }
        assert!(ran > 0, "{name}: no size ran within the budget");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_bound_api_checks_the_apmdm_construction() {
    use apmdm::check::bound::{Bound, BoundError};
    let program = library::load("list_ranking").unwrap().unwrap();
    // No allocation: exactly 3T + 2 steps; context S + P_decl + 2 with P_decl = n.
    let rows = Bound::steps(|m| 3 * m.rounds + 2)
        .apmdm()
        .over([1, 3, 8, 20])
        .seeds([1, 2])
        .check(&program)
        .unwrap();
    assert_eq!(rows.len(), 8);
    assert!(rows
        .iter()
        .all(|r| r.ok && r.agree && r.measured == r.bound));
    let rows = Bound::context(|m| m.space + m.n + 2)
        .apmdm()
        .over([1, 3, 8, 20])
        .check(&program)
        .unwrap();
    assert!(rows.iter().all(|r| r.measured == r.bound));
    // One step per round is not enough on the AP-MDM: the error is the whole table.
    let err = Bound::steps(|m| m.rounds + 1)
        .apmdm()
        .over([2, 8])
        .check(&program)
        .unwrap_err();
    let BoundError::Failed { rows, .. } = &err else {
        panic!("{err}")
    };
    assert!(rows.iter().all(|r| !r.ok && r.agree));
    assert!(err.to_string().contains("OVER"), "{err}");
}
