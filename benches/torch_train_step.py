"""The same AP-MDM training step as `apmdm bench train`, in PyTorch, for the side-by-side race.

Model: token embedding, rotary positions (base 10000, pairs (2i, 2i+1)), pre-LayerNorm blocks
(fused QKV without bias, biased output projection, MLP d -> 4d -> d with tanh-GELU), final
LayerNorm, a biased token head and a 3-logit control head (bias -2). One step: forward, CE on
the mask positions + BCE of the 3 bits everywhere, backward, clip to norm 1, AdamW.

Usage: python benches/torch_train_step.py [--threads 2] [--layers 4 --heads 2 --width 128
       --vocab 34 --seq 324 --batch 32 --steps 5]
Prints one JSON object: {"ms_per_step", "tokens_per_s", "parameters", "threads", "torch"}.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def rope(x, base=10000.0):
    # x: [batch, heads, seq, head_dim]; rotate pairs (2i, 2i+1) by pos * base^(-2i/head_dim).
    _, _, t, hd = x.shape
    inv = base ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = torch.arange(t, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = ang.cos(), ang.sin()
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(rope(q), rope(k), v)
        x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
        return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class ApMdm(nn.Module):
    def __init__(self, vocab, layers, heads, d):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.token_head = nn.Linear(d, vocab)
        self.control_head = nn.Linear(d, 3)
        nn.init.constant_(self.control_head.bias, -2.0)

    def forward(self, ids):
        x = self.emb(ids)
        for blk in self.blocks:
            x = blk(x)
        x = self.ln_f(x)
        return self.token_head(x), self.control_head(x)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 4), ("heads", 2), ("width", 128), ("vocab", 34),
                          ("seq", 324), ("batch", 32), ("steps", 5), ("threads", 2)]:
        p.add_argument(f"--{name}", type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = ApMdm(a.vocab, a.layers, a.heads, a.width)
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    is_mask = ids == 0
    targets = torch.randint(1, a.vocab, (a.batch, a.seq))
    bits = (torch.rand(a.batch, a.seq, 3) < 0.1).float()
    times = []
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        tok, ctl = model(ids)
        ce = F.cross_entropy(tok[is_mask], targets[is_mask])
        loss = ce + F.binary_cross_entropy_with_logits(ctl, bits)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        if i >= 2:
            times.append(ms)
    med = statistics.median(times)
    print(json.dumps({
        "ms_per_step": med,
        "tokens_per_s": a.batch * a.seq / (med / 1e3),
        "parameters": params,
        "threads": a.threads,
        "torch": torch.__version__,
        "all_ms": times,
    }))


if __name__ == "__main__":
    main()
