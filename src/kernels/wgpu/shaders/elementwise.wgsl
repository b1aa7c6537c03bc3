// Elementwise ops selected by p[1]; p[0] is the thread count, floats from p[2] on.
// 0 gelu: c = gelu(a)          1 gelu backward: c += gelu'(a) b
// 2 residual: c = a + b        3 residual backward: c += a, d += a
// 4 bce: c = bce(a, b)         5 bce backward: d += c (sigmoid(a) - b)
// 6 adamw: params c, grads a, moments d and e; lr, beta1, beta2, eps, decay, corr1, corr2
// 7 scale: c *= p2             8 sum of squares of chunk i of a (length p[2], total p[3]) into c[i]
// 9 relu: c = a if a > 0 else 0                10 relu backward: c += b where a > 0
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> d: array<f32>;
@group(0) @binding(5) var<storage, read_write> e: array<f32>;

const GELU_SCALE: f32 = 0.7978846;
const GELU_CUBIC: f32 = 0.044715;

// tanh saturates to +-1 in f32 long before 15; clamping keeps exp-based tanh from overflowing.
fn gelu_tanh(x: f32) -> f32 {
    return tanh(clamp(GELU_SCALE * (x + GELU_CUBIC * x * x * x), -15.0, 15.0));
}

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
    let z = exp(x);
    return z / (1.0 + z);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = flat(gid, groups);
    if (i >= p[0]) { return; }
    switch (p[1]) {
        case 0u: {
            let x = a[i];
            c[i] = 0.5 * x * (1.0 + gelu_tanh(x));
        }
        case 1u: {
            let x = a[i];
            let t = gelu_tanh(x);
            let inner = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * x * x);
            c[i] += (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner) * b[i];
        }
        case 2u: { c[i] = a[i] + b[i]; }
        case 3u: { c[i] += a[i]; d[i] += a[i]; }
        case 4u: {
            let x = a[i];
            c[i] = max(x, 0.0) - x * b[i] + log(1.0 + exp(-abs(x)));
        }
        case 5u: { d[i] += c[i] * (sigmoid(a[i]) - b[i]); }
        case 6u: {
            let g = a[i];
            d[i] = pf(3) * d[i] + (1.0 - pf(3)) * g;
            e[i] = pf(4) * e[i] + (1.0 - pf(4)) * g * g;
            let m_hat = d[i] / pf(7);
            let v_hat = e[i] / pf(8);
            c[i] -= pf(2) * (m_hat / (sqrt(v_hat) + pf(5)) + pf(6) * c[i]);
        }
        case 7u: { c[i] *= pf(2); }
        case 8u: {
            var s = 0.0;
            let end = min((i + 1u) * p[2], p[3]);
            for (var j = i * p[2]; j < end; j++) { s += a[j] * a[j]; }
            c[i] = s;
        }
        // Both exact, like the host backends: select gives +0 for -0 (max(x, 0) may keep -0), and
        // nothing is added where the derivative is 0, so a -0 in c stays -0.
        case 9u: {
            let x = a[i];
            c[i] = select(0.0, x, x > 0.0);
        }
        case 10u: {
            if (a[i] > 0.0) { c[i] += b[i]; }
        }
        default: {}
    }
}
