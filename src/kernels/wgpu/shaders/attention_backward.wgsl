// Threads [0, rows) each own one query row and write dq; threads [rows, 2 rows) each own one key
// row and write dk and dv. Nobody shares an output element, so no atomics and a fixed order.
// p: batch*heads, heads, seq, head_dim, causal, scale.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> key_mask: array<u32>;
@group(0) @binding(5) var<storage, read> out: array<f32>;
@group(0) @binding(6) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
@group(0) @binding(10) var<storage, read_write> dv: array<f32>;

fn dot_rows(a: u32, b: u32, hd: u32, which: u32) -> f32 {
    var s = 0.0;
    for (var c = 0u; c < hd; c++) {
        if (which == 0u) { s += q[a * hd + c] * k[b * hd + c]; }
        else if (which == 1u) { s += dout[a * hd + c] * v[b * hd + c]; }
        else { s += dout[a * hd + c] * out[b * hd + c]; }
    }
    return s;
}

// d(score) for query row qi and key row kj, both visible to each other.
fn score_grad(qi: u32, kj: u32, hd: u32, scale: f32) -> vec2<f32> {
    let prob = exp(dot_rows(qi, kj, hd, 0u) * scale - lse[qi]);
    let delta = dot_rows(qi, qi, hd, 2u);
    let ds = prob * (dot_rows(qi, kj, hd, 1u) - delta) * scale;
    return vec2<f32>(prob, ds);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = flat(gid, groups);
    let heads = p[1]; let seq = p[2]; let hd = p[3];
    let rows = p[0] * seq;
    if (idx >= 2u * rows) { return; }
    let row = idx % rows;
    let bh = row / seq;
    let pos = row % seq;
    let b = bh / heads;
    let base = bh * seq;
    let scale = pf(5);
    if (idx < rows) {
        if (lse[row] < LOWEST) { return; }
        for (var j = 0u; j < seq; j++) {
            if (key_mask[b * seq + j] == 0u || (p[4] != 0u && j > pos)) { continue; }
            let g = score_grad(row, base + j, hd, scale);
            for (var c = 0u; c < hd; c++) { dq[row * hd + c] += g.y * k[(base + j) * hd + c]; }
        }
    } else {
        if (key_mask[b * seq + pos] == 0u) { return; }
        for (var i = 0u; i < seq; i++) {
            let qi = base + i;
            if ((p[4] != 0u && pos > i) || lse[qi] < LOWEST) { continue; }
            let g = score_grad(qi, row, hd, scale);
            for (var c = 0u; c < hd; c++) {
                dv[row * hd + c] += g.x * dout[qi * hd + c];
                dk[row * hd + c] += g.y * q[qi * hd + c];
            }
        }
    }
}
