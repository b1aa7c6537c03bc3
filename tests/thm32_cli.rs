//! `apmdm check --theorem 2,3` through the binary: one JSON object with both members, every row
//! passing, and the summary counting them; `trace --theorem 3` prints one line per step.

use crate::common::apmdm;

#[test]
fn theorems_2_and_3_are_sections_of_check_json() {
    let (code, out, _) = apmdm(&["check", "prefix_sum", "--theorem", "2,3", "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "pass");
    let t2 = v["theorem_2"]["rows"].as_array().unwrap();
    let t3 = v["theorem_3"]["rows"].as_array().unwrap();
    // prefix_sum at its smallest size; theorem 3 adds the reverse machine at n = 8.
    assert_eq!((t2.len(), t3.len()), (1, 2));
    assert_eq!(v["passed"], 3);
    assert_eq!(t2[0]["n"], 1);
    assert_eq!(v["theorem_2"]["constants"]["c1"], 4);
    assert!(t2[0]["steps"].as_u64().unwrap() <= t2[0]["masks"].as_u64().unwrap());
    assert_eq!(t3[1]["program"], "reverse-ao-mdm");
    assert_eq!(t3[1]["marm_steps"], 8);
}

#[test]
fn theorem_2_rows_over_the_work_limit_are_not_run() {
    let (code, out, _) = apmdm(&[
        "check",
        "prefix_sum",
        "--theorem",
        "2",
        "--max-naive-work",
        "1",
        "--json",
    ]);
    assert_eq!(code, 3, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["theorem_2"]["rows"][0]["status"], "not-run");
    assert_eq!(v["passed"], 0);
}

#[test]
fn trace_theorem_3_prints_every_step() {
    let (code, out, _) = apmdm(&["trace", "prefix_sum", "--n", "1", "--theorem", "3"]);
    assert_eq!(code, 0, "{out}");
    // prefix_sum at n = 1 has 4 masks: x_0 and 4 steps.
    assert_eq!(out.lines().filter(|l| l.starts_with("step")).count(), 5);
    assert!(out.contains("MARM"));
}
