//! Theorem 4's two AP-MDM layouts (`proofs/apmdm.md`, "Two layouts"): the declared layout takes
//! exactly 3T + 2 steps with no allocation term, its positions in use (read from the tokens) held
//! against the interpreter's space at every step; the tight layout follows the space in use and
//! pays GROW and DELETE steps; a round that faults right after an allocation is recorded, so the
//! allocation it ran with is counted.

use crate::common::apmdm;
use apmdm::check::apmdm::{check_apmdm_case_watched, ApmdmBounds, ApmdmRow};
use apmdm::check::verdict::Status;
use apmdm::check::weights::ExecutorOptions;
use apmdm::compile::apmdm_run::used_positions;
use apmdm::compile::pram_to_apmdm::{initial_canvas, pram_to_apmdm_in, ApmdmLayout, ApmdmMode};
use apmdm::compile::pram_to_mdm::CompileLimits;
use apmdm::machine::Token;
use apmdm::pram::{self, library, Program, RunConfig, TraceRound};
use apmdm::seq::Word;

fn load(file: &str) -> Program {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    pram::parse(&path, &source).unwrap()
}

fn row(program: &Program, n: i64, seed: u64, mode: ApmdmMode) -> ApmdmRow {
    let mut config = RunConfig::new(n);
    config.seed = seed;
    check_apmdm_case_watched(
        program,
        &config,
        &CompileLimits::default(),
        &ApmdmBounds::from_file(),
        u64::MAX,
        ExecutorOptions::seq(),
        mode,
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap()
}

/// ceil(log2(x)) for x >= 1, computed without the crate's helper.
fn ceil_log2(x: u64) -> u64 {
    (0..64).find(|&g| (1u64 << g) >= x).unwrap()
}

/// The tight layout's GROW steps from `low` cells to `after`: the least g with
/// (low + 1) 2^g >= after + 1.
fn grow(low: u64, after: u64) -> u64 {
    ceil_log2((after + 1).div_ceil(low + 1))
}

#[test]
fn the_declared_layout_takes_3t_plus_2_steps_on_every_library_program() {
    for (name, source) in library::PROGRAMS {
        let program = library::load(name).unwrap().unwrap();
        let n = library::directive(source, "sizes")[0];
        let seed = library::directive(source, "seeds")
            .first()
            .copied()
            .unwrap_or(1) as u64;
        let r = row(&program, n, seed, ApmdmMode::Declared);
        assert_eq!(r.status, Status::Pass, "{name} n={n}: {:?}", r.problems);
        assert_eq!(r.layout, ApmdmMode::Declared);
        assert_eq!(r.agree, Some(true), "{name}");
        assert_eq!(r.steps, Some(3 * r.rounds + 2), "{name} n={n}");
        // The length never changes: two headers, the region for max(S_decl, static cells), the
        // slots (an identity of the layout, marked so).
        let layout = ApmdmLayout::at(&program, n as u64).unwrap();
        let region = u64::try_from(&layout.peak_declared).unwrap() - 2 - r.slots;
        assert_eq!(r.context, Some(2 + region + r.slots), "{name}");
        assert!(r
            .checks
            .iter()
            .any(|c| c.what.starts_with("context (declared layout)") && !c.evidence));
        // The positions in use, read from the tokens, stay within the interpreter's space.
        let used = r.context_used.unwrap();
        assert!(used <= 2 + r.space + r.slots, "{name}: used {used}");
        assert_eq!(r.steps_checked, r.steps.unwrap(), "{name}");
    }
}

#[test]
fn allocations_cost_no_step_in_the_declared_layout_and_grow_steps_in_the_tight_one() {
    let program = load("alloc_loop.pram");
    let mut declared_steps = Vec::new();
    let mut tight_steps = Vec::new();
    for n in [1u64, 2, 5] {
        let d = row(&program, n as i64, 1, ApmdmMode::Declared);
        let t = row(&program, n as i64, 1, ApmdmMode::Tight);
        for r in [&d, &t] {
            assert_eq!(r.status, Status::Pass, "n={n}: {:?}", r.problems);
            assert_eq!(r.answer, "x=8", "n={n}");
            assert_eq!(r.rounds, 17);
            assert_eq!(r.space, 1 + 64 * n);
        }
        // Four scopes of 16n(i + 1) cells on top of x; each is left (one DELETE step) on the
        // way into a round: the loop's next test.
        let alloc: u64 = (1..=4).map(|i| grow(1, 1 + 16 * n * i)).sum::<u64>() + 4;
        assert_eq!(t.allocation_steps, alloc, "n={n}");
        assert_eq!(t.steps, Some(3 * 17 + alloc + 2), "n={n}");
        assert_eq!(d.steps, Some(3 * 17 + 2), "n={n}");
        assert_eq!(d.context, Some(2 + 1 + 64 * n + 1));
        assert_eq!(t.context, Some(2 + 1 + 64 * n + 1));
        assert!(t.delete > 0 && t.insert > 0);
        assert_eq!((d.delete, d.insert), (0, 0));
        declared_steps.push(d.steps.unwrap());
        tight_steps.push(t.steps.unwrap());
    }
    assert!(declared_steps.windows(2).all(|w| w[0] == w[1]));
    assert!(
        tight_steps.windows(2).all(|w| w[0] < w[1]),
        "{tight_steps:?}"
    );
}

#[test]
fn a_fault_in_the_first_round_of_a_scope_is_recorded_with_its_allocation() {
    let program = load("alloc_fault.pram");
    for n in [1u64, 2, 4] {
        let mut rounds = Vec::new();
        let mut keep = |t: TraceRound| rounds.push(t);
        let report = pram::run_traced(&program, &RunConfig::new(n as i64), Some(&mut keep));
        assert!(matches!(report.unwrap().outcome, pram::Outcome::Fault(_)));
        assert_eq!(rounds.len(), 2);
        let last = &rounds[1];
        assert!(last.failed && last.writes.is_empty());
        assert_eq!((last.round, last.space, last.low), (2, 1 + 4 * n, 1));
        let t = row(&program, n as i64, 1, ApmdmMode::Tight);
        assert_eq!(t.status, Status::Pass, "n={n}: {:?}", t.problems);
        assert_eq!(t.allocation_steps, grow(1, 1 + 4 * n));
        assert_eq!(t.steps, Some(3 * 2 + grow(1, 1 + 4 * n) + 2));
        let d = row(&program, n as i64, 1, ApmdmMode::Declared);
        assert_eq!(d.status, Status::Pass, "n={n}: {:?}", d.problems);
        assert_eq!(d.steps, Some(8));
    }
}

#[test]
fn positions_in_use_are_read_from_the_tokens() {
    let program = load("alloc_loop.pram");
    let limits = CompileLimits::default();
    let config = RunConfig::new(1);
    let c = pram_to_apmdm_in(&program, 1, &limits, ApmdmMode::Declared).unwrap();
    let mut x = initial_canvas(&c, &program, &config).unwrap();
    assert_eq!(x.len(), 2 + 65 + 1);
    // x = 0 and every scope cell at 0: only the headers and the slot are in use.
    assert_eq!(used_positions(&c, &x), 3);
    let kind = match &x[2] {
        Token::Sym(Word(v)) => v[0],
        Token::Mask => panic!("the static cell x is decoded"),
    };
    let cell = |addr: i64, value: i64| {
        let mut w = vec![0i64; c.fields];
        w[0] = kind;
        w[1] = addr;
        w[2] = value;
        Token::Sym(Word(w))
    };
    x[2 + 40] = cell(40, 7);
    assert_eq!(used_positions(&c, &x), 2 + 41 + 1);
    x[2 + 50] = Token::Mask;
    assert_eq!(used_positions(&c, &x), 2 + 51 + 1);
    x[2 + 50] = cell(50, 0);
    x[2 + 40] = cell(40, 0);
    assert_eq!(used_positions(&c, &x), 3);
    let tight = pram_to_apmdm_in(&program, 1, &limits, ApmdmMode::Tight).unwrap();
    let y = initial_canvas(&tight, &program, &config).unwrap();
    assert_eq!(used_positions(&tight, &y), y.len());
}

#[test]
fn check_runs_the_tight_layout_too_where_it_takes_allocation_steps() {
    let file = format!("{}/tests/data/alloc_loop.pram", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = apmdm(&["check", &file, "--theorem", "4", "--sizes", "1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layouts: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["layout"].as_str().unwrap())
        .collect();
    assert_eq!(layouts, ["declared", "tight"]);
    // prefix_sum never allocates: the declared layout alone.
    let (code, out, _) = apmdm(&[
        "check",
        "prefix_sum",
        "--theorem",
        "4",
        "--sizes",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["layout"] == "declared"));
    let (code, out, _) = apmdm(&[
        "check", &file, "--layout", "tight", "--target", "apmdm", "--sizes", "1", "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(v["rows"][0]["target"], "apmdm-tight");
    let (code, _, err) = apmdm(&["compile", "prefix_sum", "--layout", "tight"]);
    assert_eq!(code, 2);
    assert!(err.contains("--target apmdm"), "{err}");
}
