//! Export: a model as `model.safetensors` (each matrix as coordinates or compressed rows of its
//! non-zero weights, or dense at the uniform shape), `config.json` (shapes, the input map, head
//! masks, the read-out order) and `layout.json` (every wire's coordinate, meaning and live
//! range), as `docs/weights.md` states them. The files depend on the model alone, so they are
//! the same bytes for every seed and input.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use serde_json::json;

use super::circuit::{Expect, Feature};
use super::model::{Model, Row};
use crate::output_file::describe;
use crate::seq::Cmp;

/// How `model.safetensors` stores each weight matrix (`docs/weights.md`, "Files").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// Coordinates: `<name>.rows`, `<name>.indices` (U32) and `<name>.values`, one entry per
    /// stored weight in row-major order.
    #[default]
    Coo,
    /// Compressed sparse rows: `<name>.indptr`, `<name>.indices` (U32) and `<name>.values`.
    Sparse,
    /// Every matrix dense at the uniform shape.
    Dense,
}

impl Storage {
    /// The name written to `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Storage::Coo => "coo",
            Storage::Sparse => "sparse",
            Storage::Dense => "dense",
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The files would exceed the byte cap.
    #[error("the export takes {bytes} bytes ({storage} {dtype}: {parameters} parameters, {stored} stored weights), over the cap of {cap} bytes (--max-export-bytes)")]
    TooLarge {
        /// Bytes needed (all three files; for a dense export refused before it is built, a
        /// lower bound: the tensor data alone).
        bytes: u64,
        /// The storage.
        storage: &'static str,
        /// The value dtype.
        dtype: &'static str,
        /// Parameters at the uniform shape.
        parameters: u64,
        /// Weights stored (every parameter when dense; the non-zero ones when sparse).
        stored: u64,
        /// The cap.
        cap: u64,
    },
    /// Writing failed.
    #[error("cannot write {path}: {why}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

/// What was written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Exported {
    /// `F32` when every weight is exact in f32, else `F64`.
    pub dtype: String,
    /// `sparse` or `dense`.
    pub storage: String,
    /// Weights not exactly representable in f32 (0 for an F32 export).
    pub inexact_in_f32: u64,
    /// Parameters at the uniform shape.
    pub parameters: u64,
    /// Weights stored as values (every parameter when dense, the non-zero ones when sparse).
    pub stored: u64,
    /// Bytes of `model.safetensors` (header included).
    pub model_bytes: u64,
    /// Bytes of all three files (what `--max-export-bytes` caps).
    pub bytes: u64,
}

fn mask_name(m: Option<Cmp>) -> &'static str {
    match m {
        None => "none",
        Some(Cmp::Lt) => "lt",
        Some(Cmp::Le) => "le",
        Some(Cmp::Gt) => "gt",
        Some(Cmp::Ge) => "ge",
        Some(Cmp::Eq) => "eq",
    }
}

/// Every weight of the model, in a fixed order (for the f32 check).
fn weights(model: &Model) -> impl Iterator<Item = f64> + '_ {
    let rows = |r: &'_ Row| {
        r.entries
            .iter()
            .map(|e| e.1)
            .chain(std::iter::once(r.bias))
            .collect::<Vec<_>>()
    };
    model
        .layers
        .iter()
        .flat_map(move |l| {
            let heads = l.heads.iter().flat_map(move |h| {
                h.q.iter()
                    .chain(&h.k)
                    .chain(&h.v)
                    .flat_map(rows)
                    .collect::<Vec<_>>()
            });
            let units = l
                .units
                .iter()
                .flat_map(|u| rows(&u.w1).into_iter().chain(u.w2.iter().map(|e| e.1)));
            heads.chain(units).collect::<Vec<_>>()
        })
        .chain(model.readout.iter().flat_map(rows))
}

/// Weights of the model not exactly representable in f32.
pub fn inexact_in_f32(model: &Model) -> u64 {
    weights(model).filter(|&w| f64::from(w as f32) != w).count() as u64
}

/// A matrix (or a tensor seen as one: every axis but the last are its rows) by rows of
/// `(column, value)`, columns ascending, no zeros.
struct Matrix {
    shape: Vec<usize>,
    rows: Vec<Vec<(u32, f64)>>,
}

impl Matrix {
    fn new(shape: Vec<usize>) -> Matrix {
        let rows = shape[..shape.len() - 1].iter().product();
        Matrix {
            shape,
            rows: vec![Vec::new(); rows],
        }
    }

    fn cols(&self) -> usize {
        self.shape[self.shape.len() - 1]
    }

    fn add(&mut self, row: usize, col: u32, v: f64) {
        self.rows[row].push((col, v));
    }

    /// Sorts each row by column and merges repeated columns, dropping zeros.
    fn finish(&mut self) {
        for r in &mut self.rows {
            r.sort_by_key(|e| e.0);
            let mut merged: Vec<(u32, f64)> = Vec::with_capacity(r.len());
            for &(c, v) in r.iter() {
                match merged.last_mut() {
                    Some(last) if last.0 == c => last.1 += v,
                    _ => merged.push((c, v)),
                }
            }
            merged.retain(|e| e.1 != 0.0);
            *r = merged;
        }
    }

    fn stored(&self) -> u64 {
        self.rows.iter().map(|r| r.len() as u64).sum()
    }
}

fn values_bytes(values: impl Iterator<Item = f64>, f32s: bool) -> Vec<u8> {
    if f32s {
        values.flat_map(|v| (v as f32).to_le_bytes()).collect()
    } else {
        values.flat_map(f64::to_le_bytes).collect()
    }
}

fn u32_bytes(values: impl Iterator<Item = u32>) -> Vec<u8> {
    values.flat_map(u32::to_le_bytes).collect()
}

/// One tensor to write: name, dtype, shape, little-endian bytes.
type Encoded = (String, Dtype, Vec<usize>, Vec<u8>);

/// Encodes matrix `m` as `name` (dense), `name.rows`, `name.indices`, `name.values` (coo) or
/// `name.indptr`, `name.indices`, `name.values` (sparse).
fn encode(name: &str, m: &Matrix, storage: Storage, f32s: bool, out: &mut Vec<Encoded>) {
    let vdtype = if f32s { Dtype::F32 } else { Dtype::F64 };
    match storage {
        Storage::Dense => {
            let cols = m.cols();
            let mut data = vec![0.0f64; m.rows.len() * cols];
            for (i, r) in m.rows.iter().enumerate() {
                for &(c, v) in r {
                    data[i * cols + c as usize] = v;
                }
            }
            out.push((
                name.to_string(),
                vdtype,
                m.shape.clone(),
                values_bytes(data.into_iter(), f32s),
            ));
        }
        Storage::Coo => {
            let nnz = m.rows.iter().map(Vec::len).sum::<usize>();
            let rows = m
                .rows
                .iter()
                .enumerate()
                .flat_map(|(i, r)| std::iter::repeat_n(i as u32, r.len()));
            out.push((
                format!("{name}.rows"),
                Dtype::U32,
                vec![nnz],
                u32_bytes(rows),
            ));
            push_entries(name, m, nnz, vdtype, f32s, out);
        }
        Storage::Sparse => {
            let mut indptr = Vec::with_capacity(m.rows.len() + 1);
            let mut at = 0u32;
            indptr.push(at);
            for r in &m.rows {
                at += r.len() as u32;
                indptr.push(at);
            }
            let nnz = at as usize;
            out.push((
                format!("{name}.indptr"),
                Dtype::U32,
                vec![indptr.len()],
                u32_bytes(indptr.into_iter()),
            ));
            push_entries(name, m, nnz, vdtype, f32s, out);
        }
    }
}

/// The stored entries' columns (`name.indices`) and values (`name.values`), row-major; both
/// sparse storages write them the same way.
fn push_entries(
    name: &str,
    m: &Matrix,
    nnz: usize,
    vdtype: Dtype,
    f32s: bool,
    out: &mut Vec<Encoded>,
) {
    out.push((
        format!("{name}.indices"),
        Dtype::U32,
        vec![nnz],
        u32_bytes(m.rows.iter().flatten().map(|e| e.0)),
    ));
    out.push((
        format!("{name}.values"),
        vdtype,
        vec![nnz],
        values_bytes(m.rows.iter().flatten().map(|e| e.1), f32s),
    ));
}

fn put_row(m: &mut Matrix, row: usize, r: &Row) {
    for &(c, w) in &r.entries {
        m.add(row, c, w);
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// Writes the three files into `dir` (created if missing) with `storage`; refuses when they
/// would take more than `max_bytes` in all, before writing anything.
pub fn export(
    model: &Model,
    dir: &Path,
    max_bytes: u64,
    storage: Storage,
) -> Result<Exported, ExportError> {
    let c = model.config;
    let parameters = c.parameters();
    let inexact = inexact_in_f32(model);
    let f32s = inexact == 0;
    let dtype_name = if f32s { "F32" } else { "F64" };
    let width = if f32s { 4 } else { 8 };
    if storage == Storage::Dense {
        // The dense tensor data alone, before building it (it may not fit in memory).
        let bytes = parameters.saturating_mul(width);
        if bytes > max_bytes {
            return Err(ExportError::TooLarge {
                bytes,
                storage: storage.name(),
                dtype: dtype_name,
                parameters,
                stored: parameters,
                cap: max_bytes,
            });
        }
    }
    let (d, h, dh, ff) = (c.d_model, c.heads, c.d_head, c.d_ff);
    let mut encoded: Vec<Encoded> = Vec::new();
    let mut stored = 0u64;
    let mut masks = Vec::new();
    let vector = |name: String, data: Vec<f64>, encoded: &mut Vec<Encoded>| {
        let n = data.len();
        encoded.push((
            name,
            if f32s { Dtype::F32 } else { Dtype::F64 },
            vec![n],
            values_bytes(data.into_iter(), f32s),
        ));
    };
    for (l, layer) in model.layers.iter().enumerate() {
        let mut q = Matrix::new(vec![h, dh, d]);
        let mut k = Matrix::new(vec![h, dh, d]);
        let mut v = Matrix::new(vec![h, dh, d]);
        let mut o = Matrix::new(vec![h, d, dh]);
        let mut layer_masks = vec!["none"; h];
        for (i, head) in layer.heads.iter().enumerate() {
            layer_masks[i] = mask_name(head.mask);
            for (t, r) in head.q.iter().enumerate() {
                put_row(&mut q, i * dh + t, r);
            }
            for (t, r) in head.k.iter().enumerate() {
                put_row(&mut k, i * dh + t, r);
            }
            for (t, r) in head.v.iter().enumerate() {
                put_row(&mut v, i * dh + t, r);
            }
            for (t, &coord) in head.o.iter().enumerate() {
                o.add(i * d + coord as usize, t as u32, 1.0);
            }
        }
        masks.push(layer_masks);
        let mut w1 = Matrix::new(vec![ff, d]);
        let mut b1 = vec![0.0; ff];
        let mut w2 = Matrix::new(vec![d, ff]);
        for (u, unit) in layer.units.iter().enumerate() {
            put_row(&mut w1, u, &unit.w1);
            b1[u] = unit.w1.bias;
            for &(coord, w) in &unit.w2 {
                w2.add(coord as usize, u as u32, w);
            }
        }
        for (name, mut m) in [
            ("attn.q", q),
            ("attn.k", k),
            ("attn.v", v),
            ("attn.o", o),
            ("mlp.w1", w1),
            ("mlp.w2", w2),
        ] {
            m.finish();
            stored += m.stored();
            encode(
                &format!("layers.{l:03}.{name}"),
                &m,
                storage,
                f32s,
                &mut encoded,
            );
        }
        stored += ff as u64;
        vector(format!("layers.{l:03}.mlp.b1"), b1, &mut encoded);
    }
    let mut rw = Matrix::new(vec![c.outputs, d]);
    let mut rb = vec![0.0; c.outputs];
    for (i, r) in model.readout.iter().enumerate() {
        put_row(&mut rw, i, r);
        rb[i] = r.bias;
    }
    rw.finish();
    stored += rw.stored() + c.outputs as u64;
    encode("readout.w", &rw, storage, f32s, &mut encoded);
    vector("readout.b".to_string(), rb, &mut encoded);
    if storage == Storage::Dense {
        stored = parameters;
    }
    let views: Vec<(String, TensorView<'_>)> = encoded
        .iter()
        .map(|(n, dt, s, b)| {
            let view = TensorView::new(*dt, s.clone(), b).expect("shape and bytes agree");
            (n.clone(), view)
        })
        .collect();
    let file = dir.join("model.safetensors");
    // Serialized in memory (the byte cap bounds it) so that the file goes through
    // `output_file` like every other output.
    let serialized = safetensors::tensor::serialize(views, None).map_err(|e| io(&file, e))?;
    drop(encoded);
    let config = json_text(&config_json(model, &masks, f32s, storage, stored));
    let layout = json_text(&layout_json(model));
    let model_bytes = serialized.len() as u64;
    let bytes = model_bytes + config.len() as u64 + layout.len() as u64;
    if bytes > max_bytes {
        return Err(ExportError::TooLarge {
            bytes,
            storage: storage.name(),
            dtype: dtype_name,
            parameters,
            stored,
            cap: max_bytes,
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    crate::output_file::write_file(&file, &serialized)
        .map_err(|e| io(&file, describe(&e.error)))?;
    write_text(&dir.join("config.json"), &config)?;
    write_text(&dir.join("layout.json"), &layout)?;
    Ok(Exported {
        dtype: dtype_name.to_string(),
        storage: storage.name().to_string(),
        inexact_in_f32: inexact,
        parameters,
        stored,
        model_bytes,
        bytes,
    })
}

fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("a JSON value serializes") + "\n"
}

fn write_text(path: &Path, text: &str) -> Result<(), ExportError> {
    crate::output_file::write_file(path, text.as_bytes()).map_err(|e| io(path, describe(&e.error)))
}

fn config_json(
    model: &Model,
    masks: &[Vec<&str>],
    f32s: bool,
    storage: Storage,
    stored: u64,
) -> serde_json::Value {
    let c = model.config;
    let coord = |f: Feature| model.inputs.iter().find(|(g, _)| *g == f).map(|&(_, c)| c);
    let field_bits: Vec<Vec<u32>> = model
        .field_widths
        .iter()
        .enumerate()
        .map(|(k, &w)| {
            (0..w)
                .map(|bit| {
                    coord(Feature::FieldBit { field: k, bit }).expect("every field bit is an input")
                })
                .collect()
        })
        .collect();
    let position_bits: Vec<u32> = (0..model.position_bits)
        .map(|bit| coord(Feature::PosBit { bit }).expect("every position bit is an input"))
        .collect();
    // The further constant features (`Feature::OnePart`, `Feature::RealPart`), by part.
    let parts = |one: bool| -> Vec<u32> {
        let mut v: Vec<(u32, u32)> = model
            .inputs
            .iter()
            .filter_map(|&(f, c)| match f {
                Feature::OnePart { part } if one => Some((part, c)),
                Feature::RealPart { part } if !one => Some((part, c)),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.into_iter().map(|p| p.1).collect()
    };
    let mut fields = Vec::new();
    let mut at = 0;
    for &w in &model.field_widths {
        fields.push(json!({"start": at, "width": w}));
        at += w as usize;
    }
    json!({
        "format": 1,
        "architecture": "encoder, no normalisation: x += attention(x); x += W2 relu(W1 x + b1); per layer (docs/weights.md)",
        "dtype": if f32s { "F32" } else { "F64" },
        "d_model": c.d_model,
        "layers": c.layers,
        "heads": c.heads,
        "d_head": c.d_head,
        "d_ff": c.d_ff,
        "outputs": c.outputs,
        "parameters": c.parameters(),
        "storage": storage.name(),
        "stored": stored,
        "shapes": {
            "attn.q": [c.heads, c.d_head, c.d_model],
            "attn.k": [c.heads, c.d_head, c.d_model],
            "attn.v": [c.heads, c.d_head, c.d_model],
            "attn.o": [c.heads, c.d_model, c.d_head],
            "mlp.w1": [c.d_ff, c.d_model],
            "mlp.b1": [c.d_ff],
            "mlp.w2": [c.d_model, c.d_ff],
            "readout.w": [c.outputs, c.d_model],
            "readout.b": [c.outputs],
        },
        "max_len": model.options.max_len,
        "field_widths": model.field_widths,
        "inputs": {
            "one": coord(Feature::One),
            "real": coord(Feature::Real),
            "mask": coord(Feature::Mask),
            "field_bits": field_bits,
            "position_bits": position_bits,
            "one_parts": parts(true),
            "real_parts": parts(false),
        },
        "masks": masks,
        "readout": {
            "fields": fields,
            "remask": at,
            "insert": at + 1,
            "delete": at + 2,
        },
        "options": model.options,
    })
}

fn layout_json(model: &Model) -> serde_json::Value {
    let wires: Vec<serde_json::Value> = model
        .lowered
        .circuit
        .wires
        .iter()
        .zip(&model.placement)
        .map(|(info, p)| {
            let (node, meaning, bit) = match &info.expect {
                Expect::Feature(f) => (None, format!("{f:?}"), None),
                Expect::Node(n) => (Some(*n), "value".to_string(), None),
                Expect::Bit { node, bit, .. } => (Some(*node), "bit".to_string(), Some(*bit)),
                Expect::Digit {
                    node,
                    offset,
                    shift,
                    bits,
                    level,
                } => (
                    Some(*node),
                    format!("digit flag [((value + {offset}) >> {shift}) mod 2^{bits} >= {level}]"),
                    None,
                ),
                Expect::Zero(n) => (Some(*n), "flag [value == 0]".to_string(), None),
                Expect::NonZero(n) => (Some(*n), "flag [value != 0]".to_string(), None),
                Expect::Internal(n) => (Some(*n), "internal".to_string(), None),
                Expect::Read(n) => (Some(*n), "attention read".to_string(), None),
            };
            json!({
                "coord": p.coord,
                "node": node,
                "meaning": meaning,
                "bit": bit,
                "written_at_sublayer": p.born,
                "cleared_at_sublayer": p.cleared,
            })
        })
        .collect();
    let nodes: Vec<serde_json::Value> = model
        .lowered
        .nodes
        .iter()
        .enumerate()
        .map(|(n, f)| {
            json!({
                "node": n,
                "terms": f.terms.iter().map(|&(w, c)| json!([model.placement[w as usize].coord, c])).collect::<Vec<_>>(),
                "bias": f.bias,
            })
        })
        .collect();
    json!({"format": 1, "wires": wires, "node_values": nodes})
}
