//! Property tests of g with fixed seeds: the step rule characterized through payloads, counts, replay.

use apmdm::machine::{
    apply, run, Canvas, ControlBits, FnStep, ModelClass, PositionOp, Proposal, RunConfig,
    StepFunction, StepFunctionError, Stop, Token, Trace,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(0x0A9D_2510),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A random step: x over {a, b, c, M}, y over {a, b, c}, and arbitrary bits.
fn step_inputs() -> impl Strategy<Value = (Vec<Token<char>>, Vec<char>, Vec<ControlBits>)> {
    (0usize..24).prop_flat_map(|len| {
        let token = prop_oneof![
            Just(Token::Mask),
            prop::sample::select(vec!['a', 'b', 'c']).prop_map(Token::Sym)
        ];
        (
            prop::collection::vec(token, len),
            prop::collection::vec(prop::sample::select(vec!['a', 'b', 'c']), len),
            prop::collection::vec(
                (0u8..8).prop_map(|c| ControlBits::from_code(c).unwrap()),
                len,
            ),
        )
    })
}

fn indexed(x: Vec<Token<char>>) -> Canvas<char, usize> {
    let payloads = (0..x.len()).collect();
    Canvas::with_payloads(x, payloads).unwrap()
}

proptest! {
    #![proptest_config(config())]

    /// Each position i of x, read back through the payloads of x', appears exactly as the rule
    /// says: not at all if it was a deleted mask; otherwise once with M (remask), y_i (a mask),
    /// or x_i (kept), then once more as M if it inserted; and positions keep their order.
    #[test]
    fn g_is_characterized_position_by_position((x, y, bits) in step_inputs()) {
        let t = apply(&indexed(x.clone()), &y, &bits).unwrap();
        let origins = t.next.payloads();
        prop_assert!(origins.windows(2).all(|w| w[0] <= w[1]));
        for i in 0..x.len() {
            let out: Vec<&Token<char>> = t.next.tokens().iter().zip(origins)
                .filter(|(_, &o)| o == i).map(|(tok, _)| tok).collect();
            let deleted = x[i].is_mask() && bits[i].delete;
            if deleted {
                prop_assert!(out.is_empty());
                prop_assert_eq!(t.actions[i].op, PositionOp::Delete);
                continue;
            }
            let first = if bits[i].remask {
                Token::Mask
            } else if x[i].is_mask() {
                Token::Sym(y[i])
            } else {
                x[i]
            };
            prop_assert_eq!(out[0], &first);
            prop_assert_eq!(out.len(), 1 + usize::from(bits[i].insert));
            if bits[i].insert {
                prop_assert_eq!(out[1], &Token::Mask);
            }
        }
    }

    /// Operation counts cover every old position once, and the length changes by
    /// insert - delete; with no insert and no delete bits the length is preserved.
    #[test]
    fn counts_add_up_and_length_follows((x, y, bits) in step_inputs()) {
        let t = apply(&indexed(x.clone()), &y, &bits).unwrap();
        let c = t.counts;
        prop_assert_eq!(c.positions(), x.len() as u64);
        prop_assert_eq!(t.next.len() as u64, x.len() as u64 - c.delete + c.insert);
        let deleted = x.iter().zip(&bits).filter(|(t, b)| t.is_mask() && b.delete).count();
        prop_assert_eq!(c.delete, deleted as u64);
        let plain: Vec<ControlBits> = bits.iter()
            .map(|b| ControlBits { insert: false, delete: false, ..*b }).collect();
        prop_assert_eq!(apply(&indexed(x.clone()), &y, &plain).unwrap().next.len(), x.len());
        // Delete never removes a decoded token.
        let decoded_before = x.iter().filter(|t| !t.is_mask()).count() as u64;
        let decoded_after = t.next.tokens().iter().filter(|t| !t.is_mask()).count() as u64;
        prop_assert_eq!(decoded_after, decoded_before - c.remask + c.unmask);
    }

    /// Remask beats unmask beats keep, whatever else is set.
    #[test]
    fn precedence_of_remask_unmask_keep((x, y, bits) in step_inputs()) {
        let t = apply(&indexed(x.clone()), &y, &bits).unwrap();
        for (i, a) in t.actions.iter().enumerate() {
            let expected = match (x[i].is_mask(), bits[i].delete, bits[i].remask) {
                (true, true, _) => PositionOp::Delete,
                (true, false, true) => PositionOp::Hold,
                (false, _, true) => PositionOp::Remask,
                (true, false, false) => PositionOp::Unmask,
                (false, _, false) => PositionOp::Keep,
            };
            prop_assert_eq!(a.op, expected);
        }
    }

    /// A recorded run of a random AP-MDM replays through g, survives JSONL, and a tampered
    /// record is caught at its own step.
    #[test]
    fn recorded_traces_replay(seed in any::<u64>(), len in 0usize..12) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let mut f = FnStep(move |x: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            Ok(Proposal {
                tokens: x.iter().map(|_| ['a', 'b', 'c'][next() as usize % 3]).collect(),
                bits: x.iter().map(|_| ControlBits::from_code((next() % 8) as u8).unwrap()).collect(),
            })
        });
        let x0: Canvas<char, usize> = indexed(vec![Token::Mask; len]);
        let cfg = RunConfig::new(ModelClass::ApMdm).max_steps(20).max_length(64).full_trace();
        let r = run(&mut f, x0, &cfg);
        prop_assert!(r.stop.error().is_none());
        r.trace.replay().unwrap();
        let back = Trace::<char, usize>::from_jsonl(&r.trace.to_jsonl()).unwrap();
        prop_assert_eq!(&back, &r.trace);
        if let Some(last) = r.trace.records.len().checked_sub(1) {
            let mut tampered = r.trace.clone();
            let d = tampered.records[last].detail.as_mut().unwrap();
            d.after.set_token(0, Token::Sym('z'));
            if d.after.is_empty() {
                d.after = indexed(vec![Token::Sym('z')]);
            }
            let err = tampered.replay().unwrap_err();
            prop_assert_eq!(err.step, last + 1);
        }
    }
}

/// The runner's caps and error stops, on tiny machines.
#[test]
fn caps_and_failures_are_reported_stops() {
    // An AP-MDM that inserts after every position doubles the length each step.
    let mut doubling = FnStep(
        |x: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            Ok(Proposal {
                tokens: vec!['a'; x.len()],
                bits: vec![ControlBits::REMASK.with_insert(); x.len()],
            })
        },
    );
    let x0: Canvas<char> = Canvas::new(vec![Token::Mask]);
    let r = run(
        &mut doubling,
        x0.clone(),
        &RunConfig::new(ModelClass::ApMdm).max_length(16),
    );
    assert_eq!(
        r.stop,
        Stop::LengthCap {
            length: 32,
            max_length: 16
        }
    );
    assert_eq!((r.steps(), r.context_length(), r.last.len()), (4, 16, 16));

    let r = run(
        &mut doubling,
        x0.clone(),
        &RunConfig::new(ModelClass::ApMdm).max_steps(3),
    );
    assert_eq!(r.stop, Stop::StepCap { max_steps: 3 });
    assert_eq!((r.steps(), r.context_length()), (3, 8));

    let mut failing = FnStep(
        |_: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            Err(StepFunctionError("model exploded".into()))
        },
    );
    let r = run(&mut failing, x0.clone(), &RunConfig::new(ModelClass::ApMdm));
    assert_eq!(
        r.stop,
        Stop::StepFunctionFailed {
            step: 1,
            message: "model exploded".into()
        }
    );
    assert!(r
        .into_result()
        .unwrap_err()
        .to_string()
        .contains("model exploded"));

    let mut short = FnStep(
        |_: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            Ok(Proposal {
                tokens: vec![],
                bits: vec![],
            })
        },
    );
    let r = run(&mut short, x0, &RunConfig::new(ModelClass::ApMdm));
    assert!(
        matches!(r.stop, Stop::BadProposal { step: 1, .. }),
        "{:?}",
        r.stop
    );
    assert_eq!(r.steps(), 0);
}

/// Steps after halting change nothing: a machine restarted from its own final sequence takes no
/// step, and a fixed point is not counted.
#[test]
fn restarting_from_a_fixed_point_takes_no_step() {
    let mut f = apmdm::machine::library::ParityEliminator;
    let bits = [true, false, true, true, false, true, true];
    let x0 = apmdm::machine::library::parity_canvas(&bits);
    let cfg = RunConfig::new(ModelClass::ApMdm);
    let first = run(&mut f, x0, &cfg);
    assert_eq!(first.stop, Stop::FixedPoint);
    let again = run(&mut f, first.last.clone(), &cfg);
    assert_eq!(
        (again.steps(), &again.stop, &again.last),
        (0, &Stop::FixedPoint, &first.last)
    );
}

/// `StepFunction` is object safe: compiled programs and models can be boxed.
#[test]
fn step_functions_can_be_boxed() {
    let mut boxed: Box<dyn StepFunction<apmdm::machine::library::ParityToken>> =
        Box::new(apmdm::machine::library::ParityEliminator);
    let r = run(
        boxed.as_mut(),
        apmdm::machine::library::parity_canvas(&[true, true]),
        &RunConfig::new(ModelClass::ApMdm),
    );
    assert_eq!(apmdm::machine::render(r.last.tokens()), "BOS");
}
