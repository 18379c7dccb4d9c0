// elementwise.wgsl: element-wise ops over N values, one thread per element.
//   add:           out = a + b
//   axpy:          y = y + K*s[IDX]*x      (USE_S; else y = y + K*x)
//   scale:         y = K*s[IDX]*y          (USE_S; else y = K*y)
//   clip:          y = clamp(y, LO, HI)
//   fill:          y = K
//   relu_forward:  y = max(x, 0)
//   relu_backward: dx = dy * (y > 0)
// s is a small buffer of GPU-resident scalars (loss values, L-BFGS's
// alphas and rhos), so that no scalar makes a trip through the CPU.
// Template: Entry, N, K, IDX, USE_S, LO, HI.
const N = {{.N}}u;
const K = {{f32 .K}};
const WG = 256u;

fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
{{if eq .Entry "add"}}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { out[i] = a[i] + b[i]; }
}
{{else if eq .Entry "axpy"}}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
{{if .USE_S}}  let alpha = K * s[{{.IDX}}u];
{{else}}  let alpha = K;
{{end}}  if (i < N) { y[i] = fma(alpha, x[i], y[i]); }
}
{{else if eq .Entry "scale"}}
@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
{{if .USE_S}}  let alpha = K * s[{{.IDX}}u];
{{else}}  let alpha = K;
{{end}}  if (i < N) { y[i] = alpha * y[i]; }
}
{{else if eq .Entry "clip"}}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn clip(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { y[i] = clamp(y[i], {{f32 .LO}}, {{f32 .HI}}); }
}
{{else if eq .Entry "fill"}}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { y[i] = K; }
}
{{else if eq .Entry "relu_forward"}}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn relu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { y[i] = max(x[i], 0.0); }
}
{{else if eq .Entry "relu_backward"}}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn relu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { dx[i] = select(0.0, dy[i], y[i] > 0.0); }
}
{{end}}
