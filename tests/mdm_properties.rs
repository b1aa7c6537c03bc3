//! Property tests of pram_to_mdm with fixed seeds: on random programs (sequential control, rounds
//! with branches, scoped allocation, every access model, faults and violations included) the
//! compiled MDM schedule reproduces the interpreter exactly, and steps after halting change
//! nothing.

use apmdm::compile::mdm_run::{run_from, run_mdm};
use apmdm::compile::pram_to_mdm::{initial_canvas, pram_to_mdm, CompileLimits};
use apmdm::machine::{Canvas, Token};
use apmdm::pram::{self, AccessModel, Outcome, RunConfig};
use apmdm::seq::{propose, Evaluator};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0A9D_0004),
        failure_persistence: None,
        ..Config::default()
    }
}

/// An expression over `index`, reads of `A`, `B` and the scoped `C`, and every operator.
fn expr_over(index: &'static str, scoped: bool) -> impl Strategy<Value = String> {
    let c_read = if scoped {
        format!("C[{index} % n]")
    } else {
        format!("A[{index} % n]")
    };
    let leaf = prop_oneof![
        Just(index.to_string()),
        Just("n".to_string()),
        (-3i64..40).prop_map(|c| format!("({c})")),
        Just(format!("A[{index} % n]")),
        Just(c_read),
        Just("s".to_string()),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "&", "|", "^",
            "<<", ">>",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, {b})")),
            inner.clone().prop_map(|a| format!("log2(max({a}, 1))")),
            inner.clone().prop_map(|a| format!("A[({a}) % n]")),
            inner.clone().prop_map(|a| format!("B[({a}) % n]")),
            inner.prop_map(|a| format!("-{a}")),
        ]
    })
}

/// A statement of a round body.
fn round_stmt(scoped: bool) -> impl Strategy<Value = String> {
    let e = move || expr_over("i", scoped);
    let target = if scoped { "C" } else { "B" };
    prop_oneof![
        (e(), e()).prop_map(move |(i, v)| format!("{target}[({i}) % n] = {v};")),
        (e(), e()).prop_map(|(i, v)| format!("A[({i}) % n] = {v};")),
        e().prop_map(|v| format!("s = {v};")),
        (e(), e(), e()).prop_map(|(c, a, b)| format!(
            "if {c} {{ B[i] = {a}; }} else {{ let t = {b}; A[i] = t; }}"
        )),
    ]
}

/// A well-formed program with declared bounds: a `for` loop of rounds, a scoped array filled and
/// read, a `while` loop, a sequential `if` with reads, and a last assignment.
fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(round_stmt(false), 1..3),
        prop::collection::vec(round_stmt(true), 1..3),
        expr_over("n", false),
        expr_over("n", false),
        16i64..40,
        0usize..5,
        1i64..4,
    )
        .prop_map(|(body, scoped_body, test, last, word, model, loops)| {
            format!(
                "program random; model {}; word {word};\n\
                 input A[n] = random(0, 50);\nshared B[n];\nshared s;\nshared c;\noutput A, B, s;\n\
                 bounds {{ rounds <= 40; processors <= 2 * n; work <= 40 * n + 40; }}\n\
                 for r in 0..{loops} {{\n  pardo i in 0..n, j in 0..2 {{\n    {}\n  }}\n}}\n\
                 alloc C[n] {{\n  pardo i in 0..n {{\n    {}\n  }}\n  pardo i in 0..n {{ B[i] = B[i] + C[i]; }}\n}}\n\
                 while c < 2 {{ c = c + 1; }}\n\
                 if {test} {{ s = A[0]; }} else {{ B[0] = s; }}\n\
                 s = {last};\n",
                AccessModel::ALL[model].1.replace('-', "_"),
                body.join("\n    "),
                scoped_body.join("\n    "),
            )
        })
}

fn run_config(n: i64, seed: u64) -> RunConfig {
    let mut c = RunConfig::new(n);
    c.seed = seed;
    c
}

proptest! {
    #![proptest_config(config(96))]

    /// Interpreter == compiled MDM: outcome (faults and violations included, canonically),
    /// output and metrics, on random programs, sizes, seeds and models.
    #[test]
    fn random_programs_agree(source in program(), n in 1i64..6, seed in 0u64..3) {
        let program = pram::parse("random.pram", &source)
            .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
        let config = run_config(n, seed);
        let want = pram::run(&program, &config).unwrap();
        let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
        let (got, _) = run_mdm(&compiled, &program, &config, Evaluator::Indexed, false)
            .unwrap_or_else(|e| panic!("{e}\n{source}"));
        // Declared bounds exceeded included: both stop before the round that would exceed one
        // (proofs/bounds.md), so nothing is carved out.
        prop_assert_eq!(&got.outcome, &want.outcome, "\n{}", source);
        prop_assert_eq!(&got.output, &want.output, "\n{}", source);
        prop_assert_eq!(&got.metrics, &want.metrics, "\n{}", source);
        prop_assert_eq!(got.steps as u64, want.metrics.rounds + 1);
    }
}

/// After the final step the canvas has no mask: f proposes nothing new, and g leaves it as it is.
#[test]
fn steps_after_halting_change_nothing() {
    for name in ["prefix_sum", "tqbf", "dyck"] {
        let program = pram::library::load(name).unwrap().unwrap();
        let config = run_config(3, 2);
        let compiled = pram_to_mdm(&program, 3, &CompileLimits::default()).unwrap();
        let (report, run) =
            run_mdm(&compiled, &program, &config, Evaluator::Indexed, false).unwrap();
        assert!(run.last.tokens().iter().all(|t| !t.is_mask()), "{name}");
        let proposal = propose(&compiled.seq, run.last.tokens(), Evaluator::Indexed).unwrap();
        assert!(
            proposal
                .bits
                .iter()
                .all(|b| !b.remask && !b.insert && !b.delete),
            "{name}"
        );
        // Running again from the final canvas takes no step and reads the same result.
        let (again, _) = run_from(
            &compiled,
            &program,
            run.last.clone(),
            Evaluator::Indexed,
            false,
        )
        .unwrap();
        assert_eq!(again.steps, 0, "{name}");
        assert_eq!(again.outcome, report.outcome, "{name}");
        assert_eq!(again.output, report.output, "{name}");
        assert_eq!(again.metrics, report.metrics, "{name}");
    }
}

/// The input lives in the canvas: different seeds give different canvases of one length for one
/// compiled f; and the operator count does not grow with n. (That f itself is the same bytes for
/// every seed and input is a property of the compiler's signature, which takes neither; the CLI
/// test `the_emitted_step_function_is_the_same_bytes_for_every_seed_and_input` checks the bytes
/// written.)
#[test]
fn the_input_lives_in_the_canvas_and_f_does_not_grow_with_n() {
    for (name, _) in pram::library::PROGRAMS {
        let program = pram::library::load(name).unwrap().unwrap();
        let limits = CompileLimits::default();
        let mut counts = Vec::new();
        for n in [1i64, 2, 3, 4] {
            let Ok(a) = pram_to_mdm(&program, n, &limits) else {
                continue;
            };
            // Different seeds give different canvases (inputs) for the one step function.
            let x1 = initial_canvas(&a, &program, &run_config(n, 1)).unwrap();
            let x2 = initial_canvas(&a, &program, &run_config(n, 2)).unwrap();
            assert_eq!(x1.len(), x2.len());
            // The input lives in the canvas, not in f: programs with generated inputs get
            // different canvases from different seeds under the same f.
            if n >= 3 && program.arrays.iter().any(|a| a.input) {
                assert_ne!(x1, x2, "{name} at n = {n}: the seed changed nothing");
            }
            counts.push(a.seq.nodes.len());
        }
        // Constants change with n (word range, array places), the operator count does not
        // grow: the seq program is a fixed circuit per program, up to constant folding.
        let first = counts[0];
        assert!(counts.iter().all(|&c| c <= first + 8), "{name}: {counts:?}");
    }
}

/// Fault injection: after a decoding step, overwrite one memory token (the given cell A[5]) and
/// continue decoding; the result equals the interpreter started from that modified memory, so
/// the schedule reads memory from the canvas and nowhere else.
#[test]
fn an_overwritten_memory_token_equals_the_interpreter_on_modified_memory() {
    use apmdm::compile::pram_to_mdm::kind;
    let program = pram::library::load("prefix_sum").unwrap().unwrap();
    let n = 8;
    let config = run_config(n, 3);
    let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
    // One decoding step: round 1 is the `for` loop's first test (no memory access); the first
    // pardo, which reads A, is round 2.
    let x0 = initial_canvas(&compiled, &program, &config).unwrap();
    let x: Canvas<apmdm::seq::Word> = Canvas::new(x0);
    let p = propose(&compiled.seq, x.tokens(), Evaluator::Indexed).unwrap();
    let x = apmdm::machine::apply(&x, &p.tokens, &p.bits).unwrap().next;
    assert_eq!(
        x.tokens().iter().filter(|t| !t.is_mask()).count(),
        2 + n as usize + 1
    );
    // Every input cell A[i] is given; overwrite A[5]'s token with 1000.
    let mut tokens: Vec<Token<apmdm::seq::Word>> = x.tokens().to_vec();
    let pos = tokens
        .iter()
        .position(|t| matches!(t, Token::Sym(w) if w.0[0] == kind::GIVEN && w.0[1] == 5))
        .unwrap();
    if let Token::Sym(w) = &mut tokens[pos] {
        w.0[2] = 1000;
    }
    let (got, _) = run_from(
        &compiled,
        &program,
        Canvas::new(tokens),
        Evaluator::Indexed,
        false,
    )
    .unwrap();
    let mut modified = config.clone();
    let mut a = pram::inputs(&program, &config).unwrap();
    a.get_mut("A").unwrap()[5] = 1000;
    modified.inputs = a;
    let want = pram::run(&program, &modified).unwrap();
    assert_eq!(got.output, want.output);
    assert_eq!(got.metrics, want.metrics);
}

/// The random programs above are not vacuous: drawn the same way, they end in every kind of
/// outcome (ok, fault, violation), and the compiled schedule agrees on each.
#[test]
fn random_programs_cover_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config(1));
    let (mut ok, mut faults, mut violations) = (0, 0, 0);
    for k in 0..120u64 {
        let source = program().new_tree(&mut runner).unwrap().current();
        let n = 1 + (k % 5) as i64;
        let program = pram::parse("random.pram", &source).unwrap();
        let config = run_config(n, k % 3);
        let want = pram::run(&program, &config).unwrap();
        let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
        let (got, _) = run_mdm(&compiled, &program, &config, Evaluator::Indexed, false).unwrap();
        match &want.outcome {
            Outcome::Ok => ok += 1,
            Outcome::Fault(_) => faults += 1,
            Outcome::Violation(_) => violations += 1,
            _ => continue,
        }
        assert_eq!(got.outcome, want.outcome, "{source}");
        assert_eq!(got.output, want.output, "{source}");
    }
    assert!(
        ok > 0 && faults > 0 && violations > 0,
        "ok {ok}, faults {faults}, violations {violations}"
    );
    eprintln!("ok {ok}, faults {faults}, violations {violations}");
}

/// Injected schedule faults are caught: a step function that changes one decoded value (a
/// processor's write) makes the read-back result disagree with the interpreter, and one that
/// rewrites an already decoded token is stopped by the MDM class check at that step.
#[test]
fn injected_schedule_faults_are_caught() {
    use apmdm::compile::pram_to_mdm::{kind, sf};
    use apmdm::machine::{self, ModelClass, Proposal, StepFunction, StepFunctionError};
    use apmdm::seq::{SeqStep, Word};

    struct Faulty {
        inner: SeqStep,
        step: usize,
        at: usize,
        mode: u8,
    }
    impl StepFunction<Word> for Faulty {
        fn propose(&mut self, x: &[Token<Word>]) -> Result<Proposal<Word>, StepFunctionError> {
            let mut p = self.inner.propose(x)?;
            self.step += 1;
            if self.step == self.at {
                if self.mode == 0 {
                    // Corrupt the first decoded write of this step.
                    for (i, t) in x.iter().enumerate() {
                        let w = &mut p.tokens[i];
                        if t.is_mask()
                            && !p.bits[i].remask
                            && w.0[0] == kind::SLOT
                            && w.0[sf::WRITES] >= 0
                        {
                            w.0[sf::WRITES + 1] += 1;
                            break;
                        }
                    }
                } else {
                    // Remask the start token (decoded tokens never change in an MDM).
                    p.bits[0].remask = true;
                }
            }
            Ok(p)
        }
    }

    let program = pram::library::load("prefix_sum").unwrap().unwrap();
    let n = 8;
    let config = run_config(n, 1);
    let want = pram::run(&program, &config).unwrap();
    let compiled = pram_to_mdm(&program, n, &CompileLimits::default()).unwrap();
    let x0 = initial_canvas(&compiled, &program, &config).unwrap();
    let class = machine::RunConfig::new(ModelClass::Mdm)
        .max_steps(100)
        .max_length(compiled.regions.length);
    for mode in [0u8, 1] {
        let mut f = Faulty {
            inner: SeqStep::new(compiled.seq.clone(), Evaluator::Indexed),
            step: 0,
            at: 2,
            mode,
        };
        let canvas: Canvas<Word> = Canvas::new(x0.clone());
        let run = machine::run(&mut f, canvas, &class);
        if mode == 0 {
            assert!(run.stop.error().is_none());
            let got = apmdm::compile::mdm_run::decode(&compiled, &program, &run).unwrap();
            assert_ne!(got.output, want.output, "a corrupted write went unnoticed");
        } else {
            let e = run.stop.error().expect("the class check stops the run");
            assert!(e.to_string().contains("step 2"), "{e}");
        }
    }
}
