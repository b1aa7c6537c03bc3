// One thread per query row: an online softmax over the visible keys, accumulating straight into
// the output row, so no score matrix exists anywhere.
// p: batch*heads, heads, seq, head_dim, causal, scale.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> key_mask: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = flat(gid, groups);
    let heads = p[1]; let seq = p[2]; let hd = p[3];
    if (row >= p[0] * seq) { return; }
    let bh = row / seq;
    let i = row % seq;
    let b = bh / heads;
    let base = bh * seq;
    for (var c = 0u; c < hd; c++) { out[row * hd + c] = 0.0; }
    var mx = LOWEST;
    var sum = 0.0;
    for (var j = 0u; j < seq; j++) {
        if (key_mask[b * seq + j] == 0u || (p[4] != 0u && j > i)) { continue; }
        var s = 0.0;
        for (var c = 0u; c < hd; c++) { s += q[row * hd + c] * k[(base + j) * hd + c]; }
        s *= pf(5);
        let new_max = max(mx, s);
        let correction = exp(mx - new_max);
        let w = exp(s - new_max);
        sum = sum * correction + w;
        for (var c = 0u; c < hd; c++) {
            out[row * hd + c] = out[row * hd + c] * correction + w * v[(base + j) * hd + c];
        }
        mx = new_max;
    }
    if (sum == 0.0) {
        lse[row] = bitcast<f32>(NEG_INF_BITS);
        return;
    }
    for (var c = 0u; c < hd; c++) { out[row * hd + c] /= sum; }
    lse[row] = mx + log(sum);
}
