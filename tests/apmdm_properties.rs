//! Property tests of pram_to_apmdm with fixed seeds: on random programs that allocate and free
//! scopes (nested, in loops, one left and another entered with no round between), every access
//! model, faults and violations included, the interpreter, the MDM schedule and the AP-MDM
//! schedule agree exactly; the AP-MDM's steps equal 3T + (allocation steps) + 2 and every step's
//! length stays within the space then in use.

use apmdm::check::apmdm::{profile, ApmdmBounds};
use apmdm::compile::apmdm_run::{run_apmdm, run_apmdm_from};
use apmdm::compile::mdm_run::run_mdm;
use apmdm::compile::pram_to_apmdm::{initial_canvas, phase, pram_to_apmdm};
use apmdm::compile::pram_to_mdm::{kind, pram_to_mdm, CompileLimits};
use apmdm::machine::{Canvas, Token};
use apmdm::pram::{self, AccessModel, Outcome, RunConfig};
use apmdm::seq::{propose, Evaluator, Word};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0A9D_0005),
        failure_persistence: None,
        ..Config::default()
    }
}

/// An expression over `i`, reads of `A`, `B`, the scoped `C` and every operator.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("i".to_string()),
        Just("n".to_string()),
        (-3i64..40).prop_map(|c| format!("({c})")),
        Just("A[i % n]".to_string()),
        Just("C[i % n]".to_string()),
        Just("s".to_string()),
    ];
    leaf.prop_recursive(2, 10, 2, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "==", "<", "&&", "|", "^", "<<", ">>",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("A[({a}) % n]")),
            inner.prop_map(|a| format!("B[({a}) % n]")),
        ]
    })
}

/// A statement of a round body inside the scope of `C`.
fn stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        (expr(), expr()).prop_map(|(i, v)| format!("C[({i}) % n] = {v};")),
        (expr(), expr()).prop_map(|(i, v)| format!("B[({i}) % n] = {v};")),
        expr().prop_map(|v| format!("s = {v};")),
        (expr(), expr(), expr())
            .prop_map(|(c, a, b)| format!("if {c} {{ C[i] = {a}; }} else {{ B[i] = {b}; }}")),
    ]
}

/// A program whose space goes up and down: a loop entering a scope `C` of n * k + z cells,
/// inside it a scope `D` (left, then `E` entered with no round between), and a sequential scope
/// `F` of size 0 or more after the loop.
fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(stmt(), 1..3),
        16i64..40,
        0usize..5,
        1i64..4,
        (1i64..3, 0i64..3, 0i64..4, 0i64..5, 0i64..3),
    )
        .prop_map(|(body, word, model, loops, (k, z, d, e, f))| {
            format!(
                "program random; model {}; word {word};\n\
                 input A[n] = random(0, 50);\nshared B[n];\nshared s;\noutput A, B, s;\n\
                 bounds {{ rounds <= 200; processors <= 2 * n; work <= 200 * n + 200; }}\n\
                 for r in 0..{loops} {{\n\
                 alloc C[n * {k} + {z}] {{\n  pardo i in 0..n, j in 0..2 {{\n    {}\n  }}\n\
                   alloc D[{d}] {{ s = s + 1; }}\n\
                   alloc E[n + {e}] {{\n    pardo i in 0..n {{ E[i] = C[i] + 1; B[i] = B[i] + E[(i + 1) % n]; }}\n  }}\n\
                 }}\n}}\n\
                 alloc F[{f}] {{ s = s + {f}; }}\n",
                AccessModel::ALL[model].1.replace('-', "_"),
                body.join("\n    "),
            )
        })
}

fn run_config(n: i64, seed: u64) -> RunConfig {
    let mut c = RunConfig::new(n);
    c.seed = seed;
    c
}

/// Runs one case on all three machines; returns the interpreter's outcome and the AP-MDM's
/// insert and delete counts.
fn three_way(source: &str, n: i64, seed: u64) -> (Outcome, u64, u64) {
    let program = pram::parse("random.pram", source)
        .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
    let config = run_config(n, seed);
    let limits = CompileLimits::default();
    let (want, space) = profile(&program, &config).unwrap();
    let apc = pram_to_apmdm(&program, n, &limits).unwrap();
    let (ap, _) = run_apmdm(&apc, &program, &config, Evaluator::Indexed, false)
        .unwrap_or_else(|e| panic!("{e}\n{source}"));
    let mdc = pram_to_mdm(&program, n, &limits).unwrap();
    let (md, _) = run_mdm(&mdc, &program, &config, Evaluator::Indexed, false)
        .unwrap_or_else(|e| panic!("{e}\n{source}"));
    // Declared bounds exceeded included: all three stop before the round that would exceed
    // one (proofs/bounds.md), so nothing is carved out.
    assert_eq!(ap.outcome, want.outcome, "apmdm\n{source}");
    assert_eq!(ap.output, want.output, "apmdm\n{source}");
    assert_eq!(ap.metrics, want.metrics, "apmdm\n{source}");
    assert_eq!(md.outcome, want.outcome, "mdm\n{source}");
    assert_eq!(md.output, want.output, "mdm\n{source}");
    assert_eq!(md.metrics, want.metrics, "mdm\n{source}");
    // Steps and lengths against the proof, from the interpreter's own space profile.
    let bounds = ApmdmBounds::from_file();
    let slots = apc.slots as u64;
    if want.outcome == Outcome::Ok {
        assert_eq!(
            ap.steps as u64,
            3 * want.metrics.rounds + space.allocation_steps() + 2,
            "{source}"
        );
        assert_eq!(
            ap.context as u64,
            2 + want.metrics.space + slots,
            "{source}"
        );
    }
    let c = bounds.context;
    for s in &ap.per_step {
        let r = s.round as usize;
        let here = space.in_use_at(r, want.metrics.space);
        assert!(
            s.length as u64 <= c.a as u64 * (here + slots) + c.b as u64,
            "{s:?} here {here} slots {slots} profile {space:?} steps {:?}\n{source}",
            ap.per_step
        );
    }
    (want.outcome, ap.ops.insert, ap.ops.delete)
}

proptest! {
    #![proptest_config(config(64))]

    /// Interpreter == MDM == AP-MDM on random allocating programs, sizes, seeds and models.
    #[test]
    fn random_allocating_programs_agree_on_all_three(
        source in program(),
        n in 1i64..6,
        seed in 0u64..3,
    ) {
        three_way(&source, n, seed);
    }
}

/// The random programs are not vacuous: they end in every kind of outcome, and the AP-MDM runs
/// insert and delete cells.
#[test]
fn random_allocating_programs_cover_outcomes_inserts_and_deletes() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::new(config(1));
    let (mut ok, mut faults, mut violations) = (0, 0, 0);
    let (mut inserts, mut deletes) = (0, 0);
    for k in 0..60u64 {
        let source = program().new_tree(&mut runner).unwrap().current();
        let (outcome, i, d) = three_way(&source, 1 + (k % 5) as i64, k % 3);
        match outcome {
            Outcome::Ok => ok += 1,
            Outcome::Fault(_) => faults += 1,
            Outcome::Violation(_) => violations += 1,
            _ => {}
        }
        inserts += i;
        deletes += d;
    }
    eprintln!(
        "ok {ok}, faults {faults}, violations {violations}, inserts {inserts}, deletes {deletes}"
    );
    assert!(
        ok > 0 && faults > 0 && violations > 0,
        "ok {ok}, faults {faults}, violations {violations}"
    );
    assert!(inserts > 0 && deletes > 0);
}

/// After the final step nothing changes: f proposes no edit, and running again takes no step.
#[test]
fn steps_after_the_final_header_change_nothing() {
    for name in ["prefix_sum", "tqbf", "sudoku"] {
        let program = pram::library::load(name).unwrap().unwrap();
        let config = run_config(3, 2);
        let compiled = pram_to_apmdm(&program, 3, &CompileLimits::default()).unwrap();
        let (report, run) =
            run_apmdm(&compiled, &program, &config, Evaluator::Indexed, false).unwrap();
        let (again, _) = run_apmdm_from(
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
    }
}

/// The input lives in the canvas: different seeds give different canvases of one length for one
/// compiled f; and the operator count does not grow with n. (f's independence of seed and input
/// is the compiler's signature; the CLI test
/// `the_emitted_step_function_is_the_same_bytes_for_every_seed_and_input` checks the bytes.)
#[test]
fn the_input_lives_in_the_canvas_and_f_does_not_grow_with_n() {
    for (name, _) in pram::library::PROGRAMS {
        let program = pram::library::load(name).unwrap().unwrap();
        let limits = CompileLimits::default();
        let mut counts = Vec::new();
        for n in [1i64, 2, 3, 4, 6] {
            let a = pram_to_apmdm(&program, n, &limits).unwrap();
            let x1 = initial_canvas(&a, &program, &run_config(n, 1)).unwrap();
            let x2 = initial_canvas(&a, &program, &run_config(n, 2)).unwrap();
            assert_eq!(x1.len(), x2.len());
            if n >= 3 && program.arrays.iter().any(|a| a.input) {
                assert_ne!(x1, x2, "{name} at n = {n}: the seed changed nothing");
            }
            counts.push(a.seq.nodes.len());
        }
        let first = counts[0];
        assert!(counts.iter().all(|&c| c <= first + 8), "{name}: {counts:?}");
    }
}

/// Mid-run fault injection: run three rounds, overwrite the memory cell of B[3] on the canvas
/// (memory is held in place), and continue; the result equals the interpreter restarted from
/// that memory (the last round run as a program of its own on the modified B).
#[test]
fn an_overwritten_cell_mid_run_equals_the_interpreter_restarted_from_that_memory() {
    let head = "program p; model crew; word 20;\ninput A[n] = random(0, 50);\nshared B[n];\n\
                output B;\nbounds { rounds <= 3; processors <= n; work <= 3 * n; }\n";
    let source = format!(
        "{head}pardo i in 0..n {{ B[i] = A[i] * 2; }}\npardo i in 0..n {{ B[i] = B[i] + 1; }}\n\
         pardo i in 0..n {{ B[i] = B[i] * 3 + B[(i + 1) % n]; }}\n"
    );
    let program = pram::parse("p.pram", &source).unwrap();
    let n = 6;
    let config = run_config(n, 4);
    let compiled = pram_to_apmdm(&program, n, &CompileLimits::default()).unwrap();
    // Step until the header says DECODE for round 3: rounds 1 and 2 are committed.
    let mut x: Canvas<Word> = Canvas::new(initial_canvas(&compiled, &program, &config).unwrap());
    loop {
        let p = propose(&compiled.seq, x.tokens(), Evaluator::Indexed).unwrap();
        x = apmdm::machine::apply(&x, &p.tokens, &p.bits).unwrap().next;
        let h = apmdm::compile::apmdm_run::current_header(x.tokens()).unwrap();
        if h.0[compiled.phase_field] == phase::DECODE
            && h.0[apmdm::compile::pram_to_mdm::hf::T] == 3
        {
            break;
        }
    }
    // B's cells follow A's (n cells); B[3] is address n + 3.
    let mut tokens: Vec<Token<Word>> = x.tokens().to_vec();
    let mut b_now = vec![0i64; n as usize];
    for t in &mut tokens {
        if let Token::Sym(w) = t {
            if w.0[0] == kind::GIVEN && (n..2 * n).contains(&w.0[1]) {
                if w.0[1] == n + 3 {
                    w.0[2] = 1000;
                }
                b_now[(w.0[1] - n) as usize] = w.0[2];
            }
        }
    }
    let (got, _) = run_apmdm_from(
        &compiled,
        &program,
        Canvas::new(tokens),
        Evaluator::Indexed,
        false,
    )
    .unwrap();
    // The interpreter restarted: the last round alone, on the modified memory.
    let rest = "program q; model crew; word 20;\ninput B[n] = zeros;\noutput B;\n\
                bounds { rounds <= 1; processors <= n; work <= n; }\n\
                pardo i in 0..n { B[i] = B[i] * 3 + B[(i + 1) % n]; }\n";
    let rest = pram::parse("q.pram", rest).unwrap();
    let mut restart = run_config(n, 4);
    restart.inputs.insert("B".into(), b_now);
    let want = pram::run(&rest, &restart).unwrap();
    assert_eq!(got.outcome, Outcome::Ok);
    assert_eq!(got.output.iter().find(|o| o.0 == "B"), want.output.first());
    // And it differs from the unmodified run: the overwrite was read.
    let (plain, _) = run_apmdm(&compiled, &program, &config, Evaluator::Indexed, false).unwrap();
    assert_ne!(plain.output, got.output);
}
