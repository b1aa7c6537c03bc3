//! The `apmdm` binary end to end: the checker, the demo, JSONL output and error messages.

use crate::common::apmdm;
use apmdm::compile::envelope::{CanvasFile, Envelope, Target};

#[test]
fn check_json_reports_every_builtin_row_as_passing() {
    let (code, stdout, _) = apmdm(&[
        "check",
        "--json",
        "--sizes",
        "4,9",
        "--seeds",
        "1",
        "parity",
        "reverse-arm",
        "reverse-mdm",
        "reverse-ao-mdm",
        "reverse-masked-arm",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "pass");
    assert_eq!(
        (
            v["passed"].as_u64(),
            v["failed"].as_u64(),
            v["not_run"].as_u64()
        ),
        (Some(14), Some(0), Some(0))
    );
    assert!(v.get("pass").is_none(), "no top-level boolean");
    let machines = v["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 10);
    let mdm9 = machines
        .iter()
        .find(|r| r["program"] == "reverse-mdm" && r["n"] == 9)
        .unwrap();
    assert_eq!(
        (mdm9["steps"].as_u64(), mdm9["context"].as_u64()),
        (Some(4), Some(19))
    );
    // `parity` is also a PRAM program: its compiled MDM and AP-MDM rows, with the fields.
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows.iter().filter(|r| r["target"] == "apmdm") {
        assert_eq!(r["program"], "parity");
        assert_eq!(r["status"], "pass");
        assert_eq!(r["agree"], true);
        let t = r["rounds"].as_u64().unwrap();
        // No allocation: three steps per round and two to finish.
        assert_eq!(r["steps"].as_u64().unwrap(), 3 * t + 2);
        assert_eq!(
            r["context"].as_u64().unwrap(),
            r["space"].as_u64().unwrap() + r["slots"].as_u64().unwrap() + 2
        );
        assert_eq!(r["steps_checked"], r["steps"]);
    }
    for r in rows.iter().filter(|r| r["target"] == "mdm") {
        assert_eq!(r["program"], "parity");
        assert_eq!(r["materialized"], true);
        assert_eq!(r["status"], "pass");
        assert!(r["predicted_context"].is_null());
        assert_eq!(
            r["steps"].as_u64().unwrap(),
            r["rounds"].as_u64().unwrap() + 1
        );
        for key in [
            "n",
            "processors",
            "work",
            "space",
            "context",
            "context_used",
        ] {
            assert!(r[key].is_u64(), "{key}: {r}");
        }
    }
    assert_eq!(rows.iter().filter(|r| r["target"] == "mdm").count(), 2);
    let fits = v["fits"].as_array().unwrap();
    assert_eq!(fits.len(), 4);
    assert_eq!(fits[0]["class"], "not classified");
}

#[test]
fn compile_emits_a_seq_program_that_runs_without_the_interpreter() {
    // The interpreter's answer comes from one process (`apmdm run`); the compiled step function
    // and its canvas from another (`apmdm compile --emit-seq --emit-canvas`); this test process
    // runs the written step function with the machine runner and never calls the interpreter.
    let dir = std::env::temp_dir().join(format!("apmdm-emit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seq_path = dir.join("seq.json");
    let canvas_path = dir.join("canvas.json");
    for (name, n) in [
        ("prefix_sum", "9"),
        ("dyck", "5"),
        ("connected_components", "4"),
    ] {
        let (code, stdout, stderr) = apmdm(&[
            "compile",
            name,
            "--target",
            "mdm",
            "--n",
            n,
            "--seed",
            "2",
            "--emit-seq",
            seq_path.to_str().unwrap(),
            "--emit-canvas",
            canvas_path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stdout.contains("PASS"), "{stdout}");
        let (code, interp, _) = apmdm(&["run", name, "--n", n, "--seed", "2", "--json"]);
        assert_eq!(code, 0);
        let interp: serde_json::Value = serde_json::from_str(&interp).unwrap();
        let envelope = Envelope::from_json(&std::fs::read_to_string(&seq_path).unwrap()).unwrap();
        assert_eq!(
            (envelope.target, envelope.n),
            (Target::Mdm, n.parse().unwrap())
        );
        let seq = envelope.seq.clone();
        let x0 = CanvasFile::from_json(&std::fs::read_to_string(&canvas_path).unwrap(), &envelope)
            .unwrap()
            .canvas;
        let length = x0.len();
        let mut f = apmdm::seq::SeqStep::new(seq, apmdm::seq::Evaluator::Indexed);
        let config = apmdm::machine::RunConfig::new(apmdm::machine::ModelClass::Mdm)
            .max_steps(100_000)
            .max_length(length);
        let canvas: apmdm::machine::Canvas<apmdm::seq::Word> = apmdm::machine::Canvas::new(x0);
        let run = apmdm::machine::run(&mut f, canvas, &config);
        assert!(run.stop.error().is_none(), "{}", run.stop);
        // Output cells (kind 4) in canvas order hold the output region.
        let outputs: Vec<i64> = run
            .last
            .tokens()
            .iter()
            .filter_map(|t| match t {
                apmdm::machine::Token::Sym(w) if w.0[0] == 4 => Some(w.0[2]),
                _ => None,
            })
            .collect();
        // The output region in the program's declared order (parsing is not interpreting).
        let program = apmdm::pram::library::load(name).unwrap().unwrap();
        let mut expected = Vec::new();
        for &a in &program.outputs {
            match &interp["output"][&program.arrays[a as usize].name] {
                serde_json::Value::Array(xs) => {
                    expected.extend(xs.iter().map(|x| x.as_i64().unwrap()))
                }
                x => expected.push(x.as_i64().unwrap()),
            }
        }
        assert!(!expected.is_empty());
        assert_eq!(outputs, expected, "{name}");
        assert_eq!(
            run.steps() as u64,
            interp["metrics"]["rounds"].as_u64().unwrap() + 1,
            "{name}"
        );
    }
}

#[test]
fn check_rejects_unknown_programs_and_oversized_sizes() {
    let (code, _, stderr) = apmdm(&["check", "nonexistent"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown program \"nonexistent\"") && stderr.contains("parity"));
    let (code, _, stderr) = apmdm(&["check", "parity", "--sizes", "100000000"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max-n"), "{stderr}");
}

#[test]
fn demo_writes_a_replayable_jsonl_trace() {
    let dir = std::env::temp_dir().join(format!("apmdm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("parity.jsonl");
    let (code, stdout, _) = apmdm(&[
        "demo",
        "parity",
        "--input",
        "1101",
        "--jsonl",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("after  BOS 1\n"), "{stdout}");
    let text = std::fs::read_to_string(&path).unwrap();
    let trace: apmdm::machine::Trace<apmdm::machine::library::ParityToken, usize> =
        apmdm::view::TraceFile::read(&text)
            .unwrap()
            .to_trace()
            .unwrap();
    trace.replay().unwrap();
    assert_eq!(trace.steps(), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_reports_bad_input_and_class_violations() {
    let (code, _, stderr) = apmdm(&["demo", "parity", "--input", "10x1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("character 3 is 'x'"), "{stderr}");
    let (code, stdout, _) = apmdm(&[
        "demo",
        "reverse-mdm",
        "--input",
        "abcd",
        "--class",
        "ao-mdm",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.contains("AO-MDM violation at step 2"), "{stdout}");
    let (code, _, stderr) = apmdm(&["demo", "parity", "--input", "0101", "--max-input", "3"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("above --max-input 3"), "{stderr}");
    let (code, _, stderr) = apmdm(&["demo", "reverse-mdm", "--input", "a|b"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("may not contain '|'"), "{stderr}");
}

#[test]
fn trace_renders_each_step_and_writes_jsonl() {
    let (code, stdout, _) = apmdm(&["trace", "prefix_sum", "--n", "4"]);
    assert_eq!(code, 0);
    // Round 1 is the for loop's first test (line 20), round 2 the pardo (line 21).
    assert!(
        stdout.contains("step 1: 2 positions decoded, 19 masks held"),
        "{stdout}"
    );
    assert!(stdout.contains("r1p0[for-test line 20 test=1]"), "{stdout}");
    assert!(stdout.contains("r2p1[pardo line 21]{A[1]:="), "{stdout}");
    assert!(stdout.contains("step 6:"), "{stdout}");
    let dir = std::env::temp_dir().join(format!("apmdm-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.jsonl");
    let (code, _, _) = apmdm(&[
        "trace",
        "prefix_sum",
        "--n",
        "4",
        "--jsonl",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["record"] == "step")
        .collect();
    assert_eq!(records.len(), 6);
    let unmasked: u64 = records
        .iter()
        .map(|r| r["counts"]["unmask"].as_u64().unwrap())
        .sum();
    // Every position of the canvas but the start token and the given cells is decoded once.
    assert_eq!(unmasked, 26 - 1 - 4);
    let slot = &records[1]["diff"][1];
    assert_eq!(
        slot["serves"],
        "line 21, processor 0, round 2, statement pardo"
    );
    assert_eq!(records[1]["round"], 2);
    let html = dir.join("t.html");
    let (code, _, _) = apmdm(&[
        "trace",
        "prefix_sum",
        "--n",
        "4",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    // The step-through page (`apmdm view`): six steps, the source, one self-contained file.
    assert!(page.contains("\"total_steps\":6"));
    assert!(page.contains("pardo i in 0..n"));
    assert!(!page.contains("<script src"));
    let (code, _, stderr) = apmdm(&[
        "trace",
        "prefix_sum",
        "--n",
        "1000",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max-html"), "{stderr}");
    let (code, _, stderr) = apmdm(&["compile", "prefix_sum", "--target", "pram"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("mdm") && stderr.contains("apmdm"),
        "{stderr}"
    );
}

#[test]
fn apmdm_target_compiles_emits_and_traces_remask_insert_and_delete() {
    let dir = std::env::temp_dir().join(format!("apmdm-ap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seq_path = dir.join("seq.json");
    let canvas_path = dir.join("canvas.json");
    let (code, stdout, stderr) = apmdm(&[
        "compile",
        "tqbf",
        "--target",
        "apmdm",
        "--n",
        "3",
        "--layout",
        "tight",
        "--emit-seq",
        seq_path.to_str().unwrap(),
        "--emit-canvas",
        canvas_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("PASS") && stdout.contains("value=1"),
        "{stdout}"
    );
    // The written step function runs under the AP-MDM class in this process, which never
    // calls the interpreter; its final memory holds tqbf's answer (`value`, address 3n + 3).
    let envelope = Envelope::from_json(&std::fs::read_to_string(&seq_path).unwrap()).unwrap();
    assert_eq!((envelope.target, envelope.n), (Target::Apmdm, 3));
    let seq = envelope.seq.clone();
    let x0 = CanvasFile::from_json(&std::fs::read_to_string(&canvas_path).unwrap(), &envelope)
        .unwrap()
        .canvas;
    let mut f = apmdm::seq::SeqStep::new(seq, apmdm::seq::Evaluator::Indexed);
    let config = apmdm::machine::RunConfig::new(apmdm::machine::ModelClass::ApMdm)
        .max_steps(100_000)
        .max_length(1000);
    let canvas: apmdm::machine::Canvas<apmdm::seq::Word> = apmdm::machine::Canvas::new(x0);
    let run = apmdm::machine::run(&mut f, canvas, &config);
    assert!(run.stop.error().is_none(), "{}", run.stop);
    let (code, interp, _) = apmdm(&["run", "tqbf", "--n", "3", "--json"]);
    assert_eq!(code, 0);
    let interp: serde_json::Value = serde_json::from_str(&interp).unwrap();
    let value = run
        .last
        .tokens()
        .iter()
        .find_map(|t| match t {
            apmdm::machine::Token::Sym(w) if w.0[0] == 2 && w.0[1] == 3 * 3 + 4 => Some(w.0[2]),
            _ => None,
        })
        .unwrap();
    assert_eq!(Some(value), interp["output"]["value"].as_i64());
    assert_eq!(
        run.steps() as u64,
        3 * interp["metrics"]["rounds"].as_u64().unwrap() + 1 + 2
    );
    // The trace (of the tight layout, where memory follows the space in use) names remask,
    // insert and delete with what each position serves.
    let program = "program p; model erew; word 16;\ninput A[n] = random(0, 9);\nshared s;\n\
                   output s;\nbounds { rounds <= 10; processors <= n; work <= 10 * n; }\n\
                   alloc C[n] { pardo i in 0..n { C[i] = A[i] + 1; } }\n\
                   alloc D[2] { s = 1; }\n";
    let source = dir.join("p.pram");
    std::fs::write(&source, program).unwrap();
    let jsonl = dir.join("t.jsonl");
    let (code, stdout, stderr) = apmdm(&[
        "trace",
        source.to_str().unwrap(),
        "--target",
        "apmdm",
        "--n",
        "4",
        "--layout",
        "tight",
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let file = apmdm::view::TraceFile::read(&std::fs::read_to_string(&jsonl).unwrap()).unwrap();
    let canvases = file.canvases().unwrap();
    // (operation, what the token at that position serves) over every step, from the format-1
    // letters and the canvas before each step; `*` marks an unmasked token of a diff.
    let mut ops: Vec<(char, String)> = Vec::new();
    for (k, st) in file.steps.iter().enumerate() {
        for (i, c) in st.ops.chars().enumerate() {
            ops.push((c, canvases[k].serves[i].clone()));
        }
        for d in &st.diff {
            ops.push(('*', d.serves.clone().unwrap_or_default()));
        }
    }
    assert!(ops.iter().any(|o| o.0 == 'r' && o.1.contains("(scoped)")));
    assert!(ops.iter().any(|o| o.0.is_ascii_uppercase()), "an insert");
    assert!(ops.iter().any(|o| o.0 == 'd'), "a delete");
    assert!(ops
        .iter()
        .any(|o| o.0 == '*' && o.1.starts_with("processor 3 ")));
    assert!(ops.iter().any(|o| o.0 == 'r' && o.1 == "s (cell 4)"));
    // Over --max-work the row is not run; it reports the proof's peak context as a prediction,
    // says why, and the process says nothing ran (exit 3).
    let (code, stdout, _) = apmdm(&[
        "check",
        "tqbf",
        "--sizes",
        "8",
        "--seeds",
        "1",
        "--target",
        "apmdm",
        "--layout",
        "declared",
        "--max-work",
        "1000",
        "--json",
    ]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "incomplete");
    assert_eq!(
        (v["passed"].as_u64(), v["not_run"].as_u64()),
        (Some(0), Some(1))
    );
    let row = &v["rows"][0];
    assert_eq!(row["target"], "apmdm");
    assert_eq!(row["materialized"], false);
    assert_eq!(row["status"], "not-run");
    assert!(row["reason"].as_str().unwrap().contains("--max-work"));
    assert!(row["context"].is_null() && row["steps"].is_null() && row["agree"].is_null());
    assert_eq!(row["predicted_context"].as_u64(), Some(5 * 8 + 8));
    let (code, text, _) = apmdm(&[
        "trace", "tqbf", "--target", "apmdm", "--n", "1", "--layout", "tight",
    ]);
    assert_eq!(code, 0);
    assert!(
        text.contains("[grow -> decode, round 1, length 11 -> 13]"),
        "{text}"
    );
    // The declared layout is laid out for the declared space: no GROW step, a fixed length.
    let (code, text, _) = apmdm(&["trace", "tqbf", "--target", "apmdm", "--n", "1"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("[commit -> decode, round 1, length 13 -> 13]") && !text.contains("grow"),
        "{text}"
    );
    let html = dir.join("t.html");
    let (code, _, _) = apmdm(&[
        "trace",
        "tqbf",
        "--target",
        "apmdm",
        "--n",
        "1",
        "--layout",
        "tight",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    // The step-through page: 171 steps at n = 1, with their phases.
    assert!(page.contains("\"total_steps\":171"));
    assert!(page.contains("\"p\":\"grow\""));
    // A program without declared bounds gets a clear error, not a panic.
    let bare = dir.join("bare.pram");
    std::fs::write(
        &bare,
        "program b; model erew; word 8;\nshared s;\noutput s;\ns = 1;\n",
    )
    .unwrap();
    let (code, _, stderr) = apmdm(&["compile", bare.to_str().unwrap(), "--target", "apmdm"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("declares no rounds bound"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_never_counts_a_row_not_run_as_a_pass() {
    // Nothing runs under --max-work 1: every row is not-run, the summary says so, exit 3.
    let (code, stdout, _) = apmdm(&[
        "check",
        "prefix_sum",
        "--sizes",
        "2,8",
        "--seeds",
        "1",
        "--max-work",
        "1",
    ]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("0 passed, 4 not run, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("(predicted)") && stdout.contains("NOT RUN"),
        "{stdout}"
    );
    assert!(!stdout.contains("PASS"), "{stdout}");
    // Some rows run, some not: exit 0 lists the rest; --require-run makes it exit 3.
    let args = [
        "check",
        "prefix_sum",
        "--sizes",
        "2,64",
        "--seeds",
        "1",
        "--max-work",
        "2000",
        "--json",
    ];
    let (code, stdout, _) = apmdm(&args);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "incomplete");
    let (passed, not_run) = (
        v["passed"].as_u64().unwrap(),
        v["not_run"].as_u64().unwrap(),
    );
    assert!(passed >= 1 && not_run >= 1, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "pass").count() as u64,
        passed
    );
    // Fits and slack use measured rows only: with under 5 sizes nothing is classified.
    for f in v["fits"].as_array().unwrap() {
        assert_eq!(f["class"], "not classified");
    }
    let mut strict = args.to_vec();
    strict.push("--require-run");
    let (code, _, _) = apmdm(&strict);
    assert_eq!(code, 3);
    // compile: a canvas over --max-length is not run; NOT RUN, exit 3, the length a prediction.
    for target in ["mdm", "apmdm"] {
        let (code, stdout, _) = apmdm(&[
            "compile",
            "prefix_sum",
            "--target",
            target,
            "--n",
            "1000",
            "--max-length",
            "10",
        ]);
        assert_eq!(code, 3, "{target}: {stdout}");
        assert!(
            stdout.contains("NOT RUN") && stdout.contains("not run ("),
            "{stdout}"
        );
        assert!(stdout.contains("nothing was checked") && !stdout.contains("PASS"));
        assert!(!stdout.contains("agrees with the interpreter"), "{stdout}");
    }
}

#[test]
fn check_takes_a_users_own_file_and_its_growth_declaration() {
    let dir = std::env::temp_dir().join(format!("apmdm-check-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A sum by halving, not in the library: T and W grow like log n and n.
    let program = |growth: &str| {
        format!(
            "// tree sum of A into A[0]\n//# sizes: 2, 4, 8, 16, 32, 64\n//# seeds: 1, 2\n\
             //# growth: {growth}\nprogram mysum;\nmodel erew;\nword clog2(n) + 10;\n\
             input A[n] = random(0, 100);\noutput A;\nbounds {{\n rounds <= 2 * clog2(n) + 2;\n \
             processors <= n;\n work <= n * clog2(n) + 2 * clog2(n) + 2;\n space <= n;\n}}\n\
             for d in 0..clog2(n) {{\n pardo i in 0..n {{\n  if i % (2 << d) == 0 && i + (1 << d) < n {{\n   \
             A[i] = A[i] + A[i + (1 << d)];\n  }}\n }}\n}}\n"
        )
    };
    let right = dir.join("right.pram");
    std::fs::write(&right, program("T = log n; W = n log n; S = n")).unwrap();
    let (code, stdout, stderr) = apmdm(&["check", right.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "pass", "{v}");
    let rows = v["rows"].as_array().unwrap();
    // Both declared seeds at the two smallest sizes, seed 1 at the four others; two targets.
    assert_eq!(rows.len(), (2 * 2 + 4) * 2);
    assert!(rows.iter().all(|r| r["program"] == "mysum"));
    let growth = v["growth"].as_array().unwrap();
    let t = growth.iter().find(|g| g["quantity"] == "T").unwrap();
    assert_eq!(
        (t["declared"].as_str(), t["measured"].as_str()),
        (Some("log n"), Some("log n"))
    );
    assert_eq!(t["agreement"], "match");
    // A deliberately wrong declaration: a warning by default, a failure under --strict-growth.
    let wrong = dir.join("wrong.pram");
    std::fs::write(&wrong, program("T = n^3; S = n")).unwrap();
    let sizes = [
        "--sizes",
        "2,4,8,16,32",
        "--seeds",
        "1",
        "--target",
        "apmdm",
    ];
    let mut args = vec!["check", wrong.to_str().unwrap()];
    args.extend(sizes);
    let (code, stdout, _) = apmdm(&args);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("warning: mysum: T grows like log n"),
        "{stdout}"
    );
    assert!(stdout.contains("MISMATCH"), "{stdout}");
    args.push("--strict-growth");
    let (code, stdout, _) = apmdm(&args);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("5 passed, 0 not run, 1 failed"), "{stdout}");
    // An unknown class in the directive is an input error.
    let bad = dir.join("bad.pram");
    std::fs::write(&bad, program("T = n^7")).unwrap();
    let (code, _, stderr) = apmdm(&["check", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown class \"n^7\""), "{stderr}");
    // A file without sizes needs --sizes.
    let nosizes = dir.join("nosizes.pram");
    std::fs::write(
        &nosizes,
        program("S = n").replace("//# sizes: 2, 4, 8, 16, 32, 64\n", ""),
    )
    .unwrap();
    let (code, _, stderr) = apmdm(&["check", nosizes.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("give --sizes"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn declared_bounds_past_machine_integers_are_checked_exactly() {
    // Rounds declared as 2^80 at n = 20: the interpreter starts (the bound is evaluated exactly),
    // the MDM canvas is predicted to its exact length and not run, and the AP-MDM runs, agrees
    // with the interpreter and passes on log precision too: its tokens hold the round modulo
    // 2^16 and no work (the runner counts both), so no field grows with the declared rounds.
    let dir = std::env::temp_dir().join(format!("apmdm-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.pram");
    std::fs::write(
        &file,
        "//# sizes: 20\nprogram big;\nmodel erew;\nword 8;\nshared x;\noutput x;\n\
         bounds { rounds <= 1 << (4 * n); processors <= 1; work <= 1 << (4 * n); space <= 1; }\n\
         x = 1;\nx = x + 1;\n",
    )
    .unwrap();
    let (code, stdout, stderr) = apmdm(&["check", file.to_str().unwrap(), "--json"]);
    // Nothing failed; the MDM row was not run, so the summary is incomplete, and the exit code
    // is 0 since --require-run was not given.
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "incomplete");
    let rows = v["rows"].as_array().unwrap();
    let mdm = rows.iter().find(|r| r["target"] == "mdm").unwrap();
    assert_eq!(mdm["status"], "not-run");
    // 2 + I + O + T_decl + min(W_decl, P_decl T_decl) = 2 + 0 + 1 + 2^80 + 2^80.
    let exact = (1u128 << 81) + 3;
    assert_eq!(mdm["predicted_context"], exact.to_string());
    let ap = rows.iter().find(|r| r["target"] == "apmdm").unwrap();
    assert_eq!(
        (&ap["agree"], &ap["answer"], &ap["status"]),
        (
            &serde_json::json!(true),
            &serde_json::json!("x=2"),
            &serde_json::json!("pass")
        )
    );
    // No value comes near the 81 bits that a counter up to the declared rounds would need.
    let bits = ap["width_bits"].as_u64().unwrap();
    assert!(
        bits <= 17 && bits < ap["width_bound"].as_u64().unwrap(),
        "{ap}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_budget_is_calibrated_seconds_with_max_work_as_a_cap() {
    let base = [
        "check",
        "prefix_sum",
        "--sizes",
        "2",
        "--seeds",
        "1",
        "--json",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let (code, stdout, stderr) = apmdm(&args);
        (code, stdout, stderr)
    };
    // No time at all: the probe still runs and is reported; nothing is run, exit 3.
    let (code, stdout, _) = run(&["--max-seconds", "0"]);
    assert_eq!(code, 3, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let b = &v["budget"];
    assert_eq!(b["max_work"].as_u64(), Some(0), "{b}");
    let c = &b["calibration"];
    assert_eq!(c["probe"], "prefix_sum:64");
    // The probe is the MDM schedule of prefix_sum at n = 64: 534 positions, 14 steps.
    assert_eq!(c["probe_position_steps"].as_u64(), Some(534 * 14));
    assert!(c["ns_per_position_step"].as_f64().unwrap() >= 1.0, "{c}");
    assert!(c["probe_seconds"].as_f64().unwrap() > 0.0, "{c}");
    assert_eq!(v["not_run"].as_u64(), Some(2), "{v}");
    let reason = v["rows"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("over the budget of 0 position-steps"),
        "{reason}"
    );
    // Seconds convert through the calibrated cost: max_work = floor(s * 1e9 / ns).
    let (code, stdout, _) = run(&["--max-seconds", "1000"]);
    assert_eq!(code, 0, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let b = &v["budget"];
    let ns = b["calibration"]["ns_per_position_step"].as_f64().unwrap();
    assert_eq!(
        b["max_work"].as_u64(),
        Some((1000.0 * 1e9 / ns).floor() as u64)
    );
    assert_eq!(v["passed"].as_u64(), Some(2), "{v}");
    // --max-work alone: no probe, the cap is the budget; with --max-seconds the smaller wins.
    let (_, stdout, _) = run(&["--max-work", "7"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["budget"]["calibration"].is_null(), "{v}");
    assert_eq!(v["budget"]["max_work"].as_u64(), Some(7));
    let (_, stdout, _) = run(&["--max-work", "7", "--max-seconds", "1000"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["budget"]["max_work"].as_u64(), Some(7));
    assert!(v["budget"]["calibration"].is_object(), "{v}");
    // A negative or non-finite budget is a usage error, not a panic.
    for bad in ["-1", "inf", "NaN"] {
        let flag = format!("--max-seconds={bad}");
        let (code, _, stderr) = run(&[flag.as_str()]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--max-seconds"), "{stderr}");
    }
}
