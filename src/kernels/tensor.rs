//! `Tensor`: a contiguous row-major f32 buffer with a shape that is checked against its length.

use super::error::KernelError;
use super::rng::Rng;

/// A dense row-major f32 tensor. Invariant: `data.len()` is the product of `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros; the only allocation, done once when buffers are set up.
    pub fn zeros(shape: &[usize]) -> Self {
        Self {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }

    /// Wraps `data` as a tensor of `shape`, or says why the lengths disagree.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Result<Self, KernelError> {
        let expected: usize = shape.iter().product();
        if data.len() != expected {
            return Err(KernelError::DataLength {
                shape: shape.to_vec(),
                expected,
                actual: data.len(),
            });
        }
        Ok(Self {
            shape: shape.to_vec(),
            data,
        })
    }

    /// A tensor of uniform values in [-scale, scale), fixed by the generator's state.
    pub fn random(shape: &[usize], rng: &mut Rng, scale: f32) -> Self {
        let data = (0..shape.iter().product())
            .map(|_| rng.symmetric(scale))
            .collect();
        Self {
            shape: shape.to_vec(),
            data,
        }
    }

    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, writable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor holds no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Overwrites this tensor with `src`'s elements (large tensors in parallel bands).
    ///
    /// Panics when the shapes differ: callers copy between buffers allocated for one shape.
    pub fn copy_from(&mut self, src: &Tensor) {
        assert_eq!(
            self.shape, src.shape,
            "copy between differently shaped tensors"
        );
        const BAND: usize = 1 << 16;
        if self.data.len() <= BAND {
            self.data.copy_from_slice(&src.data);
        } else {
            use rayon::prelude::*;
            self.data
                .par_chunks_mut(BAND)
                .zip(src.data.par_chunks(BAND))
                .for_each(|(d, s)| d.copy_from_slice(s));
        }
    }

    /// Sets every element to zero (gradient buffers are zeroed once per step); large tensors in
    /// parallel bands, since one thread cannot fill memory at the rate two can.
    pub fn zero(&mut self) {
        const BAND: usize = 1 << 16;
        if self.data.len() <= BAND {
            self.data.fill(0.0);
        } else {
            use rayon::prelude::*;
            self.data.par_chunks_mut(BAND).for_each(|c| c.fill(0.0));
        }
    }
}
