"""PyTorch's time for the ops of the training step, each alone, to set beside
`apmdm bench train --profile` (same shapes: 4 x 2 x 128 model, batch 32, seq 324).

Each op runs `--reps` times after one warm-up call; printed per call: wall ms, process CPU ms (all
threads) and, for products and attention, GFLOP/s over wall and GFLOP per CPU-second, counted as
apmdm counts them (a linear layer's forward 2·rows·in·out, its backward twice that; attention's
forward two score products, its backward five).

Usage: OMP_WAIT_POLICY=PASSIVE python3 benches/torch_ops.py [--threads 2] [--reps 5]
"""

import argparse
import time

import torch
import torch.nn.functional as F


def timed(fn, reps):
    fn()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - w0) * 1e3 / reps, (time.process_time() - c0) * 1e3 / reps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    b, t, d, h = 32, 324, 128, 2
    n, hd = b * t, d // h
    rows = []

    for i, o in [(128, 384), (128, 128), (128, 512), (512, 128), (128, 34)]:
        x = torch.randn(n, i)
        w = torch.randn(o, i)
        bias = torch.randn(o)
        dy = torch.randn(n, o)
        flop = 2.0 * n * i * o
        rows.append((f"linear_forward {n} x {i} -> {o}", flop,
                     timed(lambda: F.linear(x, w, bias), a.reps)))
        # Backward of a linear layer: dx = dy·W, dW = dyᵀ·x, db = Σ dy.
        rows.append((f"linear_backward {n} x {i} -> {o}", 2 * flop,
                     timed(lambda: (dy @ w, dy.t() @ x, dy.sum(0)), a.reps)))

    q, k, v = (torch.randn(b, h, t, hd, requires_grad=True) for _ in range(3))
    att = 2.0 * 2 * b * h * t * t * hd
    rows.append((f"attention_forward {b} x {h} heads x seq {t} x {hd}", att,
                 timed(lambda: F.scaled_dot_product_attention(q, k, v), a.reps)))
    out = F.scaled_dot_product_attention(q, k, v)
    g = torch.randn_like(out)
    rows.append((f"attention_backward {b} x {h} heads x seq {t} x {hd}", 2.5 * att,
                 timed(lambda: torch.autograd.grad(out, (q, k, v), g, retain_graph=True),
                       a.reps)))

    x = torch.randn(n, d, requires_grad=True)
    lw, lb = torch.ones(d, requires_grad=True), torch.zeros(d, requires_grad=True)
    y = F.layer_norm(x, (d,), lw, lb)
    gy = torch.randn_like(y)
    rows.append((f"layernorm_forward {n * d} elements", None,
                 timed(lambda: F.layer_norm(x, (d,), lw, lb), a.reps)))
    rows.append((f"layernorm_backward {n * d} elements", None,
                 timed(lambda: torch.autograd.grad(y, (x, lw, lb), gy, retain_graph=True),
                       a.reps)))
    z = torch.randn(n, 4 * d, requires_grad=True)
    gz = F.gelu(z, approximate="tanh")
    gg = torch.randn_like(gz)
    rows.append((f"gelu_forward {n * 4 * d} elements", None,
                 timed(lambda: F.gelu(z, approximate="tanh"), a.reps)))
    rows.append((f"gelu_backward {n * 4 * d} elements", None,
                 timed(lambda: torch.autograd.grad(gz, z, gg, retain_graph=True), a.reps)))

    print(f"torch {torch.__version__}, {a.threads} threads, {a.reps} calls each (per call):")
    print(f"{'op':<48} {'wall ms':>8} {'CPU ms':>8} {'GFLOP':>7} {'GFLOP/s':>8} {'GFLOP/CPUs':>10}")
    for name, flop, (wall, cpu) in rows:
        gf = "-" if flop is None else f"{flop / 1e9:.2f}"
        r1 = "-" if flop is None else f"{flop / 1e9 / (wall / 1e3):.1f}"
        r2 = "-" if flop is None else f"{flop / 1e9 / (cpu / 1e3):.1f}"
        print(f"{name:<48} {wall:8.1f} {cpu:8.1f} {gf:>7} {r1:>8} {r2:>10}")


if __name__ == "__main__":
    main()
