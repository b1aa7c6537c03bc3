//! Every model class on hand-written machines: legal runs, and each kind of illegal step with its error.

use apmdm::machine::library::{
    parity_canvas, parity_reference, reverse_arm_canvas, reverse_canvas, ParityEliminator,
    ParityToken, ReverseArm, ReverseFill, Schedule, SplitMix64, END,
};
use apmdm::machine::{
    check_step, render, run, Canvas, ClassViolation, ControlBits, FnStep, ModelClass, Proposal,
    Rule, RunConfig, StepFunction, StepFunctionError, Stop, Token, TraceText,
};

/// Runs `f` from `x0` under `class` and returns the violation it stopped on.
fn violation<F: StepFunction<char>, P: Clone>(
    f: &mut F,
    x0: Canvas<char, P>,
    class: ModelClass,
) -> ClassViolation {
    match run(f, x0, &RunConfig::new(class).max_steps(1000)).stop {
        Stop::Violation(v) => v,
        other => panic!("expected a {class} violation, got {other:?}"),
    }
}

fn seq(text: &str) -> Vec<Token<char>> {
    text.chars()
        .map(|c| if c == '_' { Token::Mask } else { Token::Sym(c) })
        .collect()
}

fn bits(codes: &str) -> Vec<ControlBits> {
    codes
        .bytes()
        .map(|c| ControlBits::from_code(c - b'0').unwrap())
        .collect()
}

/// One step checked directly: `Ok` or (position, rule).
fn verdict(class: ModelClass, x: &str, b: &str) -> Result<(), (usize, Rule)> {
    check_step(class, 4, &seq(x), &bits(b)).map_err(|v| {
        assert_eq!((v.class, v.step), (class, 4));
        (v.position, v.rule)
    })
}

#[test]
fn parity_eliminator_decides_every_string_up_to_length_10_exactly() {
    for len in 0..=10usize {
        for code in 0u32..(1 << len) {
            let input: Vec<bool> = (0..len).map(|i| code >> i & 1 == 1).collect();
            check_parity(&input);
        }
    }
}

#[test]
fn parity_eliminator_on_long_random_strings() {
    let mut rng = SplitMix64(2510);
    for len in [50, 333, 1000, 4096] {
        check_parity(&rng.bits(len));
    }
}

fn check_parity(input: &[bool]) {
    let r = run(
        &mut ParityEliminator,
        parity_canvas(input),
        &RunConfig::new(ModelClass::ApMdm).max_steps(3 * input.len() + 10),
    );
    let odd = input.iter().filter(|&&b| b).count() % 2 == 1;
    let (reference_odd, reference_steps) = parity_reference(input);
    assert_eq!(reference_odd, odd);
    assert_eq!(r.stop, Stop::FixedPoint, "{input:?}");
    assert_eq!(render(r.last.tokens()), if odd { "BOS 1" } else { "BOS" });
    assert_eq!(r.steps(), reference_steps, "{input:?}");
    assert!(r.steps() <= 2 * input.len());
    // The procedure only ever shrinks the sequence.
    assert_eq!(r.context_length(), input.len() + 1);
    // A surviving 1 is one of the input's own bits: payloads track where it came from.
    if odd {
        let origin = r.last.payloads()[1];
        assert!(origin >= 1 && input[origin - 1]);
    }
}

#[test]
fn parity_leaves_a_trailing_eos_alone() {
    let mut x = parity_canvas(&[true, false, true, true]).tokens().to_vec();
    x.push(Token::Sym(ParityToken::Eos));
    let r = run(
        &mut ParityEliminator,
        Canvas::<ParityToken>::new(x),
        &RunConfig::new(ModelClass::ApMdm),
    );
    assert_eq!(render(r.last.tokens()), "BOS 1 EOS");
}

#[test]
fn parity_is_not_an_mdm_it_remasks_decoded_tokens() {
    let r = run(
        &mut ParityEliminator,
        parity_canvas(&[false, true]),
        &RunConfig::new(ModelClass::Mdm),
    );
    let Stop::Violation(v) = &r.stop else {
        panic!("{:?}", r.stop)
    };
    assert_eq!(
        (v.step, v.position, &v.rule),
        (1, 1, &Rule::RemaskOfDecodedToken)
    );
    assert_eq!(r.steps(), 0);
}

#[test]
fn each_reverse_machine_is_legal_in_its_own_class_and_shows_its_schedule() {
    let input = "abcdefghijk";
    for (schedule, class, steps) in [
        (Schedule::HeapLevels, ModelClass::Mdm, 4),
        (Schedule::RightToLeft, ModelClass::AoMdm, 11),
        (Schedule::LeftToRight, ModelClass::MaskedArm, 11),
    ] {
        let r = run(
            &mut ReverseFill(schedule),
            reverse_canvas(input),
            &RunConfig::new(class).full_trace(),
        );
        assert_eq!(r.stop, Stop::FixedPoint);
        assert_eq!(
            render(r.last.tokens()),
            "a b c d e f g h i j k | k j i h g f e d c b a"
        );
        assert_eq!((r.steps(), r.context_length()), (steps, 23));
        r.trace.replay().unwrap();
        // The any-order and left-to-right machines also satisfy the plain MDM class.
        let mdm = run(
            &mut ReverseFill(schedule),
            reverse_canvas(input),
            &RunConfig::new(ModelClass::Mdm),
        );
        assert_eq!(mdm.stop, Stop::FixedPoint);
        // And every legal run is a legal AP-MDM run with the same result.
        let ap = run(
            &mut ReverseFill(schedule),
            reverse_canvas(input),
            &RunConfig::new(ModelClass::ApMdm),
        );
        assert_eq!(ap.last, r.last);
    }
    // The MDM decodes heap levels in parallel: 1, 2, 4, then the remaining 4 outputs.
    let r = run(
        &mut ReverseFill(Schedule::HeapLevels),
        reverse_canvas(input),
        &RunConfig::new(ModelClass::Mdm),
    );
    let unmasks: Vec<u64> = r.trace.records.iter().map(|s| s.counts.unmask).collect();
    assert_eq!(unmasks, [1, 2, 4, 4]);
}

#[test]
fn ao_mdm_rejects_parallel_decoding_at_the_second_unmasked_mask() {
    // Step 1 of the heap schedule unmasks one mask (legal); step 2 unmasks outputs 1 and 2.
    let v = violation(
        &mut ReverseFill(Schedule::HeapLevels),
        reverse_canvas("abcdefg"),
        ModelClass::AoMdm,
    );
    assert_eq!(
        (v.step, v.position, v.rule),
        (2, 10, Rule::UnmaskCount { unmasked: 2 })
    );
}

#[test]
fn masked_arm_rejects_any_order_decoding() {
    let v = violation(
        &mut ReverseFill(Schedule::RightToLeft),
        reverse_canvas("abc"),
        ModelClass::MaskedArm,
    );
    assert_eq!(
        (v.step, v.position, v.rule),
        (1, 6, Rule::NotLeftmost { leftmost: 4 })
    );
}

#[test]
fn arm_appends_one_token_per_step_until_its_end_token() {
    let r = run(
        &mut ReverseArm,
        reverse_arm_canvas("abcd"),
        &RunConfig::new(ModelClass::Arm).end_token(END).full_trace(),
    );
    assert_eq!(r.stop, Stop::EndToken { position: 9 });
    assert_eq!(render(r.last.tokens()), "a b c d | d c b a $ M");
    assert_eq!((r.steps(), r.context_length()), (5, 11));
    let lengths: Vec<usize> = r.trace.records.iter().map(|s| s.length).collect();
    assert_eq!(lengths, [7, 8, 9, 10, 11]);
    r.trace.replay().unwrap();
    let text = TraceText(&r.trace).to_string();
    assert!(
        text.contains("u+"),
        "an ARM step shows an unmask with an insert:\n{text}"
    );
}

#[test]
fn arm_machine_breaks_the_mdm_and_mdm_machine_breaks_the_arm() {
    let v = violation(&mut ReverseArm, reverse_arm_canvas("ab"), ModelClass::Mdm);
    assert_eq!((v.step, v.position, v.rule), (1, 3, Rule::InsertForbidden));
    let v = violation(
        &mut ReverseFill(Schedule::LeftToRight),
        reverse_canvas("ab"),
        ModelClass::Arm,
    );
    assert_eq!((v.step, v.position, v.rule), (1, 3, Rule::ArmShape));
}

#[test]
fn arm_rules_step_by_step() {
    use ModelClass::Arm;
    assert_eq!(verdict(Arm, "ab_", "002"), Ok(()));
    assert_eq!(verdict(Arm, "ab_", "000"), Err((2, Rule::ArmTrailingStep)));
    assert_eq!(verdict(Arm, "ab_", "003"), Err((2, Rule::ArmTrailingStep)));
    assert_eq!(verdict(Arm, "ab_", "006"), Err((2, Rule::ArmTrailingStep)));
    assert_eq!(verdict(Arm, "ab_", "102"), Err((0, Rule::ArmPrefixChanged)));
    assert_eq!(verdict(Arm, "ab_", "042"), Err((1, Rule::ArmPrefixChanged)));
    assert_eq!(verdict(Arm, "a__", "002"), Err((1, Rule::ArmShape)));
    assert_eq!(verdict(Arm, "abc", "002"), Err((2, Rule::ArmShape)));
    assert_eq!(verdict(Arm, "", ""), Err((0, Rule::ArmShape)));
}

#[test]
fn mdm_rules_step_by_step() {
    use ModelClass::Mdm;
    // Unmask any set of masks in parallel, hold the others.
    assert_eq!(verdict(Mdm, "a___b", "00100"), Ok(()));
    assert_eq!(verdict(Mdm, "a___b", "00000"), Ok(()));
    assert_eq!(
        verdict(Mdm, "a___b", "02000"),
        Err((1, Rule::InsertForbidden))
    );
    assert_eq!(
        verdict(Mdm, "a___b", "00040"),
        Err((3, Rule::DeleteForbidden))
    );
    assert_eq!(
        verdict(Mdm, "a___b", "00004"),
        Err((4, Rule::DeleteForbidden))
    );
    assert_eq!(
        verdict(Mdm, "a___b", "10000"),
        Err((0, Rule::RemaskOfDecodedToken))
    );
}

#[test]
fn ao_mdm_and_masked_arm_rules_step_by_step() {
    use ModelClass::{AoMdm, MaskedArm};
    assert_eq!(verdict(AoMdm, "a___b", "01010"), Ok(()));
    assert_eq!(verdict(AoMdm, "a___b", "01100"), Ok(()));
    assert_eq!(
        verdict(AoMdm, "a___b", "01110"),
        Err((1, Rule::UnmaskCount { unmasked: 0 }))
    );
    assert_eq!(
        verdict(AoMdm, "a___b", "00000"),
        Err((2, Rule::UnmaskCount { unmasked: 3 }))
    );
    assert_eq!(
        verdict(AoMdm, "a___b", "00200"),
        Err((2, Rule::InsertForbidden))
    );
    // With no mask left, a step unmasks nothing and is legal (it is a fixed point).
    assert_eq!(verdict(AoMdm, "ab", "00"), Ok(()));
    assert_eq!(verdict(MaskedArm, "a___b", "00110"), Ok(()));
    assert_eq!(
        verdict(MaskedArm, "a___b", "01010"),
        Err((2, Rule::NotLeftmost { leftmost: 1 }))
    );
    assert_eq!(
        verdict(MaskedArm, "a___b", "00000"),
        Err((2, Rule::UnmaskCount { unmasked: 3 }))
    );
}

#[test]
fn ap_mdm_accepts_every_combination_of_bits() {
    for code in 0..8u8 {
        let b = char::from(b'0' + code).to_string().repeat(3);
        assert_eq!(verdict(ModelClass::ApMdm, "a_b", &b), Ok(()));
    }
}

#[test]
fn a_rejected_step_is_not_applied() {
    // An MDM that tries to insert at step 2: the trace ends at the last legal sequence.
    let mut calls = 0;
    let mut f = FnStep(
        |x: &[Token<char>]| -> Result<Proposal<char>, StepFunctionError> {
            calls += 1;
            let mut b = vec![ControlBits::REMASK; x.len()];
            b[0] = if calls == 1 {
                ControlBits::NONE
            } else {
                ControlBits::INSERT
            };
            if calls > 1 {
                b[1] = ControlBits::NONE;
            }
            Ok(Proposal {
                tokens: vec!['z'; x.len()],
                bits: b,
            })
        },
    );
    let r = run(
        &mut f,
        Canvas::<char>::new(seq("___")),
        &RunConfig::new(ModelClass::Mdm),
    );
    assert_eq!(r.steps(), 1);
    assert_eq!(render(r.last.tokens()), "z M M");
    assert!(matches!(
        r.stop,
        Stop::Violation(ClassViolation {
            step: 2,
            position: 0,
            ..
        })
    ));
}
