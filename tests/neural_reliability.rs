//! `apmdm train` and `eval` under interruption, reruns and crafted or oversized input: the
//! selection is the same however often a run is stopped and resumed, existing runs are never
//! silently overwritten, and every size option is refused above its limit with a message.

use std::path::{Path, PathBuf};

use crate::common::apmdm;
use apmdm::neural::checkpoint;

/// A fresh folder under the system temp dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-rel-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tiny run: two seeds of 6 steps, a checkpoint every 2 steps (12 steps, 6 checkpoints).
fn tiny_run(out: &Path, extra: &[&str]) -> (i32, String, String) {
    tiny_run_of(out, "6", extra)
}

/// [`tiny_run`] with another number of steps per seed.
fn tiny_run_of(out: &Path, steps: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "train",
        "parity",
        "--steps",
        steps,
        "--seeds",
        "1,2",
        "--eval-every",
        "2",
        "--warmup",
        "2",
        "--batch",
        "8",
        "--val-count",
        "1",
        "--out",
        s(out),
        "--json",
    ];
    args.extend_from_slice(extra);
    apmdm(&args)
}

/// What a run selected: its candidates (paths reduced to `seed-S/step-N.ckpt`) and the bytes of
/// the selected checkpoint.
fn selection(out: &Path, stdout: &str) -> (Vec<serde_json::Value>, Vec<u8>) {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    let candidates = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            let path = PathBuf::from(c["checkpoint"].as_str().unwrap());
            let rel = path
                .strip_prefix(out)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            c["checkpoint"] = rel.into();
            c
        })
        .collect();
    assert_eq!(v["selected"], s(&out.join("selected.ckpt")));
    (
        candidates,
        std::fs::read(out.join("selected.ckpt")).unwrap(),
    )
}

#[test]
fn an_interrupted_run_selects_exactly_what_an_uninterrupted_one_does() {
    let straight = scratch("straight");
    let (code, stdout, stderr) = tiny_run(&straight, &[]);
    assert_eq!(code, 0, "{stderr}");
    let want = selection(&straight, &stdout);
    assert_eq!(want.0.len(), 6);
    // A finished run resumed again selects the same (it used to validate only its last
    // checkpoint and replace a better selection with it).
    let (code, stdout, stderr) = tiny_run(&straight, &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(selection(&straight, &stdout), want);
    // Killed after every step count of the 12 (at checkpoint boundaries, between them, after
    // the last checkpoint before selection), then resumed.
    for k in 0..=12 {
        let dir = scratch(&format!("stop-{k}"));
        let k_text = k.to_string();
        let (code, stdout, stderr) = tiny_run(&dir, &["--stop-after-steps", &k_text]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!(
                "stopped after {k} optimizer steps (--stop-after-steps); --resume continues the \
                 run\n"
            )
        );
        assert!(!dir.join("selected.ckpt").exists());
        let (code, stdout, stderr) = tiny_run(&dir, &["--resume"]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(selection(&dir, &stdout), want, "stopped after {k} steps");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // Checkpoints of format version 1 (no recorded result) are scored again when resumed.
    for (_, path) in checkpoint::list(&straight.join("seed-1"))
        .unwrap()
        .into_iter()
        .chain(checkpoint::list(&straight.join("seed-2")).unwrap())
    {
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, as_version_1(&bytes)).unwrap();
        let ck = checkpoint::load(&path).unwrap();
        assert_eq!(ck.header.validation, None);
    }
    std::fs::remove_file(straight.join("selected.ckpt")).unwrap();
    let (code, stdout, stderr) = tiny_run(&straight, &["--resume"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(selection(&straight, &stdout), want);
    std::fs::remove_dir_all(&straight).unwrap();
}

/// A version 2 checkpoint rewritten as version 1 wrote it: no validation field, version 1,
/// checksum recomputed as the writer computes it.
fn as_version_1(bytes: &[u8]) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[20..20 + len]).unwrap();
    header
        .as_object_mut()
        .unwrap()
        .remove("validation")
        .unwrap();
    reseal(1, &header, &bytes[20 + len..bytes.len() - 8])
}

fn reseal(version: u32, header: &serde_json::Value, payload: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap();
    let mut out = checkpoint::MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(payload);
    let sum = checkpoint::fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

#[test]
fn an_existing_run_is_refused_and_overwrite_replaces_it_whole() {
    let out = scratch("overwrite");
    let (code, _, stderr) = tiny_run(&out, &[]);
    assert_eq!(code, 0, "{stderr}");
    // An older build's selection at the top of the folder.
    std::fs::copy(
        out.join("seed-1/step-00000006.ckpt"),
        out.join("step-00000006.ckpt"),
    )
    .unwrap();
    let (code, stdout, stderr) = tiny_run_of(&out, "2", &[]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: {} already holds a training run (8 checkpoints); pass --resume to continue \
             it or --overwrite to replace it\n",
            out.display()
        )
    );
    // A shorter rerun with --overwrite leaves none of the old run's later checkpoints.
    let (code, stdout, stderr) = tiny_run_of(&out, "2", &["--overwrite"]);
    assert_eq!(code, 0, "{stderr}");
    let (candidates, _) = selection(&out, &stdout);
    assert_eq!(candidates.len(), 2);
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&out), vec!["seed-1", "seed-2", "selected.ckpt"]);
    assert_eq!(names(&out.join("seed-1")), vec!["step-00000002.ckpt"]);
    assert_eq!(names(&out.join("seed-2")), vec!["step-00000002.ckpt"]);
    // --resume past --steps is refused rather than selecting among steps a run of --steps
    // would not have.
    let (code, _, stderr) = tiny_run_of(&out, "1", &["--resume"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is already at step 2, past --steps 1; pass --steps 2 or more"),
        "{stderr}"
    );
    // The two flags together are refused by the parser.
    let (code, _, _) = tiny_run(&out, &["--resume", "--overwrite"]);
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_causal_flag_in_an_ap_mdm_checkpoint_is_refused_by_eval() {
    let out = scratch("flags");
    let (code, _, stderr) = tiny_run(&out, &["--seeds", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let bytes = std::fs::read(out.join("selected.ckpt")).unwrap();
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[20..20 + len]).unwrap();
    header["model"]["causal"] = true.into();
    let crafted = out.join("causal.ckpt");
    std::fs::write(
        &crafted,
        reseal(2, &header, &bytes[20 + len..bytes.len() - 8]),
    )
    .unwrap();
    let (code, stdout, stderr) = apmdm(&[
        "eval",
        "parity",
        "--checkpoint",
        s(&crafted),
        "--lengths",
        "3",
    ]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: {}: an AP-MDM checkpoint has bidirectional attention and the control head; \
             this one has causal attention and the control head\n",
            crafted.display()
        )
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// Runs `args` and expects the one-line refusal `message` (exit status 2).
fn refused(args: &[&str], message: &str) {
    let (code, stdout, stderr) = apmdm(args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert_eq!(stdout, "", "{args:?}");
    assert_eq!(stderr, format!("error: {message}\n"), "{args:?}");
}

const HUGE: &str = "18446744073709551615";

#[test]
fn every_train_size_option_is_refused_above_its_limit() {
    let out = scratch("limits-train");
    for (option, limit) in [
        ("--layers", 64),
        ("--heads", 64),
        ("--width", 4096),
        ("--batch", 65536),
        ("--arm-strings", 1_000_000),
        ("--max-train-length", 10_000),
        ("--val-count", 100_000),
    ] {
        refused(
            &["train", "parity", option, HUGE, "--out", s(&out)],
            &format!("{option} {HUGE} is above its limit of {limit}"),
        );
    }
    // Each within its limit, together too much: refused by the estimate before allocating.
    refused(
        &[
            "train",
            "parity",
            "--layers",
            "64",
            "--width",
            "4096",
            "--out",
            s(&out),
        ],
        "training needs about 240.8 GiB (--layers, --width, --batch, --max-train-length, \
         --arm-strings, --steps), above --max-memory 4.0 GiB; lower them or raise --max-memory",
    );
    refused(
        &["train", "parity", "--max-memory", "1K", "--out", s(&out)],
        "training needs about 1.8 MiB (--layers, --width, --batch, --max-train-length, \
         --arm-strings, --steps), above --max-memory 1.0 KiB; lower them or raise --max-memory",
    );
    refused(
        &["train", "parity", "--lr", "NaN", "--out", s(&out)],
        "--lr must be a finite number of at least 0 (got NaN)",
    );
    assert!(!out.exists());
}

#[test]
fn every_eval_and_bench_size_option_is_refused_above_its_limit() {
    let missing = "/nonexistent/never-read.ckpt";
    for (option, limit) in [
        ("--lengths", 100_000),
        ("--count", 1_000_000),
        ("--show", 100),
    ] {
        refused(
            &["eval", "parity", "--checkpoint", missing, option, HUGE],
            &format!("{option} {HUGE} is above its limit of {limit}"),
        );
    }
    for (option, limit) in [
        ("--layers", 64),
        ("--heads", 64),
        ("--width", 4096),
        ("--vocab", 1_000_000),
        ("--seq", 100_000),
        ("--batch", 65_536),
        ("--steps", 1_000_000),
    ] {
        refused(
            &["bench", "train", option, HUGE],
            &format!("{option} {HUGE} is above its limit of {limit}"),
        );
    }
    refused(
        &["bench", "train", "--seq", "100000", "--batch", "1000"],
        "training needs about 5813.3 GiB (--layers, --width, --vocab, --seq, --batch), above \
         --max-memory 4.0 GiB; lower them or raise --max-memory",
    );
}

#[test]
fn eval_refuses_lengths_and_counts_whose_strings_exceed_the_memory_limit() {
    let out = scratch("limits-eval");
    let (code, _, stderr) = tiny_run(&out, &["--seeds", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let ck = out.join("selected.ckpt");
    let (code, _, stderr) = apmdm(&[
        "eval",
        "parity",
        "--checkpoint",
        s(&ck),
        "--lengths",
        "100000",
        "--count",
        "1000000",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: evaluating length 100000 needs about 186."),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "(--lengths, --count), above --max-memory 4.0 GiB; lower them or raise --max-memory\n"
        ),
        "{stderr}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_checkpoint_error_names_the_file_once() {
    let out = scratch("names");
    std::fs::create_dir_all(&out).unwrap();
    let missing = out.join("missing.ckpt");
    refused(
        &[
            "eval",
            "parity",
            "--checkpoint",
            s(&missing),
            "--lengths",
            "3",
        ],
        &format!(
            "{}: No such file or directory (os error 2)",
            missing.display()
        ),
    );
    let text = out.join("text.ckpt");
    std::fs::write(&text, "not a checkpoint, but long enough to have a header").unwrap();
    refused(
        &["eval", "parity", "--checkpoint", s(&text), "--lengths", "3"],
        &format!(
            "{}: not an apmdm checkpoint (bad magic bytes)",
            text.display()
        ),
    );
    std::fs::remove_dir_all(&out).unwrap();
}
