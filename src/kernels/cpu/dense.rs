//! Fast matmul and linear layer: every product is one strided `gemm` call, no copies or transposes.

use super::gemm::{matmul, Threads, View};
use crate::kernels::backend::{LinearDims, MatmulDims};
use rayon::prelude::*;

/// Rows of a linear layer's output per parallel task when its bias is copied in.
const BIAS_ROWS: usize = 256;
/// The fewest outputs per parallel task when the bias gradient is summed.
const BIAS_MIN_OUTPUTS: usize = 16;

pub fn matmul_forward(
    d: MatmulDims,
    a: &[f32],     // [batch, m, k]
    b: &[f32],     // [batch, k, n]
    c: &mut [f32], // [batch, m, n]
) {
    let MatmulDims { batch, m, k, n } = d;
    for bi in 0..batch {
        matmul(
            &mut c[bi * m * n..][..m * n],
            View::rows(m, n),
            &a[bi * m * k..][..m * k],
            View::rows(m, k),
            &b[bi * k * n..][..k * n],
            View::rows(k, n),
            1.0,
            false,
            Threads::Pool,
        );
    }
}

pub fn matmul_backward(
    d: MatmulDims,
    a: &[f32],      // [batch, m, k]
    b: &[f32],      // [batch, k, n]
    dc: &[f32],     // [batch, m, n]
    da: &mut [f32], // [batch, m, k]
    db: &mut [f32], // [batch, k, n]
) {
    let MatmulDims { batch, m, k, n } = d;
    for bi in 0..batch {
        let (a, b, dc) = (
            &a[bi * m * k..][..m * k],
            &b[bi * k * n..][..k * n],
            &dc[bi * m * n..][..m * n],
        );
        let da = &mut da[bi * m * k..][..m * k];
        matmul(
            da,
            View::rows(m, k),
            dc,
            View::rows(m, n),
            b,
            View::rows(k, n).t(),
            1.0,
            true,
            Threads::Pool,
        );
        let db = &mut db[bi * k * n..][..k * n];
        matmul(
            db,
            View::rows(k, n),
            a,
            View::rows(m, k).t(),
            dc,
            View::rows(m, n),
            1.0,
            true,
            Threads::Pool,
        );
    }
}

pub fn linear_forward(
    d: LinearDims,
    x: &[f32],     // [rows, input]
    w: &[f32],     // [output, input]
    bias: &[f32],  // [output]
    y: &mut [f32], // [rows, output]
) {
    // Start from the bias and accumulate the product into it: one pass over y, no temporary.
    if d.output > 0 {
        y.par_chunks_mut(d.output * BIAS_ROWS).for_each(|rows| {
            for row in rows.chunks_exact_mut(d.output) {
                row.copy_from_slice(bias);
            }
        });
    }
    matmul(
        y,
        View::rows(d.rows, d.output),
        x,
        View::rows(d.rows, d.input),
        w,
        View::rows(d.output, d.input).t(),
        1.0,
        true,
        Threads::Pool,
    );
}

#[allow(clippy::too_many_arguments)]
pub fn linear_backward(
    d: LinearDims,
    x: &[f32],         // [rows, input]
    w: &[f32],         // [output, input]
    dy: &[f32],        // [rows, output]
    dx: &mut [f32],    // [rows, input]
    dw: &mut [f32],    // [output, input]
    dbias: &mut [f32], // [output]
) {
    let LinearDims {
        rows,
        input,
        output,
    } = d;
    matmul(
        dx,
        View::rows(rows, input),
        dy,
        View::rows(rows, output),
        w,
        View::rows(output, input),
        1.0,
        true,
        Threads::Pool,
    );
    matmul(
        dw,
        View::rows(output, input),
        dy,
        View::rows(rows, output).t(),
        x,
        View::rows(rows, input),
        1.0,
        true,
        Threads::Pool,
    );
    // Each output's gradient is summed over the rows in row order, whatever the split into bands
    // of outputs, so it is the same on every run and at every thread count.
    if output > 0 {
        let band = output
            .div_ceil(rayon::current_num_threads())
            .max(BIAS_MIN_OUTPUTS);
        dbias.par_chunks_mut(band).enumerate().for_each(|(b, g)| {
            let o0 = b * band;
            for row in dy.chunks_exact(output) {
                for (g, &v) in g.iter_mut().zip(&row[o0..]) {
                    *g += v;
                }
            }
        });
    }
}
