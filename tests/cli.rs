//! The `apmdm` binary end to end: the checker, the demo, JSONL output and error messages.

use std::process::Command;

fn apmdm(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .output()
        .expect("the apmdm binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_json_reports_every_builtin_row_as_passing() {
    let (code, stdout, _) = apmdm(&[
        "check",
        "--json",
        "--sizes",
        "4,9",
        "parity",
        "reverse-arm",
        "reverse-mdm",
        "reverse-ao-mdm",
        "reverse-masked-arm",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["pass"], true);
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
        assert_eq!(r["pass"], true);
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
        assert_eq!(r["pass"], true);
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
        let seq: apmdm::seq::Program =
            serde_json::from_str(&std::fs::read_to_string(&seq_path).unwrap()).unwrap();
        let x0: Vec<apmdm::machine::Token<apmdm::seq::Word>> =
            serde_json::from_str(&std::fs::read_to_string(&canvas_path).unwrap()).unwrap();
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
    let trace =
        apmdm::machine::Trace::<apmdm::machine::library::ParityToken, usize>::from_jsonl(&text)
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
    // Round 1 is the for loop's first test (line 19), round 2 the pardo (line 20).
    assert!(
        stdout.contains("step 1: 2 positions decoded, 19 masks held"),
        "{stdout}"
    );
    assert!(stdout.contains("r1p0[for-test line 19 test=1]"), "{stdout}");
    assert!(stdout.contains("r2p1[pardo line 20]{A[1]:="), "{stdout}");
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
        .collect();
    assert_eq!(records.len(), 6);
    let unmasked: u64 = records
        .iter()
        .map(|r| r["counts"]["unmask"].as_u64().unwrap())
        .sum();
    // Every position of the canvas but the start token and the given cells is decoded once.
    assert_eq!(unmasked, 26 - 1 - 4);
    let slot = &records[1]["positions"][1]["serves"];
    assert_eq!(
        (slot["round"].as_i64(), slot["line"].as_i64()),
        (Some(2), Some(20))
    );
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
    // One row per canvas x_0 .. x_6, one cell per position (26), masks shown as M.
    assert_eq!(page.matches("<tr>").count(), 7);
    assert_eq!(page.matches("<td class=").count(), 7 * 26);
    assert!(page.contains("<td class=\"m\" title=\"null\">M</td>"));
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
    let seq: apmdm::seq::Program =
        serde_json::from_str(&std::fs::read_to_string(&seq_path).unwrap()).unwrap();
    let x0: Vec<apmdm::machine::Token<apmdm::seq::Word>> =
        serde_json::from_str(&std::fs::read_to_string(&canvas_path).unwrap()).unwrap();
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
    // The trace names remask, insert and delete with what each position serves.
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
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<(String, String, bool)> = records
        .iter()
        .flat_map(|r| r["positions"].as_array().unwrap().clone())
        .map(|p| {
            (
                p["op"].as_str().unwrap().to_string(),
                p["serves"].as_str().unwrap().to_string(),
                p["insert"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(ops
        .iter()
        .any(|o| o.0 == "remask" && o.1.contains("(scoped)")));
    assert!(ops.iter().any(|o| o.2), "an insert");
    assert!(ops.iter().any(|o| o.0 == "delete"), "a delete");
    assert!(ops.iter().any(|o| o.0 == "unmask" && o.1 == "processor 3"));
    assert!(ops.iter().any(|o| o.0 == "remask" && o.1 == "s (cell 4)"));
    // Over --max-work the row is not run; it reports the proof's peak context and says why.
    let (code, stdout, _) = apmdm(&[
        "check",
        "tqbf",
        "--sizes",
        "8",
        "--target",
        "apmdm",
        "--max-work",
        "1000",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let row = &v["rows"][0];
    assert_eq!(row["target"], "apmdm");
    assert_eq!(row["materialized"], false);
    assert!(row["not_run"].as_str().unwrap().contains("--max-work"));
    assert_eq!(row["context"].as_u64(), Some(5 * 8 + 8));
    let (code, text, _) = apmdm(&["trace", "tqbf", "--target", "apmdm", "--n", "1"]);
    assert_eq!(code, 0);
    assert!(
        text.contains("[grow -> decode, round 1, length 11 -> 13]"),
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
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    // One row per canvas: x_0 and one per step (171 steps at n = 1).
    assert_eq!(page.matches("<tr>").count(), 172);
    assert!(page.contains("compiled to an AP-MDM schedule") && page.contains("grow"));
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
