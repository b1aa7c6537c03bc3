//! Theorem 3's transformations: library rows and the reverse machine pass MDM -> AO-MDM ->
//! Masked ARM; applying f one position at a time without the step tags diverges; the read-back
//! refuses records it cannot place.

use apmdm::check::thm3::{check_reverse_case, check_thm3_case};
use apmdm::check::verdict::Status;
use apmdm::compile::pram_to_mdm::{initial_canvas, pram_to_mdm, CompileLimits};
use apmdm::machine::{self, Canvas, FnStep, ModelClass, StepFunction, Token};
use apmdm::pram::{library, RunConfig};
use apmdm::seq::{Evaluator, SeqStep, Word};
use apmdm::transform::ao_to_marm::{GIVEN, PLACEHOLDER, RECORD, STUCK};
use apmdm::transform::{read_back, ReadBackError};

#[test]
fn library_rows_pass_every_step() {
    for name in ["prefix_sum", "list_ranking"] {
        let program = library::load(name).unwrap().unwrap();
        let row = check_thm3_case(
            &program,
            &RunConfig::new(2),
            &CompileLimits::default(),
            u64::MAX,
        )
        .unwrap();
        assert_eq!(row.status, Status::Pass, "{name}: {:?}", row.problems);
        assert_eq!(Some(row.mdm_steps_agreeing), row.mdm_steps);
        assert_eq!(row.ao_steps, Some(row.masks));
        assert_eq!(row.marm_steps, Some(row.masks));
        assert_eq!(row.marm_steps_agreeing, row.masks);
        assert_eq!(row.marm_context, Some(row.context + row.masks));
        assert_eq!(row.agree, Some(true));
        assert!(row.f_marm.attention <= row.f.attention + 4);
    }
}

#[test]
fn the_reverse_machine_goes_the_same_path() {
    let row = check_reverse_case(5);
    assert_eq!(row.status, Status::Pass, "{:?}", row.problems);
    assert_eq!((row.ao_steps, row.marm_steps), (Some(5), Some(5)));
    assert_eq!(row.marm_context, Some(11 + 5));
}

/// Decoding each MDM step's positions one at a time, lowest first, with the MDM's own f on the
/// current canvas: each decoded position changes what the others see, and the run ends
/// elsewhere (or stops) instead of reproducing the MDM.
#[test]
fn one_position_at_a_time_without_tags_diverges() {
    let program = library::load("prefix_sum").unwrap().unwrap();
    let compiled = pram_to_mdm(&program, 2, &CompileLimits::default()).unwrap();
    let x0 = initial_canvas(&compiled, &program, &RunConfig::new(2)).unwrap();
    let mut mdm_f = SeqStep::new(compiled.seq.clone(), Evaluator::Indexed);
    let mdm = machine::run(
        &mut mdm_f,
        Canvas::<Word>::new(x0.clone()),
        &machine::RunConfig::new(ModelClass::Mdm),
    );
    assert!(mdm.stop.error().is_none());
    let mut inner = SeqStep::new(compiled.seq.clone(), Evaluator::Indexed);
    let mut lowest_first = FnStep(|x: &[Token<Word>]| {
        let mut p = inner.propose(x)?;
        let first = (0..x.len()).find(|&i| x[i].is_mask() && !p.bits[i].remask);
        for (i, t) in x.iter().enumerate() {
            if t.is_mask() && Some(i) != first {
                p.bits[i].remask = true;
            }
        }
        Ok(p)
    });
    let ao = machine::run(
        &mut lowest_first,
        Canvas::<Word>::new(x0.clone()),
        &machine::RunConfig::new(ModelClass::AoMdm).max_steps(x0.len() + 1),
    );
    assert!(
        ao.stop.error().is_some() || ao.last.tokens() != mdm.last.tokens(),
        "the untagged one-at-a-time run reproduced the MDM"
    );
}

#[test]
fn read_back_refuses_what_it_cannot_place() {
    let w = |v: Vec<i64>| Token::Sym(Word(v));
    // x_0 = [a, M] over one field; one record slot.
    let base = vec![w(vec![GIVEN, 0, 7]), w(vec![PLACEHOLDER, 0, 0])];
    let mut ok = base.clone();
    ok.push(w(vec![RECORD, 1, 9]));
    assert_eq!(read_back(&ok, 2, 1).unwrap(), vec![w(vec![7]), w(vec![9])]);
    let mut given = base.clone();
    given.push(w(vec![RECORD, 0, 9]));
    assert_eq!(
        read_back(&given, 2, 1),
        Err(ReadBackError::BadPosition {
            slot: 2,
            position: 0
        })
    );
    let mut stuck = base.clone();
    stuck.push(w(vec![STUCK, 0, 0]));
    assert_eq!(read_back(&stuck, 2, 1), Err(ReadBackError::Stuck(2)));
    let mut pending = base;
    pending.push(Token::Mask);
    assert_eq!(
        read_back(&pending, 2, 1).unwrap(),
        vec![w(vec![7]), Token::Mask]
    );
}
