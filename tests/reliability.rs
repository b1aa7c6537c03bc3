//! Resource limits and exact agreement at the edges of what a user may declare: every limit is
//! checked before the work it guards, a run that would hold more memory than `--max-memory` is
//! refused with its estimate (or its row is "not run"), and the interpreter's total-work and
//! allocation limits stop runs that would otherwise go on for days.

use crate::common::apmdm;
use apmdm::check::apmdm::{check_apmdm_case, ApmdmBounds};
use apmdm::check::mdm::{check_case, MdmBounds};
use apmdm::check::verdict::Status;
use apmdm::compile::apmdm_run::run_apmdm;
use apmdm::compile::mdm_run::MdmRunError;
use apmdm::compile::memory;
use apmdm::compile::pram_to_apmdm::pram_to_apmdm;
use apmdm::compile::pram_to_mdm::{CompileError, CompileLimits};
use apmdm::pram::{self, Limit, Outcome, RunConfig};
use apmdm::seq::Evaluator;

fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("apmdm-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A `word 63` program whose processors write one cell twice in a round while memory holds the
/// extremes of the word, -2^62 and 2^62 - 1: both constructions compile it and agree with the
/// interpreter exactly (values near the word's ends once overflowed 64-bit nodes).
const WORD_63: &str = "program w63;
model crcw_arbitrary;
word 63;
input A[n] = random(0, 1);
shared B[n];
output B;
bounds { rounds <= 4; processors <= n; work <= 4 * n; space <= 2 * n; }
pardo i in 0..n { B[i] = 0 - 4611686018427387903 - 1; }
pardo i in 0..n { B[i] = B[i] + 5; B[i] = B[i] + 3 + A[i]; }
pardo i in 0..n { B[i] = 4611686018427387903; }
pardo i in 0..n { B[i] = B[i] - 5; B[i] = B[i] - 3 - A[i]; }
";

#[test]
fn word_63_extremes_compile_and_agree_on_both_targets() {
    let program = pram::parse("w63.pram", WORD_63).unwrap();
    for n in [1, 4, 7] {
        let config = RunConfig::new(n);
        let want = pram::run(&program, &config).unwrap();
        assert_eq!(want.outcome, Outcome::Ok);
        let limits = CompileLimits::default();
        let row = check_case(
            &program,
            &config,
            &limits,
            &MdmBounds::from_file(),
            u64::MAX,
        )
        .unwrap();
        assert_eq!(row.status, Status::Pass, "mdm n = {n}: {:?}", row.reason);
        assert_eq!(row.agree, Some(true));
        let ap = check_apmdm_case(
            &program,
            &config,
            &limits,
            &ApmdmBounds::from_file(),
            u64::MAX,
        )
        .unwrap();
        assert_eq!(ap.status, Status::Pass, "apmdm n = {n}: {:?}", ap.reason);
        assert_eq!(ap.agree, Some(true));
    }
}

#[test]
fn a_compile_over_max_memory_is_not_run_with_its_estimate() {
    // prefix_sum at n = 64 lays out 534 positions; at 2 MiB nothing may run.
    let (code, stdout, _) = apmdm(&["compile", "prefix_sum", "--n", "64", "--max-memory", "2M"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("NOT RUN"), "{stdout}");
    assert!(
        stdout.contains("534 positions x") && stdout.contains("above --max-memory 2.0 MiB"),
        "{stdout}"
    );
    assert!(stdout.contains("a canvas of 534 positions"), "{stdout}");
    // The same with room: it runs and passes.
    let (code, stdout, _) = apmdm(&["compile", "prefix_sum", "--n", "64", "--max-memory", "64M"]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = apmdm(&[
        "compile",
        "prefix_sum",
        "--n",
        "64",
        "--target",
        "apmdm",
        "--max-memory",
        "2M",
    ]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("above --max-memory 2.0 MiB"), "{stdout}");
    // A full trace keeps every canvas: it is counted.
    let (code, _, stderr) = apmdm(&["trace", "prefix_sum", "--n", "64", "--max-memory", "35M"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("and the trace's canvases"), "{stderr}");
    // The AP-MDM trace too: its canvases fit 33 MiB, its kept canvases do not.
    let (code, _, stderr) = apmdm(&[
        "trace",
        "prefix_sum",
        "--n",
        "64",
        "--target",
        "apmdm",
        "--max-memory",
        "33M",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("and the trace's canvases"), "{stderr}");
    let (code, stdout, _) = apmdm(&[
        "compile",
        "prefix_sum",
        "--n",
        "64",
        "--target",
        "apmdm",
        "--max-memory",
        "33M",
    ]);
    assert_eq!(code, 0, "{stdout}");
    let (code, _, stderr) = apmdm(&["compile", "prefix_sum", "--max-memory", "lots"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a byte count"), "{stderr}");
}

#[test]
fn check_rows_over_max_memory_are_not_run_and_the_rest_pass() {
    let (code, stdout, stderr) = apmdm(&[
        "check",
        "prefix_sum",
        "--sizes",
        "8,64",
        "--seeds",
        "1",
        "--max-memory",
        "34M",
    ]);
    // Not-run rows are reported, not failed (the library's default run has some too).
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The MDM canvas at n = 64 (534 positions, 34.4 MiB estimated) is over; the AP-MDM's peak
    // context of 130 positions is not.
    assert!(stdout.contains("3 passed, 1 not run, 0 failed"), "{stdout}");
    assert!(stdout.contains("raise --max-memory to run it"), "{stdout}");
}

/// The AP-MDM runner holds the ceiling as the canvas grows: a schedule whose initial canvas fits
/// and whose growth does not stops with the estimate, before the step that would exceed it.
#[test]
fn the_apmdm_runner_stops_before_growing_past_max_memory() {
    let source = "program grow;
model erew;
word 16;
input A[n] = random(0, 9);
output A;
bounds { rounds <= 8; processors <= n; work <= 8 * n; space <= 40 * n; }
alloc S[32 * n] {
    pardo i in 0..n { S[i] = A[i]; }
}
";
    let program = pram::parse("grow.pram", source).unwrap();
    let config = RunConfig::new(4);
    let limits = CompileLimits::default();
    let compiled = pram_to_apmdm(&program, 4, &limits).unwrap();
    let per = memory::per_position(&compiled.seq);
    let (full, _) = run_apmdm(&compiled, &program, &config, Evaluator::Indexed, false).unwrap();
    assert_eq!(full.outcome, Outcome::Ok);
    let initial = compiled.layout.initial.to_string().parse::<u64>().unwrap();
    assert!(
        full.context as u64 > initial + 100,
        "{} {initial}",
        full.context
    );
    // Room for the initial canvas and 10 positions more, not for the allocation.
    let mut tight = compiled.clone();
    tight.max_memory = (32 << 20) + per * (initial + 10);
    match run_apmdm(&tight, &program, &config, Evaluator::Indexed, false) {
        Err(MdmRunError::Compile(CompileError::OverMemory(m))) => {
            assert_eq!(m.limit, tight.max_memory);
            assert!(m.length > initial + 10, "{m}");
            assert_eq!(m.per_position, per);
        }
        other => panic!(
            "expected a memory refusal, got {:?}",
            other.map(|r| r.0.outcome)
        ),
    }
}

#[test]
fn the_interpreter_stops_at_its_work_and_allocation_limits() {
    let looping = "program looping;
model erew;
word 40;
shared s;
output s;
while 1 {
    alloc S[1000] {
        s = s + 1;
    }
}
";
    let program = pram::parse("looping.pram", looping).unwrap();
    let mut config = RunConfig::new(1);
    config.max_allocated = 10_000;
    let got = pram::run(&program, &config).unwrap();
    match got.outcome {
        Outcome::Limit { limit, value, .. } => {
            assert_eq!(limit, Limit::MaxAllocated);
            assert_eq!(value, 10_000);
        }
        o => panic!("{o:?}"),
    }
    // Ten scopes of 1000 cells fit; the eleventh is refused before it is allocated.
    assert_eq!(got.output[0].1, pram::Value::Scalar(10));
    let (code, stdout, _) = apmdm(&[
        "run",
        &temp("looping.pram", looping),
        "--n",
        "1",
        "--max-allocated",
        "2500",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("limit: --max-allocated 2500 reached"),
        "{stdout}"
    );

    // Total work: 10 rounds of n processors, then the limit.
    let mut config = RunConfig::new(8);
    config.max_work = 80;
    let program = pram::parse(
        "work.pram",
        "program work;\nmodel erew;\nword 20;\ninput A[n] = random(0, 5);\noutput A;\n\
         bounds { rounds <= 5000; processors <= n; work <= 5000 * n; space <= n; }\n\
         for t in 0..1000 { pardo i in 0..n { A[i] = t; } }\n",
    )
    .unwrap();
    let got = pram::run(&program, &config).unwrap();
    assert!(got.metrics.work <= 80, "{:?}", got.metrics);
    assert!(
        matches!(
            got.outcome,
            Outcome::Limit {
                limit: Limit::MaxPramWork,
                value: 80,
                ..
            }
        ),
        "{:?}",
        got.outcome
    );
    // The compiled schedules do not carry these limits: a row that meets one is not run.
    let row = check_case(
        &program,
        &config,
        &CompileLimits::default(),
        &MdmBounds::from_file(),
        u64::MAX,
    )
    .unwrap();
    assert_eq!(row.status, Status::NotRun);
    assert!(
        row.reason
            .as_deref()
            .unwrap_or("")
            .contains("--max-pram-work (a limit the schedules do not carry)"),
        "{:?}",
        row.reason
    );
    let ap = check_apmdm_case(
        &program,
        &config,
        &CompileLimits::default(),
        &ApmdmBounds::from_file(),
        u64::MAX,
    )
    .unwrap();
    assert_eq!(ap.status, Status::NotRun);
    assert_eq!(ap.reason, row.reason);
}

/// The cell limit is checked over every declared array before any input is generated: a
/// generator that would fail (or take minutes) is never reached when the arrays cannot fit.
#[test]
fn the_cell_limit_is_checked_before_inputs_are_generated() {
    let source = "program big;
model erew;
word 20;
input A[n] = random(5, 1);
shared B[1000 * n];
output B;
pardo i in 0..n { B[i] = A[i]; }
";
    let path = temp("big.pram", source);
    let (code, _, stderr) = apmdm(&["run", &path, "--n", "100", "--max-cells", "1000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("the declared arrays need 100100 cells, above the limit of 1000"),
        "{stderr}"
    );
    // Within the limit, the generator's own error is what is reported.
    let (code, _, stderr) = apmdm(&["run", &path, "--n", "1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("cells"), "{stderr}");
}

/// A program a construction cannot lay out is refused before the interpreter runs: here the
/// interpreter's set-up would fail too (its generator's range is empty), and the layout's reason
/// is the one reported, for both targets.
#[test]
fn the_layout_is_refused_before_the_interpreter_runs() {
    let source = "program unbounded;
model erew;
word 40;
input A[n] = random(5, 1);
output A;
for t in 0..100000000 { pardo i in 0..n { A[i] = t; } }
";
    let path = temp("unbounded.pram", source);
    for target in ["mdm", "apmdm"] {
        let (code, _, stderr) = apmdm(&["compile", &path, "--n", "4", "--target", target]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("the program declares no rounds bound"),
            "{target}: {stderr}"
        );
    }
}

/// `step` runs an emitted schedule under the same ceiling.
#[test]
fn step_refuses_a_canvas_over_max_memory() {
    let dir = std::env::temp_dir().join(format!("apmdm-reliability-step-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (seq, canvas) = (dir.join("e.json"), dir.join("c.json"));
    let (seq, canvas) = (seq.to_str().unwrap(), canvas.to_str().unwrap());
    let (code, _, _) = apmdm(&[
        "compile",
        "prefix_sum",
        "--n",
        "64",
        "--emit-seq",
        seq,
        "--emit-canvas",
        canvas,
    ]);
    assert_eq!(code, 0);
    let (code, _, stderr) = apmdm(&[
        "step",
        "--seq",
        seq,
        "--canvas",
        canvas,
        "--max-memory",
        "33M",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("534 positions x"), "{stderr}");
    assert!(stderr.contains("above --max-memory 33.0 MiB"), "{stderr}");
    let (code, _, _) = apmdm(&["step", "--seq", seq, "--canvas", canvas]);
    assert_eq!(code, 0);
}
