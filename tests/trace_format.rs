//! Trace format 1 (docs/trace.md): every writer's output read back, canvases rebuilt from the
//! diffs by the reader and replayed through `machine::apply`; the older forms read the same way;
//! bad traces are errors with a message; the page's sampling and size limit.

use std::path::{Path, PathBuf};

use crate::common::apmdm;
use apmdm::machine::library::{
    parity_canvas, reverse_arm_canvas, ParityEliminator, ParityToken, ReverseArm, END,
};
use apmdm::machine::{self, ModelClass, RunConfig, Trace};
use apmdm::seq::Word;
use apmdm::view::format::trace_to_format1;
use apmdm::view::{Header, Origin, TraceFile};

fn folder(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("apmdm-trace-format-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn parity_trace(bits: &[bool]) -> Trace<ParityToken, usize> {
    let config = RunConfig::new(ModelClass::ApMdm)
        .max_steps(100)
        .max_length(64)
        .full_trace();
    machine::run(&mut ParityEliminator, parity_canvas(bits), &config).trace
}

/// Every canvas of `read` (rebuilt from its diffs) equals the original's, and the typed trace
/// replays through g with the original's counts.
fn same_run<A, P>(original: &Trace<A, P>, read: &TraceFile)
where
    A: machine::Symbol + serde::de::DeserializeOwned,
    P: Clone + PartialEq + std::fmt::Debug + serde::de::DeserializeOwned + Default,
{
    let typed: Trace<A, P> = read.to_trace().unwrap();
    typed.replay().unwrap();
    assert_eq!(typed.states().unwrap(), original.states().unwrap());
    assert_eq!(typed.totals(), original.totals());
    assert_eq!(typed.class, original.class);
}

#[test]
fn format_1_and_the_old_demo_form_round_trip_through_apply() {
    for bits in [
        &[true, true, false, true][..],
        &[false; 7][..],
        &[true, false][..],
    ] {
        let original = parity_trace(bits);
        assert!(original.steps() > 0);
        // The old form (still what `Trace::to_jsonl` writes).
        let old = TraceFile::read(&original.to_jsonl()).unwrap();
        assert_eq!(old.origin, Origin::OldDemo);
        same_run(&original, &old);
        // Format 1: no canvas but x_0 is stored whole.
        let text = trace_to_format1(&original, Header::new("demo"));
        let new = TraceFile::read(&text).unwrap();
        assert_eq!(new.origin, Origin::Format1);
        same_run(&original, &new);
        assert_eq!(
            new.steps, old.steps,
            "both forms give the same step records"
        );
        assert_eq!(text.lines().count(), 1 + original.steps());
        for line in text.lines().skip(1) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                v.get("after").is_none() && v.get("tokens").is_none(),
                "{line}"
            );
        }
    }
    // A canvas that grows (an ARM inserts): payload-free tokens of another alphabet.
    let config = RunConfig::new(ModelClass::Arm)
        .max_steps(100)
        .max_length(64)
        .end_token(END)
        .full_trace();
    let r = machine::run(&mut ReverseArm, reverse_arm_canvas("abcde"), &config);
    let text = trace_to_format1(&r.trace, Header::new("demo"));
    let read = TraceFile::read(&text).unwrap();
    assert!(read.steps.iter().any(|s| s.counts.insert > 0));
    same_run::<char, ()>(&r.trace, &read);
    same_run::<char, ()>(&r.trace, &TraceFile::read(&r.trace.to_jsonl()).unwrap());
}

#[test]
fn demo_writes_format_1() {
    let dir = folder("demo");
    let path = dir.join("parity.jsonl");
    let (code, out, err) = apmdm(&["demo", "parity", "--input", "1101", "--jsonl", s(&path)]);
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    let read = TraceFile::read(&text).unwrap();
    assert_eq!(read.header.format, 1);
    assert_eq!(read.header.kind, "demo");
    assert_eq!(read.header.program.as_deref(), Some("parity"));
    same_run(&parity_trace(&[true, true, false, true]), &read);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn schedule_traces_of_both_targets_replay_through_apply() {
    let dir = folder("schedule");
    for (target, extra, steps) in [
        ("mdm", &[][..], 6usize),
        ("apmdm", &["--layout", "tight"][..], 0),
        ("apmdm", &["--layout", "declared"][..], 0),
    ] {
        let path = dir.join(format!("{target}.jsonl"));
        let mut args = vec!["trace", "prefix_sum", "--n", "4", "--target", target];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--jsonl", s(&path)]);
        let (code, out, err) = apmdm(&args);
        assert_eq!(code, 0, "{out}{err}");
        let text = std::fs::read_to_string(&path).unwrap();
        let read = TraceFile::read(&text).unwrap();
        let h = &read.header;
        assert_eq!(
            (h.kind.as_str(), h.target.as_deref(), h.n, h.seed),
            ("schedule", Some(target), Some(4), Some(1))
        );
        assert!(h.source.as_deref().unwrap().contains("pardo i in 0..n"));
        assert_eq!(h.registers, ["n", "d"]);
        let typed: Trace<Word> = read.to_trace().unwrap();
        typed.replay().unwrap();
        if steps > 0 {
            assert_eq!(typed.steps(), steps);
        }
        // prefix_sum at n = 4: T = 5 rounds (three for-tests, two pardos), lines 20 and 21.
        let lines: Vec<(u64, u32)> = read.rounds.iter().map(|r| (r.round, r.line)).collect();
        assert_eq!(lines, [(1, 20), (2, 21), (3, 20), (4, 21), (5, 20)]);
        assert_eq!(read.rounds[1].active, 4);
        // Every step names a round the interpreter ran (or none), and the bound holds.
        let bound = h.bound.clone().unwrap();
        assert!(typed.steps() as u64 <= bound.steps);
        assert!(read.peak_length() as u64 <= bound.context);
        for st in &read.steps {
            if let Some(r) = st.round {
                assert!(r <= 5, "step {} names round {r}", st.step);
            }
        }
        if target == "apmdm" {
            assert!(read.steps.iter().all(|s| s.phase.is_some()));
        }
        // Only x_0 is stored whole: no step record repeats the canvas.
        for line in text.lines().skip(1) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v.get("initial").is_none() && v.get("tokens").is_none());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_traces_keep_the_rounds_of_the_files_they_replaced() {
    let io = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/io");
    for name in [
        "two_outputs.n3.jsonl",
        "prefix_sum.n8.erew.jsonl",
        "reduce_sum.n100.s3.jsonl",
        "fault_overflow.n1.jsonl",
    ] {
        let new = TraceFile::read(&std::fs::read_to_string(io.join(name)).unwrap()).unwrap();
        let old =
            TraceFile::read(&std::fs::read_to_string(io.join("pre_format1").join(name)).unwrap())
                .unwrap();
        assert_eq!(new.origin, Origin::Format1);
        assert_eq!(old.origin, Origin::OldRounds);
        assert_eq!(new.header.kind, "pram");
        assert!(new.header.source.is_some());
        assert_eq!(new.rounds.len(), old.rounds.len(), "{name}");
        for (a, b) in new.rounds.iter().zip(&old.rounds) {
            assert_eq!(
                (a.round, a.line, a.active, a.failed, &a.reads, &a.writes),
                (b.round, b.line, b.active, b.failed, &b.reads, &b.writes),
                "{name}"
            );
            assert_eq!(a.registers.len(), new.header.registers.len(), "{name}");
        }
    }
}

#[test]
fn bad_traces_are_errors_with_a_message() {
    let header = r#"{"format":1,"kind":"demo","class":"ap-mdm","initial":{"tokens":["a",null],"text":["a","M"]}}"#;
    let cases: [(String, &str); 7] = [
        (String::new(), "empty trace"),
        ("not json".into(), "not a JSON object"),
        (r#"{"format":2,"kind":"demo"}"#.into(), "trace format 2"),
        (
            r#"{"step":1,"length":3,"counts":{},"positions":[]}"#.into(),
            "before format 1",
        ),
        (
            format!(
                "{header}\n{}",
                r#"{"record":"step","step":1,"length":2,"counts":{"unmask":1,"remask":0,"hold":0,"insert":0,"delete":0,"keep":1},"ops":"kuu","diff":[]}"#
            ),
            "3 operations for a canvas of 2",
        ),
        (
            format!(
                "{header}\n{}",
                r#"{"record":"step","step":1,"length":2,"counts":{"unmask":1,"remask":0,"hold":0,"insert":0,"delete":0,"keep":1},"ops":"ku","diff":[]}"#
            ),
            "no token",
        ),
        (
            format!(
                "{header}\n{}",
                r#"{"record":"step","step":1,"length":2,"counts":{"unmask":0,"remask":0,"hold":0,"insert":0,"delete":0,"keep":2},"ops":"kk","diff":[]}"#
            ),
            "holds a mask",
        ),
    ];
    for (text, want) in cases {
        let e = TraceFile::read(&text).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
    // A well-formed step of the same header reads, and its counts are checked.
    let good = r#"{"record":"step","step":1,"length":3,"counts":{"unmask":1,"remask":0,"hold":0,"insert":1,"delete":0,"keep":1},"ops":"kU","diff":[{"at":1,"token":"b","text":"b"}]}"#;
    let read = TraceFile::read(&format!("{header}\n{good}")).unwrap();
    let last = read.canvases().unwrap().pop().unwrap();
    assert_eq!(last.text, ["a", "b", "M"]);
    let wrong = good.replace(r#""insert":1"#, r#""insert":0"#);
    let e = TraceFile::read(&format!("{header}\n{wrong}")).unwrap_err();
    assert!(e.to_string().contains("counts differ"), "{e}");
}

#[test]
fn view_refuses_bad_input_with_a_message() {
    let dir = folder("bad");
    let out = dir.join("p.html");
    let (code, _, err) = apmdm(&["view", "no_such_program", "--out", s(&out)]);
    assert_eq!(code, 2);
    assert!(err.contains("not a built-in program"), "{err}");
    let cases = [
        ("garbage.jsonl", "{not json\n", "not a JSON object"),
        ("two.jsonl", "{\"format\":2}\n", "trace format 2"),
        ("empty.jsonl", "", "empty trace"),
    ];
    for (name, text, want) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let (code, _, err) = apmdm(&["view", s(&path), "--out", s(&out)]);
        assert_eq!(code, 2, "{name}");
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{name}: {err}"
        );
    }
    assert!(!out.exists());
    // The page-size limit: a clear refusal, exit 2, nothing written.
    let (code, _, err) = apmdm(&[
        "view",
        "prefix_sum",
        "--n",
        "4",
        "--out",
        s(&out),
        "--max-page-bytes",
        "2000",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("above --max-page-bytes 2000"), "{err}");
    assert!(!out.exists());
    // The trace-size limit: a trace longer than --max-trace-bytes is refused before it is read.
    let long = dir.join("long.jsonl");
    std::fs::write(&long, "{\"format\":1}\n".repeat(100)).unwrap();
    let (code, _, err) = apmdm(&[
        "view",
        s(&long),
        "--out",
        s(&out),
        "--max-trace-bytes",
        "1000",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the trace has 1300 bytes, over the limit of 1000 (--max-trace-bytes)"),
        "{err}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn view_writes_one_self_contained_page_for_both_targets_and_traces() {
    let dir = folder("page");
    for target in ["mdm", "apmdm"] {
        let out = dir.join(format!("{target}.html"));
        let (code, stdout, err) = apmdm(&[
            "view",
            "prefix_sum",
            "--target",
            target,
            "--n",
            "4",
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "{stdout}{err}");
        let page = std::fs::read_to_string(&out).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        // Nothing outside the file: no external script, style, font or image.
        for outside in ["src=", "href=", "http://", "https://", "@import", "url("] {
            let found = page.replace("http://www.w3.org/2000/svg", "");
            assert!(!found.contains(outside), "{target}: {outside}");
        }
        assert!(page.contains("<script id=\"trace-data\" type=\"application/json\">"));
        assert!(
            !page.contains("\"b\":{"),
            "{target}: a small trace is not sampled"
        );
    }
    // From a trace file, the same page data as from the program.
    let jsonl = dir.join("t.jsonl");
    let (code, _, _) = apmdm(&["trace", "prefix_sum", "--n", "4", "--jsonl", s(&jsonl)]);
    assert_eq!(code, 0);
    let from_file = dir.join("f.html");
    let (code, stdout, _) = apmdm(&["view", s(&jsonl), "--out", s(&from_file)]);
    assert_eq!(code, 0);
    assert!(stdout.contains("6 steps and 5 rounds"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&from_file).unwrap(),
        std::fs::read_to_string(dir.join("mdm.html")).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pages_past_the_budget_keep_a_stated_sample() {
    let original = parity_trace(&[true; 9]);
    let text = trace_to_format1(&original, Header::new("demo"));
    let read = TraceFile::read(&text).unwrap();
    let steps = read.steps.len() as u64;
    let peak = read.peak_length() as u64;
    let full = apmdm::view::render_with(&read, u64::MAX, steps * peak).unwrap();
    assert!(!full.contains("\"b\":{"));
    assert!(full.contains("\"stride\":1"));
    // Half the budget: every second step is kept, each with its canvas before it.
    let half = apmdm::view::render_with(&read, u64::MAX, steps * peak / 2).unwrap();
    assert!(half.contains("\"stride\":2") || half.contains("\"stride\":3"));
    let kept = half.matches("\"b\":{").count() as u64;
    let stride = if half.contains("\"stride\":2") { 2 } else { 3 };
    assert_eq!(kept, steps / stride + u64::from(steps % stride != 0));
    let too_big = apmdm::view::render(&read, 100).unwrap_err().to_string();
    assert!(too_big.contains("above --max-page-bytes 100"), "{too_big}");
}
