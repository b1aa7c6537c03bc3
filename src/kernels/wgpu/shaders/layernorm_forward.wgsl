// One thread per row. p: rows, dim, eps.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = flat(gid, groups);
    let n = p[1];
    if (r >= p[0]) { return; }
    var mu = 0.0;
    for (var c = 0u; c < n; c++) { mu += x[r * n + c]; }
    mu /= f32(n);
    var var_ = 0.0;
    for (var c = 0u; c < n; c++) { let d = x[r * n + c] - mu; var_ += d * d; }
    var_ /= f32(n);
    let rs = 1.0 / sqrt(var_ + pf(2));
    for (var c = 0u; c < n; c++) { y[r * n + c] = (x[r * n + c] - mu) * rs * weight[c] + bias[c]; }
    mean[r] = mu;
    rstd[r] = rs;
}
