//! The column path's fast forms against the one-by-one path, over several batches of 512
//! processors: consecutive reads and writes as copies and runs, indices that count up with the
//! processor (`i + c`, `i - c`) kept unwritten, comparisons of such an index with a uniform value
//! as a step, and conflict checks from the spans noted while buffering. Each program also runs
//! with its processors shuffled one by one (the general path, full write records sorted), which
//! must give the same report; the exact outcomes below are worked out by hand.

use apmdm::pram::outcome::ViolationKind;
use apmdm::pram::{self, AccessModel, FaultKind, Outcome, RunConfig, RunReport, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// Runs `source` at `n`, and again with the processors shuffled; the two reports must agree.
fn run(source: &str, n: i64, model: Option<AccessModel>) -> RunReport {
    let program = pram::parse("test.pram", source).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let mut config = RunConfig::new(n);
    config.model = model;
    let plain = pram::run(&program, &config).unwrap();
    config.shuffle = Some(5);
    let shuffled = pram::run(&program, &config).unwrap();
    assert_eq!(plain, shuffled, "{source}");
    plain
}

fn array(r: &RunReport, name: &str) -> Vec<i64> {
    match r.output(name) {
        Some(Value::Array(v)) => v.clone(),
        other => panic!("`{name}` is {other:?}"),
    }
}

#[test]
fn shifted_copies_and_prefix_sums_are_exact() {
    // B[i] = A[i - 3] for i >= 3: consecutive reads at an offset, one run per batch.
    let src = "program shift; model crew; word 16;
input A[n] = random(0, 99);
shared B[n];
output A, B;
pardo i in 3..n {
    let j = i - 3;
    B[i] = A[j] + 1;
}
";
    let r = run(src, 1500, None);
    assert_eq!(r.outcome, Outcome::Ok);
    let (a, b) = (array(&r, "A"), array(&r, "B"));
    assert_eq!(&b[..3], &[0, 0, 0]);
    for i in 3..1500 {
        assert_eq!(b[i], a[i - 3] + 1, "B[{i}]");
    }
    // The library's Hillis-Steele prefix sums over three batches and a partial one.
    let program = pram::library::load("prefix_sum").unwrap().unwrap();
    let config = RunConfig::new(1700);
    let input = pram::inputs(&program, &config).unwrap()["A"].clone();
    let r = pram::run(&program, &config).unwrap();
    assert_eq!(r.outcome, Outcome::Ok);
    let expected: Vec<i64> = input
        .iter()
        .scan(0, |sum, &x| {
            *sum += x;
            Some(*sum)
        })
        .collect();
    assert_eq!(r.output("A"), Some(&Value::Array(expected)));
}

#[test]
fn comparisons_of_the_index_with_a_uniform_value_either_way_round() {
    // Each comparison direction, with the index on either side; the edge (700) falls inside the
    // second batch, and 2000 lies past every processor.
    for (cond, holds) in [
        ("i >= 700", (|i| i >= 700) as fn(i64) -> bool),
        ("i > 700", |i| i > 700),
        ("i <= 700", |i| i <= 700),
        ("i < 700", |i| i < 700),
        ("700 >= i", |i| 700 >= i),
        ("700 > i", |i| 700 > i),
        ("700 <= i", |i| 700 <= i),
        ("700 < i", |i| 700 < i),
        ("i - 5 < n - 2000", |i| i - 5 < 1200 - 2000),
        ("i + 5 >= 2000", |i| i + 5 >= 2000),
    ] {
        let src = format!(
            "program steps; model crew; word 16;
shared B[n];
output B;
pardo i in 0..n {{
    if {cond} {{
        B[i] = 1;
    }} else {{
        B[i] = 2;
    }}
}}
"
        );
        let r = run(&src, 1200, None);
        assert_eq!(r.outcome, Outcome::Ok, "{cond}");
        let expected: Vec<i64> = (0..1200).map(|i| if holds(i) { 1 } else { 2 }).collect();
        assert_eq!(array(&r, "B"), expected, "{cond}");
    }
}

#[test]
fn a_consecutive_read_past_the_end_faults_at_the_first_processor_out_of_bounds() {
    let src = "program past; model crew; word 16;
input A[n] = random(0, 9);
shared B[n];
output B;
pardo i in 0..n {
    B[i] = A[i + 1];
}
";
    let r = run(src, 1000, None);
    let Outcome::Fault(f) = r.outcome else {
        panic!("expected a fault, got {:?}", r.outcome)
    };
    assert_eq!((f.round, f.processor, f.line), (1, 999, 6));
    assert_eq!(
        f.kind,
        FaultKind::OutOfBounds {
            array: "A".into(),
            index: 1000,
            len: 1000
        }
    );
    // A write before the start, in the first batch: processor 0 writes B[-2].
    let src = src.replace("B[i] = A[i + 1];", "B[i - 2] = A[i];");
    let r = run(&src, 1000, None);
    let Outcome::Fault(f) = r.outcome else {
        panic!("expected a fault, got {:?}", r.outcome)
    };
    assert_eq!((f.round, f.processor, f.line), (1, 0, 6));
}

#[test]
fn an_index_that_leaves_the_word_overflows_at_the_first_such_processor() {
    // A 12-bit word holds up to 2047: i + 1500 leaves it at i = 548, in the second batch.
    let src = "program over; model crew; word 12;
shared B[n];
output B;
pardo i in 0..n {
    B[i] = i + 1500;
}
";
    let r = run(src, 1000, None);
    let Outcome::Fault(f) = r.outcome else {
        panic!("expected a fault, got {:?}", r.outcome)
    };
    assert_eq!(
        (f.kind, f.round, f.processor, f.line),
        (FaultKind::Overflow, 1, 548, 5)
    );
}

#[test]
fn overlapping_runs_are_conflicts_resolved_per_model() {
    // Processor p (i = p + 1) writes B[i] = i and B[i - 1] = 0: B[k] for 1 <= k < n - 1 is written
    // by processors k - 1 (site 0) and k (site 1); both sites write consecutive runs.
    let src = "program overlap; model crew; word 16;
shared B[n];
output B;
pardo i in 1..n {
    B[i] = i;
    B[i - 1] = 0;
}
";
    let r = run(src, 1300, None);
    let Outcome::Violation(v) = r.outcome else {
        panic!("expected a violation, got {:?}", r.outcome)
    };
    assert_eq!(v.kind, ViolationKind::ConcurrentWrite);
    assert_eq!((v.round, v.array.as_str(), v.index), (1, "B", 1));
    assert_eq!((v.processors, v.line), ([0, 1], 5));
    // Under priority the lower processor (site 0, B[k] = k) wins.
    let r = run(src, 1300, Some(AccessModel::CrcwPriority));
    assert_eq!(r.outcome, Outcome::Ok);
    let expected: Vec<i64> = (0..1300).collect();
    assert_eq!(array(&r, "B"), expected);
    // Under common the values differ: reported at the lowest address.
    let r = run(src, 1300, Some(AccessModel::CrcwCommon));
    let Outcome::Violation(v) = r.outcome else {
        panic!("expected a violation, got {:?}", r.outcome)
    };
    assert_eq!(v.kind, ViolationKind::DifferentValues);
    assert_eq!((v.index, v.processors), (1, [0, 1]));
}

#[test]
fn interleaved_sites_are_checked_by_address() {
    // The two branches write B at distinct addresses, interleaved: accepted without sorting.
    let src = "program branches; model crew; word 16;
shared B[n];
output B;
pardo i in 0..n {
    if i % 3 == 0 {
        B[i] = 1;
    } else {
        B[i] = 2;
    }
}
";
    let r = run(src, 1300, None);
    assert_eq!(r.outcome, Outcome::Ok);
    let expected: Vec<i64> = (0..1300).map(|i| if i % 3 == 0 { 1 } else { 2 }).collect();
    assert_eq!(array(&r, "B"), expected);
    // The else branch writes B[i / 2]: B[0] is written by processors 0 (site 0) and 1 (site 1).
    let clash = src.replace("B[i] = 2;", "B[i / 2] = 2;");
    let r = run(&clash, 1300, None);
    let Outcome::Violation(v) = r.outcome else {
        panic!("expected a violation, got {:?}", r.outcome)
    };
    assert_eq!(v.kind, ViolationKind::ConcurrentWrite);
    assert_eq!((v.array.as_str(), v.index, v.processors), ("B", 0, [0, 1]));
    // Under priority processor 0's 1 wins at B[0]; B[k] for 0 < k < 650 goes to its lowest
    // writer: processor k when k % 3 == 0 and k < 2k, else processor 2k or 2k + 1 (value 2).
    let r = run(&clash, 1300, Some(AccessModel::CrcwPriority));
    assert_eq!(r.outcome, Outcome::Ok);
    let b = array(&r, "B");
    for (k, &v) in b.iter().enumerate() {
        let lowest = [k, 2 * k, 2 * k + 1]
            .into_iter()
            .filter(|&p| p < 1300 && if p % 3 == 0 { p == k } else { p / 2 == k })
            .min();
        let want = match lowest {
            None => 0,
            Some(p) if p % 3 == 0 => 1,
            Some(_) => 2,
        };
        assert_eq!(v, want, "B[{k}]");
    }
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0C07_2510),
        failure_persistence: None,
        ..Config::default()
    }
}

/// An expression of one index `i`: the index shifted, uniform values (constants, `n`, the loop
/// variable `r` and `1 << r`), reads of `A` and `B` at shifted indices (in and out of bounds),
/// and every operator.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => Just("i".to_string()),
        2 => (-600i64..600).prop_map(|c| format!("(i + {c})")),
        1 => (-5i64..5).prop_map(|c| format!("(i - {c})")),
        1 => Just("n".to_string()),
        1 => Just("r".to_string()),
        1 => Just("(1 << r)".to_string()),
        2 => (-3i64..900).prop_map(|c| format!("({c})")),
        3 => Just("A[i]".to_string()),
        2 => (0i64..700).prop_map(|c| format!("A[(i + {c}) % n]")),
        1 => (-1i64..2).prop_map(|c| format!("A[i + {c}]")),
        1 => Just("B[i]".to_string()),
        1 => Just("s".to_string()),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "&", "|", "^",
            "min",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| if o == "min" {
                format!("min({a}, {b})")
            } else {
                format!("({a} {o} {b})")
            }),
            inner.clone().prop_map(|a| format!("A[({a}) % n]")),
            inner.prop_map(|a| format!("B[{a}]")),
        ]
    })
}

/// A statement of a round body: writes at the index, shifted or computed, or a branch around
/// them.
fn round_stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => expr().prop_map(|v| format!("B[i] = {v};")),
        2 => (0i64..700, expr()).prop_map(|(c, v)| format!("B[(i + {c}) % n] = {v};")),
        1 => (-1i64..2, expr()).prop_map(|(c, v)| format!("B[i + {c}] = {v};")),
        1 => (expr(), expr()).prop_map(|(i, v)| format!("B[({i}) % n] = {v};")),
        1 => expr().prop_map(|v| format!("A[i] = {v};")),
        2 => (expr(), expr(), expr()).prop_map(|(c, a, b)| format!(
            "if {c} {{ B[i] = {a}; }} else {{ let t = {b}; A[i] = t; }}"
        )),
        2 => (expr(), 0i64..900).prop_map(|(v, e)| format!(
            "if i >= {e} {{ let t = {v}; B[i] = t; }}"
        )),
    ]
}

/// A program of three rounds of a random body over `pardo i in lo..n`.
fn program() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(round_stmt(), 1..4),
        0i64..3,
        10i64..40,
        0usize..5,
    )
        .prop_map(|(body, lo, word, model)| {
            format!(
                "program random; model {}; word {word};\ninput A[n] = random(0, 50);\nshared B[n];\nshared s;\noutput A, B;\nfor r in 0..3 {{\n  pardo i in {lo}..n {{\n    {}\n  }}\n}}\n",
                AccessModel::ALL[model].1.replace('-', "_"),
                body.join("\n    "),
            )
        })
}

proptest! {
    #![proptest_config(config(32))]

    /// Random one-index programs over several batches: the same report as running the
    /// processors one by one, shuffled.
    #[test]
    fn one_index_programs_over_many_batches_match_one_by_one(
        source in program(),
        n in 500i64..1700,
        model in 0usize..5,
    ) {
        let program = pram::parse("random.pram", &source)
            .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
        let mut plain = RunConfig::new(n);
        plain.model = Some(AccessModel::ALL[model].0);
        let mut shuffled = plain.clone();
        shuffled.shuffle = Some(3);
        prop_assert_eq!(pram::run(&program, &plain), pram::run(&program, &shuffled));
    }
}
