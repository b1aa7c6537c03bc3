//! Theorem 6: the edit tracker written as a seq program agrees with the hand-built `EditTracker`
//! after every step, and an altered program is caught.

use apmdm::generate::edits::{check_every_single_edit, random_instance, Edit};
use apmdm::generate::edits_seq::{edit_tracker_seq, seq_agreement, seq_agreement_of, seq_max_len};
use apmdm::seq::{Op, Value};

fn every_single_edit(n: u32) -> Vec<Edit> {
    let mut all: Vec<Edit> = (0..=n).map(|a| Edit::Insert { at: a, token: 99 }).collect();
    for a in 0..n {
        all.push(Edit::Delete { at: a });
        all.extend((0..n).map(|b| Edit::Move { from: a, to: b }));
    }
    all
}

#[test]
fn the_seq_program_equals_the_tracker_on_every_single_edit() {
    let input: Vec<u16> = (0..5).collect();
    let edits = every_single_edit(5);
    assert_eq!(edits.len(), 6 + 5 + 25);
    for e in edits {
        let a = seq_agreement(&input, &[e], 20);
        assert!(a.problems.is_empty(), "{e}: {:?}", a.problems);
        let steps = if matches!(e, Edit::Delete { .. }) {
            2
        } else {
            3
        };
        assert_eq!(a.steps, steps, "{e}");
        // The start, each canvas after a step (the last one is the fixed point).
        assert_eq!(a.proposals, steps + 1, "{e}");
    }
    let row = check_every_single_edit(5);
    assert!(
        row.seq_agrees && row.problems.is_empty(),
        "{:?}",
        row.problems
    );
    assert_eq!(row.seq_steps, row.steps);
}

#[test]
fn the_seq_program_equals_the_tracker_on_random_instances() {
    for i in 0..20u64 {
        let n = (i as usize * 3) % 13;
        let (input, edits) = random_instance(n, 2 * n + 3, 16, 100 + i);
        let a = seq_agreement(&input, &edits, 3 * edits.len() + 10);
        assert!(a.problems.is_empty(), "instance {i}: {:?}", a.problems);
        assert!(a.steps >= 2 * edits.len());
    }
}

#[test]
fn the_program_has_constant_attention_depth() {
    let small = edit_tracker_seq(10).unwrap().shape();
    let large = edit_tracker_seq(10_000).unwrap().shape();
    assert_eq!(small.nodes, large.nodes);
    assert_eq!(small.attention_depth, large.attention_depth);
    // The separator; the edit at sep + 1 and the sequence's mask; a move's source by index.
    assert_eq!(small.attention_depth, 3);
    assert_eq!((small.nodes, small.attention, small.map_depth), (76, 10, 9));
    // Ranged from max_len and the 16-bit alphabet: the widest node needs 17 bits (signed).
    assert!(small.width_bits >= 16 && large.width_bits >= small.width_bits);
}

fn named(p: &apmdm::seq::Program, name: &str) -> Value {
    p.names
        .iter()
        .find(|(_, n)| n == name)
        .map(|(v, _)| *v)
        .unwrap_or_else(|| panic!("no node {name}"))
}

#[test]
fn an_insert_gap_off_by_one_is_caught() {
    let input: Vec<u16> = (0..5).collect();
    let edits = [Edit::Move { from: 3, to: 1 }];
    let good = edit_tracker_seq(seq_max_len(&input, &edits)).unwrap();
    // The insert gap is `is_ins ? p : move_gap`, move_gap = `q <= p ? q : q + 1`; altered, a
    // move always inserts after q + 1, one position too far right for a move backwards.
    let gap = named(&good, "insert gap");
    let mut bad = good.clone();
    let Op::Select(is_ins, p, move_gap) = bad.nodes[gap.index()].clone() else {
        panic!("the insert gap is a select");
    };
    let Op::Select(_, _, q1) = bad.nodes[move_gap.index()].clone() else {
        panic!("the move gap is a select");
    };
    bad.nodes[gap.index()] = Op::Select(is_ins, p, q1);
    bad.validate().unwrap();
    assert!(seq_agreement_of(&good, &input, &edits, 20)
        .problems
        .is_empty());
    let caught = seq_agreement_of(&bad, &input, &edits, 20);
    assert!(
        caught.problems.iter().any(|p| p.contains("after step 1")),
        "{:?}",
        caught.problems
    );
    // A move forwards and an insert are not affected: the comparison is specific.
    let forward = [Edit::Move { from: 1, to: 3 }];
    assert!(seq_agreement_of(&bad, &input, &forward, 20)
        .problems
        .is_empty());
    // Without its delete head the program never shrinks the canvas: also caught.
    let mut no_delete = good.clone();
    no_delete.heads.delete = no_delete.heads.insert;
    let caught = seq_agreement_of(&no_delete, &input, &[Edit::Delete { at: 2 }], 20);
    assert!(!caught.problems.is_empty());
}
