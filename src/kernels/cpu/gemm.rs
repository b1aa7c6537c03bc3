//! The one call into the `gemm` crate: a bounds-checked, strided f32 matrix product.

/// Where a matrix lives in a slice: element (r, c) is at `r * row_stride + c * col_stride`.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Distance between consecutive rows.
    pub row_stride: usize,
    /// Distance between consecutive columns.
    pub col_stride: usize,
}

impl View {
    /// A dense row-major `[rows, cols]` matrix.
    pub fn rows(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same storage read as its transpose.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Elements from the first to one past the last, i.e. the slice length the view needs.
    fn span(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1
        }
    }
}

/// Whether `gemm` may split one product over the rayon pool (deterministic: it splits output
/// tiles, never the inner dimension, so each element is summed in the same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One thread: used inside kernels that are already parallel over heads or batches.
    One,
    /// The whole rayon pool.
    Pool,
}

/// dst = scale · lhs · rhs, or dst += scale · lhs · rhs when `accumulate`.
///
/// Panics only on an internal inconsistency (mismatched views or a view past its slice), which the
/// shape checks in `ops` rule out; the check must stay because the call below trusts it.
#[allow(unsafe_code)]
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    dst: &mut [f32],
    dv: View,
    lhs: &[f32],
    lv: View,
    rhs: &[f32],
    rv: View,
    scale: f32,
    accumulate: bool,
    threads: Threads,
) {
    assert!(lv.rows == dv.rows && rv.cols == dv.cols && lv.cols == rv.rows);
    assert!(dv.span() <= dst.len() && lv.span() <= lhs.len() && rv.span() <= rhs.len());
    let (m, n, k) = (dv.rows, dv.cols, lv.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                for c in 0..n {
                    dst[r * dv.row_stride + c * dv.col_stride] = 0.0;
                }
            }
        }
        return;
    }
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::Pool => gemm::Parallelism::Rayon(0),
    };
    // SAFETY: the asserts above prove every element the views address lies inside its slice;
    // `dst` is borrowed mutably so it cannot alias `lhs` or `rhs`; strides fit in isize because
    // they index existing slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dv.col_stride as isize,
            dv.row_stride as isize,
            accumulate,
            lhs.as_ptr(),
            lv.col_stride as isize,
            lv.row_stride as isize,
            rhs.as_ptr(),
            rv.col_stride as isize,
            rv.row_stride as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        )
    }
}
