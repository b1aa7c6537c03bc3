//! The one call into the `gemm` crate: a bounds-checked, strided f32 matrix product.

use rayon::prelude::*;

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

/// Products smaller than this many multiply-adds are not split into bands of rows.
const BAND_MIN_WORK: usize = 1 << 20;
/// The fewest rows a band gets.
const BAND_MIN_ROWS: usize = 32;
/// gemm blocks the inner dimension differently when both output dimensions are at most this
/// (a fixed block of 512 instead of one sized from the caches), which changes the rounding.
const GEMM_SMALL: usize = 64;

/// How many bands of output rows a pooled product is split into: one per pool thread when the
/// destination is row-major (bands are then contiguous), the product is large enough, and every
/// band stays in the same gemm regime as the whole product (so its bits are the same); 1 means
/// gemm's own splitting.
fn row_parts(m: usize, n: usize, k: usize, dv: View) -> usize {
    let threads = rayon::current_num_threads();
    if threads < 2 || dv.col_stride != 1 || dv.row_stride < n || n < 2 || k < 3 {
        return 1;
    }
    if m * n * k < BAND_MIN_WORK {
        return 1;
    }
    let min_rows = if n > GEMM_SMALL {
        BAND_MIN_ROWS
    } else {
        GEMM_SMALL + 1
    };
    threads.min(m / min_rows).max(1)
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
    if threads == Threads::Pool {
        let parts = row_parts(m, n, k, dv);
        if parts > 1 {
            // Contiguous bands of output rows, one single-threaded product each: every element is
            // still one dot product over k in gemm's fixed k-blocking, so the result is bitwise the
            // same as one call, whatever the number of bands.
            let band = m.div_ceil(parts);
            let (dst, lhs) = (&mut dst[..dv.span()], &lhs[..lv.span()]);
            dst.par_chunks_mut(band * dv.row_stride)
                .enumerate()
                .for_each(|(b, d)| {
                    let r0 = b * band;
                    let rows = band.min(m - r0);
                    matmul(
                        d,
                        View { rows, ..dv },
                        &lhs[r0 * lv.row_stride..],
                        View { rows, ..lv },
                        rhs,
                        rv,
                        scale,
                        accumulate,
                        Threads::One,
                    )
                });
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(len: usize, seed: u32) -> Vec<f32> {
        // A fixed pseudo-random fill with varied magnitudes, so rounding order would show.
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 20_001) as f32 / 1_000.0 - 10.0
            })
            .collect()
    }

    /// Bands of rows give the same bits as one single-threaded product, for row-major and
    /// transposed operands, with and without accumulation, at several pool sizes.
    #[test]
    fn banded_products_equal_one_product_bitwise() {
        let shapes = [
            (300, 70, 129),
            (64, 512, 700),
            (1000, 34, 128),
            (97, 256, 513),
            (400, 32, 6464),
            (70, 128, 6464),
        ];
        for threads in [2, 3, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            // Bands of at most 64 rows would leave gemm's regime for outputs 64 wide or less.
            pool.install(|| assert_eq!(row_parts(96, 32, 6464, View::rows(96, 32)), 1));
            for (i, &(m, n, k)) in shapes.iter().enumerate() {
                assert!(m * n * k >= BAND_MIN_WORK);
                let a = filled(m * k, i as u32);
                let b = filled(k * n, 100 + i as u32);
                for (lv, rv) in [
                    (View::rows(m, k), View::rows(k, n)),
                    (View::rows(k, m).t(), View::rows(n, k).t()),
                ] {
                    for accumulate in [false, true] {
                        let start = filled(m * n, 7);
                        let mut one = start.clone();
                        let dv = View::rows(m, n);
                        matmul(&mut one, dv, &a, lv, &b, rv, 0.5, accumulate, Threads::One);
                        let mut pooled = start.clone();
                        pool.install(|| {
                            assert!(row_parts(m, n, k, dv) > 1, "{m}x{n}x{k} is not banded");
                            matmul(
                                &mut pooled,
                                dv,
                                &a,
                                lv,
                                &b,
                                rv,
                                0.5,
                                accumulate,
                                Threads::Pool,
                            )
                        });
                        let same = one
                            .iter()
                            .zip(&pooled)
                            .all(|(x, y)| x.to_bits() == y.to_bits());
                        assert!(
                            same,
                            "{threads} threads, {m}x{n}x{k}, accumulate {accumulate}"
                        );
                    }
                }
            }
        }
    }
}
