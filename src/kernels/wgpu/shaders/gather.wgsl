// Embedding, RoPE and cross-entropy: kernels that index rows by an id or a position.
// p[0] threads, p[1] op, p[2] dim (or head_dim), p[3] vocab / seq.
// 0 embedding forward, thread (r, c): dst[r, c] = src[ids[r], c]
// 1 embedding backward, thread (v, c): dst[v, c] += sum over r with ids[r] == v of src[r, c]
// 2 rope forward, thread per pair: rotate src by table (cos, sin) of (pos, pair) into dst
// 3 rope backward: dst += inverse rotation of src
// 4 cross-entropy forward, thread per row: dst[r] = lse(src[r]) - src[r, ids[r]]
// 5 cross-entropy backward: dst[r, :] += aux[r] (softmax(src[r]) - onehot(ids[r]))
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

fn row_lse(r: u32, n: u32) -> f32 {
    var mx = LOWEST;
    for (var c = 0u; c < n; c++) { mx = max(mx, src[r * n + c]); }
    var s = 0.0;
    for (var c = 0u; c < n; c++) { s += exp(src[r * n + c] - mx); }
    return mx + log(s);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(gid, groups);
    if (i >= p[0]) { return; }
    let n = p[2];
    switch (p[1]) {
        case 0u: {
            let r = i / n; let c = i % n;
            dst[i] = src[ids[r] * n + c];
        }
        case 1u: {
            let v = i / n; let c = i % n;
            var s = 0.0;
            for (var r = 0u; r < arrayLength(&ids); r++) {
                if (ids[r] == v) { s += src[r * n + c]; }
            }
            dst[i] += s;
        }
        case 2u, 3u: {
            // i indexes pairs of [batch*heads, seq, head_dim/2]; aux holds (cos, sin) per
            // (pos, pair), computed on the host exactly as every other backend does.
            let half = n / 2u;
            let pos = (i / half) % p[3];
            let pair = i % half;
            let cs = aux[(pos * half + pair) * 2u];
            let sn = aux[(pos * half + pair) * 2u + 1u];
            let x0 = src[2u * i];
            let x1 = src[2u * i + 1u];
            if (p[1] == 2u) {
                dst[2u * i] = x0 * cs - x1 * sn;
                dst[2u * i + 1u] = x0 * sn + x1 * cs;
            } else {
                dst[2u * i] += x0 * cs + x1 * sn;
                dst[2u * i + 1u] += -x0 * sn + x1 * cs;
            }
        }
        case 4u: { dst[i] = row_lse(i, n) - src[i * n + ids[i]]; }
        case 5u: {
            let l = row_lse(i, n);
            for (var c = 0u; c < n; c++) {
                var onehot = 0.0;
                if (c == ids[i]) { onehot = 1.0; }
                dst[i * n + c] += aux[i] * (exp(src[i * n + c] - l) - onehot);
            }
        }
        default: {}
    }
}
