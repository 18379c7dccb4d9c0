// adam.wgsl: one Adam step on x (N values) from the gradient g, then an
// optional clip to [LO, HI]. st holds the step count and its bias
// corrections: st[0] = t, st[1] = 1-b1^t, st[2] = 1-b2^t, st[3] = keras
// alpha_t, st[4] = 1/(1-b1^t), st[5] = 1/(1-b2^t); "prepare" (one thread)
// advances them before the step reads them. 1-b^t is carried by the
// recurrence c_t = q + b·c_{t-1} with q = 1-b computed in float64 on the
// host: f32(0.999) is 1.3e-8 off, which pow(b, t) would turn into a 1e-5
// relative error in 1-b^t at t = 1.
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
const N = {{.N}}u;
const WG = 256u;
{{.Bindings}}
{{if eq .Entry "prepare"}}
@compute @workgroup_size(1)
fn prepare() {
  st[0] = st[0] + 1.0;
  let c1 = params.q1 + params.b1 * st[1];
  let c2 = params.q2 + params.b2 * st[2];
  st[1] = c1;
  st[2] = c2;
  st[3] = params.lr * sqrt(c2) / c1; // keras: the step size alpha_t
  st[4] = 1.0 / c1;                  // torch
  st[5] = 1.0 / c2;                  // torch
}
{{else}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
  if (i >= N) { return; }
  let gi = g[i];
  let b1 = params.b1;
  let b2 = params.b2;
{{if eq .Entry "keras"}}  let mi = m[i] + (gi - m[i]) * params.q1;
  let vi = v[i] + (gi * gi - v[i]) * params.q2;
  var xi = x[i] - st[3] * mi / (sqrt(vi) + params.eps);
{{else}}  let mi = b1 * m[i] + params.q1 * gi;
  let vi = b2 * v[i] + params.q2 * gi * gi;
  var xi = x[i] - params.lr * (mi * st[4]) / (sqrt(vi * st[5]) + params.eps);
{{end}}  m[i] = mi;
  v[i] = vi;
{{if .CLIP}}  xi = clamp(xi, {{f32 .LO}}, {{f32 .HI}});
{{end}}  x[i] = xi;
}
{{end}}
