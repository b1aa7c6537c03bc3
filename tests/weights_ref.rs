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
    reference_with(dir, &[])
}

fn reference_with(dir: &Path, flags: &[&str]) -> (i32, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/weights_ref.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .args(flags)
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
    // files are coordinate-list F32 (a few MB each); one at a time, removed after.
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
            // A corrupted stored value of the read-out: the loader computes another proposal.
            corrupt(&dir.join("model.safetensors"), "readout.w.values");
            let (code, text) = reference(&dir);
            assert_eq!(
                code, 1,
                "the corrupted stored tensor was not caught: {text}"
            );
        }
        if program == "parity" {
            // A corrupted read-out bias: the loader computes a different proposal.
            corrupt(&dir.join("model.safetensors"), "readout.b");
            let (code, text) = reference(&dir);
            assert_eq!(code, 1, "the corrupted file was not caught: {text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // No probed step of these rows depends on a mask or sets an insert or delete bit (the
    // loader prints that coverage); `the_numpy_reference_confirms_masks_and_insert_and_delete_bits`
    // covers those.
}

/// A small seq program whose proposals depend on a position mask and set insert and delete
/// bits: token = the number of non-mask positions before this one (a `Sum` under `lt`),
/// insert where the field is 1, delete where it is 2, remask where it is 3.
fn control_program() -> apmdm::seq::Program {
    use apmdm::seq::{BinaryOp, Builder, Cmp, Heads, Selector};
    let mut b = Builder::new(1);
    let f = b.field(0);
    let m = b.is_mask();
    let zero = b.constant(0);
    let one = b.constant(1);
    let before = b.sum(
        Selector {
            key: m,
            query: zero,
            position: Some(Cmp::Lt),
            pair: None,
        },
        one,
    );
    let (c1, c2, c3) = (b.constant(1), b.constant(2), b.constant(3));
    let insert = b.binary(BinaryOp::Eq, f, c1);
    let delete = b.binary(BinaryOp::Eq, f, c2);
    let remask = b.binary(BinaryOp::Eq, f, c3);
    b.finish_ranged(
        Heads {
            token: vec![before],
            remask,
            insert,
            delete,
        },
        &[(0, 3)],
        8,
    )
    .unwrap()
}

#[test]
fn the_numpy_reference_confirms_masks_and_insert_and_delete_bits() {
    use apmdm::machine::Token;
    use apmdm::seq::{evaluate, Evaluator, Word};
    if !python_ready() {
        return;
    }
    let seq = control_program();
    let model = apmdm::weights::compile(&seq, apmdm::weights::Options::new(8)).unwrap();
    use apmdm::weights::export::{export, ExportError, Storage};
    let dir = scratch("control");
    // The cap counts the bytes the three files take: one byte less is refused before anything
    // is written, the exact size is accepted.
    let sized = scratch("control_sized");
    let wrote = export(&model, &sized, 1 << 30, Storage::Sparse).unwrap();
    let on_disk: u64 = ["model.safetensors", "config.json", "layout.json"]
        .iter()
        .map(|f| std::fs::metadata(sized.join(f)).unwrap().len())
        .sum();
    assert_eq!(wrote.bytes, on_disk);
    assert_eq!(
        wrote.model_bytes,
        std::fs::metadata(sized.join("model.safetensors"))
            .unwrap()
            .len()
    );
    std::fs::remove_dir_all(&sized).unwrap();
    match export(&model, &sized, on_disk - 1, Storage::Sparse) {
        Err(ExportError::TooLarge { bytes, .. }) => assert_eq!(bytes, on_disk),
        other => panic!("not refused: {other:?}"),
    }
    assert!(!sized.exists());
    export(&model, &sized, on_disk, Storage::Sparse).unwrap();
    std::fs::remove_dir_all(&sized).unwrap();
    // Dense and compressed-row storage are read by the same loader (below, all three are run
    // on the same probes); the coordinate storage stores as many values as the compressed rows.
    let dense = scratch("control_dense");
    let d = export(&model, &dense, 1 << 30, Storage::Dense).unwrap();
    assert_eq!(d.stored, d.parameters);
    assert_eq!(d.dtype, "F32");
    let csr = scratch("control_csr");
    let c = export(&model, &csr, 1 << 30, Storage::Sparse).unwrap();
    let coo = export(&model, &dir, 1 << 30, Storage::Coo).unwrap();
    assert_eq!(coo.stored, c.stored);
    assert!(coo.stored < d.stored);
    let canvases: Vec<Vec<Option<i64>>> = vec![
        vec![Some(0), Some(1), None, Some(2), Some(3)],
        vec![
            None,
            Some(2),
            Some(2),
            Some(1),
            None,
            Some(0),
            Some(1),
            Some(3),
        ],
        vec![Some(1), Some(1), Some(1)],
    ];
    let mut steps = Vec::new();
    for c in &canvases {
        let x: Vec<Token<Word>> = c
            .iter()
            .map(|t| t.map_or(Token::Mask, |v| Token::Sym(Word(vec![v]))))
            .collect();
        let v = evaluate(&seq, &x, Evaluator::Indexed).unwrap();
        let h = &seq.heads;
        let col = |n: apmdm::seq::Value| v[n.index()].clone();
        steps.push(serde_json::json!({
            "canvas": c.iter().map(|t| t.map(|v| vec![v])).collect::<Vec<_>>(),
            "tokens": col(h.token[0]).iter().map(|&t| vec![t]).collect::<Vec<_>>(),
            "remask": col(h.remask).iter().map(|&b| b != 0).collect::<Vec<_>>(),
            "insert": col(h.insert).iter().map(|&b| b != 0).collect::<Vec<_>>(),
            "delete": col(h.delete).iter().map(|&b| b != 0).collect::<Vec<_>>(),
        }));
    }
    let probe = serde_json::json!({"format": 1, "steps": steps});
    std::fs::write(dir.join("probe.json"), probe.to_string()).unwrap();
    for (other, name) in [(&dense, "dense"), (&csr, "sparse")] {
        std::fs::write(other.join("probe.json"), probe.to_string()).unwrap();
        let (code, other_text) = reference(other);
        std::fs::remove_dir_all(other).unwrap();
        assert_eq!(code, 0, "{other_text}");
        assert!(
            other_text.contains(&format!("model: {name} F32")),
            "{other_text}"
        );
    }
    let (code, text) = reference_with(&dir, &["--mask-check"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("model: coo F32"), "{text}");
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
    // Every probe sets an insert and a delete bit somewhere, and every probe's proposal is
    // decided by the `lt` mask (without it, the counts differ): all three are confirmed by the
    // independent loader.
    assert_eq!(count("insert set"), 3, "{text}");
    assert_eq!(count("delete set"), 2, "{text}");
    assert_eq!(count("with every mask removed,"), 3, "{text}");
}
