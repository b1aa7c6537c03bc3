//! Theorem 2's accounting: the naive evaluator's operation counter on a hand-counted program,
//! the progress check failing on a wrong MDM, and one library row passing both factors.

use apmdm::check::thm2::{check_thm2_case, progress_checks, step_bound, C1, C2, D};
use apmdm::check::verdict::Status;
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::machine::{
    run, Canvas, ControlBits, FnStep, ModelClass, Proposal, RunConfig, StepFunctionError, Token,
};
use apmdm::pram::library;
use apmdm::seq::{evaluate, evaluate_counted, Builder, Evaluator, Heads, Prefer, Selector, Word};

/// One lookup (key = field 0, query = field 0, latest) and one sum over the same selector.
#[test]
fn the_counter_counts_every_pair_and_every_selected_pair() {
    let mut b = Builder::new(1);
    let f = b.field(0);
    let idx = b.index();
    let zero = b.constant(0);
    let sel = Selector::eq(f, f);
    let look = b.lookup(sel, Prefer::Latest, idx, zero);
    let sum = b.sum(sel, idx);
    let p = b
        .finish(Heads {
            token: vec![look],
            remask: zero,
            insert: zero,
            delete: zero,
        })
        .unwrap();
    // Keys 1, 2, 1, mask (0): position 0 and 2 select each other and themselves (4 pairs),
    // position 1 itself, position 3 itself: 6 selected pairs per attention node.
    let w = |v: i64| Token::Sym(Word(vec![v]));
    let x = vec![w(1), w(2), w(1), Token::Mask];
    let (values, count) = evaluate_counted(&p, &x).unwrap();
    assert_eq!(values, evaluate(&p, &x, Evaluator::Naive).unwrap());
    assert_eq!(values[look.index()], vec![2, 1, 2, 3]);
    assert_eq!(values[sum.index()], vec![2, 1, 2, 3]);
    // A = 2 attention nodes, M = 3 map nodes, L = 4.
    assert_eq!(count.pair_tests, 2 * 16);
    assert_eq!(count.folds, 2 * 6);
    assert_eq!(count.reads, 2 * 4);
    assert_eq!(count.maps, 3 * 4);
    assert_eq!(count.range_checks, 5 * 4);
    assert_eq!(count.total(), 32 + 12 + 8 + 12 + 20);
    assert!(count.total() <= step_bound(4, 2, 3));
    assert_eq!(step_bound(4, 2, 3), C1 * 16 * 2 + C2 * 4 * 3 + D);
}

/// An "MDM" that unmasks a mask and remasks it on the next step: run under the AP-MDM class
/// (so the runner does not refuse it), it decodes for ever and the progress check fails.
#[test]
fn the_progress_check_fails_on_a_machine_that_remasks() {
    let mut f = FnStep(
        |x: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            let bits = x
                .iter()
                .map(|t| {
                    if t.is_mask() {
                        ControlBits::NONE
                    } else if *t == Token::Sym('b') {
                        ControlBits::REMASK
                    } else {
                        ControlBits::NONE
                    }
                })
                .collect();
            Ok(Proposal {
                tokens: vec!['b'; x.len()],
                bits,
            })
        },
    );
    let x0: Canvas<char> = Canvas::new(vec![Token::Sym('a'), Token::Mask]);
    let r = run(&mut f, x0, &RunConfig::new(ModelClass::ApMdm).max_steps(5));
    assert_eq!(r.steps(), 5);
    let checks = progress_checks(&r);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.held)
        .map(|c| c.what.as_str())
        .collect();
    assert_eq!(
        failed,
        vec![
            "step 2 unmasks no mask (no progress)",
            "step 2 remasks 1 decoded tokens, inserts 0, deletes 0",
            "steps 5 > masks(x0) = 1",
        ]
    );
    // The same machine under the MDM class is refused at its second step, and what ran passes.
    let x0: Canvas<char> = Canvas::new(vec![Token::Sym('a'), Token::Mask]);
    let r = run(&mut f, x0, &RunConfig::new(ModelClass::Mdm).max_steps(5));
    assert_eq!(r.steps(), 1);
    assert!(progress_checks(&r).iter().all(|c| c.held));
}

#[test]
fn a_library_row_passes_both_factors() {
    let program = library::load("prefix_sum").unwrap().unwrap();
    let config = apmdm::pram::RunConfig::new(2);
    let row = check_thm2_case(&program, &config, &CompileLimits::default(), u64::MAX).unwrap();
    assert_eq!(row.status, Status::Pass, "{:?}", row.problems);
    let steps = row.steps.unwrap();
    assert!(steps >= 1 && steps <= row.masks && row.masks <= row.context);
    assert!(row.step_ops.unwrap() <= row.step_bound);
    assert_eq!(row.agree, Some(true));
    // Over the work limit: not run, never a pass.
    let row = check_thm2_case(&program, &config, &CompileLimits::default(), 1).unwrap();
    assert_eq!(row.status, Status::NotRun);
    assert!(row.steps.is_none());
}
