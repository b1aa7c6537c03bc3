//! `apmdm train`, `eval` and `bench train` end to end: JSON schemas, resume, refused checkpoints.

use crate::common::apmdm;
use std::path::{Path, PathBuf};

/// A fresh folder under the system temp dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn train(out: &Path, steps: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "train",
        "parity",
        "--steps",
        steps,
        "--seeds",
        "3",
        "--eval-every",
        "10",
        "--warmup",
        "5",
        "--batch",
        "32",
        "--val-count",
        "2",
        "--out",
        s(out),
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = apmdm(&args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn train_then_eval_parity_with_the_documented_json() {
    let out = scratch("train-eval");
    let r = train(&out, "20", &[]);
    assert_eq!(r["parameters"], 300);
    assert_eq!(r["training_examples"], 9);
    let candidates = r["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[1]["val_count"], 18 * 2);
    let selected = r["selected"].as_str().unwrap().to_string();
    let (code, stdout, stderr) = apmdm(&[
        "eval",
        "parity",
        "--checkpoint",
        &selected,
        "--lengths",
        "2,5,9",
        "--count",
        "6",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["task"], "parity");
    assert_eq!(v["model"], "ap-mdm");
    assert_eq!(v["parameters"], 300);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    // L = 2 has 4 distinct strings, fewer than the 6 asked for: all 4 are decoded, once each, and
    // the accuracy is exact; longer lengths get 6 distinct drawn strings and a Wilson interval.
    for (r, (len, count, strings, interval)) in results.iter().zip([
        (2, 4, "all 4", "exact"),
        (5, 6, "6 drawn", "wilson-95"),
        (9, 6, "6 drawn", "wilson-95"),
    ]) {
        assert_eq!(r["length"], len);
        assert_eq!(r["count"], count);
        assert_eq!(r["strings"], strings);
        assert_eq!(r["interval"], interval);
        for key in [
            "correct",
            "accuracy",
            "ci_low",
            "ci_high",
            "mean_steps",
            "draw",
        ] {
            assert!(r.get(key).is_some(), "missing {key}");
        }
        let correct = r["correct"].as_u64().unwrap();
        assert!(correct <= count);
        if interval == "exact" {
            assert_eq!(r["ci_low"], r["accuracy"]);
            assert_eq!(r["ci_high"], r["accuracy"]);
        } else {
            let (lo, hi) = (
                r["ci_low"].as_f64().unwrap(),
                r["ci_high"].as_f64().unwrap(),
            );
            assert!(lo < hi, "{r}");
        }
        let stops: u64 = r["stops"]
            .as_object()
            .unwrap()
            .values()
            .map(|x| x.as_u64().unwrap())
            .sum();
        assert_eq!(stops, count);
    }
    // --show prints full traces of learned runs, starting from the test string.
    let (code, stdout, stderr) = apmdm(&[
        "eval",
        "parity",
        "--checkpoint",
        &selected,
        "--lengths",
        "5",
        "--count",
        "2",
        "--show",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("AP-MDM trace, x_0 = BOS "), "{stdout}");
    assert!(stdout.contains("stop: "), "{stdout}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_resumed_cli_run_writes_the_same_checkpoint_bytes_as_a_straight_one() {
    let straight = scratch("straight");
    let resumed = scratch("resumed");
    train(&straight, "30", &[]);
    train(&resumed, "20", &[]);
    // Same options, more steps: continues from step 20.
    train(&resumed, "30", &["--resume"]);
    let a = std::fs::read(straight.join("seed-3/step-00000030.ckpt")).unwrap();
    let b = std::fs::read(resumed.join("seed-3/step-00000030.ckpt")).unwrap();
    assert!(a == b, "resumed checkpoint differs from the straight run");
    // Resuming with other options is refused, naming the checkpoint.
    let (code, _, stderr) = apmdm(&[
        "train",
        "parity",
        "--steps",
        "40",
        "--seeds",
        "3",
        "--lr",
        "0.5",
        "--out",
        s(&resumed),
        "--resume",
        "--json",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("another model or optimizer config"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&straight).unwrap();
    std::fs::remove_dir_all(&resumed).unwrap();
}

#[test]
fn bad_checkpoints_and_options_get_clear_errors() {
    let out = scratch("bad");
    let r = train(&out, "10", &[]);
    let selected = PathBuf::from(r["selected"].as_str().unwrap());
    let eval = |path: &Path, extra: &[&str]| {
        let mut args = vec!["eval", "parity", "--checkpoint", s(path), "--lengths", "4"];
        args.extend_from_slice(extra);
        apmdm(&args)
    };
    // Corrupt: one flipped byte in the middle.
    let mut bytes = std::fs::read(&selected).unwrap();
    let corrupt = out.join("corrupt.ckpt");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&corrupt, &bytes).unwrap();
    let (code, _, stderr) = eval(&corrupt, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("corrupt"), "{stderr}");
    // Truncated.
    let truncated = out.join("truncated.ckpt");
    std::fs::write(&truncated, &bytes[..40]).unwrap();
    let (code, _, stderr) = eval(&truncated, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("truncated") || stderr.contains("corrupt"),
        "{stderr}"
    );
    // Not a checkpoint.
    let text = out.join("text.ckpt");
    std::fs::write(&text, "hello, this is not a checkpoint at all").unwrap();
    let (code, _, stderr) = eval(&text, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad magic"), "{stderr}");
    // Mismatched: an AP-MDM checkpoint read as the ARM baseline.
    let (code, _, stderr) = eval(&selected, &["--model", "arm"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("expected `parity-arm`"), "{stderr}");
    // Missing file, bad lengths, bad model shapes.
    let (code, _, stderr) = eval(&out.join("missing.ckpt"), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.ckpt"), "{stderr}");
    let (code, _, stderr) = apmdm(&[
        "eval",
        "parity",
        "--checkpoint",
        s(&selected),
        "--lengths",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--lengths"), "{stderr}");
    let (code, _, stderr) = apmdm(&[
        "bench", "train", "--heads", "3", "--width", "16", "--steps", "1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not divisible"), "{stderr}");
    let (code, _, stderr) = apmdm(&[
        "train",
        "parity",
        "--model",
        "arm",
        "--max-train-length",
        "1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--max-train-length"), "{stderr}");
    let (code, _, stderr) = apmdm(&["train", "parity", "--steps", "0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--steps"), "{stderr}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bench_train_reports_the_documented_json() {
    let (code, stdout, stderr) = apmdm(&[
        "bench", "train", "--layers", "1", "--heads", "2", "--width", "8", "--vocab", "6", "--seq",
        "10", "--batch", "3", "--steps", "3", "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // 6·8 + (12·64 + 80) + 16 + 6·8 + 6 + 27
    assert_eq!(v["parameters"], 48 + 848 + 16 + 48 + 6 + 27);
    assert!(v["ms_per_step"].as_f64().unwrap() > 0.0);
    assert!(v["tokens_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(v["all_ms"].as_array().unwrap().len(), 3);
    // Process CPU time per step, read from /proc on Linux.
    if cfg!(target_os = "linux") {
        assert!(v["cpu_ms_per_step"].as_f64().unwrap() > 0.0);
        assert_eq!(v["all_cpu_ms"].as_array().unwrap().len(), 3);
    }
}
