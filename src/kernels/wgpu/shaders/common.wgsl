// Shared by every kernel: parameters arrive as a u32 array (floats bit-cast), and a 2-D dispatch
// is flattened so that more than 65535 workgroups of 64 threads can be addressed.
@group(0) @binding(0) var<storage, read> p: array<u32>;

fn flat(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

fn pf(i: u32) -> f32 {
    return bitcast<f32>(p[i]);
}

const NEG_INF_BITS: u32 = 0xff800000u;
// Below any finite score: the start value of a running maximum.
const LOWEST: f32 = -3.0e38;
