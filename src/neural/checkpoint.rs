//! The checkpoint store: a trainer's whole state as one versioned, checksummed file, written atomically.
//!
//! Layout: the magic `APMDMCKP`, the format version (u32 LE), the header length (u64 LE), a JSON
//! header (task, model config, train config, step and, from version 2, the validation result),
//! then parameters, first moments, second moments and the loss history as little-endian f32, and
//! finally an FNV-1a 64 checksum of everything before it. Version 1 files (no validation result)
//! are still read. This and `cli` are the only files of the crate that touch the file system.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kernels::Tensor;

use super::config::ModelConfig;
use super::model::Model;
use super::train::{TrainConfig, Trainer};
use super::NeuralError;

/// The first eight bytes of every checkpoint.
pub const MAGIC: &[u8; 8] = b"APMDMCKP";
/// The format version this build writes.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this build reads (version 1 carries no validation result).
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The JSON header: what the payload is and how to read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The task the model was trained on (e.g. `parity`), and its variant.
    pub task: String,
    /// The model's shape.
    pub model: ModelConfig,
    /// The optimizer settings.
    pub train: TrainConfig,
    /// Completed optimizer steps (also the number of losses stored).
    pub step: u32,
    /// The score of this checkpoint on the caller's validation strings, when it was scored
    /// before it was written (format version 2; `None` in version 1 files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
}

/// A checkpoint's score on validation strings, with what it was scored on, so a later process
/// can select among checkpoints it did not write (and rescore when the settings differ).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// Seed of the validation strings.
    pub seed: u64,
    /// Strings per validation length.
    pub per_length: usize,
    /// Strings answered correctly.
    pub correct: usize,
    /// Strings decoded.
    pub count: usize,
}

/// A checkpoint's contents after a successful read.
#[derive(Debug)]
pub struct Checkpoint {
    /// The header.
    pub header: Header,
    /// The trainer, ready to continue.
    pub trainer: Trainer,
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file system refused.
    // Not a `source`: the message already ends with the OS error, and a chained source would
    // print it a second time.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
    /// The file does not start with the magic bytes.
    #[error("not an apmdm checkpoint (bad magic bytes)")]
    BadMagic,
    /// The file was written by a format version this build does not read.
    #[error(
        "checkpoint format version {found}, this build reads versions {OLDEST_READABLE_VERSION} \
         to {FORMAT_VERSION}"
    )]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// The file ends early (or carries extra bytes).
    #[error("checkpoint is truncated or has trailing bytes: {actual} bytes, expected {expected}")]
    Length {
        /// The length the header implies.
        expected: u64,
        /// The file's length.
        actual: u64,
    },
    /// The checksum does not match: the file is corrupt.
    #[error("checkpoint is corrupt: checksum {found:016x}, computed {computed:016x}")]
    Checksum {
        /// The checksum stored in the file.
        found: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// The header is not valid JSON of the expected form, or describes an impossible payload.
    #[error("checkpoint header: {0}")]
    Header(String),
    /// A parameter, moment or loss is NaN or infinite (refused when writing and when reading).
    #[error("checkpoint holds a non-finite value: {0}")]
    NonFinite(String),
    /// The checkpoint is fine but is not what the caller asked for.
    #[error("checkpoint does not match: {0}")]
    Mismatch(String),
    /// The contents do not form a valid model or trainer.
    #[error(transparent)]
    Model(#[from] NeuralError),
}

/// FNV-1a over bytes: a cheap checksum that catches flipped or lost bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn push_f32s(out: &mut Vec<u8>, xs: &[f32]) {
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// The first NaN or infinity of the trainer's state, named (parameter, moment or loss), or a
/// negative second moment; `None` when everything is finite.
fn first_bad_value(trainer: &Trainer) -> Option<String> {
    let layout = trainer.model.config.layout();
    let groups = [
        ("parameter", &trainer.model.params),
        ("first moment of", &trainer.m),
        ("second moment of", &trainer.v),
    ];
    for (what, group) in groups {
        for (spec, t) in layout.iter().zip(group.iter()) {
            if let Some(x) = t.data().iter().find(|x| !x.is_finite()) {
                return Some(format!("{what} {} holds {x}", spec.name));
            }
        }
    }
    for (spec, t) in layout.iter().zip(&trainer.v) {
        if let Some(x) = t.data().iter().find(|&&x| x < 0.0) {
            return Some(format!("second moment of {} is negative ({x})", spec.name));
        }
    }
    let bad_loss = trainer.losses.iter().position(|x| !x.is_finite());
    bad_loss.map(|i| format!("the loss of step {} is {}", i + 1, trainer.losses[i]))
}

/// The trainer's state (and, when given, its validation result) as checkpoint bytes. A state
/// holding NaN or infinity is refused: the reader would refuse it too.
pub fn encode(
    task: &str,
    trainer: &Trainer,
    validation: Option<&Validation>,
) -> Result<Vec<u8>, CheckpointError> {
    if let Some(bad) = first_bad_value(trainer) {
        return Err(CheckpointError::NonFinite(format!(
            "{bad} at step {} (training diverged; lower the learning rate)",
            trainer.step
        )));
    }
    let header = Header {
        task: task.to_string(),
        model: trainer.model.config.clone(),
        train: trainer.config.clone(),
        step: trainer.step,
        validation: validation.cloned(),
    };
    let json = serde_json::to_vec(&header).expect("the header always serializes");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for group in [&trainer.model.params, &trainer.m, &trainer.v] {
        for t in group.iter() {
            push_f32s(&mut out, t.data());
        }
    }
    push_f32s(&mut out, &trainer.losses);
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Reads checkpoint bytes back into a trainer, checking magic, version, length and checksum
/// before anything else, and the sizes the header claims against the file's length (with
/// checked arithmetic) before anything is allocated.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let prefix = 8 + 4 + 8;
    if bytes.len() < prefix + 8 {
        if bytes.len() >= 8 && &bytes[..8] != MAGIC {
            return Err(CheckpointError::BadMagic);
        }
        return Err(CheckpointError::Length {
            expected: (prefix + 8) as u64,
            actual: bytes.len() as u64,
        });
    }
    if &bytes[..8] != MAGIC {
        return Err(CheckpointError::BadMagic);
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(CheckpointError::Version { found: version });
    }
    let header_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let body = bytes.len() - 8;
    let found = u64::from_le_bytes(bytes[body..].try_into().expect("8 bytes"));
    let computed = fnv1a(&bytes[..body]);
    if header_len > (body - prefix) as u64 {
        return Err(CheckpointError::Length {
            expected: (prefix as u64 + 8).saturating_add(header_len),
            actual: bytes.len() as u64,
        });
    }
    let header_end = prefix + header_len as usize;
    let header: Result<Header, _> = serde_json::from_slice(&bytes[prefix..header_end]);
    // A corrupt header would be reported as a JSON error; the checksum names the real problem.
    if found != computed {
        return Err(CheckpointError::Checksum { found, computed });
    }
    let mut header = header.map_err(|e| CheckpointError::Header(e.to_string()))?;
    if version == 1 {
        // Version 1 never recorded a validation result; a field of that name is not one.
        header.validation = None;
    }
    header.model.validate()?;
    // Sizes first, with checked arithmetic, against the file's real length: a crafted header
    // (a huge layer count, or one that wraps the total) must not reach an allocation.
    let count = header.model.checked_parameter_count().ok_or_else(|| {
        CheckpointError::Header(format!(
            "a model of {} layers, width {} and vocab {} has more parameters than this machine \
             can address",
            header.model.layers, header.model.width, header.model.vocab
        ))
    })?;
    let expected = count
        .checked_mul(3)
        .and_then(|x| x.checked_add(header.step as usize))
        .and_then(|x| x.checked_mul(4))
        .and_then(|x| x.checked_add(header_end + 8))
        .map_or(u64::MAX, |x| x as u64);
    if expected != bytes.len() as u64 {
        return Err(CheckpointError::Length {
            expected,
            actual: bytes.len() as u64,
        });
    }
    if let Some(v) = &header.validation {
        if v.correct > v.count {
            return Err(CheckpointError::Header(format!(
                "validation result {} correct of {} strings",
                v.correct, v.count
            )));
        }
    }
    let layout = header.model.layout();
    let mut at = header_end;
    let mut read = |n: usize| -> Vec<f32> {
        let v = bytes[at..at + 4 * n]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        at += 4 * n;
        v
    };
    let mut group = || -> Vec<Tensor> {
        layout
            .iter()
            .map(|p| {
                Tensor::from_vec(&p.shape, read(p.shape.iter().product()))
                    .expect("read exactly the shape's element count")
            })
            .collect()
    };
    let params = group();
    let m = group();
    let v = group();
    let losses = read(header.step as usize);
    let model = Model::from_params(header.model.clone(), params)?;
    let trainer = Trainer::resume(model, header.train.clone(), header.step, m, v, losses)?;
    if let Some(bad) = first_bad_value(&trainer) {
        return Err(CheckpointError::NonFinite(bad));
    }
    Ok(Checkpoint { header, trainer })
}

/// The file name of the checkpoint at `step`: `step-00000123.ckpt` (more digits past 10^8).
pub fn file_name(step: u32) -> String {
    format!("step-{step:08}.ckpt")
}

/// The step of a checkpoint file name (`step-<digits>.ckpt`), or `None` for any other name.
pub fn step_of(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("step-")?.strip_suffix(".ckpt")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    move |error| CheckpointError::Io { path, error }
}

/// Flushes a folder's entries (renames, removals) to disk, so a crash after a rename cannot
/// bring back the old name. A no-op where folders cannot be opened as files.
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_error(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically: to a temporary name in the same folder (unique to this
/// process), flushed to disk, renamed into place (replacing any file of that name), and the
/// folder flushed. A crash leaves the old file or the new one, never half a file; a failed write
/// removes its temporary file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = fs::File::create(&tmp).map_err(io_error(&tmp))?;
        f.write_all(bytes).map_err(io_error(&tmp))?;
        f.sync_all().map_err(io_error(&tmp))?;
        fs::rename(&tmp, path).map_err(io_error(path))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// Writes the trainer's checkpoint (with its validation result, if scored) into `dir` (created
/// if missing) as [`file_name`], atomically.
pub fn save(
    dir: &Path,
    task: &str,
    trainer: &Trainer,
    validation: Option<&Validation>,
) -> Result<PathBuf, CheckpointError> {
    let path = dir.join(file_name(trainer.step));
    save_as(&path, task, trainer, validation)?;
    Ok(path)
}

/// Writes the trainer's checkpoint to exactly `path` (its folder created if missing),
/// atomically replacing any file there.
pub fn save_as(
    path: &Path,
    task: &str,
    trainer: &Trainer,
    validation: Option<&Validation>,
) -> Result<(), CheckpointError> {
    let bytes = encode(task, trainer, validation)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    write_atomically(path, &bytes)
}

/// Reads and checks one checkpoint file.
pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    decode(&bytes)
}

/// Every checkpoint file in `dir` (names `step-<digits>.ckpt`) with its step, in step order;
/// empty when the folder does not exist.
pub fn list(dir: &Path) -> Result<Vec<(u32, PathBuf)>, CheckpointError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(CheckpointError::Io {
                path: dir.to_path_buf(),
                error,
            })
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        if let Some(step) = step_of(&entry.file_name().to_string_lossy()) {
            found.push((step, entry.path()));
        }
    }
    // Compare step numbers, not names: `step-100000000` sorts before `step-99999999` as text.
    found.sort();
    Ok(found)
}

/// The checkpoint with the highest step in `dir`, or `None` when there is none.
pub fn latest(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    Ok(list(dir)?.pop().map(|(_, path)| path))
}

/// Removes every checkpoint file of `dir` (and temporary files a killed write left behind) and
/// flushes the folder; returns how many checkpoints were removed. Other files are left alone.
pub fn remove_all(dir: &Path) -> Result<usize, CheckpointError> {
    let removed = list(dir)?;
    for (_, path) in &removed {
        fs::remove_file(path).map_err(io_error(path))?;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(".step-") && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    if dir.is_dir() {
        sync_dir(dir)?;
    }
    Ok(removed.len())
}

/// Loads a checkpoint and checks that it holds the task the caller expects.
pub fn load_for(path: &Path, task: &str) -> Result<Checkpoint, CheckpointError> {
    let ck = load(path)?;
    if ck.header.task != task {
        return Err(CheckpointError::Mismatch(format!(
            "{} holds a `{}` model, expected `{task}`",
            path.display(),
            ck.header.task
        )));
    }
    Ok(ck)
}
