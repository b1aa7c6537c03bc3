// dst = scale * lhs * rhs (or dst += when accumulating), batched, every operand strided.
// p: batch, m, n, k, then (batch, row, col) strides of lhs, rhs, dst, then accumulate, scale.
@group(0) @binding(1) var<storage, read> lhs: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = flat(gid, groups);
    let m = p[1]; let n = p[2]; let k = p[3];
    if (idx >= p[0] * m * n) { return; }
    let b = idx / (m * n);
    let i = (idx / n) % m;
    let j = idx % n;
    let l0 = b * p[4] + i * p[5];
    let r0 = b * p[7] + j * p[9];
    var acc = 0.0;
    for (var t = 0u; t < k; t++) {
        acc += lhs[l0 + t * p[6]] * rhs[r0 + t * p[8]];
    }
    let at = b * p[10] + i * p[11] + j * p[12];
    if (p[13] != 0u) {
        dst[at] += pf(14) * acc;
    } else {
        dst[at] = pf(14) * acc;
    }
}
