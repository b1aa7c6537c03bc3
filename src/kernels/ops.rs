//! The checked entry points: each op validates every shape (and id) once, then calls the backend.
//!
//! This is the only place shapes are checked, so all backends reject exactly the same inputs.

use super::backend::{
    AdamW, AttentionDims, Backend, EmbeddingDims, LinearDims, MaskedAttentionDims, MatmulDims,
    NormDims, RopeDims,
};
use super::error::KernelError;
use super::tensor::Tensor;

type Result<T> = std::result::Result<T, KernelError>;

/// Fails unless `t` has exactly `expected` as its shape.
fn expect(op: &'static str, argument: &'static str, t: &Tensor, expected: &[usize]) -> Result<()> {
    if t.shape() == expected {
        Ok(())
    } else {
        Err(KernelError::Shape {
            op,
            argument,
            expected: expected.to_vec(),
            actual: t.shape().to_vec(),
        })
    }
}

/// Fails unless a non-tensor slice (ids, masks) has `expected` elements.
fn expect_len(op: &'static str, argument: &'static str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(KernelError::Shape {
            op,
            argument,
            expected: vec![expected],
            actual: vec![len],
        })
    }
}

/// Reads the rank-`N` shape of `t`, or fails naming the op and the rank wanted.
fn dims<const N: usize>(
    op: &'static str,
    argument: &'static str,
    t: &Tensor,
) -> Result<[usize; N]> {
    <[usize; N]>::try_from(t.shape()).map_err(|_| KernelError::Shape {
        op,
        argument,
        expected: vec![0; N],
        actual: t.shape().to_vec(),
    })
}

/// Every id must be a valid row (or class).
fn check_ids(op: &'static str, ids: &[u32], limit: usize) -> Result<()> {
    match ids.iter().position(|&id| id as usize >= limit) {
        None => Ok(()),
        Some(position) => Err(KernelError::IdOutOfRange {
            op,
            position,
            id: ids[position],
            limit,
        }),
    }
}

fn matmul_dims(op: &'static str, a: &Tensor, b: &Tensor) -> Result<MatmulDims> {
    let [batch, m, k] = dims::<3>(op, "a", a)?;
    let [_, _, n] = dims::<3>(op, "b", b)?;
    expect(op, "b", b, &[batch, k, n])?;
    Ok(MatmulDims { batch, m, k, n })
}

/// c = a · b per batch. a: [batch, m, k], b: [batch, k, n], c: [batch, m, n].
pub fn matmul_forward(be: &impl Backend, a: &Tensor, b: &Tensor, c: &mut Tensor) -> Result<()> {
    let op = "matmul_forward";
    let d = matmul_dims(op, a, b)?;
    expect(op, "c", c, &[d.batch, d.m, d.n])?;
    be.matmul_forward(d, a.data(), b.data(), c.data_mut());
    Ok(())
}

/// da += dc · bᵀ, db += aᵀ · dc. Shapes as in `matmul_forward`.
pub fn matmul_backward(
    be: &impl Backend,
    a: &Tensor,
    b: &Tensor,
    dc: &Tensor,
    da: &mut Tensor,
    db: &mut Tensor,
) -> Result<()> {
    let op = "matmul_backward";
    let d = matmul_dims(op, a, b)?;
    expect(op, "dc", dc, &[d.batch, d.m, d.n])?;
    expect(op, "da", da, a.shape())?;
    expect(op, "db", db, b.shape())?;
    be.matmul_backward(
        d,
        a.data(),
        b.data(),
        dc.data(),
        da.data_mut(),
        db.data_mut(),
    );
    Ok(())
}

fn linear_dims(op: &'static str, x: &Tensor, w: &Tensor, bias: &Tensor) -> Result<LinearDims> {
    let [rows, input] = dims::<2>(op, "x", x)?;
    let [output, _] = dims::<2>(op, "w", w)?;
    expect(op, "w", w, &[output, input])?;
    expect(op, "bias", bias, &[output])?;
    Ok(LinearDims {
        rows,
        input,
        output,
    })
}

/// y = x · wᵀ + bias. x: [rows, input], w: [output, input], bias: [output], y: [rows, output].
pub fn linear_forward(
    be: &impl Backend,
    x: &Tensor,
    w: &Tensor,
    bias: &Tensor,
    y: &mut Tensor,
) -> Result<()> {
    let op = "linear_forward";
    let d = linear_dims(op, x, w, bias)?;
    expect(op, "y", y, &[d.rows, d.output])?;
    be.linear_forward(d, x.data(), w.data(), bias.data(), y.data_mut());
    Ok(())
}

/// dx, dw, dbias += the linear layer's gradients. Shapes as in `linear_forward`.
#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    be: &impl Backend,
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    dx: &mut Tensor,
    dw: &mut Tensor,
    dbias: &mut Tensor,
) -> Result<()> {
    let op = "linear_backward";
    let [rows, input] = dims::<2>(op, "x", x)?;
    let [output, _] = dims::<2>(op, "w", w)?;
    expect(op, "w", w, &[output, input])?;
    expect(op, "dy", dy, &[rows, output])?;
    expect(op, "dx", dx, &[rows, input])?;
    expect(op, "dw", dw, &[output, input])?;
    expect(op, "dbias", dbias, &[output])?;
    let d = LinearDims {
        rows,
        input,
        output,
    };
    be.linear_backward(
        d,
        x.data(),
        w.data(),
        dy.data(),
        dx.data_mut(),
        dw.data_mut(),
        dbias.data_mut(),
    );
    Ok(())
}

/// out[r] = table[ids[r]]. ids: [rows], table: [vocab, dim], out: [rows, dim].
pub fn embedding_forward(
    be: &impl Backend,
    ids: &[u32],
    table: &Tensor,
    out: &mut Tensor,
) -> Result<()> {
    let op = "embedding_forward";
    let [vocab, dim] = dims::<2>(op, "table", table)?;
    check_ids(op, ids, vocab)?;
    expect(op, "out", out, &[ids.len(), dim])?;
    let d = EmbeddingDims {
        rows: ids.len(),
        vocab,
        dim,
    };
    be.embedding_forward(d, ids, table.data(), out.data_mut());
    Ok(())
}

/// dtable[ids[r]] += dout[r]. ids: [rows], dout: [rows, dim], dtable: [vocab, dim].
pub fn embedding_backward(
    be: &impl Backend,
    ids: &[u32],
    dout: &Tensor,
    dtable: &mut Tensor,
) -> Result<()> {
    let op = "embedding_backward";
    let [vocab, dim] = dims::<2>(op, "dtable", dtable)?;
    check_ids(op, ids, vocab)?;
    expect(op, "dout", dout, &[ids.len(), dim])?;
    let d = EmbeddingDims {
        rows: ids.len(),
        vocab,
        dim,
    };
    be.embedding_backward(d, ids, dout.data(), dtable.data_mut());
    Ok(())
}

fn rope_dims(op: &'static str, x: &Tensor, base: f32) -> Result<RopeDims> {
    let [batch, heads, seq, head_dim] = dims::<4>(op, "x", x)?;
    if head_dim % 2 != 0 {
        return Err(KernelError::Setting {
            op,
            reason: format!("head_dim {head_dim} must be even to rotate in pairs"),
        });
    }
    if !(base > 1.0 && base.is_finite()) {
        return Err(KernelError::Setting {
            op,
            reason: format!("base {base} must be a finite number above 1"),
        });
    }
    Ok(RopeDims {
        batch,
        heads,
        seq,
        head_dim,
        base,
    })
}

/// Rotary position encoding. x, out: [batch, heads, seq, head_dim] with head_dim even.
pub fn rope_forward(be: &impl Backend, x: &Tensor, base: f32, out: &mut Tensor) -> Result<()> {
    let op = "rope_forward";
    let d = rope_dims(op, x, base)?;
    expect(op, "out", out, x.shape())?;
    be.rope_forward(d, x.data(), out.data_mut());
    Ok(())
}

/// dx += the inverse rotation of dout. dout, dx: [batch, heads, seq, head_dim].
pub fn rope_backward(be: &impl Backend, dout: &Tensor, base: f32, dx: &mut Tensor) -> Result<()> {
    let op = "rope_backward";
    let d = rope_dims(op, dout, base)?;
    expect(op, "dx", dx, dout.shape())?;
    be.rope_backward(d, dout.data(), dx.data_mut());
    Ok(())
}

fn attention_dims(
    op: &'static str,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    key_mask: &[bool],
    causal: bool,
) -> Result<AttentionDims> {
    let [batch, heads, seq, head_dim] = dims::<4>(op, "q", q)?;
    expect(op, "k", k, q.shape())?;
    expect(op, "v", v, q.shape())?;
    expect_len(op, "key_mask", key_mask.len(), batch * seq)?;
    if head_dim == 0 {
        return Err(KernelError::Setting {
            op,
            reason: "head_dim must be at least 1 (the score scale is 1/sqrt(head_dim))".into(),
        });
    }
    Ok(AttentionDims {
        batch,
        heads,
        seq,
        head_dim,
        causal,
    })
}

/// Fused softmax attention. q, k, v, out: [batch, heads, seq, head_dim]; key_mask: [batch, seq]
/// (true = real key); lse: [batch, heads, seq]. A query with no visible key gets a zero output.
#[allow(clippy::too_many_arguments)]
pub fn attention_forward(
    be: &impl Backend,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    key_mask: &[bool],
    causal: bool,
    out: &mut Tensor,
    lse: &mut Tensor,
) -> Result<()> {
    let op = "attention_forward";
    let d = attention_dims(op, q, k, v, key_mask, causal)?;
    expect(op, "out", out, q.shape())?;
    expect(op, "lse", lse, &[d.batch, d.heads, d.seq])?;
    be.attention_forward(
        d,
        q.data(),
        k.data(),
        v.data(),
        key_mask,
        out.data_mut(),
        lse.data_mut(),
    );
    Ok(())
}

/// The saved forward state attention's backward pass reads.
#[derive(Debug, Clone, Copy)]
pub struct AttentionSaved<'a> {
    /// The forward output. [batch, heads, seq, head_dim]
    pub out: &'a Tensor,
    /// The per-row log-sum-exp. [batch, heads, seq]
    pub lse: &'a Tensor,
}

/// The gradient buffers attention's backward pass adds into, each [batch, heads, seq, head_dim].
#[derive(Debug)]
pub struct AttentionGrads<'a> {
    /// Gradient of q.
    pub dq: &'a mut Tensor,
    /// Gradient of k.
    pub dk: &'a mut Tensor,
    /// Gradient of v.
    pub dv: &'a mut Tensor,
}

/// dq, dk, dv += attention's gradients. Shapes as in `attention_forward`; dout like out.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward(
    be: &impl Backend,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    key_mask: &[bool],
    causal: bool,
    saved: AttentionSaved<'_>,
    dout: &Tensor,
    grads: AttentionGrads<'_>,
) -> Result<()> {
    let op = "attention_backward";
    let d = attention_dims(op, q, k, v, key_mask, causal)?;
    expect(op, "out", saved.out, q.shape())?;
    expect(op, "lse", saved.lse, &[d.batch, d.heads, d.seq])?;
    expect(op, "dout", dout, q.shape())?;
    expect(op, "dq", grads.dq, q.shape())?;
    expect(op, "dk", grads.dk, q.shape())?;
    expect(op, "dv", grads.dv, q.shape())?;
    be.attention_backward(
        d,
        q.data(),
        k.data(),
        v.data(),
        key_mask,
        saved.out.data(),
        saved.lse.data(),
        dout.data(),
        grads.dq.data_mut(),
        grads.dk.data_mut(),
        grads.dv.data_mut(),
    );
    Ok(())
}

fn norm_dims(op: &'static str, x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<NormDims> {
    let [rows, dim] = dims::<2>(op, "x", x)?;
    expect(op, "weight", weight, &[dim])?;
    expect(op, "bias", bias, &[dim])?;
    Ok(NormDims { rows, dim })
}

/// Layer norm. x, y: [rows, dim]; weight, bias: [dim]; mean, rstd: [rows] (saved for backward).
#[allow(clippy::too_many_arguments)]
pub fn layernorm_forward(
    be: &impl Backend,
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    y: &mut Tensor,
    mean: &mut Tensor,
    rstd: &mut Tensor,
) -> Result<()> {
    let op = "layernorm_forward";
    let d = norm_dims(op, x, weight, bias)?;
    expect(op, "y", y, x.shape())?;
    expect(op, "mean", mean, &[d.rows])?;
    expect(op, "rstd", rstd, &[d.rows])?;
    be.layernorm_forward(
        d,
        x.data(),
        weight.data(),
        bias.data(),
        y.data_mut(),
        mean.data_mut(),
        rstd.data_mut(),
    );
    Ok(())
}

/// dx, dweight, dbias += layer norm's gradients. Shapes as in `layernorm_forward`.
#[allow(clippy::too_many_arguments)]
pub fn layernorm_backward(
    be: &impl Backend,
    x: &Tensor,
    weight: &Tensor,
    mean: &Tensor,
    rstd: &Tensor,
    dy: &Tensor,
    dx: &mut Tensor,
    dweight: &mut Tensor,
    dbias: &mut Tensor,
) -> Result<()> {
    let op = "layernorm_backward";
    let [rows, dim] = dims::<2>(op, "x", x)?;
    expect(op, "weight", weight, &[dim])?;
    expect(op, "mean", mean, &[rows])?;
    expect(op, "rstd", rstd, &[rows])?;
    expect(op, "dy", dy, x.shape())?;
    expect(op, "dx", dx, x.shape())?;
    expect(op, "dweight", dweight, &[dim])?;
    expect(op, "dbias", dbias, &[dim])?;
    be.layernorm_backward(
        NormDims { rows, dim },
        x.data(),
        weight.data(),
        mean.data(),
        rstd.data(),
        dy.data(),
        dx.data_mut(),
        dweight.data_mut(),
        dbias.data_mut(),
    );
    Ok(())
}

/// Softmax attention with an explicit mask and score scale, forward only (the hand-set weights'
/// heads: any mask per head, no 1/sqrt(d) scale). q, k, v, out: [heads, seq, head_dim]; mask:
/// `heads * seq * seq` flags, `mask[(h * seq + i) * seq + j]` = query i of head h sees key j.
/// A query that sees no key gets 0.
pub fn masked_attention_forward(
    be: &impl Backend,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: &[bool],
    scale: f32,
    out: &mut Tensor,
) -> Result<()> {
    let op = "masked_attention_forward";
    let [heads, seq, head_dim] = dims::<3>(op, "q", q)?;
    expect(op, "k", k, q.shape())?;
    expect(op, "v", v, q.shape())?;
    expect(op, "out", out, q.shape())?;
    expect_len(op, "mask", mask.len(), heads * seq * seq)?;
    be.masked_attention_forward(
        MaskedAttentionDims {
            heads,
            seq,
            head_dim,
            scale,
        },
        q.data(),
        k.data(),
        v.data(),
        mask,
        out.data_mut(),
    );
    Ok(())
}

/// Tanh-form GELU, elementwise. x and y: any shape, the same.
pub fn gelu_forward(be: &impl Backend, x: &Tensor, y: &mut Tensor) -> Result<()> {
    expect("gelu_forward", "y", y, x.shape())?;
    be.gelu_forward(x.data(), y.data_mut());
    Ok(())
}

/// dx += gelu'(x) · dy. All three of the same shape.
pub fn gelu_backward(be: &impl Backend, x: &Tensor, dy: &Tensor, dx: &mut Tensor) -> Result<()> {
    let op = "gelu_backward";
    expect(op, "dy", dy, x.shape())?;
    expect(op, "dx", dx, x.shape())?;
    be.gelu_backward(x.data(), dy.data(), dx.data_mut());
    Ok(())
}

/// ReLU, elementwise: y = x where x > 0, else +0 (so -0 and NaN give +0). x and y: any shape, the
/// same. Exact in floating point: every backend gives bitwise the same y.
pub fn relu_forward(be: &impl Backend, x: &Tensor, y: &mut Tensor) -> Result<()> {
    expect("relu_forward", "y", y, x.shape())?;
    be.relu_forward(x.data(), y.data_mut());
    Ok(())
}

/// dx += relu'(x) · dy, with the convention relu'(x) = 1 for x > 0 and 0 for x <= 0 (the kink at 0
/// gets derivative 0). Where the derivative is 0, dx is left untouched (not even +0 is added), so
/// every backend gives bitwise the same dx. All three of the same shape.
pub fn relu_backward(be: &impl Backend, x: &Tensor, dy: &Tensor, dx: &mut Tensor) -> Result<()> {
    let op = "relu_backward";
    expect(op, "dy", dy, x.shape())?;
    expect(op, "dx", dx, x.shape())?;
    be.relu_backward(x.data(), dy.data(), dx.data_mut());
    Ok(())
}

/// out = a + b. All three of the same shape.
pub fn residual_forward(be: &impl Backend, a: &Tensor, b: &Tensor, out: &mut Tensor) -> Result<()> {
    let op = "residual_forward";
    expect(op, "b", b, a.shape())?;
    expect(op, "out", out, a.shape())?;
    be.residual_forward(a.data(), b.data(), out.data_mut());
    Ok(())
}

/// da += dout, db += dout. All three of the same shape.
pub fn residual_backward(
    be: &impl Backend,
    dout: &Tensor,
    da: &mut Tensor,
    db: &mut Tensor,
) -> Result<()> {
    let op = "residual_backward";
    expect(op, "da", da, dout.shape())?;
    expect(op, "db", db, dout.shape())?;
    be.residual_backward(dout.data(), da.data_mut(), db.data_mut());
    Ok(())
}

fn ce_dims(op: &'static str, logits: &Tensor, targets: &[u32]) -> Result<NormDims> {
    let [rows, dim] = dims::<2>(op, "logits", logits)?;
    expect_len(op, "targets", targets.len(), rows)?;
    check_ids(op, targets, dim)?;
    Ok(NormDims { rows, dim })
}

/// Per-row cross-entropy. logits: [rows, classes]; targets: [rows]; losses: [rows].
pub fn cross_entropy_forward(
    be: &impl Backend,
    logits: &Tensor,
    targets: &[u32],
    losses: &mut Tensor,
) -> Result<()> {
    let op = "cross_entropy_forward";
    let d = ce_dims(op, logits, targets)?;
    expect(op, "losses", losses, &[d.rows])?;
    be.cross_entropy_forward(d, logits.data(), targets, losses.data_mut());
    Ok(())
}

/// dlogits += dlosses[r] · (softmax - onehot). Shapes as in `cross_entropy_forward`.
pub fn cross_entropy_backward(
    be: &impl Backend,
    logits: &Tensor,
    targets: &[u32],
    dlosses: &Tensor,
    dlogits: &mut Tensor,
) -> Result<()> {
    let op = "cross_entropy_backward";
    let d = ce_dims(op, logits, targets)?;
    expect(op, "dlosses", dlosses, &[d.rows])?;
    expect(op, "dlogits", dlogits, logits.shape())?;
    be.cross_entropy_backward(
        d,
        logits.data(),
        targets,
        dlosses.data(),
        dlogits.data_mut(),
    );
    Ok(())
}

/// Elementwise binary cross-entropy with logits; targets in [0, 1]. All of one shape.
pub fn bce_forward(
    be: &impl Backend,
    logits: &Tensor,
    targets: &Tensor,
    losses: &mut Tensor,
) -> Result<()> {
    let op = "bce_forward";
    expect(op, "targets", targets, logits.shape())?;
    expect(op, "losses", losses, logits.shape())?;
    be.bce_forward(logits.data(), targets.data(), losses.data_mut());
    Ok(())
}

/// dlogits += dlosses · (sigmoid(logits) - targets). All of one shape.
pub fn bce_backward(
    be: &impl Backend,
    logits: &Tensor,
    targets: &Tensor,
    dlosses: &Tensor,
    dlogits: &mut Tensor,
) -> Result<()> {
    let op = "bce_backward";
    expect(op, "targets", targets, logits.shape())?;
    expect(op, "dlosses", dlosses, logits.shape())?;
    expect(op, "dlogits", dlogits, logits.shape())?;
    be.bce_backward(
        logits.data(),
        targets.data(),
        dlosses.data(),
        dlogits.data_mut(),
    );
    Ok(())
}

/// One AdamW step (1-based `step`) on a parameter tensor and its moment buffers, all one shape.
pub fn adamw_step(
    be: &impl Backend,
    cfg: AdamW,
    step: u32,
    params: &mut Tensor,
    grads: &Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
) -> Result<()> {
    let op = "adamw_step";
    if step == 0 {
        return Err(KernelError::Setting {
            op,
            reason: "step is 1-based; 0 would divide by zero in the bias correction".into(),
        });
    }
    let valid = cfg.lr >= 0.0
        && (0.0..1.0).contains(&cfg.beta1)
        && (0.0..1.0).contains(&cfg.beta2)
        && cfg.eps > 0.0
        && cfg.weight_decay >= 0.0;
    if !valid {
        return Err(KernelError::Setting {
            op,
            reason: format!(
                "settings out of range: lr {}, beta1 {}, beta2 {}, eps {}, weight decay {} (need \
                 lr >= 0, betas in [0, 1), eps > 0, weight decay >= 0)",
                cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay
            ),
        });
    }
    expect(op, "grads", grads, params.shape())?;
    expect(op, "m", m, params.shape())?;
    expect(op, "v", v, params.shape())?;
    be.adamw_step(
        cfg,
        step,
        params.data_mut(),
        grads.data(),
        m.data_mut(),
        v.data_mut(),
    );
    Ok(())
}

/// Scales all gradients together so their global L2 norm is at most `max_norm`; returns the norm
/// before clipping. Gradients under the limit are left bit-for-bit unchanged.
pub fn clip_global_norm(
    be: &impl Backend,
    grads: &mut [&mut Tensor],
    max_norm: f32,
) -> Result<f32> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(KernelError::Setting {
            op: "clip_global_norm",
            reason: format!("max_norm {max_norm} must be positive"),
        });
    }
    let norm = grads
        .iter()
        .map(|g| be.sum_of_squares(g.data()))
        .sum::<f64>()
        .sqrt() as f32;
    if norm > max_norm {
        let factor = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            be.scale(g.data_mut(), factor);
        }
    }
    Ok(norm)
}
