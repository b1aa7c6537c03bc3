//! Shared kernel test cases: random shapes and inputs from a seed, and one runner per op family that
//! returns every output (forward results and gradients) so any two backends can be compared.

#![allow(dead_code)]

use apmdm::kernels::ops::{self, AttentionGrads, AttentionSaved};
use apmdm::kernels::{AdamW, Backend, Rng, Tensor};

/// Random tensor of the given shape, uniform in [-1, 1).
pub fn rand(rng: &mut Rng, shape: &[usize]) -> Tensor {
    Tensor::random(shape, rng, 1.0)
}

/// Asserts two backends' outputs agree: |a - b| <= tol · (1 + |b|) element by element.
pub fn assert_close(what: &str, fast: &[Tensor], reference: &[Tensor], tol: f32) {
    assert_eq!(fast.len(), reference.len(), "{what}: output count");
    for (o, (a, b)) in fast.iter().zip(reference).enumerate() {
        assert_eq!(a.shape(), b.shape(), "{what}: output {o} shape");
        for (i, (&x, &y)) in a.data().iter().zip(b.data()).enumerate() {
            let ok = (x - y).abs() <= tol * (1.0 + y.abs()) || (x.is_infinite() && x == y);
            assert!(
                ok,
                "{what}: output {o} element {i}: fast {x} vs reference {y} (tol {tol})"
            );
        }
    }
}

/// Asserts two backends' outputs are bitwise equal (for exact ops: +0 and -0 differ, NaN == NaN).
pub fn assert_bitwise(what: &str, fast: &[Tensor], reference: &[Tensor]) {
    assert_eq!(fast.len(), reference.len(), "{what}: output count");
    for (o, (a, b)) in fast.iter().zip(reference).enumerate() {
        assert_eq!(a.shape(), b.shape(), "{what}: output {o} shape");
        for (i, (&x, &y)) in a.data().iter().zip(b.data()).enumerate() {
            assert!(
                x.to_bits() == y.to_bits(),
                "{what}: output {o} element {i}: fast {x:e} ({:#010x}) vs reference {y:e} ({:#010x})",
                x.to_bits(),
                y.to_bits()
            );
        }
    }
}

/// Batched matmul inputs and an upstream gradient.
pub struct MatmulCase {
    pub a: Tensor,  // [batch, m, k]
    pub b: Tensor,  // [batch, k, n]
    pub dc: Tensor, // [batch, m, n]
    pub da: Tensor, // [batch, m, k] initial gradient (checks accumulation)
    pub db: Tensor, // [batch, k, n]
}

impl MatmulCase {
    pub fn new(seed: u64, max: usize) -> Self {
        let mut rng = Rng::new(seed);
        let (batch, m, k, n) = (
            rng.range(1, 3),
            rng.range(1, max),
            rng.range(1, max),
            rng.range(1, max),
        );
        Self {
            a: rand(&mut rng, &[batch, m, k]),
            b: rand(&mut rng, &[batch, k, n]),
            dc: rand(&mut rng, &[batch, m, n]),
            da: rand(&mut rng, &[batch, m, k]),
            db: rand(&mut rng, &[batch, k, n]),
        }
    }

    pub fn forward(&self, be: &impl Backend, a: &Tensor, b: &Tensor) -> Tensor {
        let s = a.shape();
        let mut c = Tensor::zeros(&[s[0], s[1], b.shape()[2]]);
        ops::matmul_forward(be, a, b, &mut c).unwrap();
        c
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let c = self.forward(be, &self.a, &self.b);
        let (mut da, mut db) = (self.da.clone(), self.db.clone());
        ops::matmul_backward(be, &self.a, &self.b, &self.dc, &mut da, &mut db).unwrap();
        vec![c, da, db]
    }
}

/// Linear layer inputs.
pub struct LinearCase {
    pub x: Tensor,    // [rows, input]
    pub w: Tensor,    // [output, input]
    pub bias: Tensor, // [output]
    pub dy: Tensor,   // [rows, output]
}

impl LinearCase {
    pub fn new(seed: u64, max: usize) -> Self {
        let mut rng = Rng::new(seed);
        let (rows, input, output) = (rng.range(1, max), rng.range(1, max), rng.range(1, max));
        Self {
            x: rand(&mut rng, &[rows, input]),
            w: rand(&mut rng, &[output, input]),
            bias: rand(&mut rng, &[output]),
            dy: rand(&mut rng, &[rows, output]),
        }
    }

    pub fn forward(&self, be: &impl Backend, x: &Tensor, w: &Tensor, bias: &Tensor) -> Tensor {
        let mut y = Tensor::zeros(&[x.shape()[0], w.shape()[0]]);
        ops::linear_forward(be, x, w, bias, &mut y).unwrap();
        y
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let y = self.forward(be, &self.x, &self.w, &self.bias);
        let mut rng = Rng::new(99);
        let mut dx = rand(&mut rng, self.x.shape());
        let mut dw = rand(&mut rng, self.w.shape());
        let mut db = rand(&mut rng, self.bias.shape());
        ops::linear_backward(be, &self.x, &self.w, &self.dy, &mut dx, &mut dw, &mut db).unwrap();
        vec![y, dx, dw, db]
    }
}

/// Attention inputs: q, k, v with a random key-padding mask (at least one real key per batch row).
pub struct AttentionCase {
    pub q: Tensor, // [batch, heads, seq, head_dim]
    pub k: Tensor,
    pub v: Tensor,
    pub mask: Vec<bool>, // [batch, seq]
    pub causal: bool,
    pub dout: Tensor,
}

impl AttentionCase {
    pub fn new(seed: u64, max_seq: usize, causal: bool) -> Self {
        let mut rng = Rng::new(seed);
        let (batch, heads) = (rng.range(1, 2), rng.range(1, 3));
        let (seq, hd) = (rng.range(1, max_seq), rng.range(1, 9));
        let shape = [batch, heads, seq, hd];
        // About one key in five is padding; queries whose only visible keys are padding exist
        // under the causal mask and must come out as zeros on every backend.
        let mask = (0..batch * seq).map(|_| rng.unit() > 0.2).collect();
        Self {
            q: rand(&mut rng, &shape),
            k: rand(&mut rng, &shape),
            v: rand(&mut rng, &shape),
            mask,
            causal,
            dout: rand(&mut rng, &shape),
        }
    }

    pub fn forward(
        &self,
        be: &impl Backend,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
    ) -> (Tensor, Tensor) {
        let s = q.shape();
        let mut out = Tensor::zeros(s);
        let mut lse = Tensor::zeros(&s[..3]);
        ops::attention_forward(be, q, k, v, &self.mask, self.causal, &mut out, &mut lse).unwrap();
        (out, lse)
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let (out, lse) = self.forward(be, &self.q, &self.k, &self.v);
        let mut rng = Rng::new(7);
        let mut dq = rand(&mut rng, self.q.shape());
        let mut dk = rand(&mut rng, self.q.shape());
        let mut dv = rand(&mut rng, self.q.shape());
        let saved = AttentionSaved {
            out: &out,
            lse: &lse,
        };
        let grads = AttentionGrads {
            dq: &mut dq,
            dk: &mut dk,
            dv: &mut dv,
        };
        ops::attention_backward(
            be,
            &self.q,
            &self.k,
            &self.v,
            &self.mask,
            self.causal,
            saved,
            &self.dout,
            grads,
        )
        .unwrap();
        vec![out, lse, dq, dk, dv]
    }
}

/// Inputs for the ops over a [rows, dim] activation: layer norm, GELU, ReLU, residual, RoPE, losses.
pub struct RowCase {
    pub x: Tensor,         // [rows, dim]
    pub other: Tensor,     // [rows, dim]
    pub weight: Tensor,    // [dim]
    pub bias: Tensor,      // [dim]
    pub dy: Tensor,        // [rows, dim]
    pub targets: Vec<u32>, // [rows]
    pub probs: Tensor,     // [rows, dim] BCE targets in [0, 1]
    pub dloss: Tensor,     // [rows]
}

impl RowCase {
    pub fn new(seed: u64, max: usize) -> Self {
        let mut rng = Rng::new(seed);
        let (rows, dim) = (rng.range(1, max), rng.range(2, max));
        let mut x = rand(&mut rng, &[rows, dim]);
        // Spread the inputs so GELU and the sigmoid are exercised away from zero too.
        x.data_mut().iter_mut().for_each(|v| *v *= 3.0);
        let targets = (0..rows).map(|_| rng.range(0, dim - 1) as u32).collect();
        let mut probs = Tensor::zeros(&[rows, dim]);
        probs.data_mut().iter_mut().for_each(|p| *p = rng.unit());
        Self {
            other: rand(&mut rng, &[rows, dim]),
            weight: rand(&mut rng, &[dim]),
            bias: rand(&mut rng, &[dim]),
            dy: rand(&mut rng, &[rows, dim]),
            dloss: rand(&mut rng, &[rows]),
            x,
            targets,
            probs,
        }
    }

    pub fn layernorm(&self, be: &impl Backend, x: &Tensor, w: &Tensor, b: &Tensor) -> Vec<Tensor> {
        let rows = x.shape()[0];
        let (mut y, mut mean, mut rstd) = (
            Tensor::zeros(x.shape()),
            Tensor::zeros(&[rows]),
            Tensor::zeros(&[rows]),
        );
        ops::layernorm_forward(be, x, w, b, &mut y, &mut mean, &mut rstd).unwrap();
        vec![y, mean, rstd]
    }

    pub fn run_layernorm(&self, be: &impl Backend) -> Vec<Tensor> {
        let mut outs = self.layernorm(be, &self.x, &self.weight, &self.bias);
        let mut rng = Rng::new(5);
        let mut dx = rand(&mut rng, self.x.shape());
        let mut dw = rand(&mut rng, self.weight.shape());
        let mut db = rand(&mut rng, self.bias.shape());
        ops::layernorm_backward(
            be,
            &self.x,
            &self.weight,
            &outs[1],
            &outs[2],
            &self.dy,
            &mut dx,
            &mut dw,
            &mut db,
        )
        .unwrap();
        outs.extend([dx, dw, db]);
        outs
    }

    pub fn gelu(&self, be: &impl Backend, x: &Tensor) -> Tensor {
        let mut y = Tensor::zeros(x.shape());
        ops::gelu_forward(be, x, &mut y).unwrap();
        y
    }

    pub fn run_gelu(&self, be: &impl Backend) -> Vec<Tensor> {
        let y = self.gelu(be, &self.x);
        let mut dx = self.other.clone();
        ops::gelu_backward(be, &self.x, &self.dy, &mut dx).unwrap();
        vec![y, dx]
    }

    /// x with its first two elements set to +0 and -0 (dim >= 2, so they exist): ReLU's kink,
    /// where the forward pass must give +0 and the derivative is 0 on every backend.
    pub fn relu_input(&self) -> Tensor {
        let mut x = self.x.clone();
        x.data_mut()[0] = 0.0;
        x.data_mut()[1] = -0.0;
        x
    }

    /// x pushed at least 0.1 away from 0 (|x| -> 0.1 + |x|), so finite differences with a step of
    /// 1e-2 never straddle ReLU's kink.
    pub fn relu_input_away_from_zero(&self) -> Tensor {
        let mut x = self.x.clone();
        x.data_mut()
            .iter_mut()
            .for_each(|v| *v = (0.1 + v.abs()).copysign(*v));
        x
    }

    pub fn relu(&self, be: &impl Backend, x: &Tensor) -> Tensor {
        let mut y = Tensor::zeros(x.shape());
        ops::relu_forward(be, x, &mut y).unwrap();
        y
    }

    /// The gradient ReLU's backward pass adds into: `other` (checks accumulation) with element 1
    /// set to -0, which must stay -0 where nothing is added (x <= 0, as at `relu_input()[1]`).
    pub fn relu_dx_init(&self) -> Tensor {
        let mut dx = self.other.clone();
        dx.data_mut()[1] = -0.0;
        dx
    }

    /// ReLU forward and backward at `x`, the gradient added into `relu_dx_init()`.
    pub fn run_relu_at(&self, be: &impl Backend, x: &Tensor) -> Vec<Tensor> {
        let y = self.relu(be, x);
        let mut dx = self.relu_dx_init();
        ops::relu_backward(be, x, &self.dy, &mut dx).unwrap();
        vec![y, dx]
    }

    /// ReLU at `relu_input()`: random points plus +0 and -0.
    pub fn run_relu(&self, be: &impl Backend) -> Vec<Tensor> {
        self.run_relu_at(be, &self.relu_input())
    }

    pub fn residual(&self, be: &impl Backend, a: &Tensor, b: &Tensor) -> Tensor {
        let mut out = Tensor::zeros(a.shape());
        ops::residual_forward(be, a, b, &mut out).unwrap();
        out
    }

    pub fn run_residual(&self, be: &impl Backend) -> Vec<Tensor> {
        let out = self.residual(be, &self.x, &self.other);
        let (mut da, mut db) = (self.other.clone(), self.x.clone());
        ops::residual_backward(be, &self.dy, &mut da, &mut db).unwrap();
        vec![out, da, db]
    }

    pub fn cross_entropy(&self, be: &impl Backend, logits: &Tensor) -> Tensor {
        let mut losses = Tensor::zeros(&[logits.shape()[0]]);
        ops::cross_entropy_forward(be, logits, &self.targets, &mut losses).unwrap();
        losses
    }

    pub fn run_cross_entropy(&self, be: &impl Backend) -> Vec<Tensor> {
        let losses = self.cross_entropy(be, &self.x);
        let mut dl = self.other.clone();
        ops::cross_entropy_backward(be, &self.x, &self.targets, &self.dloss, &mut dl).unwrap();
        vec![losses, dl]
    }

    pub fn bce(&self, be: &impl Backend, logits: &Tensor) -> Tensor {
        let mut losses = Tensor::zeros(logits.shape());
        ops::bce_forward(be, logits, &self.probs, &mut losses).unwrap();
        losses
    }

    pub fn run_bce(&self, be: &impl Backend) -> Vec<Tensor> {
        let losses = self.bce(be, &self.x);
        let mut dl = self.other.clone();
        ops::bce_backward(be, &self.x, &self.probs, &self.dy, &mut dl).unwrap();
        vec![losses, dl]
    }
}

/// Embedding inputs: ids with repeats (so the backward pass must accumulate) and a table.
pub struct EmbeddingCase {
    pub ids: Vec<u32>, // [rows]
    pub table: Tensor, // [vocab, dim]
    pub dout: Tensor,  // [rows, dim]
}

impl EmbeddingCase {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let (rows, vocab, dim) = (rng.range(1, 40), rng.range(1, 9), rng.range(1, 33));
        let ids = (0..rows).map(|_| rng.range(0, vocab - 1) as u32).collect();
        Self {
            ids,
            table: rand(&mut rng, &[vocab, dim]),
            dout: rand(&mut rng, &[rows, dim]),
        }
    }

    pub fn forward(&self, be: &impl Backend, table: &Tensor) -> Tensor {
        let mut out = Tensor::zeros(&[self.ids.len(), table.shape()[1]]);
        ops::embedding_forward(be, &self.ids, table, &mut out).unwrap();
        out
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let out = self.forward(be, &self.table);
        let mut dtable = self.table.clone();
        ops::embedding_backward(be, &self.ids, &self.dout, &mut dtable).unwrap();
        vec![out, dtable]
    }
}

/// RoPE inputs over [batch, heads, seq, head_dim].
pub struct RopeCase {
    pub x: Tensor,
    pub dout: Tensor,
}

impl RopeCase {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let shape = [
            rng.range(1, 2),
            rng.range(1, 3),
            rng.range(1, 40),
            2 * rng.range(1, 8),
        ];
        Self {
            x: rand(&mut rng, &shape),
            dout: rand(&mut rng, &shape),
        }
    }

    pub fn forward(&self, be: &impl Backend, x: &Tensor) -> Tensor {
        let mut out = Tensor::zeros(x.shape());
        ops::rope_forward(be, x, 10000.0, &mut out).unwrap();
        out
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let out = self.forward(be, &self.x);
        let mut dx = self.x.clone();
        ops::rope_backward(be, &self.dout, 10000.0, &mut dx).unwrap();
        vec![out, dx]
    }
}

/// Runs `steps` AdamW steps with global-norm clipping over two gradient tensors (one of up to
/// `max_len` elements, one of `small` elements) and returns the parameters, both moments and the
/// norms seen.
pub fn optimise_case(
    max_len: usize,
    steps: u32,
    small: usize,
    be: &impl Backend,
    seed: u64,
) -> Vec<Tensor> {
    let mut rng = Rng::new(seed);
    let n = rng.range(1, max_len);
    let mut params = rand(&mut rng, &[n]);
    let (mut m, mut v) = (Tensor::zeros(&[n]), Tensor::zeros(&[n]));
    let cfg = AdamW {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    let mut norms = Vec::new();
    for step in 1..=steps {
        let mut g1 = rand(&mut rng, &[n]);
        let mut g2 = rand(&mut rng, &[small]);
        norms.push(ops::clip_global_norm(be, &mut [&mut g1, &mut g2], 1.0).unwrap());
        ops::adamw_step(be, cfg, step, &mut params, &g1, &mut m, &mut v).unwrap();
    }
    vec![
        params,
        m,
        v,
        Tensor::from_vec(&[steps as usize], norms).unwrap(),
    ]
}

/// Masked attention (explicit mask and scale, forward only): random q, k, v and a random mask in
/// which some queries see no key at all.
pub struct MaskedAttentionCase {
    pub q: Tensor,
    pub k: Tensor,
    pub v: Tensor,
    pub mask: Vec<bool>,
    pub scale: f32,
}

impl MaskedAttentionCase {
    pub fn new(seed: u64, max_seq: usize) -> Self {
        let mut rng = Rng::new(seed);
        let heads = rng.range(1, 5);
        let seq = rng.range(1, max_seq);
        let hd = rng.range(1, 9);
        let shape = [heads, seq, hd];
        let mask = (0..heads * seq * seq)
            .map(|i| (i / seq) % 5 != 3 && rng.range(0, 2) != 0)
            .collect();
        let scale = 0.25 + rng.range(0, 15) as f32 / 4.0;
        Self {
            q: rand(&mut rng, &shape),
            k: rand(&mut rng, &shape),
            v: rand(&mut rng, &shape),
            mask,
            scale,
        }
    }

    pub fn run(&self, be: &impl Backend) -> Vec<Tensor> {
        let mut out = Tensor::zeros(self.q.shape());
        ops::masked_attention_forward(
            be, &self.q, &self.k, &self.v, &self.mask, self.scale, &mut out,
        )
        .expect("masked attention shapes");
        vec![out]
    }
}
