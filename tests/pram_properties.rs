//! Property tests of the PRAM front end and interpreter, with fixed seeds: processor order does
//! not matter, random well-formed programs never panic, the parser never panics on any bytes.

use apmdm::pram::{self, library, AccessModel, RunConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0A9D_2510),
        failure_persistence: None,
        ..Config::default()
    }
}

fn small_config(n: i64, seed: u64, model: usize) -> RunConfig {
    let mut c = RunConfig::new(n);
    c.seed = seed;
    c.model = Some(AccessModel::ALL[model % 5].0);
    c.max_rounds = 20_000;
    c.max_processors = 1 << 14;
    c.max_cells = 1 << 16;
    c
}

/// An expression over `index` (the processor index, or `n` outside rounds), reads of `A` and
/// `B`, and every operator.
fn expr_over(index: &'static str) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(index.to_string()),
        Just(if index == "i" { "j" } else { "n" }.to_string()),
        Just("n".to_string()),
        (-3i64..40).prop_map(|c| format!("({c})")),
        Just(format!("A[{index} % n]")),
        Just("s".to_string()),
    ];
    leaf.prop_recursive(3, 24, 2, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "&", "|", "^",
            "<<", ">>",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
            inner.clone().prop_map(|a| format!("log2({a})")),
            inner.clone().prop_map(|a| format!("A[({a}) % n]")),
            inner.clone().prop_map(|a| format!("B[{a}]")),
            inner.prop_map(|a| format!("-{a}")),
        ]
    })
}

fn expr() -> impl Strategy<Value = String> {
    expr_over("i")
}

/// A statement of a round body: a write (in or out of range), or a branch around writes.
fn round_stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        (expr(), expr()).prop_map(|(i, v)| format!("B[({i}) % n] = {v};")),
        (expr(), expr()).prop_map(|(i, v)| format!("A[{i}] = {v};")),
        expr().prop_map(|v| format!("s = {v};")),
        (expr(), expr(), expr()).prop_map(|(c, a, b)| format!(
            "if {c} {{ B[i] = {a}; }} else {{ let t = {b}; s = t; }}"
        )),
    ]
}

/// A well-formed program: two rounds (two indices) of random bodies, then a sequential statement.
fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(round_stmt(), 1..4),
        expr_over("n"),
        8i64..40,
        0usize..5,
    )
        .prop_map(|(body, last, word, model)| {
            format!(
                "program random; model {}; word {word};\ninput A[n] = random(0, 50);\nshared B[n];\nshared s;\noutput B, s;\nfor r in 0..2 {{\n  pardo i in 0..n, j in 0..2 {{\n    {}\n  }}\n}}\ns = {};\n",
                AccessModel::ALL[model].1.replace('-', "_"),
                body.join("\n    "),
                last,
            )
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// Executing processors in a shuffled order changes nothing, under every model (even
    /// CRCW-arbitrary: its winner is a function of the seed, round, address and writers only).
    #[test]
    fn shuffled_processor_order_changes_nothing(
        which in 0usize..library::PROGRAMS.len(),
        n in 1i64..12,
        seed in 0u64..4,
        model in 0usize..5,
        order in any::<u64>(),
    ) {
        let program = library::load(library::PROGRAMS[which].0).unwrap().unwrap();
        let plain = small_config(n, seed, model);
        let mut shuffled = plain.clone();
        shuffled.shuffle = Some(order);
        prop_assert_eq!(pram::run(&program, &plain), pram::run(&program, &shuffled));
    }

    /// Random well-formed programs run to some outcome without panicking, the same with the
    /// processors shuffled.
    #[test]
    fn random_programs_never_panic(source in program(), n in 1i64..9, model in 0usize..5) {
        let program = pram::parse("random.pram", &source)
            .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
        let plain = small_config(n, 1, model);
        let mut shuffled = plain.clone();
        shuffled.shuffle = Some(7);
        prop_assert_eq!(pram::run(&program, &plain), pram::run(&program, &shuffled));
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// Random programs over several full batches of processors (the column path runs whole
    /// batches of 512 as one loop per instruction, lane by lane only where a lane faults), with
    /// batch boundaries anywhere: the same as running the processors one by one, shuffled.
    #[test]
    fn random_programs_over_many_batches_match_one_by_one(
        source in program(),
        n in 200i64..1300,
        model in 0usize..5,
    ) {
        let program = pram::parse("random.pram", &source)
            .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
        let plain = small_config(n, 1, model);
        let mut shuffled = plain.clone();
        shuffled.shuffle = Some(11);
        prop_assert_eq!(pram::run(&program, &plain), pram::run(&program, &shuffled));
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bytes give a program or a located error, never a panic.
    #[test]
    fn parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = pram::parse("bytes.pram", &text) {
            prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }

    /// Library programs with a random slice cut out parse or fail with a located error; those
    /// that still parse run to an outcome under small limits.
    #[test]
    fn damaged_library_programs_never_panic(
        which in 0usize..library::PROGRAMS.len(),
        cut in any::<prop::sample::Index>(),
        len in 0usize..40,
    ) {
        let source = library::PROGRAMS[which].1;
        let chars: Vec<char> = source.chars().collect();
        let at = cut.index(chars.len());
        let damaged: String = chars[..at].iter().chain(&chars[(at + len).min(chars.len())..]).collect();
        match pram::parse("damaged.pram", &damaged) {
            Ok(program) => {
                let _ = pram::run(&program, &small_config(4, 1, 1));
            }
            Err(e) => prop_assert!(e.line >= 1),
        }
    }
}
