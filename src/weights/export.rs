//! Export: a model as `model.safetensors` (dense tensors at the uniform shape), `config.json`
//! (shapes, the input map, head masks, the read-out order) and `layout.json` (every wire's
//! coordinate, meaning and live range), as `docs/weights.md` states them. The files depend on the
//! model alone, so they are the same bytes for every seed and input.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use serde_json::json;

use super::circuit::{Expect, Feature};
use super::model::{Model, Row};
use crate::output_file::describe;
use crate::seq::Cmp;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The dense tensors would exceed the byte cap.
    #[error("the dense weights take {bytes} bytes ({parameters} parameters), over the cap of {cap} bytes (--max-export-bytes)")]
    TooLarge {
        /// Bytes needed.
        bytes: u64,
        /// Parameters.
        parameters: u64,
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
    /// Weights not exactly representable in f32 (0 for an F32 export).
    pub inexact_in_f32: u64,
    /// Parameters.
    pub parameters: u64,
    /// Bytes of `model.safetensors`' tensor data.
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

struct Dense {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Dense {
    fn zeros(shape: Vec<usize>) -> Dense {
        let n = shape.iter().product();
        Dense {
            shape,
            data: vec![0.0; n],
        }
    }

    fn bytes(&self, f32s: bool) -> Vec<u8> {
        if f32s {
            self.data
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect()
        } else {
            self.data.iter().flat_map(|&v| v.to_le_bytes()).collect()
        }
    }
}

fn put_row(t: &mut Dense, offset: usize, r: &Row) {
    for &(c, w) in &r.entries {
        t.data[offset + c as usize] += w;
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ExportError {
    ExportError::Io {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

/// Writes the three files into `dir` (created if missing); refuses above `max_bytes`.
pub fn export(model: &Model, dir: &Path, max_bytes: u64) -> Result<Exported, ExportError> {
    let c = model.config;
    let parameters = c.parameters();
    let inexact = inexact_in_f32(model);
    let f32s = inexact == 0;
    let width = if f32s { 4 } else { 8 };
    let bytes = parameters.saturating_mul(width);
    if bytes > max_bytes {
        return Err(ExportError::TooLarge {
            bytes,
            parameters,
            cap: max_bytes,
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let (d, h, dh, ff) = (c.d_model, c.heads, c.d_head, c.d_ff);
    // Each tensor is encoded as soon as it is filled, so the peak memory is the file's size
    // plus one layer's dense tensors.
    let mut tensors: BTreeMap<String, (Vec<u8>, Vec<usize>)> = BTreeMap::new();
    let mut put = |name: String, t: Dense| {
        let b = t.bytes(f32s);
        tensors.insert(name, (b, t.shape));
    };
    let mut masks = Vec::new();
    for (l, layer) in model.layers.iter().enumerate() {
        let mut q = Dense::zeros(vec![h, dh, d]);
        let mut k = Dense::zeros(vec![h, dh, d]);
        let mut v = Dense::zeros(vec![h, dh, d]);
        let mut o = Dense::zeros(vec![h, d, dh]);
        let mut layer_masks = vec!["none"; h];
        for (i, head) in layer.heads.iter().enumerate() {
            layer_masks[i] = mask_name(head.mask);
            for (t, r) in head.q.iter().enumerate() {
                put_row(&mut q, (i * dh + t) * d, r);
            }
            for (t, r) in head.k.iter().enumerate() {
                put_row(&mut k, (i * dh + t) * d, r);
            }
            for (t, r) in head.v.iter().enumerate() {
                put_row(&mut v, (i * dh + t) * d, r);
            }
            for (t, &coord) in head.o.iter().enumerate() {
                o.data[(i * d + coord as usize) * dh + t] = 1.0;
            }
        }
        masks.push(layer_masks);
        let mut w1 = Dense::zeros(vec![ff, d]);
        let mut b1 = Dense::zeros(vec![ff]);
        let mut w2 = Dense::zeros(vec![d, ff]);
        for (u, unit) in layer.units.iter().enumerate() {
            put_row(&mut w1, u * d, &unit.w1);
            b1.data[u] = unit.w1.bias;
            for &(coord, w) in &unit.w2 {
                w2.data[coord as usize * ff + u] += w;
            }
        }
        for (name, t) in [("attn.q", q), ("attn.k", k), ("attn.v", v), ("attn.o", o)] {
            put(format!("layers.{l:03}.{name}"), t);
        }
        for (name, t) in [("mlp.w1", w1), ("mlp.b1", b1), ("mlp.w2", w2)] {
            put(format!("layers.{l:03}.{name}"), t);
        }
    }
    let mut rw = Dense::zeros(vec![c.outputs, d]);
    let mut rb = Dense::zeros(vec![c.outputs]);
    for (i, r) in model.readout.iter().enumerate() {
        put_row(&mut rw, i * d, r);
        rb.data[i] = r.bias;
    }
    put("readout.w".to_string(), rw);
    put("readout.b".to_string(), rb);
    let encoded: Vec<(String, Vec<u8>, Vec<usize>)> =
        tensors.into_iter().map(|(n, (b, s))| (n, b, s)).collect();
    let dtype = if f32s { Dtype::F32 } else { Dtype::F64 };
    let views: Vec<(String, TensorView<'_>)> = encoded
        .iter()
        .map(|(n, b, s)| {
            let view = TensorView::new(dtype, s.clone(), b).expect("shape and bytes agree");
            (n.clone(), view)
        })
        .collect();
    let file = dir.join("model.safetensors");
    // Serialized in memory (the byte cap bounds it) so that the file goes through
    // `output_file` like every other output.
    let serialized = safetensors::tensor::serialize(views, None).map_err(|e| io(&file, e))?;
    drop(encoded);
    crate::output_file::write_file(&file, &serialized)
        .map_err(|e| io(&file, describe(&e.error)))?;
    write_json(&dir.join("config.json"), &config_json(model, &masks, f32s))?;
    write_json(&dir.join("layout.json"), &layout_json(model))?;
    Ok(Exported {
        dtype: if f32s { "F32" } else { "F64" }.to_string(),
        inexact_in_f32: inexact,
        parameters,
        bytes,
    })
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| io(path, e))?;
    crate::output_file::write_file(path, (text + "\n").as_bytes())
        .map_err(|e| io(path, describe(&e.error)))
}

fn config_json(model: &Model, masks: &[Vec<&str>], f32s: bool) -> serde_json::Value {
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
        "max_len": model.options.max_len,
        "field_widths": model.field_widths,
        "inputs": {
            "one": coord(Feature::One),
            "real": coord(Feature::Real),
            "mask": coord(Feature::Mask),
            "field_bits": field_bits,
            "position_bits": position_bits,
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
