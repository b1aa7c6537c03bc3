//! The binary's output under hostile conditions: output files beside other files, through links,
//! into FIFOs and full devices; standard output that is full or closed; streamed `--trace` and
//! `--json` byte for byte as the in-memory writers printed them (`tests/data/io/`).

use crate::common::apmdm;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A fresh, empty folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm-io-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/io")
        .join(name)
}

fn golden(name: &str) -> String {
    fs::read_to_string(data(name)).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// Item 3 of the reliability issue: output files never clobber other files.

#[test]
fn a_trace_beside_an_unrelated_tmp_file_leaves_it_alone() {
    let dir = folder("unrelated");
    fs::write(dir.join("results.tmp"), "mine").unwrap();
    let (code, _, err) = apmdm(&[
        "run",
        s(&data("two_outputs.pram")),
        "--n",
        "3",
        "--trace",
        s(&dir.join("results.jsonl")),
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(fs::read_to_string(dir.join("results.tmp")).unwrap(), "mine");
    assert_eq!(
        fs::read_to_string(dir.join("results.jsonl")).unwrap(),
        golden("two_outputs.n3.jsonl")
    );
    assert_eq!(names(&dir), ["results.jsonl", "results.tmp"]);
}

#[test]
fn a_demo_trace_beside_its_old_temporary_name_leaves_that_file_alone() {
    let dir = folder("demo");
    fs::write(dir.join("t.jsonl.tmp"), "mine").unwrap();
    let (code, _, err) = apmdm(&[
        "demo",
        "parity",
        "--input",
        "101",
        "--jsonl",
        s(&dir.join("t.jsonl")),
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(fs::read_to_string(dir.join("t.jsonl.tmp")).unwrap(), "mine");
    assert_eq!(names(&dir), ["t.jsonl", "t.jsonl.tmp"]);
}

#[test]
fn a_trace_through_a_symlink_writes_its_target_and_keeps_the_link() {
    let dir = folder("symlink");
    fs::create_dir(dir.join("real")).unwrap();
    fs::write(dir.join("real/trace.jsonl"), "old").unwrap();
    symlink("real/trace.jsonl", dir.join("link.jsonl")).unwrap();
    let (code, _, err) = apmdm(&[
        "run",
        s(&data("two_outputs.pram")),
        "--n",
        "3",
        "--trace",
        s(&dir.join("link.jsonl")),
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    let link = fs::symlink_metadata(dir.join("link.jsonl")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(dir.join("real/trace.jsonl")).unwrap(),
        golden("two_outputs.n3.jsonl")
    );
    assert_eq!(names(&dir.join("real")), ["trace.jsonl"]);
}

#[test]
fn a_trace_into_a_fifo_is_written_in_place() {
    let dir = folder("fifo");
    let fifo = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let child = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args([
            "run",
            s(&data("two_outputs.pram")),
            "--n",
            "3",
            "--trace",
            s(&fifo),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the read end blocks until the writer opens it, then reads to its close.
    let mut got = String::new();
    fs::File::open(&fifo)
        .unwrap()
        .read_to_string(&mut got)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(got, golden("two_outputs.n3.jsonl"));
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(&dir), ["pipe"]);
}

#[test]
fn a_trace_to_a_full_device_reports_no_space_once_and_keeps_the_device() {
    let (code, out, err) = apmdm(&["run", "reduce_sum", "--n", "8", "--trace", "/dev/full"]);
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "error: cannot write /dev/full: No space left on device\n"
    );
    let dev = fs::symlink_metadata("/dev/full").unwrap();
    assert!(dev.file_type().is_char_device());
}

#[test]
fn a_run_that_fails_after_opening_its_trace_leaves_no_temporary_file() {
    let dir = folder("failed");
    fs::write(dir.join("t.jsonl"), "old").unwrap();
    let (code, _, err) = apmdm(&[
        "run",
        "reduce_sum",
        "--n=-1",
        "--trace",
        s(&dir.join("t.jsonl")),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(names(&dir), ["t.jsonl"]);
    assert_eq!(fs::read_to_string(dir.join("t.jsonl")).unwrap(), "old");
}

#[test]
fn a_trace_into_a_directory_is_refused_in_one_line() {
    let dir = folder("dir");
    let (code, _, err) = apmdm(&["run", "reduce_sum", "--n", "8", "--trace", s(&dir)]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!("error: cannot write {}: it is a directory\n", dir.display())
    );
    assert!(names(&dir).is_empty());
}

// Item 4: standard output that cannot be written.

/// Runs `args` with standard output on `/dev/full`.
fn apmdm_into_full(args: &[&str]) -> (i32, String) {
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .stdout(full)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_full_standard_output_is_one_line_and_exit_2_never_a_panic() {
    let expected = "error: cannot write standard output: No space left on device\n";
    for args in [
        &["run", "prefix_sum", "--n", "8", "--json"][..],
        &["run", "prefix_sum", "--n", "8"],
        &["run", "prefix_sum", "--n", "8", "--model", "erew", "--json"],
        &["demo", "parity", "--input", "101"],
    ] {
        assert_eq!(apmdm_into_full(args), (2, expected.to_string()), "{args:?}");
    }
}

/// Runs `args` with standard output on a pipe that is closed after one byte is read; returns the
/// exit code, the byte and standard error.
fn apmdm_into_head(args: &[&str]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        first.to_vec(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_keeps_the_commands_own_status() {
    // About 700 KB of JSON: more than a pipe holds, so the write after the close must fail.
    let violation = [
        "run",
        "prefix_sum",
        "--n",
        "100000",
        "--model",
        "erew",
        "--json",
    ];
    assert_eq!(
        apmdm_into_head(&violation),
        (1, b"{".to_vec(), String::new())
    );
    let ok = ["run", "prefix_sum", "--n", "100000", "--json"];
    assert_eq!(apmdm_into_head(&ok), (0, b"{".to_vec(), String::new()));
    let text = ["run", "prefix_sum", "--n", "100000", "--model", "erew"];
    assert_eq!(apmdm_into_head(&text), (1, b"p".to_vec(), String::new()));
}

// Item 8: streamed `--trace` and `--json`, the same bytes as the documents they replaced.

/// (arguments, golden standard output or trace file) pairs; the `.json` golden files were written
/// by the binary before streaming (commit 4c668b9). The `.jsonl` traces are trace format 1,
/// written again when the format changed; `tests/trace_format.rs` checks that their rounds equal
/// those of the files they replaced, kept in `tests/data/io/pre_format1/`.
fn golden_runs() -> Vec<(Vec<String>, &'static str)> {
    let two = s(&data("two_outputs.pram")).to_string();
    let overflow = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fault_overflow.pram")
        .to_str()
        .unwrap()
        .to_string();
    let args = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        (args(&[&two, "--n", "5"]), "two_outputs.n5.json"),
        (args(&[&two, "--n", "3"]), "two_outputs.n3.jsonl"),
        (
            args(&["prefix_sum", "--n", "8", "--model", "erew"]),
            "prefix_sum.n8.erew.json",
        ),
        (
            args(&["prefix_sum", "--n", "8", "--model", "erew"]),
            "prefix_sum.n8.erew.jsonl",
        ),
        (
            args(&["reduce_sum", "--n", "100", "--seed", "3"]),
            "reduce_sum.n100.s3.json",
        ),
        (
            args(&["reduce_sum", "--n", "100", "--seed", "3"]),
            "reduce_sum.n100.s3.jsonl",
        ),
        (args(&[&overflow, "--n", "1"]), "fault_overflow.n1.json"),
        (args(&[&overflow, "--n", "1"]), "fault_overflow.n1.jsonl"),
        (args(&["sudoku", "--n", "4"]), "sudoku.n4.json"),
    ]
}

#[test]
fn streamed_json_and_traces_are_byte_identical_to_the_documents_they_replaced() {
    let dir = folder("golden");
    for (args, file) in golden_runs() {
        let mut full = vec!["run".to_string()];
        full.extend(args);
        let trace = dir.join(file);
        if file.ends_with(".jsonl") {
            full.push("--trace".into());
            full.push(s(&trace).into());
        } else {
            full.push("--json".into());
        }
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        let (_, out, err) = apmdm(&refs);
        assert_eq!(err, "", "{file}");
        let got = if file.ends_with(".jsonl") {
            fs::read_to_string(&trace).unwrap()
        } else {
            out
        };
        assert_eq!(got, golden(file), "{file}");
    }
}

#[test]
fn a_killed_trace_leaves_whole_records_in_its_temporary_file() {
    let dir = folder("killed");
    let program = dir.join("forever.pram");
    fs::write(
        &program,
        "program forever;\nmodel erew;\nword 32;\nshared x;\noutput x;\nwhile 1 {\n    x = x + 1;\n}\n",
    )
    .unwrap();
    let target = dir.join("t.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args([
            "run",
            s(&program),
            "--n",
            "1",
            "--max-rounds",
            "1000000",
            "--trace",
            s(&target),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let temp = dir.join(format!(".t.jsonl.{}.0.tmp", child.id()));
    // Wait (on the file, not a clock) until some buffers have reached it, then kill.
    while fs::metadata(&temp).map_or(0, |m| m.len()) < 64 * 1024 {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!target.exists());
    let text = fs::read_to_string(&temp).unwrap();
    let complete = &text[..text.rfind('\n').unwrap() + 1];
    // The format-1 header, then whole round records 1, 2, ...
    for (k, line) in complete.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if k == 0 {
            assert_eq!(v["format"], 1, "{line}");
        } else {
            assert_eq!(v["round"], k as u64, "{line}");
        }
    }
    assert!(complete.lines().count() > 100);
}
