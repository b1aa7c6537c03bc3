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
    let (code, stdout, _) = apmdm(&["check", "--json", "--sizes", "4,9"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["pass"], true);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let mdm9 = rows
        .iter()
        .find(|r| r["program"] == "reverse-mdm" && r["n"] == 9)
        .unwrap();
    assert_eq!(
        (mdm9["steps"].as_u64(), mdm9["context"].as_u64()),
        (Some(4), Some(19))
    );
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
