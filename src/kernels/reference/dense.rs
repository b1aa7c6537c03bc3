//! Reference matmul and linear layer: triple loops in the textbook order.

use crate::kernels::backend::{LinearDims, MatmulDims};

pub fn matmul_forward(
    d: MatmulDims,
    a: &[f32],     // [batch, m, k]
    b: &[f32],     // [batch, k, n]
    c: &mut [f32], // [batch, m, n]
) {
    let MatmulDims { batch, m, k, n } = d;
    for bi in 0..batch {
        let (a, b) = (&a[bi * m * k..], &b[bi * k * n..]);
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for p in 0..k {
                    acc += a[i * k + p] * b[p * n + j];
                }
                c[bi * m * n + i * n + j] = acc;
            }
        }
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
        let (a, b, dc) = (&a[bi * m * k..], &b[bi * k * n..], &dc[bi * m * n..]);
        for i in 0..m {
            for p in 0..k {
                let mut acc = 0.0f32;
                for j in 0..n {
                    acc += dc[i * n + j] * b[p * n + j];
                }
                da[bi * m * k + i * k + p] += acc;
            }
        }
        for p in 0..k {
            for j in 0..n {
                let mut acc = 0.0f32;
                for i in 0..m {
                    acc += a[i * k + p] * dc[i * n + j];
                }
                db[bi * k * n + p * n + j] += acc;
            }
        }
    }
}

pub fn linear_forward(
    d: LinearDims,
    x: &[f32],     // [rows, input]
    w: &[f32],     // [output, input]
    bias: &[f32],  // [output]
    y: &mut [f32], // [rows, output]
) {
    for r in 0..d.rows {
        for o in 0..d.output {
            let mut acc = bias[o];
            for i in 0..d.input {
                acc += x[r * d.input + i] * w[o * d.input + i];
            }
            y[r * d.output + o] = acc;
        }
    }
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
    for r in 0..d.rows {
        for o in 0..d.output {
            let g = dy[r * d.output + o];
            dbias[o] += g;
            for i in 0..d.input {
                dx[r * d.input + i] += g * w[o * d.input + i];
                dw[o * d.input + i] += g * x[r * d.input + i];
            }
        }
    }
}
