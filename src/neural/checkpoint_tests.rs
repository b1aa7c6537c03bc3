//! Tests of the checkpoint store: crafted headers (resealed with a recomputed checksum, as the
//! writer computes it), non-finite values, version 1 files, validation results, file names.

use super::checkpoint::{self, CheckpointError, Validation, FORMAT_VERSION, MAGIC};
use super::{Model, ModelConfig, TrainConfig, Trainer};

fn trainer() -> Trainer {
    let config = TrainConfig {
        lr: 1e-2,
        warmup: 5,
        weight_decay: 0.01,
        batch: 4,
        clip: 1.0,
        seed: 3,
    };
    let mut t = Trainer::new(
        Model::new(ModelConfig::ap_mdm(5, 1, 1, 4), 7).unwrap(),
        config,
    )
    .unwrap();
    // Two recorded losses, so the loss history is part of the payload.
    t.step = 2;
    t.losses = vec![0.5, 0.25];
    t
}

/// Splits checkpoint bytes into (version, header JSON, payload floats' bytes).
fn split(bytes: &[u8]) -> (u32, serde_json::Value, Vec<u8>) {
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&bytes[20..20 + len]).unwrap();
    (version, header, bytes[20 + len..bytes.len() - 8].to_vec())
}

/// Builds checkpoint bytes the way the writer does: magic, version, header length, header,
/// payload, then the FNV-1a checksum of all of it.
fn seal(version: u32, header: &serde_json::Value, payload: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(payload);
    let sum = checkpoint::fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A good checkpoint with its header edited by `edit`, resealed.
fn crafted(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let good = checkpoint::encode("parity", &trainer(), None).unwrap();
    let (version, mut header, payload) = split(&good);
    edit(&mut header);
    seal(version, &header, &payload)
}

#[test]
fn a_huge_layer_count_is_refused_by_length_before_anything_is_allocated() {
    let bytes = crafted(|h| h["model"]["layers"] = 1_000_000_000_000u64.into());
    let err = checkpoint::decode(&bytes).unwrap_err();
    assert!(matches!(err, CheckpointError::Length { .. }), "{err}");
    let expected = 20
        + split(&bytes).1.to_string().len() as u64
        + 4 * (3 * (40 + 1_000_000_000_000 * 232 + 8 + 5 + 15) + 2)
        + 8;
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint is truncated or has trailing bytes: {} bytes, expected {expected}",
            bytes.len()
        )
    );
}

#[test]
fn a_layer_count_that_wraps_the_parameter_total_is_refused() {
    // At width 4 a block has 232 = 8 · 29 parameters, so 2^61 blocks wrap the 64-bit total to
    // exactly the count of a model without blocks: unchecked, the length check would pass and
    // the layout of 2^61 blocks would be built.
    let bytes = crafted(|h| h["model"]["layers"] = (1u64 << 61).into());
    let err = checkpoint::decode(&bytes).unwrap_err();
    assert!(matches!(err, CheckpointError::Header(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "checkpoint header: a model of 2305843009213693952 layers, width 4 and vocab 5 has more \
         parameters than this machine can address"
    );
    let bytes = crafted(|h| h["model"]["width"] = (1u64 << 33).into());
    assert!(matches!(
        checkpoint::decode(&bytes),
        Err(CheckpointError::Header(_))
    ));
}

#[test]
fn a_header_length_past_the_end_is_a_length_error() {
    let mut bytes = checkpoint::encode("parity", &trainer(), None).unwrap();
    bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    let n = bytes.len() - 8;
    let sum = checkpoint::fnv1a(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
    let err = checkpoint::decode(&bytes).unwrap_err();
    assert!(matches!(err, CheckpointError::Length { .. }), "{err}");
}

#[test]
fn non_finite_values_are_refused_when_writing_and_when_reading() {
    let mut t = trainer();
    t.model.params[0].data_mut()[1] = f32::NAN;
    let err = checkpoint::encode("parity", &t, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint holds a non-finite value: parameter embedding holds NaN at step 2 (training \
         diverged; lower the learning rate)"
    );
    // A file whose checksum was recomputed over an infinite first moment, and one over an
    // infinite loss.
    let good = checkpoint::encode("parity", &trainer(), None).unwrap();
    let (version, header, mut payload) = split(&good);
    let count = ModelConfig::ap_mdm(5, 1, 1, 4).parameter_count();
    assert_eq!(count, 300);
    payload[4 * count..4 * count + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let err = checkpoint::decode(&seal(version, &header, &payload)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint holds a non-finite value: first moment of embedding holds inf"
    );
    let (_, _, mut payload) = split(&good);
    let last = payload.len() - 4;
    payload[last..].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = checkpoint::decode(&seal(version, &header, &payload)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint holds a non-finite value: the loss of step 2 is NaN"
    );
}

#[test]
fn a_recorded_validation_result_round_trips_and_must_be_possible() {
    let v = Validation {
        seed: 9,
        per_length: 2,
        correct: 30,
        count: 36,
    };
    let bytes = checkpoint::encode("parity", &trainer(), Some(&v)).unwrap();
    assert_eq!(split(&bytes).0, FORMAT_VERSION);
    assert_eq!(FORMAT_VERSION, 2);
    let ck = checkpoint::decode(&bytes).unwrap();
    assert_eq!(ck.header.validation, Some(v));
    let bytes = crafted(|h| {
        h["validation"] =
            serde_json::json!({"seed": 9, "per_length": 2, "correct": 37, "count": 36})
    });
    let err = checkpoint::decode(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint header: validation result 37 correct of 36 strings"
    );
}

#[test]
fn a_version_1_checkpoint_still_loads_without_a_validation_result() {
    let t = trainer();
    let good = checkpoint::encode("parity", &t, None).unwrap();
    let (_, _, payload) = split(&good);
    // The version 1 header, written out field by field as version 1 wrote it.
    let header = serde_json::json!({
        "task": "parity",
        "model": {"vocab": 5, "layers": 1, "heads": 1, "width": 4, "causal": false,
                  "control_head": true, "rope_base": 10000.0},
        "train": {"lr": 0.01, "warmup": 5, "weight_decay": 0.01, "batch": 4, "clip": 1.0,
                  "seed": 3},
        "step": 2
    });
    let ck = checkpoint::decode(&seal(1, &header, &payload)).unwrap();
    assert_eq!(ck.header.validation, None);
    assert_eq!(ck.header.step, 2);
    assert_eq!(ck.trainer.losses, vec![0.5, 0.25]);
    assert_eq!(ck.trainer.model, t.model);
    assert_eq!(ck.header.train, t.config);
    // Version 1 had no validation field: one found there is not trusted.
    let mut with = header.clone();
    with["validation"] = serde_json::json!({"seed": 1, "per_length": 1, "correct": 1, "count": 1});
    let ck = checkpoint::decode(&seal(1, &with, &payload)).unwrap();
    assert_eq!(ck.header.validation, None);
    // Versions outside 1..=2 are refused by number.
    let err = checkpoint::decode(&seal(3, &header, &payload)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint format version 3, this build reads versions 1 to 2"
    );
}

#[test]
fn latest_compares_step_numbers_not_names() {
    let dir = std::env::temp_dir().join(format!("apmdm-ckpt-latest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "step-99999999.ckpt",
        "step-100000000.ckpt",
        "step-00000007.ckpt",
        "step-.ckpt",
        "step-12x.ckpt",
        "notes.txt",
        ".step-00000009.ckpt.77.tmp",
    ] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    // As text, `step-99999999` sorts after `step-100000000`.
    assert_eq!(
        checkpoint::latest(&dir).unwrap(),
        Some(dir.join("step-100000000.ckpt"))
    );
    let steps: Vec<u32> = checkpoint::list(&dir)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(steps, vec![7, 99_999_999, 100_000_000]);
    assert_eq!(
        checkpoint::step_of(&checkpoint::file_name(100_000_000)),
        Some(100_000_000)
    );
    // Removing a run's checkpoints removes them and leftover temporary files, nothing else.
    assert_eq!(checkpoint::remove_all(&dir).unwrap(), 3);
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, vec!["notes.txt", "step-.ckpt", "step-12x.ckpt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_as_replaces_a_file_atomically_and_leaves_no_temporary_file() {
    let dir = std::env::temp_dir().join(format!("apmdm-ckpt-save-as-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("selected.ckpt");
    let mut t = trainer();
    checkpoint::save_as(&path, "parity", &t, None).unwrap();
    t.step = 3;
    t.losses.push(0.125);
    checkpoint::save_as(&path, "parity", &t, None).unwrap();
    assert_eq!(checkpoint::load(&path).unwrap().header.step, 3);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_parameter_of_the_wrong_shape_is_named_in_plain_words() {
    let mut params = Model::new(ModelConfig::ap_mdm(5, 1, 1, 4), 1)
        .unwrap()
        .params;
    params[0] = crate::kernels::Tensor::zeros(&[2, 2]);
    let err = Model::from_params(ModelConfig::ap_mdm(5, 1, 1, 4), params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "model configuration: parameter embedding has shape 2 x 2, the config needs 5 x 4"
    );
}
