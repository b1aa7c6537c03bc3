#!/usr/bin/env python3
"""Independent reference forward for apmdm's hand-set weights (docs/weights.md).

    python3 tests/weights_ref.py DIR [--steps K]

DIR is what `apmdm compile PROGRAM --executor weights --emit-weights DIR` writes:
model.safetensors (dense, sparse or coo storage), config.json, layout.json and probe.json.
This script is written
from docs/weights.md alone (NumPy and the `safetensors` package, nothing of apmdm's
Rust code): for each probe canvas it builds the residual from the input map, runs the
encoder in float64 (x += sum_h attention_h(x); x += W2 relu(W1 x + b1)), reads the
logits out, decodes the proposal (token fields, remask, insert, delete) at every canvas
position and compares it with the seq evaluator's proposal stored in probe.json.

Exit codes: 0 every probed proposal equal; 1 some proposal differs; 2 bad input
(a missing file, a malformed JSON, a tensor whose shape or dtype disagrees with
config.json, a parameter count that disagrees, an unknown mask name, ...).
"""

import argparse
import json
import os
import sys
import time

# The matrices here are small (a few hundred rows); BLAS threads only contend with each
# other on a loaded machine, so one thread unless the caller chooses otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from safetensors import safe_open  # noqa: E402

MASK_NAMES = ("none", "lt", "le", "gt", "ge", "eq")
HEAD_GROUP_ELEMS = 1 << 24   # scores computed at once (heads x positions^2)


class BadInput(Exception):
    """The export is malformed or inconsistent: exit code 2."""


# ----------------------------------------------------------------------------- reading


def read_json(path):
    if not os.path.isfile(path):
        raise BadInput(f"missing file: {path}")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read {path} as JSON: {e}")


def need_int(obj, key, where, minimum=0):
    if not isinstance(obj, dict) or key not in obj:
        raise BadInput(f"{where}: missing key {key!r}")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise BadInput(f"{where}: {key} = {v!r}, expected an integer >= {minimum}")
    return v


class Config:
    """config.json, validated against itself (indices in range, counts consistent)."""

    def __init__(self, c):
        where = "config.json"
        if not isinstance(c, dict):
            raise BadInput(f"{where}: not a JSON object")
        self.d_model = need_int(c, "d_model", where, 1)
        self.layers = need_int(c, "layers", where, 0)
        self.heads = need_int(c, "heads", where, 0)
        self.d_head = need_int(c, "d_head", where, 0)
        self.d_ff = need_int(c, "d_ff", where, 0)
        self.outputs = need_int(c, "outputs", where, 0)
        self.parameters = need_int(c, "parameters", where, 0)
        self.max_len = c.get("max_len")
        if self.max_len is not None and (isinstance(self.max_len, bool) or not isinstance(self.max_len, int)):
            raise BadInput(f"{where}: max_len = {self.max_len!r} is not an integer")
        self.dtype = c.get("dtype")
        self.storage = c.get("storage", "dense")
        self.stored = c.get("stored")
        if self.storage not in ("dense", "sparse", "coo"):
            raise BadInput(f"{where}: storage = {self.storage!r} (expected 'dense', 'sparse' or 'coo')")

        fw = c.get("field_widths")
        if not isinstance(fw, list) or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 62 for w in fw):
            raise BadInput(f"{where}: field_widths must be a list of integers in 1..=62, got {fw!r}")
        self.field_widths = fw
        nf = len(fw)

        # inputs
        inp = c.get("inputs")
        if not isinstance(inp, dict):
            raise BadInput(f"{where}: missing object 'inputs'")
        self.one = need_int(inp, "one", f"{where} inputs")
        self.real = need_int(inp, "real", f"{where} inputs")
        self.mask = need_int(inp, "mask", f"{where} inputs")
        fb = inp.get("field_bits")
        if not isinstance(fb, list) or len(fb) != nf:
            raise BadInput(f"{where}: inputs.field_bits must be a list of {nf} lists (one per field)")
        for k, bits in enumerate(fb):
            if not isinstance(bits, list) or len(bits) != fw[k]:
                raise BadInput(f"{where}: inputs.field_bits[{k}] has {len(bits) if isinstance(bits, list) else '?'} "
                               f"coordinates, field_widths[{k}] = {fw[k]}")
        self.field_bits = fb
        pb = inp.get("position_bits")
        if not isinstance(pb, list) or len(pb) == 0:
            raise BadInput(f"{where}: inputs.position_bits must be a non-empty list")
        self.position_bits = pb
        # further constant features: one_parts are 1 at every position (the sink too),
        # real_parts 1 at canvas positions and 0 at the sink (absent: none)
        self.one_parts = inp.get("one_parts", [])
        self.real_parts = inp.get("real_parts", [])
        for key, v in (("one_parts", self.one_parts), ("real_parts", self.real_parts)):
            if not isinstance(v, list):
                raise BadInput(f"{where}: inputs.{key} must be a list of coordinates")
        coords = ([self.one, self.real, self.mask] + [i for bits in fb for i in bits] + list(pb)
                  + list(self.one_parts) + list(self.real_parts))
        for i in coords:
            if isinstance(i, bool) or not isinstance(i, int) or not (0 <= i < self.d_model):
                raise BadInput(f"{where}: input coordinate {i!r} is not in 0..{self.d_model}")
        if len(set(coords)) != len(coords):
            raise BadInput(f"{where}: input coordinates are not distinct")

        # masks
        masks = c.get("masks")
        if not isinstance(masks, list) or len(masks) != self.layers:
            raise BadInput(f"{where}: masks must be a list of {self.layers} lists (one per layer)")
        for l, row in enumerate(masks):
            if not isinstance(row, list) or len(row) != self.heads:
                raise BadInput(f"{where}: masks[{l}] must list {self.heads} masks (one per head)")
            for h, m in enumerate(row):
                if m not in MASK_NAMES:
                    raise BadInput(f"{where}: masks[{l}][{h}] = {m!r} is not a known mask "
                                   f"(expected one of {', '.join(MASK_NAMES)})")
        self.masks = masks

        # read-out rows
        ro = c.get("readout")
        if not isinstance(ro, dict):
            raise BadInput(f"{where}: missing object 'readout'")
        fields = ro.get("fields")
        if not isinstance(fields, list) or len(fields) != nf:
            raise BadInput(f"{where}: readout.fields must list {nf} fields")
        self.ro_fields = []
        for k, f in enumerate(fields):
            start = need_int(f, "start", f"{where} readout.fields[{k}]")
            width = need_int(f, "width", f"{where} readout.fields[{k}]", 1)
            if width != fw[k]:
                raise BadInput(f"{where}: readout.fields[{k}].width = {width}, field_widths[{k}] = {fw[k]}")
            if start + width > self.outputs:
                raise BadInput(f"{where}: readout.fields[{k}] rows {start}..{start + width} exceed outputs = {self.outputs}")
            self.ro_fields.append((start, width))
        # "the next three rows are remask, insert and delete" (after the last field's rows)
        nxt = (self.ro_fields[-1][0] + self.ro_fields[-1][1]) if self.ro_fields else 0
        self.ro_flags = {}
        for j, name in enumerate(("remask", "insert", "delete")):
            row = ro.get(name, nxt + j)
            if isinstance(row, bool) or not isinstance(row, int) or not (0 <= row < self.outputs):
                raise BadInput(f"{where}: readout.{name} = {row!r} is not a row in 0..{self.outputs}")
            if row != nxt + j:
                raise BadInput(f"{where}: readout.{name} = {row}, but docs/weights.md puts it right after the "
                               f"fields, at row {nxt + j}")
            self.ro_flags[name] = row

        # the parameter count, by the formula of docs/weights.md
        per_layer = 4 * self.heads * self.d_head * self.d_model + 2 * self.d_model * self.d_ff + self.d_ff
        formula = self.layers * per_layer + self.outputs * (self.d_model + 1)
        if formula != self.parameters:
            raise BadInput(f"{where}: parameters = {self.parameters}, but the shapes give {formula} "
                           f"(docs/weights.md's formula)")

    def expected_tensors(self):
        """name -> shape, exactly as docs/weights.md lists them."""
        d, H, dh, ff = self.d_model, self.heads, self.d_head, self.d_ff
        out = {}
        for l in range(self.layers):
            p = f"layers.{l:03d}."
            out[p + "attn.q"] = (H, dh, d)
            out[p + "attn.k"] = (H, dh, d)
            out[p + "attn.v"] = (H, dh, d)
            out[p + "attn.o"] = (H, d, dh)
            out[p + "mlp.w1"] = (ff, d)
            out[p + "mlp.b1"] = (ff,)
            out[p + "mlp.w2"] = (d, ff)
        out["readout.w"] = (self.outputs, d)
        out["readout.b"] = (self.outputs,)
        return out


class Model:
    """model.safetensors, opened lazily (tensors are read layer by layer, as float64)."""

    def __init__(self, path, cfg):
        if not os.path.isfile(path):
            raise BadInput(f"missing file: {path}")
        try:
            self.f = safe_open(path, framework="numpy")
        except Exception as e:  # noqa: BLE001 - the package raises several kinds
            raise BadInput(f"cannot open {path} as safetensors: {e}")
        self.storage = cfg.storage
        self.shapes = cfg.expected_tensors()
        if self.storage != "dense":
            # matrices as <name>.indptr (sparse) or <name>.rows (coo), .indices (U32) and
            # .values; vectors (biases) dense
            first = "indptr" if self.storage == "sparse" else "rows"
            expected = {}
            for name, shape in self.shapes.items():
                if len(shape) == 1:
                    expected[name] = shape
                else:
                    for part in (first, "indices", "values"):
                        expected[f"{name}.{part}"] = None
        else:
            expected = self.shapes
        present = set(self.f.keys())
        missing = [n for n in expected if n not in present]
        extra = sorted(present - set(expected))
        if missing:
            raise BadInput(f"model.safetensors lacks {len(missing)} tensor(s), e.g. {missing[0]}")
        if extra:
            raise BadInput(f"model.safetensors has {len(extra)} tensor(s) docs/weights.md does not define, e.g. {extra[0]}")
        total = 0
        dtypes = set()
        self.stored = 0
        for name, shape in expected.items():
            sl = self.f.get_slice(name)
            got = tuple(sl.get_shape())
            if shape is None:   # a sparse part: checked when the matrix is read
                if len(got) != 1:
                    raise BadInput(f"tensor {name} has shape {list(got)}, expected one axis")
                if name.endswith(".values"):
                    dtypes.add(sl.get_dtype())
                    self.stored += got[0]
                elif sl.get_dtype() != "U32":
                    raise BadInput(f"tensor {name} is {sl.get_dtype()}, docs/weights.md says U32")
                continue
            if got != shape:
                raise BadInput(f"tensor {name} has shape {list(got)}, config.json implies {list(shape)}")
            dtypes.add(sl.get_dtype())
            self.stored += int(np.prod(got, dtype=np.int64))
        total = sum(int(np.prod(s, dtype=np.int64)) for s in self.shapes.values())
        if total != cfg.parameters:
            raise BadInput(f"the tensors hold {total} parameters, config.json says {cfg.parameters}")
        for dt in dtypes:
            if dt not in ("F32", "F64"):
                raise BadInput(f"tensor dtype {dt} (docs/weights.md allows F32 or F64)")
        if len(dtypes) > 1:
            raise BadInput(f"tensors mix dtypes {sorted(dtypes)}")
        self.dtype = next(iter(dtypes)) if dtypes else None
        if cfg.dtype is not None and self.dtype is not None and cfg.dtype != self.dtype:
            raise BadInput(f"config.json says dtype {cfg.dtype}, the tensors are {self.dtype}")
        self.total = total
        if cfg.stored is not None and cfg.stored != self.stored:
            raise BadInput(f"the tensors store {self.stored} values, config.json says {cfg.stored}")

    def get(self, name):
        shape = self.shapes[name]
        if self.storage == "sparse" and len(shape) > 1:
            t = self.dense_from_csr(name, shape)
        elif self.storage == "coo" and len(shape) > 1:
            t = self.dense_from_coo(name, shape)
        else:
            t = np.asarray(self.f.get_tensor(name), dtype=np.float64)
        if not np.all(np.isfinite(t)):
            raise BadInput(f"tensor {name} holds a non-finite value")
        return t


    def dense_from_csr(self, name, shape):
        """Row r of the matrix [prod(shape[:-1]), shape[-1]] holds values[indptr[r]:indptr[r+1]]
        at columns indices[indptr[r]:indptr[r+1]] (strictly increasing), zeros elsewhere."""
        rows, cols = int(np.prod(shape[:-1], dtype=np.int64)), shape[-1]
        indptr = np.asarray(self.f.get_tensor(name + ".indptr"), dtype=np.int64)
        indices = np.asarray(self.f.get_tensor(name + ".indices"), dtype=np.int64)
        values = np.asarray(self.f.get_tensor(name + ".values"), dtype=np.float64)
        if indptr.shape != (rows + 1,):
            raise BadInput(f"{name}.indptr has {indptr.shape[0]} entries, the shape {list(shape)} needs {rows + 1}")
        if indices.shape != values.shape:
            raise BadInput(f"{name}: {indices.shape[0]} indices but {values.shape[0]} values")
        if indptr[0] != 0 or indptr[-1] != values.shape[0] or np.any(np.diff(indptr) < 0):
            raise BadInput(f"{name}.indptr is not a non-decreasing list from 0 to {values.shape[0]}")
        if indices.size and (indices.min() < 0 or indices.max() >= cols):
            raise BadInput(f"{name}.indices holds a column outside 0..{cols}")
        row_of = np.repeat(np.arange(rows, dtype=np.int64), np.diff(indptr))
        if indices.size > 1:
            same_row = row_of[1:] == row_of[:-1]
            if np.any(same_row & (indices[1:] <= indices[:-1])):
                raise BadInput(f"{name}.indices are not strictly increasing within a row")
        t = np.zeros((rows, cols), dtype=np.float64)
        t[row_of, indices] = values
        return t.reshape(shape)

    def dense_from_coo(self, name, shape):
        """Entry i of the matrix [prod(shape[:-1]), shape[-1]] is values[i] at row rows[i] and
        column indices[i]; the (row, column) pairs strictly increase; zeros elsewhere."""
        rows, cols = int(np.prod(shape[:-1], dtype=np.int64)), shape[-1]
        row_of = np.asarray(self.f.get_tensor(name + ".rows"), dtype=np.int64)
        indices = np.asarray(self.f.get_tensor(name + ".indices"), dtype=np.int64)
        values = np.asarray(self.f.get_tensor(name + ".values"), dtype=np.float64)
        if not (row_of.shape == indices.shape == values.shape):
            raise BadInput(f"{name}: {row_of.shape[0]} rows, {indices.shape[0]} indices and {values.shape[0]} values")
        if row_of.size and (row_of.min() < 0 or row_of.max() >= rows):
            raise BadInput(f"{name}.rows holds a row outside 0..{rows}")
        if indices.size and (indices.min() < 0 or indices.max() >= cols):
            raise BadInput(f"{name}.indices holds a column outside 0..{cols}")
        if row_of.size > 1:
            key = row_of * cols + indices
            if np.any(key[1:] <= key[:-1]):
                raise BadInput(f"{name}: the (row, column) pairs are not strictly increasing")
        t = np.zeros((rows, cols), dtype=np.float64)
        t[row_of, indices] = values
        return t.reshape(shape)


# ----------------------------------------------------------------------------- probe


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_word(word, cfg, where):
    nf = len(cfg.field_widths)
    if not isinstance(word, list) or len(word) != nf or not all(is_int(v) for v in word):
        raise BadInput(f"{where}: a word must be a list of {nf} integers, got {word!r}")
    for k, (v, w) in enumerate(zip(word, cfg.field_widths)):
        if not (-(1 << (w - 1)) <= v < (1 << (w - 1))):
            raise BadInput(f"{where}: field {k} = {v} does not fit {w}-bit two's complement")


def load_probe(path, cfg, max_steps):
    p = read_json(path)
    if not isinstance(p, dict) or p.get("format") != 1 or not isinstance(p.get("steps"), list):
        raise BadInput(f"{path}: expected {{\"format\": 1, \"steps\": [...]}}")
    steps = p["steps"] if max_steps is None else p["steps"][:max_steps]
    for s, st in enumerate(steps):
        where = f"probe.json step {s}"
        if not isinstance(st, dict):
            raise BadInput(f"{where}: not an object")
        for key in ("canvas", "tokens", "remask", "insert", "delete"):
            if not isinstance(st.get(key), list):
                raise BadInput(f"{where}: missing list {key!r}")
        L = len(st["canvas"])
        if L == 0:
            raise BadInput(f"{where}: empty canvas")
        for key in ("tokens", "remask", "insert", "delete"):
            if len(st[key]) != L:
                raise BadInput(f"{where}: {key} has {len(st[key])} entries, the canvas {L}")
        if cfg.max_len is not None and L > cfg.max_len:
            raise BadInput(f"{where}: canvas length {L} exceeds config.json max_len = {cfg.max_len}")
        if L - 1 >= (1 << len(cfg.position_bits)):
            raise BadInput(f"{where}: canvas length {L} needs more than {len(cfg.position_bits)} position bits")
        for i, w in enumerate(st["canvas"]):
            if w is not None:
                check_word(w, cfg, f"{where} canvas[{i}]")
        for i, w in enumerate(st["tokens"]):
            check_word(w, cfg, f"{where} tokens[{i}]")
        for key in ("remask", "insert", "delete"):
            if not all(isinstance(b, bool) for b in st[key]):
                raise BadInput(f"{where}: {key} must be a list of booleans")
    return steps


# ----------------------------------------------------------------------------- forward


def input_residual(canvas, cfg):
    """Model positions: 0 is the sink, canvas position p is p + 1."""
    L = len(canvas)
    X = np.zeros((L + 1, cfg.d_model), dtype=np.float64)
    X[:, cfg.one] = 1.0                      # sink and canvas
    X[1:, cfg.real] = 1.0                    # canvas only
    for c in cfg.one_parts:
        X[:, c] = 1.0
    for c in cfg.real_parts:
        X[1:, c] = 1.0
    p = np.arange(L, dtype=np.int64)
    for b, c in enumerate(cfg.position_bits):
        X[1:, c] = np.where((p >> b) & 1, 1.0, -1.0)
    for i, word in enumerate(canvas):
        r = i + 1
        if word is None:
            X[r, cfg.mask] = 1.0
            word = [0] * len(cfg.field_widths)   # a mask's fields are 0 (all bits -1)
        for k, (v, w) in enumerate(zip(word, cfg.field_widths)):
            u = v & ((1 << w) - 1)                 # two's complement in w bits
            for b, c in enumerate(cfg.field_bits[k]):
                X[r, c] = 1.0 if (u >> b) & 1 else -1.0
    return X


def visibility(L, name):
    """[L+1, L+1] booleans: row i (model position) may attend to column j."""
    ci = np.arange(L)[:, None]   # query canvas position
    cj = np.arange(L)[None, :]   # key canvas position
    if name == "none":
        canvas = np.ones((L, L), dtype=bool)
    elif name == "lt":
        canvas = cj < ci
    elif name == "le":
        canvas = cj <= ci
    elif name == "gt":
        canvas = cj > ci
    elif name == "ge":
        canvas = cj >= ci
    elif name == "eq":
        canvas = cj == ci
    else:  # validated in Config; kept for safety
        raise BadInput(f"unknown mask {name!r}")
    vis = np.zeros((L + 1, L + 1), dtype=bool)
    vis[0, 0] = True            # the sink's row attends only to itself
    vis[1:, 0] = True           # every canvas row sees the sink
    vis[1:, 1:] = canvas
    return vis


def attention_head(X, Wq, Wk, Wv, Wo, vis):
    """One head, exactly the equations of docs/weights.md (kept for reading and debugging)."""
    Q = X @ Wq.T                 # [n, d_head]
    K = X @ Wk.T
    V = X @ Wv.T
    S = Q @ K.T                  # no 1/sqrt(d) scale: it is in Q
    S = np.where(vis, S, -np.inf)
    S = S - S.max(axis=1, keepdims=True)   # every row sees at least the sink
    E = np.exp(S)                # exp(-inf) = 0 for hidden positions
    A = E / E.sum(axis=1, keepdims=True)
    return (A @ V) @ Wo.T        # [n, d_model]


def attention_heads(X, Wq, Wk, Wv, Wo, vis):
    """The same for a group of heads at once: Wq, Wk, Wv [g, d_head, d_model], Wo [g, d_model,
    d_head], vis [g, n, n]; returns the sum of the heads' outputs, [n, d_model]."""
    g, dh, d = Wq.shape
    n = X.shape[0]
    Q = (X @ Wq.reshape(g * dh, d).T).reshape(n, g, dh).transpose(1, 0, 2)   # [g, n, dh]
    K = (X @ Wk.reshape(g * dh, d).T).reshape(n, g, dh).transpose(1, 0, 2)
    V = (X @ Wv.reshape(g * dh, d).T).reshape(n, g, dh).transpose(1, 0, 2)
    S = Q @ K.transpose(0, 2, 1)                                           # [g, n, n], no scale
    S = np.where(vis, S, -np.inf)
    S -= S.max(axis=2, keepdims=True)
    E = np.exp(S)
    A = E / E.sum(axis=2, keepdims=True)
    AV = (A @ V).transpose(1, 0, 2).reshape(n, g * dh)                     # [n, g * dh]
    return AV @ Wo.transpose(0, 2, 1).reshape(g * dh, d)                   # sum over heads


def forward_all(model, cfg, canvases, unmasked=False):
    """Runs every canvas through all layers (each layer's tensors read once). unmasked: every
    head sees every canvas position (to show which probes the masks decide)."""
    Xs = [input_residual(c, cfg) for c in canvases]
    vis_cache = {}

    def vis_for(L, name):
        key = (L, name)
        if key not in vis_cache:
            vis_cache[key] = visibility(L, name)
        return vis_cache[key]

    for l in range(cfg.layers):
        p = f"layers.{l:03d}."
        Wq, Wk, Wv, Wo = (model.get(p + "attn." + t) for t in ("q", "k", "v", "o"))
        # a head whose V or O is all zero adds exactly 0 (every a_j is finite): skipped
        live = [h for h in range(cfg.heads) if np.any(Wv[h]) and np.any(Wo[h])]
        for X in Xs:
            n = X.shape[0]
            L = n - 1
            delta = np.zeros_like(X)
            group = max(1, HEAD_GROUP_ELEMS // (n * n))   # bounds the [g, n, n] score tensor
            for g0 in range(0, len(live), group):
                hs = live[g0:g0 + group]
                vis = np.stack([vis_for(L, "none" if unmasked else cfg.masks[l][h]) for h in hs])
                # all heads read the same x; their outputs are summed
                delta += attention_heads(X, Wq[hs], Wk[hs], Wv[hs], Wo[hs], vis)
            X += delta
        del Wq, Wk, Wv, Wo
        W1, b1, W2 = model.get(p + "mlp.w1"), model.get(p + "mlp.b1"), model.get(p + "mlp.w2")
        for X in Xs:
            Hd = np.maximum(X @ W1.T + b1, 0.0)
            X += Hd @ W2.T
        del W1, b1, W2
    Wout, bout = model.get("readout.w"), model.get("readout.b")
    return [X[1:] @ Wout.T + bout for X in Xs]   # logits at canvas positions only


def decode(logits, cfg):
    """[L, outputs] logits -> (fields [L, nf] int64, remask, insert, delete [L] bool)."""
    bits = logits > 0.0
    L = logits.shape[0]
    fields = np.zeros((L, len(cfg.ro_fields)), dtype=np.int64)
    for k, (start, w) in enumerate(cfg.ro_fields):
        weights = np.array([1 << b for b in range(w - 1)] + [-(1 << (w - 1))], dtype=np.int64)
        fields[:, k] = bits[:, start:start + w].astype(np.int64) @ weights
    flags = {name: bits[:, row] for name, row in cfg.ro_flags.items()}
    return fields, flags


# ----------------------------------------------------------------------------- main


def margin(logits, cfg):
    rows = [r for (s, w) in cfg.ro_fields for r in range(s, s + w)] + list(cfg.ro_flags.values())
    return float(np.min(np.abs(logits[:, rows]))) if logits.size else float("inf")


def compare(step_idx, st, logits, cfg):
    fields, flags = decode(logits, cfg)
    L = len(st["canvas"])
    exp_tok = np.array(st["tokens"], dtype=np.int64).reshape(L, len(cfg.field_widths))
    for i in range(L):
        for k in range(exp_tok.shape[1]):
            if fields[i, k] != exp_tok[i, k]:
                s, w = cfg.ro_fields[k]
                lg = " ".join(f"{x:+.3g}" for x in logits[i, s:s + w])
                return (f"step {step_idx}: {L} positions, DIFFER at position {i}, field {k}: "
                        f"expected {int(exp_tok[i, k])}, got {int(fields[i, k])} (bit logits, LSB first: {lg})")
        for name in ("remask", "insert", "delete"):
            if bool(flags[name][i]) != st[name][i]:
                return (f"step {step_idx}: {L} positions, DIFFER at position {i}, {name}: "
                        f"expected {st[name][i]}, got {bool(flags[name][i])} "
                        f"(logit {logits[i, cfg.ro_flags[name]]:+.6g})")
    return None


def run(dirpath, max_steps, mask_check=False):
    cfg = Config(read_json(os.path.join(dirpath, "config.json")))
    if not os.path.isfile(os.path.join(dirpath, "layout.json")):
        raise BadInput(f"missing file: {os.path.join(dirpath, 'layout.json')}")
    model = Model(os.path.join(dirpath, "model.safetensors"), cfg)
    steps = load_probe(os.path.join(dirpath, "probe.json"), cfg, max_steps)
    print(f"model: {cfg.storage} {model.dtype}, {model.total} parameters, {model.stored} stored, d_model {cfg.d_model}, {cfg.layers} layers, "
          f"{cfg.heads} heads x {cfg.d_head}, d_ff {cfg.d_ff}, {cfg.outputs} outputs; {len(steps)} probe step(s)")
    if not steps:
        print("no probe steps to check")
        return 0
    t0 = time.time()
    all_logits = forward_all(model, cfg, [st["canvas"] for st in steps])
    bad = 0
    worst = float("inf")
    for s, (st, logits) in enumerate(zip(steps, all_logits)):
        diff = compare(s, st, logits, cfg)
        m = margin(logits, cfg)
        worst = min(worst, m)
        if diff is None:
            print(f"step {s}: {len(st['canvas'])} positions, proposals equal (min |logit| {m:.4g})")
        else:
            bad += 1
            print(diff)
    dt = time.time() - t0
    # What the probes exercise: control bits set in the expected proposals.
    for name in ("remask", "insert", "delete"):
        k = sum(1 for st in steps if any(st[name]))
        print(f"coverage: {name} set at some position in {k} of {len(steps)} step(s)")
    if mask_check and not bad:
        # The same probes with every head's mask removed: a step that differs then is one whose
        # proposal a mask decides.
        unmasked = forward_all(model, cfg, [st["canvas"] for st in steps], unmasked=True)
        k = sum(1 for s, (st, lg) in enumerate(zip(steps, unmasked)) if compare(s, st, lg, cfg))
        print(f"coverage: with every mask removed, {k} of {len(steps)} step(s) differ")
    if bad:
        print(f"FAIL: {bad} of {len(steps)} step(s) differ from the seq evaluator's proposals ({dt:.1f} s)")
        return 1
    print(f"OK: all {len(steps)} step(s) equal at every position (min |logit| {worst:.4g}; {dt:.1f} s)")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", help="the folder written by --emit-weights")
    ap.add_argument("--steps", type=int, default=None, help="check at most this many probe steps (default: all)")
    ap.add_argument("--mask-check", action="store_true",
                    help="also run the probes with every mask removed and count the steps that then differ")
    args = ap.parse_args(argv)
    if args.steps is not None and args.steps < 0:
        print("error: --steps must be >= 0", file=sys.stderr)
        return 2
    try:
        return run(args.dir, args.steps, args.mask_check)
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
