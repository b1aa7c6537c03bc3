//! The checkpoint store: a trainer's whole state as one versioned, checksummed file, written atomically.
//!
//! Layout: the magic `APMDMCKP`, the format version (u32 LE), the header length (u64 LE), a JSON
//! header (task, model config, train config, step), then parameters, first moments, second moments
//! and the loss history as little-endian f32, and finally an FNV-1a 64 checksum of everything
//! before it. This and `cli` are the only files of the crate that touch the file system.

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
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

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
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file does not start with the magic bytes.
    #[error("not an apmdm checkpoint (bad magic bytes)")]
    BadMagic,
    /// The file was written by another format version.
    #[error("checkpoint format version {found}, this build reads version {expected}")]
    Version {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
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
    /// The header is not valid JSON of the expected form.
    #[error("checkpoint header: {0}")]
    Header(String),
    /// The checkpoint is fine but is not what the caller asked for.
    #[error("checkpoint does not match: {0}")]
    Mismatch(String),
    /// The contents do not form a valid model or trainer.
    #[error(transparent)]
    Model(#[from] NeuralError),
}

/// FNV-1a over bytes: a cheap checksum that catches flipped or lost bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
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

/// The trainer's state as checkpoint bytes.
pub fn encode(task: &str, trainer: &Trainer) -> Vec<u8> {
    let header = Header {
        task: task.to_string(),
        model: trainer.model.config.clone(),
        train: trainer.config.clone(),
        step: trainer.step,
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
    out
}

/// Reads checkpoint bytes back into a trainer, checking magic, version, length and checksum
/// before anything else.
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
    if version != FORMAT_VERSION {
        return Err(CheckpointError::Version {
            found: version,
            expected: FORMAT_VERSION,
        });
    }
    let header_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let body = bytes.len() - 8;
    let found = u64::from_le_bytes(bytes[body..].try_into().expect("8 bytes"));
    let computed = fnv1a(&bytes[..body]);
    if (prefix as u64).saturating_add(header_len) > body as u64 {
        return Err(CheckpointError::Length {
            expected: prefix as u64 + header_len + 8,
            actual: bytes.len() as u64,
        });
    }
    let header_end = prefix + header_len as usize;
    let header: Result<Header, _> = serde_json::from_slice(&bytes[prefix..header_end]);
    // A corrupt header would be reported as a JSON error; the checksum names the real problem.
    if found != computed {
        return Err(CheckpointError::Checksum { found, computed });
    }
    let header = header.map_err(|e| CheckpointError::Header(e.to_string()))?;
    header.model.validate()?;
    let layout = header.model.layout();
    let count: usize = header.model.parameter_count();
    let floats = 3 * count + header.step as usize;
    let expected = (header_end + 4 * floats + 8) as u64;
    if expected != bytes.len() as u64 {
        return Err(CheckpointError::Length {
            expected,
            actual: bytes.len() as u64,
        });
    }
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
    Ok(Checkpoint { header, trainer })
}

/// The file name of the checkpoint at `step`: `step-00000123.ckpt`, so names sort by step.
pub fn file_name(step: u32) -> String {
    format!("step-{step:08}.ckpt")
}

/// Writes the trainer's checkpoint into `dir` (created if missing), atomically: the bytes go to a
/// temporary file in the same folder, are flushed to disk, and the file is then renamed into
/// place, so a crash leaves either the old state or the new one, never half a file.
pub fn save(dir: &Path, task: &str, trainer: &Trainer) -> Result<PathBuf, CheckpointError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckpointError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(file_name(trainer.step));
    let tmp = dir.join(format!(".{}.tmp", file_name(trainer.step)));
    let bytes = encode(task, trainer);
    {
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Reads and checks one checkpoint file.
pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes)
}

/// The checkpoint with the highest step in `dir`, or `None` when there is none.
pub fn latest(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CheckpointError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut best: Option<PathBuf> = None;
    for entry in entries {
        let entry = entry.map_err(|source| CheckpointError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("step-") && name.ends_with(".ckpt") {
            let path = entry.path();
            if best.as_ref().is_none_or(|b| path > *b) {
                best = Some(path);
            }
        }
    }
    Ok(best)
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
