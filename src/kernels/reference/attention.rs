//! Reference rotary encoding and softmax attention: one query row at a time, scores in a small Vec.

use crate::kernels::backend::{AttentionDims, MaskedAttentionDims, RopeDims};
use crate::kernels::math;

/// Rotates (or, with `inverse`, rotates back and adds) each pair of every head.
pub fn rope(
    d: RopeDims,
    x: &[f32],       // [batch, heads, seq, head_dim]
    out: &mut [f32], // [batch, heads, seq, head_dim]
    inverse: bool,
) {
    let hd = d.head_dim;
    for bh in 0..d.batch * d.heads {
        for pos in 0..d.seq {
            let base = (bh * d.seq + pos) * hd;
            for pair in 0..hd / 2 {
                let (cos, sin) = math::rope_angle(pos, pair, hd, d.base);
                let (x0, x1) = (x[base + 2 * pair], x[base + 2 * pair + 1]);
                if inverse {
                    // The backward pass: the transpose of the rotation, added into the gradient.
                    out[base + 2 * pair] += x0 * cos + x1 * sin;
                    out[base + 2 * pair + 1] += -x0 * sin + x1 * cos;
                } else {
                    out[base + 2 * pair] = x0 * cos - x1 * sin;
                    out[base + 2 * pair + 1] = x0 * sin + x1 * cos;
                }
            }
        }
    }
}

/// Whether query `i` of batch `b` may attend to key `j`.
fn visible(d: AttentionDims, key_mask: &[bool], b: usize, i: usize, j: usize) -> bool {
    key_mask[b * d.seq + j] && !(d.causal && j > i)
}

/// The scaled score of query row `qi` against key row `kj`.
fn score(q: &[f32], k: &[f32], qi: usize, kj: usize, hd: usize) -> f32 {
    let scale = 1.0 / (hd as f32).sqrt();
    let mut s = 0.0f32;
    for c in 0..hd {
        s += q[qi * hd + c] * k[kj * hd + c];
    }
    s * scale
}

pub fn forward(
    d: AttentionDims,
    q: &[f32],         // [batch, heads, seq, head_dim]
    k: &[f32],         // [batch, heads, seq, head_dim]
    v: &[f32],         // [batch, heads, seq, head_dim]
    key_mask: &[bool], // [batch, seq]
    out: &mut [f32],   // [batch, heads, seq, head_dim]
    lse: &mut [f32],   // [batch, heads, seq]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    let mut scores = vec![0.0f32; seq];
    for b in 0..d.batch {
        for h in 0..d.heads {
            let row0 = (b * d.heads + h) * seq;
            for i in 0..seq {
                let mut max = f32::NEG_INFINITY;
                for j in 0..seq {
                    scores[j] = if visible(d, key_mask, b, i, j) {
                        score(q, k, row0 + i, row0 + j, hd)
                    } else {
                        f32::NEG_INFINITY
                    };
                    max = max.max(scores[j]);
                }
                let o = &mut out[(row0 + i) * hd..][..hd];
                o.fill(0.0);
                if max == f32::NEG_INFINITY {
                    // No visible key: the output is zero and the row carries no gradient.
                    lse[row0 + i] = f32::NEG_INFINITY;
                    continue;
                }
                let mut sum = 0.0f32;
                for j in 0..seq {
                    let p = (scores[j] - max).exp();
                    sum += p;
                    for c in 0..hd {
                        o[c] += p * v[(row0 + j) * hd + c];
                    }
                }
                for x in o.iter_mut() {
                    *x /= sum;
                }
                lse[row0 + i] = max + sum.ln();
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: AttentionDims,
    q: &[f32],         // [batch, heads, seq, head_dim]
    k: &[f32],         // [batch, heads, seq, head_dim]
    v: &[f32],         // [batch, heads, seq, head_dim]
    key_mask: &[bool], // [batch, seq]
    out: &[f32],       // [batch, heads, seq, head_dim]
    lse: &[f32],       // [batch, heads, seq]
    dout: &[f32],      // [batch, heads, seq, head_dim]
    dq: &mut [f32],    // [batch, heads, seq, head_dim]
    dk: &mut [f32],    // [batch, heads, seq, head_dim]
    dv: &mut [f32],    // [batch, heads, seq, head_dim]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    let scale = 1.0 / (hd as f32).sqrt();
    for b in 0..d.batch {
        for h in 0..d.heads {
            let row0 = (b * d.heads + h) * seq;
            for i in 0..seq {
                let qi = row0 + i;
                if lse[qi] == f32::NEG_INFINITY {
                    continue;
                }
                // D_i = dout_i · out_i equals sum_j p_j (dout_i · v_j): the softmax Jacobian's
                // rank-one part, computed once per row.
                let mut delta = 0.0f32;
                for c in 0..hd {
                    delta += dout[qi * hd + c] * out[qi * hd + c];
                }
                for j in 0..seq {
                    if !visible(d, key_mask, b, i, j) {
                        continue;
                    }
                    let kj = row0 + j;
                    let p = (score(q, k, qi, kj, hd) - lse[qi]).exp();
                    let mut dp = 0.0f32;
                    for c in 0..hd {
                        dp += dout[qi * hd + c] * v[kj * hd + c];
                        dv[kj * hd + c] += p * dout[qi * hd + c];
                    }
                    let ds = p * (dp - delta) * scale;
                    for c in 0..hd {
                        dq[qi * hd + c] += ds * k[kj * hd + c];
                        dk[kj * hd + c] += ds * q[qi * hd + c];
                    }
                }
            }
        }
    }
}

/// One query row of masked attention: scores of the visible keys, their maximum, `f32::exp` of
/// the differences, the weighted sum of values over the keys in ascending order, divided by the
/// sum of the weights. Shared by the reference and the cpu backend, so both agree bit for bit.
pub fn masked_row(
    d: MaskedAttentionDims,
    q: &[f32],          // [seq, head_dim] of this head
    k: &[f32],          // [seq, head_dim] of this head
    v: &[f32],          // [seq, head_dim] of this head
    mask: &[bool],      // [seq] of this query
    i: usize,           // the query
    scores: &mut [f32], // [seq] scratch
    out: &mut [f32],    // [head_dim] of this query
) {
    let hd = d.head_dim;
    let qi = &q[i * hd..][..hd];
    let mut max = f32::NEG_INFINITY;
    for j in 0..d.seq {
        if mask[j] {
            let kj = &k[j * hd..][..hd];
            let mut s = 0.0f32;
            for c in 0..hd {
                s += qi[c] * kj[c];
            }
            scores[j] = s * d.scale;
            max = max.max(scores[j]);
        }
    }
    out.fill(0.0);
    if max == f32::NEG_INFINITY {
        return;
    }
    let mut sum = 0.0f32;
    for j in 0..d.seq {
        if mask[j] {
            let p = (scores[j] - max).exp();
            sum += p;
            let vj = &v[j * hd..][..hd];
            for c in 0..hd {
                out[c] += p * vj[c];
            }
        }
    }
    for x in out.iter_mut() {
        *x /= sum;
    }
}

/// Masked attention with an explicit mask and scale, every head and query in turn.
pub fn masked_forward(
    d: MaskedAttentionDims,
    q: &[f32],       // [heads, seq, head_dim]
    k: &[f32],       // [heads, seq, head_dim]
    v: &[f32],       // [heads, seq, head_dim]
    mask: &[bool],   // [heads, seq, seq]
    out: &mut [f32], // [heads, seq, head_dim]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    let mut scores = vec![0.0f32; seq];
    for h in 0..d.heads {
        let (qh, kh, vh) = (
            &q[h * seq * hd..][..seq * hd],
            &k[h * seq * hd..][..seq * hd],
            &v[h * seq * hd..][..seq * hd],
        );
        for i in 0..seq {
            let m = &mask[(h * seq + i) * seq..][..seq];
            let o = &mut out[(h * seq + i) * hd..][..hd];
            masked_row(d, qh, kh, vh, m, i, &mut scores, o);
        }
    }
}
