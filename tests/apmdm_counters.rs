//! No counters on the AP-MDM canvas (`proofs/apmdm.md`, "No counters on the canvas"): the header
//! and the slots hold the round modulo a constant and no work; the runner counts T, W and P from
//! the successive headers, stops a run before a round past the declared rounds or work, and makes
//! an outcome's round whole. Compiled here with the modulus 4 (instead of 2^16) so that short
//! runs wrap the field several times; every result is compared with the interpreter's.

use apmdm::compile::apmdm_run::{current_header, run_apmdm};
use apmdm::compile::envelope::{Envelope, Target, FORMAT};
use apmdm::compile::envelope_layout::Layout;
use apmdm::compile::envelope_run::run_envelope;
use apmdm::compile::pram_to_apmdm::{initial_canvas, pram_to_apmdm_in, ApmdmMode};
use apmdm::compile::pram_to_mdm::{hf, CompileLimits};
use apmdm::machine::{Stop, Token};
use apmdm::pram::{self, Metric, Outcome, Program, RunConfig};
use apmdm::seq::{Evaluator, Word};

const MODULUS: i64 = 4;

fn parse(source: &str) -> Program {
    pram::parse("counters.pram", source).unwrap()
}

fn limits(modulus: i64) -> CompileLimits {
    CompileLimits {
        apmdm_round_modulus: modulus,
        ..CompileLimits::default()
    }
}

/// A program of `rounds` sequential rounds bounded as `bounds`, then a pardo of `wide`
/// processors, then one more round.
fn looping(bounds: &str, rounds: u32, wide: u32) -> Program {
    parse(&format!(
        "program counters; model crew; word 20;\nshared x; shared Y[8];\noutput x; output Y;\n\
         bounds {{ {bounds} }}\nfor i in 0..{rounds} {{ x = x + i; }}\n\
         pardo p in 0..{wide} {{ Y[p] = x + p; }}\nx = x * 2;\n"
    ))
}

/// Runs `program` at n = 1 on the interpreter and on the AP-MDM in both layouts (modulus
/// `MODULUS`); asserts outcome, output and T, P, W, S equal, that no header or slot field on any
/// canvas holds a round of `MODULUS` or more and no header a work count, and that the run
/// through the envelope alone (`apmdm step`'s path) decodes the same result. Returns the outcome.
fn agrees(program: &Program) -> Outcome {
    let config = RunConfig::new(1);
    let want = pram::run(program, &config).unwrap();
    for mode in [ApmdmMode::Declared, ApmdmMode::Tight] {
        let compiled = pram_to_apmdm_in(program, 1, &limits(MODULUS), mode).unwrap();
        let (got, run) = run_apmdm(&compiled, program, &config, Evaluator::Indexed, true).unwrap();
        assert_eq!(got.outcome, want.outcome, "{mode:?}");
        assert_eq!(got.output, want.output, "{mode:?}");
        assert_eq!(got.metrics, want.metrics, "{mode:?}");
        // The runner's count after the last step is the rounds started: T, and the refused
        // round where the runner stopped the run before it.
        let counted = got.per_step.last().unwrap().round;
        let refused = matches!(run.stop, Stop::CallerCap { .. }) as u64;
        assert_eq!(counted, want.metrics.rounds + refused, "{mode:?}");
        let mut fields_seen = 0;
        for record in &run.trace.records {
            let after = &record.detail.as_ref().unwrap().after;
            for t in after.tokens() {
                if let Token::Sym(Word(w)) = t {
                    if w[0] == 1 {
                        assert!(
                            (0..MODULUS).contains(&w[hf::T]),
                            "header round {}",
                            w[hf::T]
                        );
                        assert_eq!(w[hf::W], 0, "a header carries work");
                        fields_seen += 1;
                    } else if w[0] == 3 {
                        assert!((0..MODULUS).contains(&w[1]), "slot round {}", w[1]);
                        fields_seen += 1;
                    }
                }
            }
        }
        assert!(fields_seen > 0);
        // The envelope alone: no program, no interpreter.
        let envelope = Envelope {
            format: FORMAT,
            target: Target::Apmdm,
            program: "counters".into(),
            n: 1,
            layout: Layout::apmdm(&compiled, program),
            seq: compiled.seq.clone(),
        };
        let x0 = initial_canvas(&compiled, program, &config).unwrap();
        let e = run_envelope(&envelope, x0, compiled.max_steps, Evaluator::Indexed);
        let decoded = e.decoded.expect("decoded").expect("readable");
        assert_eq!(decoded.outcome, want.outcome, "envelope, {mode:?}");
        assert_eq!(decoded.metrics, want.metrics, "envelope, {mode:?}");
        assert_eq!(e.steps, got.steps, "envelope, {mode:?}");
    }
    want.outcome
}

#[test]
fn a_run_of_many_rounds_wraps_the_round_field_and_agrees() {
    // 10 loop rounds plus tests, a pardo of 5 and one more: T = 23, three times the modulus.
    let p = looping(
        "rounds <= 30; processors <= 5; work <= 40; space <= 9;",
        10,
        5,
    );
    assert_eq!(agrees(&p), Outcome::Ok);
}

#[test]
fn rounds_past_the_declared_bound_are_stopped_by_the_runner() {
    let p = looping(
        "rounds <= 13; processors <= 5; work <= 40; space <= 9;",
        10,
        5,
    );
    let outcome = agrees(&p);
    assert!(
        matches!(
            outcome,
            Outcome::BoundExceeded {
                metric: Metric::Rounds,
                measured: 14,
                bound: 13,
                round: 14
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn work_past_the_declared_bound_is_stopped_by_the_runner() {
    // The pardo's 5 processors take the work from 21 to 26 > 24.
    let p = looping(
        "rounds <= 30; processors <= 5; work <= 24; space <= 9;",
        10,
        5,
    );
    let outcome = agrees(&p);
    assert!(
        matches!(
            outcome,
            Outcome::BoundExceeded {
                metric: Metric::Work,
                ..
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_round_past_both_rounds_and_processors_is_stopped_for_its_rounds() {
    // The pardo is round 22 with 6 processors: past rounds <= 21 and processors <= 5. The
    // transition refuses it for its processors; the interpreter checks rounds first.
    let p = looping(
        "rounds <= 21; processors <= 5; work <= 40; space <= 9;",
        10,
        6,
    );
    let outcome = agrees(&p);
    assert!(
        matches!(
            outcome,
            Outcome::BoundExceeded {
                metric: Metric::Rounds,
                measured: 22,
                bound: 21,
                round: 22
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn a_fault_after_the_field_wrapped_reports_its_whole_round() {
    // 7 doublings of 10 pass the 10-bit word at the 7th: round 7, its field 7 mod 4 = 3.
    let p = parse(
        "program doubling; model erew; word 10;\nshared x; output x;\n\
         bounds { rounds <= 12; processors <= 1; work <= 12; space <= 1; }\n\
         x = 10;\nx = x * 2;\nx = x * 2;\nx = x * 2;\nx = x * 2;\nx = x * 2;\nx = x * 2;\n",
    );
    let outcome = agrees(&p);
    match outcome {
        Outcome::Fault(f) => assert_eq!(f.round, 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_header_holds_the_round_modulo_2_to_the_16_by_default() {
    // The default modulus is the CRCW-arbitrary draw's, and a CRCW-arbitrary program refuses
    // any other; a modulus that is not a power of two is refused.
    let p = looping(
        "rounds <= 30; processors <= 5; work <= 40; space <= 9;",
        3,
        2,
    );
    let c = pram_to_apmdm_in(&p, 1, &CompileLimits::default(), ApmdmMode::Declared).unwrap();
    assert_eq!(c.round_modulus, 1 << 16);
    let config = RunConfig::new(1);
    let x0 = initial_canvas(&c, &p, &config).unwrap();
    assert_eq!(current_header(&x0).unwrap().0[hf::T], 0);
    assert!(pram_to_apmdm_in(&p, 1, &limits(6), ApmdmMode::Declared).is_err());
    let arbitrary = parse(
        "program a; model crcw-arbitrary; word 16;\nshared x; output x;\n\
         bounds { rounds <= 2; processors <= 4; work <= 8; space <= 1; }\n\
         pardo p in 0..4 { x = p; }\n",
    );
    let e = pram_to_apmdm_in(&arbitrary, 1, &limits(4), ApmdmMode::Declared).unwrap_err();
    assert!(e.to_string().contains("modulo 65536"), "{e}");
    assert!(pram_to_apmdm_in(
        &arbitrary,
        1,
        &CompileLimits::default(),
        ApmdmMode::Declared
    )
    .is_ok());
}
