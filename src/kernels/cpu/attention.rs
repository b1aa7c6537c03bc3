//! Fast rotary encoding and fused attention: per (batch, head), blocks of query rows against all keys,
//! with both products done by `gemm` and only one [block, seq] score block (two in backward) live.

use rayon::prelude::*;

use super::gemm::{matmul, Threads, View};
use super::wide;
use crate::kernels::backend::{AttentionDims, RopeDims};
use crate::kernels::math;

/// Query rows per score block: big enough for `gemm` to run at speed, small enough that the
/// [BLOCK, seq] block stays in cache at the sequence lengths the models use.
pub const BLOCK: usize = 64;

/// Query rows per score block at this sequence length (64 and 324 rows measured the same CPU
/// time on the 4 x 2 x 128 training step at seq 324).
pub fn block_rows(seq: usize) -> usize {
    BLOCK.min(seq).max(1)
}

/// Workspace floats the forward pass needs: one score block and its row sums per (batch, head)
/// task.
pub fn forward_workspace(d: AttentionDims) -> usize {
    d.batch * d.heads * block_rows(d.seq) * (d.seq + 1)
}

/// Workspace floats the backward pass needs: probabilities and their gradients per task.
pub fn backward_workspace(d: AttentionDims) -> usize {
    2 * d.batch * d.heads * block_rows(d.seq) * d.seq
}

/// Workspace floats RoPE needs: the (cos, sin) table for every (position, pair).
pub fn rope_workspace(d: RopeDims) -> usize {
    d.seq * d.head_dim
}

/// Rotates each pair of every head (or with `inverse` adds the inverse rotation into `out`).
pub fn rope(
    d: RopeDims,
    x: &[f32],         // [batch, heads, seq, head_dim]
    out: &mut [f32],   // [batch, heads, seq, head_dim]
    table: &mut [f32], // [seq, head_dim / 2, 2] workspace
    inverse: bool,
) {
    let (seq, hd) = (d.seq, d.head_dim);
    if x.is_empty() {
        return;
    }
    // The table holds exactly the values the reference computes, so results agree bit for bit.
    for pos in 0..seq {
        for pair in 0..hd / 2 {
            let (cos, sin) = math::rope_angle(pos, pair, hd, d.base);
            table[(pos * hd / 2 + pair) * 2] = cos;
            table[(pos * hd / 2 + pair) * 2 + 1] = sin;
        }
    }
    let table = &table[..seq * hd];
    out.par_chunks_mut(seq * hd)
        .zip(x.par_chunks(seq * hd))
        .for_each(|(o, x)| {
            wide(
                #[inline(always)]
                || {
                    for (i, (o, x)) in o.chunks_exact_mut(2).zip(x.chunks_exact(2)).enumerate() {
                        let (cos, sin) = (table[2 * i], table[2 * i + 1]);
                        if inverse {
                            o[0] += x[0] * cos + x[1] * sin;
                            o[1] += -x[0] * sin + x[1] * cos;
                        } else {
                            o[0] = x[0] * cos - x[1] * sin;
                            o[1] = x[0] * sin + x[1] * cos;
                        }
                    }
                },
            )
        });
}

/// e^x for the softmax, written so the compiler can vectorise it (libm's `expf` is a scalar call
/// and dominated the attention forward pass): x = n ln 2 + r with |r| <= ln2 / 2, then a degree-6
/// Taylor polynomial for e^r (relative error below 2e-7) scaled by 2^n built from the exponent bits.
/// Scores more than 87 below the row maximum give exactly 0, as masked keys must.
#[inline(always)]
fn softmax_exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5 · 2^23 rounds to the nearest integer n and leaves n in the low mantissa bits,
    // so both the rounding and 2^n are plain float and integer arithmetic (no libm, no casts).
    const ROUND: f32 = 12_582_912.0;
    const ROUND_BITS: u32 = 0x4B40_0000;
    let clamped = x.clamp(-87.0, 88.0);
    let shifted = clamped * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let poly = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND_BITS).wrapping_add(127) << 23);
    // A select rather than an early return keeps the loop branch-free.
    if x < -87.0 {
        0.0
    } else {
        poly * scale
    }
}

/// Sum of a row in eight interleaved lanes (vectorisable), added in a fixed order.
#[inline(always)]
fn lane_sum(row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// Number of keys a block of query rows starting at `i0` with `rows` rows can see at most.
fn keys_for_block(d: AttentionDims, i0: usize, rows: usize) -> usize {
    if d.causal {
        i0 + rows
    } else {
        d.seq
    }
}

/// Sets invisible scores of one row to -inf (padding keys; future keys under the causal mask).
#[inline(always)]
fn mask_row(row: &mut [f32], mask: &[bool], i: usize, causal: bool) {
    if causal && i + 1 < row.len() {
        row[i + 1..].fill(f32::NEG_INFINITY);
    }
    // The padding pass is skipped for sequences without padding (the caller passes an empty mask).
    for (s, &m) in row.iter_mut().zip(mask) {
        if !m {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// The row maximum in eight interleaved lanes (vectorisable; the result is the same in any order).
#[inline(always)]
fn lane_max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = l.max(x);
        }
    }
    let rest = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    lanes.iter().fold(rest, |m, &x| m.max(x))
}

/// The key mask to apply per row: empty when every key of the sequence is real.
fn padding(mask: &[bool]) -> &[bool] {
    if mask.iter().all(|&m| m) {
        &[]
    } else {
        mask
    }
}

pub fn forward(
    d: AttentionDims,
    q: &[f32],             // [batch, heads, seq, head_dim]
    k: &[f32],             // [batch, heads, seq, head_dim]
    v: &[f32],             // [batch, heads, seq, head_dim]
    key_mask: &[bool],     // [batch, seq]
    out: &mut [f32],       // [batch, heads, seq, head_dim]
    lse: &mut [f32],       // [batch, heads, seq]
    workspace: &mut [f32], // [batch * heads, BLOCK, seq]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    if out.is_empty() {
        return;
    }
    let block = block_rows(seq);
    let scale = 1.0 / (hd as f32).sqrt();
    out.par_chunks_mut(seq * hd)
        .zip(lse.par_chunks_mut(seq))
        .zip(workspace.par_chunks_mut(block * (seq + 1)))
        .enumerate()
        .for_each(|(bh, ((out, lse), scratch))| {
            wide(
                #[inline(always)]
                || {
                    // 1 / (row sum) for each query row of the block, beside the score block.
                    let (scores, inv_sums) = scratch.split_at_mut(block * seq);
                    let at = bh * seq * hd;
                    let (q, k, v) = (
                        &q[at..][..seq * hd],
                        &k[at..][..seq * hd],
                        &v[at..][..seq * hd],
                    );
                    let mask = padding(&key_mask[(bh / d.heads) * seq..][..seq]);
                    for i0 in (0..seq).step_by(block) {
                        let rows = block.min(seq - i0);
                        let nk = keys_for_block(d, i0, rows);
                        let s = &mut scores[..rows * nk];
                        let q_blk = &q[i0 * hd..][..rows * hd];
                        matmul(
                            s,
                            View::rows(rows, nk),
                            q_blk,
                            View::rows(rows, hd),
                            &k[..nk * hd],
                            View::rows(nk, hd).t(),
                            scale,
                            false,
                            Threads::One,
                        );
                        for (r, row) in s.chunks_exact_mut(nk).enumerate() {
                            let i = i0 + r;
                            mask_row(row, mask, i, d.causal);
                            let max = lane_max(row);
                            if max == f32::NEG_INFINITY {
                                // No visible key: a zero output row, and no gradient flows through it.
                                row.fill(0.0);
                                inv_sums[r] = 0.0;
                                lse[i] = f32::NEG_INFINITY;
                                continue;
                            }
                            for x in row.iter_mut() {
                                *x = softmax_exp(*x - max);
                            }
                            let sum = lane_sum(row);
                            inv_sums[r] = 1.0 / sum;
                            lse[i] = max + sum.ln();
                        }
                        let o_blk = &mut out[i0 * hd..][..rows * hd];
                        matmul(
                            o_blk,
                            View::rows(rows, hd),
                            s,
                            View::rows(rows, nk),
                            &v[..nk * hd],
                            View::rows(nk, hd),
                            1.0,
                            false,
                            Threads::One,
                        );
                        // Normalising the [rows, head_dim] output instead of the [rows, keys] block saves a
                        // pass over the scores.
                        for (o, &inv) in o_blk.chunks_exact_mut(hd).zip(&inv_sums[..rows]) {
                            o.iter_mut().for_each(|x| *x *= inv);
                        }
                    }
                },
            )
        });
}

/// The read-only inputs of one attention backward task, gathered to keep signatures short.
struct Saved<'a> {
    q: &'a [f32],     // [seq, head_dim]
    k: &'a [f32],     // [seq, head_dim]
    v: &'a [f32],     // [seq, head_dim]
    mask: &'a [bool], // [seq]
    out: &'a [f32],   // [seq, head_dim]
    lse: &'a [f32],   // [seq]
    dout: &'a [f32],  // [seq, head_dim]
}

#[allow(clippy::too_many_arguments)]
pub fn backward(
    d: AttentionDims,
    q: &[f32],             // [batch, heads, seq, head_dim]
    k: &[f32],             // [batch, heads, seq, head_dim]
    v: &[f32],             // [batch, heads, seq, head_dim]
    key_mask: &[bool],     // [batch, seq]
    out: &[f32],           // [batch, heads, seq, head_dim]
    lse: &[f32],           // [batch, heads, seq]
    dout: &[f32],          // [batch, heads, seq, head_dim]
    dq: &mut [f32],        // [batch, heads, seq, head_dim]
    dk: &mut [f32],        // [batch, heads, seq, head_dim]
    dv: &mut [f32],        // [batch, heads, seq, head_dim]
    workspace: &mut [f32], // [batch * heads, 2, BLOCK, seq]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    if dq.is_empty() {
        return;
    }
    let block = block_rows(seq);
    // Each (batch, head) owns its slices of dq, dk, dv, so tasks never share an output element
    // and the sums inside a task run in a fixed order: results do not depend on the thread count.
    dq.par_chunks_mut(seq * hd)
        .zip(dk.par_chunks_mut(seq * hd))
        .zip(dv.par_chunks_mut(seq * hd))
        .zip(workspace.par_chunks_mut(2 * block * seq))
        .enumerate()
        .for_each(|(bh, (((dq, dk), dv), scratch))| {
            let at = bh * seq * hd;
            let saved = Saved {
                q: &q[at..][..seq * hd],
                k: &k[at..][..seq * hd],
                v: &v[at..][..seq * hd],
                mask: padding(&key_mask[(bh / d.heads) * seq..][..seq]),
                out: &out[at..][..seq * hd],
                lse: &lse[bh * seq..][..seq],
                dout: &dout[at..][..seq * hd],
            };
            wide(
                #[inline(always)]
                || backward_task(d, block, &saved, dq, dk, dv, scratch),
            );
        });
}

/// The backward pass of one (batch, head): recompute each score block's probabilities from lse,
/// then three `gemm` calls per block give dv, dq and dk.
#[inline(always)]
fn backward_task(
    d: AttentionDims,
    block: usize,
    s: &Saved<'_>,
    dq: &mut [f32],      // [seq, head_dim]
    dk: &mut [f32],      // [seq, head_dim]
    dv: &mut [f32],      // [seq, head_dim]
    scratch: &mut [f32], // [2, block, seq]
) {
    let (seq, hd) = (d.seq, d.head_dim);
    let scale = 1.0 / (hd as f32).sqrt();
    let (probs, grads) = scratch.split_at_mut(block * seq);
    for i0 in (0..seq).step_by(block) {
        let rows = block.min(seq - i0);
        let nk = keys_for_block(d, i0, rows);
        let p = &mut probs[..rows * nk];
        let dp = &mut grads[..rows * nk];
        let q_blk = &s.q[i0 * hd..][..rows * hd];
        let do_blk = &s.dout[i0 * hd..][..rows * hd];
        let (kv, vv) = (&s.k[..nk * hd], &s.v[..nk * hd]);
        matmul(
            p,
            View::rows(rows, nk),
            q_blk,
            View::rows(rows, hd),
            kv,
            View::rows(nk, hd).t(),
            scale,
            false,
            Threads::One,
        );
        matmul(
            dp,
            View::rows(rows, nk),
            do_blk,
            View::rows(rows, hd),
            vv,
            View::rows(nk, hd).t(),
            1.0,
            false,
            Threads::One,
        );
        for r in 0..rows {
            let i = i0 + r;
            let p_row = &mut p[r * nk..][..nk];
            let dp_row = &mut dp[r * nk..][..nk];
            if s.lse[i] == f32::NEG_INFINITY {
                p_row.fill(0.0);
                dp_row.fill(0.0);
                continue;
            }
            mask_row(p_row, s.mask, i, d.causal);
            // D_i = dout_i · out_i: the rank-one part of the softmax Jacobian.
            let o = &s.out[i * hd..][..hd];
            let g = &s.dout[i * hd..][..hd];
            let delta: f32 = o.iter().zip(g).map(|(a, b)| a * b).sum();
            for (pv, dpv) in p_row.iter_mut().zip(dp_row.iter_mut()) {
                *pv = softmax_exp(*pv - s.lse[i]);
                *dpv = *pv * (*dpv - delta) * scale;
            }
        }
        matmul(
            &mut dv[..nk * hd],
            View::rows(nk, hd),
            p,
            View::rows(rows, nk).t(),
            do_blk,
            View::rows(rows, hd),
            1.0,
            true,
            Threads::One,
        );
        let dq_blk = &mut dq[i0 * hd..][..rows * hd];
        matmul(
            dq_blk,
            View::rows(rows, hd),
            dp,
            View::rows(rows, nk),
            kv,
            View::rows(nk, hd),
            1.0,
            true,
            Threads::One,
        );
        matmul(
            &mut dk[..nk * hd],
            View::rows(nk, hd),
            dp,
            View::rows(rows, nk).t(),
            q_blk,
            View::rows(rows, hd),
            1.0,
            true,
            Threads::One,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::softmax_exp;

    #[test]
    fn softmax_exp_matches_libm_over_the_softmax_range() {
        // Softmax arguments are <= 0 (scores minus the row maximum); sample them densely.
        for i in 0..=100_000 {
            let x = -90.0 * i as f32 / 100_000.0;
            let (fast, exact) = (softmax_exp(x), x.exp());
            let err = (fast - exact).abs();
            assert!(
                err <= 4e-7 * exact || err < 1e-37,
                "x {x}: {fast} vs {exact}"
            );
        }
        assert_eq!(softmax_exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(softmax_exp(0.0), 1.0);
    }
}
