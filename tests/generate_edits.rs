//! Theorem 6: the edit tracker against the direct reference, with exact step and context formulas.

use apmdm::generate::edits::{
    apply_edits, check_every_single_edit, check_instance, check_random, check_s5, cost_formula,
    random_instance, run_tracker, s5_arrangement, tracked_output, Edit,
};
use apmdm::machine::Stop;

#[test]
fn random_instances_match_the_reference_and_the_formulas() {
    for n in [0usize, 1, 3, 10, 40] {
        let row = check_random(n, 2 * n + 5, 15, 11);
        assert!(row.problems.is_empty(), "n = {n}: {:?}", row.problems);
        assert_eq!(row.instances, 15);
        assert_eq!(row.steps, row.expected_steps);
        assert_eq!(row.context, row.expected_context);
    }
}

#[test]
fn steps_and_context_of_one_worked_instance() {
    // BOS 7 8 9 | ins(1,5) del(0) mov(0,2): 3 + 2 + 3 steps; the canvas starts at 3 + 3 + 2 = 8
    // and the insert holds one more mask: 3 + 3 + 2 + 1 = 9.
    let input = [7u16, 8, 9];
    let edits = [
        Edit::Insert { at: 1, token: 5 },
        Edit::Delete { at: 0 },
        Edit::Move { from: 0, to: 2 },
    ];
    assert_eq!(apply_edits(&input, &edits).unwrap(), vec![8, 9, 5]);
    assert_eq!(cost_formula(3, &edits), (8, 9));
    let r = run_tracker(&input, &edits, 100);
    assert_eq!(r.stop, Stop::FixedPoint);
    assert_eq!((r.steps(), r.context_length()), (8, 9));
    assert_eq!(tracked_output(r.last.tokens()), Some(vec![8, 9, 5]));
    assert!(check_instance(&input, &edits).problems.is_empty());
}

#[test]
fn every_single_edit_and_the_s5_word_problem() {
    let row = check_every_single_edit(6);
    assert!(row.problems.is_empty(), "{:?}", row.problems);
    // 7 inserts, 6 deletes, 36 moves.
    assert_eq!(row.instances, 49);
    assert_eq!(row.expected_steps, 7 * 3 + 6 * 2 + 36 * 3);
    let row = check_s5(30, 2, 10, 3);
    assert!(row.problems.is_empty(), "{:?}", row.problems);
    // A generator's fifth power (the 5-cycle) and a transposition's square are the identity.
    assert_eq!(s5_arrangement(&[4, 4, 4, 4, 4]), vec![0, 1, 2, 3, 4]);
    assert_eq!(s5_arrangement(&[1, 1]), vec![0, 1, 2, 3, 4]);
    assert_eq!(s5_arrangement(&[4]), vec![1, 2, 3, 4, 0]);
}

#[test]
fn instances_are_seeded_and_valid() {
    let a = random_instance(8, 20, 4, 9);
    assert_eq!(a, random_instance(8, 20, 4, 9));
    assert_ne!(a, random_instance(8, 20, 4, 10));
    assert!(apply_edits(&a.0, &a.1).is_ok());
}

#[test]
fn a_broken_tracker_would_be_caught() {
    // The reference is not the machine: a wrong expected output is reported, not accepted.
    let input = [1u16, 2, 3];
    let edits = [Edit::Move { from: 2, to: 0 }];
    let want = apply_edits(&input, &edits).unwrap();
    assert_eq!(want, vec![3, 1, 2]);
    let r = run_tracker(&input, &edits, 100);
    assert_ne!(tracked_output(r.last.tokens()), Some(input.to_vec()));
    let err = apply_edits(&input, &[Edit::Insert { at: 4, token: 0 }]).unwrap_err();
    assert_eq!(err.number, 1);
}
