// adam.wgsl: one Adam step on x (N values) from the gradient g, then an
// optional clip to [LO, HI]. st holds the step count and its bias
// corrections: st[0] = t, st[1], st[2] as below; "prepare" (one thread)
// advances t and computes them before the step reads them.
//   keras (tf.keras.optimizers.Adam, the seed's form; Kingma & Ba with
//   epsilon added to sqrt(v) before bias correction):
//     m += (g-m)(1-b1); v += (g²-v)(1-b2)
//     x -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v)+eps)
//   torch (torch.optim.Adam; Kingma & Ba Alg. 1):
//     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²
//     x -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
// lr, b1, b2 and eps live in the uniform params so that they can change
// between iterations without a new pipeline.
// Template: Entry, N, CLIP, LO, HI.
struct Params {
  lr: f32,
  b1: f32,
  b2: f32,
  eps: f32,
}
const N = {{.N}}u;
const WG = 256u;
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> st: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;
{{if eq .Entry "prepare"}}
@compute @workgroup_size(1)
fn prepare() {
  let t = st[0] + 1.0;
  st[0] = t;
  let c1 = 1.0 - pow(params.b1, t);
  let c2 = 1.0 - pow(params.b2, t);
  st[1] = params.lr * sqrt(c2) / c1; // keras: the step size alpha_t
  st[2] = 1.0 / c1;                  // torch: 1/(1-b1^t)
  st[3] = 1.0 / c2;                  // torch: 1/(1-b2^t)
}
{{else}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
  if (i >= N) { return; }
  let gi = g[i];
  let b1 = params.b1;
  let b2 = params.b2;
{{if eq .Entry "keras"}}  let mi = m[i] + (gi - m[i]) * (1.0 - b1);
  let vi = v[i] + (gi * gi - v[i]) * (1.0 - b2);
  var xi = x[i] - st[1] * mi / (sqrt(vi) + params.eps);
{{else}}  let mi = b1 * m[i] + (1.0 - b1) * gi;
  let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
  var xi = x[i] - params.lr * (mi * st[2]) / (sqrt(vi * st[3]) + params.eps);
{{end}}  m[i] = mi;
  v[i] = vi;
{{if .CLIP}}  xi = clamp(xi, {{f32 .LO}}, {{f32 .HI}});
{{end}}  x[i] = xi;
}
{{end}}
