//! `apmdm run` end to end: the JSON contract, located errors on stderr, the JSONL trace.

use crate::common::apmdm;

#[test]
fn json_output_is_one_object_with_the_contract_keys() {
    let (code, stdout, _) = apmdm(&["run", "reduce_sum", "--n", "8", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["program"], "reduce_sum");
    assert_eq!(v["n"], 8);
    assert_eq!(v["model"], "erew");
    assert_eq!(v["outcome"], "ok");
    assert!(v["output"]["sum"].is_i64());
    // log2 8 = 3 tree steps with their loop tests, the failing test, and `sum = A[0]`.
    assert_eq!(v["metrics"]["rounds"], 8);
    assert_eq!(v["metrics"]["processors"], 4);
}

#[test]
fn a_violation_is_an_outcome_object_and_a_failure_exit() {
    let (code, stdout, _) = apmdm(&["run", "prefix_sum", "--n", "8", "--model", "erew", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["outcome"]["outcome"], "violation");
    assert_eq!(v["outcome"]["kind"], "concurrent-read");
    assert_eq!(v["outcome"]["processors"], serde_json::json!([1, 2]));
}

#[test]
fn a_garbage_file_gives_a_located_error() {
    let dir = std::env::temp_dir().join(format!("apmdm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.pram");
    std::fs::write(&bad, "program p;\nmodel erew;\n  @@@\n").unwrap();
    let (code, stdout, stderr) = apmdm(&["run", bad.to_str().unwrap(), "--n", "8"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("bad.pram:3:3:"), "{stderr}");
    let trace = dir.join("t.jsonl");
    let (code, stdout, _) = apmdm(&[
        "run",
        "list_ranking",
        "--n",
        "16",
        "--json",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let lines = std::fs::read_to_string(&trace).unwrap();
    // The format-1 header, then one record per round.
    assert_eq!(
        lines.lines().count() as u64,
        1 + v["metrics"]["rounds"].as_u64().unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_out_of_range_size_is_an_error_not_a_panic() {
    let (code, _, stderr) = apmdm(&["run", "parity", "--n", "0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("n = 0 is out of range"), "{stderr}");
    let (code, _, stderr) = apmdm(&["run", "no_such_program", "--n", "4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a built-in program"), "{stderr}");
}

#[test]
fn inputs_from_json_replace_the_generator_and_are_checked() {
    let dir = std::env::temp_dir().join(format!("apmdm-cli-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"A": [5, 1, 4, 1, 5, 9, 2, 6]}"#).unwrap();
    let (code, stdout, _) = apmdm(&[
        "run",
        "reduce_max",
        "--n",
        "8",
        "--json",
        "--input",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["output"]["best"], 9);
    let (code, _, stderr) = apmdm(&[
        "run",
        "reduce_max",
        "--n",
        "4",
        "--input",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`A` has 8 values"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
