//! The exported weights mean what docs/weights.md says: `tests/weights_ref.py`, an independent
//! NumPy forward written from that page alone, reproduces the seq evaluator's proposals from
//! `--emit-weights` files, and catches a corrupted tensor. Needs python3 with numpy and
//! safetensors (`.ci/run` installs them); without them the test is skipped with a notice, and
//! fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy, safetensors"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true but python3 with numpy and safetensors is missing"
        );
        eprintln!("skipped: python3 with numpy and safetensors is not available");
    }
    ok
}

fn export(program: &str, target: &str, n: u32, dir: &Path) {
    export_seeded(program, target, n, 1, dir)
}

fn export_seeded(program: &str, target: &str, n: u32, seed: u64, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_apmdm"))
        .args([
            "compile",
            program,
            "--seed",
            &seed.to_string(),
            "--target",
            target,
            "--n",
            &n.to_string(),
            "--executor",
            "weights",
            "--emit-weights",
            dir.to_str().unwrap(),
            "--max-export-bytes",
            "8000000000",
            "--probe-steps",
            "64",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reference(dir: &Path) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/weights_ref.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg("--mask-check")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Adds 100 to the first element of the tensor `name` in a safetensors file, in place.
fn corrupt(file: &Path, name: &str) {
    let mut bytes = std::fs::read(file).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let t = &header[name];
    let start = 8 + n + t["data_offsets"][0].as_u64().unwrap() as usize;
    match t["dtype"].as_str().unwrap() {
        "F64" => {
            let v = f64::from_le_bytes(bytes[start..start + 8].try_into().unwrap()) + 100.0;
            bytes[start..start + 8].copy_from_slice(&v.to_le_bytes());
        }
        _ => {
            let v = f32::from_le_bytes(bytes[start..start + 4].try_into().unwrap()) + 100.0;
            bytes[start..start + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(file, bytes).unwrap();
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let k = fa.read(&mut ba).unwrap();
        if k == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..k]).unwrap();
        if ba[..k] != bb[..k] {
            return false;
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("apmdm_weights_ref_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_numpy_reference_reproduces_every_probed_proposal_and_catches_corruption() {
    if !python_ready() {
        return;
    }
    // Three programs, both targets; whole runs are probed (at most 64 canvases each). The
    // files are large (2.5 to 3.5 GB each, F64): one at a time, removed after.
    for (program, target, n) in [
        ("parity", "mdm", 2),
        ("list_ranking", "apmdm", 2),
        ("prefix_sum", "mdm", 2),
    ] {
        let dir = scratch(&format!("{program}_{target}"));
        export(program, target, n, &dir);
        let (code, text) = reference(&dir);
        assert_eq!(code, 0, "{program} {target} n={n}: {text}");
        assert!(text.contains("equal"), "{text}");
        // The probes include steps whose proposal a mask decides (the loader's masks are
        // confirmed, not only implemented), and on the AP-MDM row steps with insert and delete
        // bits set.
        let count = |what: &str| -> usize {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("coverage: {what}")))
                .unwrap_or_else(|| panic!("no coverage line for {what}: {text}"));
            let after = &line[format!("coverage: {what}").len()..];
            let digits: String = after
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        };
        eprintln!("{program} {target} n={n}: {text}");
        assert!(
            count("with every mask removed,") > 0,
            "{program} {target}: {text}"
        );
        if target == "apmdm" {
            assert!(count("insert set") > 0, "{text}");
            assert!(count("delete set") > 0, "{text}");
        }
        if program == "prefix_sum" {
            // The weights are the same bytes for another seed (another input on the canvas).
            let other = scratch("prefix_sum_seed2");
            export_seeded(program, target, n, 2, &other);
            for f in ["model.safetensors", "config.json", "layout.json"] {
                assert!(
                    same_bytes(&dir.join(f), &other.join(f)),
                    "{f} differs across seeds"
                );
            }
            std::fs::remove_dir_all(&other).unwrap();
        }
        if program == "parity" {
            // A corrupted read-out bias: the loader computes a different proposal.
            corrupt(&dir.join("model.safetensors"), "readout.b");
            let (code, text) = reference(&dir);
            assert_eq!(code, 1, "the corrupted file was not caught: {text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
