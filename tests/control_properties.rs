//! Property tests with fixed seeds on random *control flow*: programs drawn from a grammar of
//! nested `for`, `while`, `if` and `alloc` around `pardo` rounds, with random declared bounds
//! (often too small), sizes n up to 64 and every access model. Faults, violations and exceeded
//! bounds happen at random rounds. The interpreter, the compiled MDM schedule and the compiled
//! AP-MDM schedule must agree exactly on each: outcome, output, T, P, W, S.
//!
//! The default run stays well inside two minutes of `cargo test`; set `APMDM_LONG_PROPTEST` to a
//! number of cases for a longer one (e.g. `APMDM_LONG_PROPTEST=2000 cargo test --release --test
//! suite control_properties::`).

use apmdm::compile::apmdm_run::run_apmdm;
use apmdm::compile::mdm_run::run_mdm;
use apmdm::compile::pram_to_apmdm::pram_to_apmdm;
use apmdm::compile::pram_to_mdm::{pram_to_mdm, CompileLimits};
use apmdm::pram::{self, AccessModel, Outcome, RunConfig};
use apmdm::seq::Evaluator;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

/// A small seeded generator (SplitMix64) that drives the grammar below.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in lo..hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() as usize % xs.len()]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What a generated statement may name: the processor index inside a round, loop variables,
/// scoped arrays open here (each of length n), and the while counters in use.
#[derive(Clone, Default)]
struct Scope {
    in_round: bool,
    vars: Vec<String>,
    arrays: Vec<String>,
    depth: usize,
    /// The word is 63 bits: leaves include the word's extremes.
    wide: bool,
}

fn expr(d: &mut Draw, s: &Scope, budget: u32) -> String {
    let arrays: Vec<&str> = ["A", "B"]
        .into_iter()
        .chain(s.arrays.iter().map(String::as_str))
        .collect();
    if budget == 0 || d.chance(35) {
        let mut leaves: Vec<String> =
            vec!["n".into(), format!("({})", d.range(-3, 40)), "s".into()];
        if s.wide {
            // Values near the ends of a 63-bit word.
            let big = d.pick(&["4611686018427387903", "(0 - 4611686018427387903 - 1)"]);
            leaves.push(big.to_string());
        }
        if s.in_round {
            leaves.push("i".into());
        }
        leaves.extend(s.vars.iter().cloned());
        let a = arrays[d.next() as usize % arrays.len()];
        let idx = leaves[d.next() as usize % leaves.len()].clone();
        leaves.push(format!("{a}[({idx}) % n]"));
        return leaves[d.next() as usize % leaves.len()].clone();
    }
    let a = expr(d, s, budget - 1);
    match d.range(0, 10) {
        0 => {
            let arr = arrays[d.next() as usize % arrays.len()];
            format!("{arr}[({a}) % n]")
        }
        // An unguarded index: out of bounds at some rounds.
        1 if d.chance(30) => format!("B[{a}]"),
        2 => format!("max({a}, {})", expr(d, s, budget - 1)),
        _ => {
            let op = d.pick(&[
                "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", "&&", "||", "&", "|", "^",
                "<<", ">>",
            ]);
            format!("({a} {op} {})", expr(d, s, budget - 1))
        }
    }
}

fn round_stmt(d: &mut Draw, s: &Scope) -> String {
    let targets: Vec<&str> = ["A", "B"]
        .into_iter()
        .chain(s.arrays.iter().map(String::as_str))
        .collect();
    let t = targets[d.next() as usize % targets.len()];
    match d.range(0, 4) {
        0 => format!("s = {};", expr(d, s, 2)),
        1 => format!(
            "if {} {{ {t}[i % n] = {}; }} else {{ let x = {}; B[(i + 1) % n] = x; }}",
            expr(d, s, 1),
            expr(d, s, 2),
            expr(d, s, 2)
        ),
        _ => format!("{t}[({}) % n] = {};", expr(d, s, 1), expr(d, s, 2)),
    }
}

fn block(d: &mut Draw, s: &Scope, out: &mut String, indent: usize) {
    let pad = "  ".repeat(indent);
    let count = d.range(1, 4);
    for _ in 0..count {
        let nested = s.depth < 3;
        let choice = if nested { d.range(0, 9) } else { d.range(0, 3) };
        match choice {
            0 | 1 => {
                let width = d.pick(&["0..n", "0..n, j in 0..2", "1..n", "0..(n + 1) / 2"]);
                let mut r = s.clone();
                r.in_round = true;
                let body: Vec<String> = (0..d.range(1, 3)).map(|_| round_stmt(d, &r)).collect();
                out.push_str(&format!(
                    "{pad}pardo i in {width} {{ {} }}\n",
                    body.join(" ")
                ));
            }
            2 => out.push_str(&format!("{pad}s = {};\n", expr(d, s, 2))),
            3 => {
                let v = format!("v{}", s.depth);
                out.push_str(&format!("{pad}for {v} in 0..{} {{\n", d.range(0, 4)));
                let mut inner = s.clone();
                inner.vars.push(v);
                inner.depth += 1;
                block(d, &inner, out, indent + 1);
                out.push_str(&format!("{pad}}}\n"));
            }
            4 => {
                let c = format!("c{}", s.depth);
                out.push_str(&format!(
                    "{pad}{c} = 0;\n{pad}while {c} < {} {{\n{pad}  {c} = {c} + 1;\n",
                    d.range(0, 3)
                ));
                let mut inner = s.clone();
                inner.depth += 1;
                block(d, &inner, out, indent + 1);
                out.push_str(&format!("{pad}}}\n"));
            }
            5 | 6 => {
                out.push_str(&format!("{pad}if {} {{\n", expr(d, s, 2)));
                let mut inner = s.clone();
                inner.depth += 1;
                block(d, &inner, out, indent + 1);
                out.push_str(&format!("{pad}}} else {{\n"));
                block(d, &inner, out, indent + 1);
                out.push_str(&format!("{pad}}}\n"));
            }
            _ => {
                let a = format!("C{}", s.depth);
                out.push_str(&format!("{pad}alloc {a}[n] {{\n"));
                let mut inner = s.clone();
                inner.arrays.push(a);
                inner.depth += 1;
                block(d, &inner, out, indent + 1);
                out.push_str(&format!("{pad}}}\n"));
            }
        }
    }
}

/// A random program: declarations, random (often too small) bounds, a random body.
fn program_from(seed: u64) -> String {
    let mut d = Draw(seed);
    let model = AccessModel::ALL[d.next() as usize % AccessModel::ALL.len()]
        .1
        .replace('-', "_");
    // One program in four uses the widest word, with constants at its ends.
    let wide = d.chance(25);
    let word = if wide { 63 } else { d.range(12, 40) };
    let mut bounds = Vec::new();
    bounds.push(format!("rounds <= {};", d.range(4, 80)));
    // The MDM lays its canvas out from declared P and W, so both are always declared.
    bounds.push(format!(
        "processors <= {} * n + {};",
        d.range(1, 3),
        d.range(0, 3)
    ));
    bounds.push(format!(
        "work <= {} * n + {};",
        d.range(1, 30),
        d.range(0, 20)
    ));
    if d.chance(60) {
        bounds.push(format!("space <= {} * n + 6;", d.range(2, 6)));
    }
    let mut body = String::new();
    let scope = Scope {
        wide,
        ..Scope::default()
    };
    block(&mut d, &scope, &mut body, 0);
    format!(
        "program random; model {model}; word {word};\n\
         input A[n] = random(0, 50);\nshared B[n];\nshared s;\nshared c0;\nshared c1;\nshared c2;\n\
         output A, B, s;\nbounds {{ {} }}\n{body}",
        bounds.join(" ")
    )
}

/// The outcome kind, for coverage counts.
fn kind(o: &Outcome) -> String {
    match o {
        Outcome::Ok => "ok".into(),
        Outcome::Violation(_) => "violation".into(),
        Outcome::Fault(_) => "fault".into(),
        Outcome::Limit { .. } => "limit".into(),
        Outcome::BoundExceeded { metric, .. } => format!("bound {metric}"),
    }
}

/// Runs one program on the interpreter and both constructions and asserts they agree; returns
/// the interpreter's outcome.
fn three_way(source: &str, n: i64, seed: u64) -> Outcome {
    let program = pram::parse("random.pram", source)
        .unwrap_or_else(|e| panic!("generated program does not parse: {e}\n{source}"));
    let mut config = RunConfig::new(n);
    config.seed = seed;
    let want = pram::run(&program, &config).unwrap();
    let limits = CompileLimits::default();
    let mdc = pram_to_mdm(&program, n, &limits).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let (md, _) = run_mdm(&mdc, &program, &config, Evaluator::Indexed, false)
        .unwrap_or_else(|e| panic!("{e}\n{source}"));
    let apc = pram_to_apmdm(&program, n, &limits).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let (ap, _) = run_apmdm(&apc, &program, &config, Evaluator::Indexed, false)
        .unwrap_or_else(|e| panic!("{e}\n{source}"));
    for (target, got) in [
        ("mdm", (&md.outcome, &md.output, &md.metrics)),
        ("apmdm", (&ap.outcome, &ap.output, &ap.metrics)),
    ] {
        assert_eq!(got.0, &want.outcome, "{target} n={n} seed={seed}\n{source}");
        assert_eq!(got.1, &want.output, "{target} n={n} seed={seed}\n{source}");
        assert_eq!(got.2, &want.metrics, "{target} n={n} seed={seed}\n{source}");
    }
    want.outcome
}

/// Sizes: mostly small (where conflicts and faults are dense), sometimes up to 64.
fn size(k: u64) -> i64 {
    match k % 8 {
        0 => 64,
        1 => 33,
        2 => 17,
        _ => 1 + (k % 9) as i64,
    }
}

fn cases() -> u32 {
    std::env::var("APMDM_LONG_PROPTEST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        rng_seed: RngSeed::Fixed(0x0A9D_0014),
        failure_persistence: None,
        ..Config::default()
    })]

    /// Interpreter == MDM == AP-MDM on random control flow, bounds, sizes, seeds and models.
    #[test]
    fn random_control_flow_agrees_on_all_three(program_seed in any::<u64>(), k in 0u64..64, seed in 0u64..3) {
        three_way(&program_from(program_seed), size(k), seed);
    }
}

/// The grammar is not vacuous: over a fixed draw, runs end ok, in faults, in violations, and in
/// each declared bound exceeded (rounds, processors, work, space), all agreeing.
#[test]
fn random_control_flow_covers_every_outcome() {
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    for k in 0..64u64 {
        let source = program_from(0xC0DE + k);
        let o = three_way(&source, size(k), k % 3);
        *seen.entry(kind(&o)).or_default() += 1;
    }
    eprintln!("{seen:?}");
    for want in [
        "ok",
        "fault",
        "violation",
        "bound rounds",
        "bound processors",
        "bound work",
        "bound space",
    ] {
        assert!(seen.contains_key(want), "no {want:?} in {seen:?}");
    }
}
