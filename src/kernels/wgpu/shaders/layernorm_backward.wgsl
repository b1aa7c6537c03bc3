// Threads [0, rows) own a row of dx; threads [rows, rows + dim) own a column of dweight and dbias
// and sum it over rows in order (no atomics). p: rows, dim.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(8) var<storage, read_write> dbias: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let idx = flat(gid, groups);
    let rows = p[0]; let n = p[1];
    if (idx < rows) {
        let r = idx;
        var g_mean = 0.0;
        var gx_mean = 0.0;
        for (var c = 0u; c < n; c++) {
            let xhat = (x[r * n + c] - mean[r]) * rstd[r];
            let g = dy[r * n + c] * weight[c];
            g_mean += g;
            gx_mean += g * xhat;
        }
        g_mean /= f32(n);
        gx_mean /= f32(n);
        for (var c = 0u; c < n; c++) {
            let xhat = (x[r * n + c] - mean[r]) * rstd[r];
            let g = dy[r * n + c] * weight[c];
            dx[r * n + c] += rstd[r] * (g - g_mean - xhat * gx_mean);
        }
    } else if (idx < rows + n) {
        let c = idx - rows;
        var sw = 0.0;
        var sb = 0.0;
        for (var r = 0u; r < rows; r++) {
            sw += dy[r * n + c] * (x[r * n + c] - mean[r]) * rstd[r];
            sb += dy[r * n + c];
        }
        dweight[c] += sw;
        dbias[c] += sb;
    }
}
