//! `apmdm check --theorem 5|6` and `apmdm demo dyck` end to end.

use crate::common::apmdm;

#[test]
fn theorems_5_and_6_in_json() {
    let (code, stdout, stderr) = apmdm(&[
        "check",
        "--json",
        "--theorem",
        "5,6",
        "--dyck-k",
        "1,2",
        "--dyck-length",
        "6",
        "--dyck-prob-length",
        "4",
        "--dyck-samples",
        "20",
        "--edit-sizes",
        "0,3,8",
        "--edit-instances",
        "5",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "pass");
    // 4 languages x (support, probabilities, samples) + 6 edit rows (single, 3 sizes, S5).
    assert_eq!(v["passed"].as_u64(), Some(12 + 5));
    assert_eq!(v["rows"].as_array().map(|a| a.len()), Some(0));
    let support = v["theorem_5"]["support"].as_array().unwrap();
    assert_eq!(support.len(), 4);
    let two2 = &support[3];
    assert_eq!(two2["language"], "two-sided Dyck-2");
    assert_eq!(two2["equal"], true);
    let counts: Vec<u64> = two2["lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["language"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 0, 4, 0, 28, 0, 232]);
    let rows = v["theorem_6"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for r in rows {
        assert_eq!(r["steps"], r["expected_steps"]);
        assert_eq!(r["context"], r["expected_context"]);
    }
}

#[test]
fn bad_theorem_options_are_usage_errors() {
    let (code, _, stderr) = apmdm(&["check", "--theorem", "5", "--dyck-k", "7"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("1 to 4"), "{stderr}");
    let (code, _, stderr) = apmdm(&["check", "--theorem", "5", "--dyck-length", "40"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, _) = apmdm(&["check", "--theorem", "7"]);
    assert_eq!(code, 2);
}

#[test]
fn demo_dyck_shows_one_seeded_generation() {
    let run = |seed: &str| apmdm(&["demo", "dyck", "--k", "2", "--two-sided", "--seed", seed]);
    let (code, stdout, stderr) = run("9");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("step 1: M"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.contains("in the language: yes"), "{last}");
    assert_eq!(run("9").1, stdout);
    let (code, _, stderr) = apmdm(&["demo", "dyck", "--k", "9"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("1 to 4"), "{stderr}");
    let (code, _, stderr) = apmdm(&["demo", "parity"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--input"), "{stderr}");
}

#[test]
fn run_counts_over_their_maxima_are_refused_before_anything_runs() {
    for (option, value, theorem) in [
        ("--dyck-samples", "1000000000000", "5"),
        ("--edit-instances", "1000000000000", "6"),
        ("--edit-sizes", "3,100000", "6"),
    ] {
        let (code, stdout, stderr) = apmdm(&["check", "--theorem", theorem, option, value]);
        assert_eq!(code, 2, "{option}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{option}: {stdout}");
        assert!(
            stderr.contains("at most") || stderr.contains("--edit-max"),
            "{stderr}"
        );
    }
}
