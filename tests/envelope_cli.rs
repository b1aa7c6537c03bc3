//! The emitted schedule end to end: `compile --emit-seq` writes a format-1 envelope whose bytes do
//! not depend on the seed or the input, and `apmdm step` runs it on an emitted canvas, in a
//! process that has neither the program's source nor its name, to the interpreter's answer.

use crate::common::apmdm;
use std::path::{Path, PathBuf};

/// A fresh directory of its own for one test.
fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A number that a report may print as a JSON number or as a decimal string (exact lengths).
fn integer(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// f does not depend on the input: the compilers take neither seed nor input (their signatures),
/// and the bytes written agree with that under two seeds and a given input, for both targets,
/// while the canvases (where the input lives) differ in their cells.
#[test]
fn the_emitted_step_function_is_the_same_bytes_for_every_seed_and_input() {
    let dir = fresh_dir("f-independent");
    let input = dir.join("input.json");
    std::fs::write(&input, r#"{"A": [7, 0, 3, 9, 1, 4, 4, 2]}"#).unwrap();
    for target in ["mdm", "apmdm"] {
        let runs: [&[&str]; 3] = [&["--seed", "1"], &["--seed", "2"], &["--input", s(&input)]];
        let mut seqs = Vec::new();
        let mut cells = Vec::new();
        for (k, extra) in runs.iter().enumerate() {
            let seq = dir.join(format!("{target}-seq-{k}.json"));
            let canvas = dir.join(format!("{target}-canvas-{k}.json"));
            let mut args = vec![
                "compile",
                "prefix_sum",
                "--target",
                target,
                "--n",
                "8",
                "--json",
                "--emit-seq",
                s(&seq),
                "--emit-canvas",
                s(&canvas),
            ];
            args.extend_from_slice(extra);
            let (code, stdout, stderr) = apmdm(&args);
            assert_eq!(code, 0, "{target} {extra:?}: {stdout}{stderr}");
            seqs.push(std::fs::read(&seq).unwrap());
            let c = json(&std::fs::read_to_string(&canvas).unwrap());
            // The given or memory cells (kind 2: address, value): the input itself.
            let given: Vec<serde_json::Value> = c["canvas"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t[0] == 2)
                .cloned()
                .collect();
            assert_eq!(given.len(), 8, "{target}");
            cells.push(given);
        }
        assert_eq!(seqs[0], seqs[1], "{target}: seed 1 and seed 2");
        assert_eq!(seqs[0], seqs[2], "{target}: seed 1 and --input");
        assert_ne!(cells[0], cells[1], "{target}: the seed changed no cell");
        assert_ne!(cells[0], cells[2], "{target}: the input changed no cell");
        assert_ne!(cells[1], cells[2], "{target}");
        let given: Vec<i64> = cells[2].iter().map(|t| t[2].as_i64().unwrap()).collect();
        assert_eq!(given, [7, 0, 3, 9, 1, 4, 4, 2], "{target}");
        let e = json(std::str::from_utf8(&seqs[0]).unwrap());
        assert_eq!(
            (&e["format"], &e["target"], &e["program"], &e["n"]),
            (
                &json("1"),
                &json(&format!("\"{target}\"")),
                &json("\"prefix_sum\""),
                &json("8")
            )
        );
    }
}

/// Programs of the user's own, absent from the built-in library: a scan that ends normally, one
/// that faults out of bounds (its outcome names an array, by the envelope's names), and one that
/// allocates a scope (the AP-MDM canvas grows and shrinks).
const PROGRAMS: [(&str, &str); 3] = [
    (
        "scan",
        "program my_scan; model crew; word 24;\ninput A[n] = random(0, 50);\nshared B[n];\n\
         shared total;\noutput B, total;\n\
         bounds { rounds <= 4; processors <= n; work <= 3 * n + 1; }\n\
         pardo i in 0..n { B[i] = A[i] * 2 + 1; }\n\
         pardo i in 0..n { B[i] = B[i] + B[(i + 1) % n]; }\ntotal = B[0] + B[n - 1];\n",
    ),
    (
        "fault",
        "program my_fault; model crew; word 16;\ninput A[n] = random(0, 9);\nshared B[n];\n\
         output B;\nbounds { rounds <= 2; processors <= n; work <= 2 * n; }\n\
         pardo i in 0..n { B[i] = A[i + 1]; }\n",
    ),
    (
        "scope",
        "program my_scope; model erew; word 16;\ninput A[n] = random(0, 9);\nshared s;\n\
         output s;\nbounds { rounds <= 10; processors <= n; work <= 10 * n; space <= 2 * n + 1; }\n\
         alloc C[n] { pardo i in 0..n { C[i] = A[i] + 1; } s = C[n - 1]; }\n",
    ),
];

/// Emits f and x_0 for a user's program, deletes the source, renames the program inside both
/// files, and runs `apmdm step` on them: the outcome, output and T, P, W, S equal the
/// interpreter's (`apmdm run`, run before the source was deleted), the steps and context equal
/// `compile --json`'s. With the source gone and the name changed, the `step` process cannot have
/// parsed or interpreted the program.
#[test]
fn step_runs_an_emitted_schedule_without_the_program_and_matches_compile_and_run() {
    let dir = fresh_dir("step-alone");
    for target in ["mdm", "apmdm"] {
        for (tag, source) in PROGRAMS {
            let file = dir.join(format!("{tag}.pram"));
            std::fs::write(&file, source).unwrap();
            let seq = dir.join(format!("{target}-{tag}-f.json"));
            let canvas = dir.join(format!("{target}-{tag}-x0.json"));
            let (_, stdout, stderr) = apmdm(&[
                "compile",
                s(&file),
                "--target",
                target,
                "--n",
                "5",
                "--seed",
                "3",
                "--json",
                "--emit-seq",
                s(&seq),
                "--emit-canvas",
                s(&canvas),
            ]);
            let row = json(&stdout);
            assert_eq!(row["agree"], true, "{target} {tag}: {stdout}{stderr}");
            let (_, interp, _) = apmdm(&["run", s(&file), "--n", "5", "--seed", "3", "--json"]);
            let interp = json(&interp);
            std::fs::remove_file(&file).unwrap();
            for path in [&seq, &canvas] {
                let text = std::fs::read_to_string(path).unwrap();
                let renamed = text.replacen(
                    &format!("\"program\":\"my_{tag}\""),
                    "\"program\":\"a name no file or library holds\"",
                    1,
                );
                assert_ne!(text, renamed, "{target} {tag}: no program name to rename");
                std::fs::write(path, renamed).unwrap();
            }
            let (code, stdout, stderr) =
                apmdm(&["step", "--seq", s(&seq), "--canvas", s(&canvas), "--json"]);
            assert_eq!(code, 0, "{target} {tag}: {stdout}{stderr}");
            let got = json(&stdout);
            assert_eq!(got["target"], target);
            assert_eq!(got["stop"], "fixed-point", "{target} {tag}");
            assert_eq!(got["outcome"], interp["outcome"], "{target} {tag}");
            assert_eq!(got["output"], interp["output"], "{target} {tag}");
            assert_eq!(got["metrics"], interp["metrics"], "{target} {tag}");
            assert_eq!(
                integer(&got["steps"]),
                integer(&row["steps"]),
                "{target} {tag}"
            );
            assert_eq!(
                integer(&got["context"]),
                integer(&row["context"]),
                "{target} {tag}"
            );
            if tag == "fault" {
                assert_eq!(got["outcome"]["outcome"], "fault", "{stdout}");
                assert_eq!(
                    got["outcome"]["kind"]["out-of-bounds"]["array"], "A",
                    "{stdout}"
                );
            }
            // The human form states the same run, with no Rust value forms.
            let (code, text, _) = apmdm(&["step", "--seq", s(&seq), "--canvas", s(&canvas)]);
            assert_eq!(code, 0, "{text}");
            assert!(text.contains("fixed point reached"), "{text}");
            assert!(
                text.contains(&format!("{} decoding steps", got["steps"])),
                "{text}"
            );
            for debug in ["Some(", "None", "Ok(", "Array(", "Scalar("] {
                assert!(!text.contains(debug), "{debug} in {text}");
            }
        }
    }
}

/// Bad files are errors (exit 2) naming the problem, never panics: a missing file, not JSON, a
/// bare seq program without the envelope, an unknown format, a canvas for another n or of words
/// of the wrong width. A step cap below what the run needs stops it without a result (exit 1).
#[test]
fn step_refuses_bad_files_and_reports_a_run_cut_short() {
    let dir = fresh_dir("step-bad");
    let seq = dir.join("f.json");
    let canvas = dir.join("x0.json");
    let other = dir.join("x0-n4.json");
    let other_seq = dir.join("f-n4.json");
    for (n, f, x) in [("5", &seq, &canvas), ("4", &other_seq, &other)] {
        let (code, stdout, stderr) = apmdm(&[
            "compile",
            "prefix_sum",
            "--target",
            "apmdm",
            "--n",
            n,
            "--emit-seq",
            s(f),
            "--emit-canvas",
            s(x),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let envelope = std::fs::read_to_string(&seq).unwrap();
    let e = json(&envelope);
    let bare = write("bare.json", &e["seq"].to_string());
    let future = write(
        "future.json",
        &envelope.replacen("\"format\":1", "\"format\":7", 1),
    );
    let garbage = write("garbage.json", "{\"format\": 1, \"target\": ");
    let mut narrow = json(&std::fs::read_to_string(&canvas).unwrap());
    narrow["canvas"][0] = json("[1, 2, 3]");
    let narrow = write("narrow.json", &narrow.to_string());
    let missing = dir.join("missing.json");
    let cases: [(&Path, &Path, &str); 6] = [
        (&missing, &canvas, "missing.json"),
        (&garbage, &canvas, "garbage.json"),
        (&bare, &canvas, "no \"format\" field"),
        (&future, &canvas, "format 7 is not one this apmdm reads"),
        (&seq, &other, "n = 4"),
        (&seq, &narrow, "3 fields"),
    ];
    for (f, x, needle) in cases {
        let (code, stdout, stderr) = apmdm(&["step", "--seq", s(f), "--canvas", s(x)]);
        assert_eq!(code, 2, "{needle}: {stdout}{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, stdout, stderr) = apmdm(&[
        "step",
        "--seq",
        s(&seq),
        "--canvas",
        s(&canvas),
        "--max-steps",
        "3",
        "--json",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let got = json(&stdout);
    assert_eq!(
        (got["stop"].as_str(), got["steps"].as_u64()),
        (Some("step-cap"), Some(3))
    );
    assert!(got["outcome"].is_null(), "{stdout}");
    assert!(got["problem"]
        .as_str()
        .unwrap()
        .contains("before a fixed point"));
    // A file over --max-input-bytes is refused before it is read.
    let size = std::fs::metadata(&seq).unwrap().len();
    let limit = (size - 1).to_string();
    let (code, _, stderr) = apmdm(&[
        "step",
        "--seq",
        s(&seq),
        "--canvas",
        s(&canvas),
        "--max-input-bytes",
        &limit,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the envelope has {size} bytes, over the limit of {limit} (--max-input-bytes)"
        )),
        "{stderr}"
    );
    // The n = 4 schedule on its own canvas still runs: the refusal above was the mismatch.
    let (code, _, stderr) = apmdm(&["step", "--seq", s(&other_seq), "--canvas", s(&other)]);
    assert_eq!(code, 0, "{stderr}");
}
