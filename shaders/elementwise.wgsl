// elementwise.wgsl: element-wise ops over N values, one thread per element.
//   axpy:  y = y + K*s[IDX]*x      (USE_S; else y = y + K*x)
//   scale: y = K*s[IDX]*y          (USE_S; else y = K*y)
//   fill:  y = K
//   maskmul: y = x * m[i % P]   (a (1,H,W) mask over (C,H,W); Template: P)
// s is a small buffer of GPU-resident scalars (loss values, L-BFGS's
// alphas and rhos), so that no scalar makes a trip through the CPU.
// Template: Entry, N, K, IDX, USE_S. The bindings (x, [s], y) are
// declared in Go (ops/elementwise.go) and rendered by the template.
const N = {{.N}}u;
const K = {{f32 .K}};
const WG = 256u;

{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
{{if eq .Entry "axpy"}}
@compute @workgroup_size(256)
fn axpy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
{{if .USE_S}}  let alpha = K * s[{{.IDX}}u];
{{else}}  let alpha = K;
{{end}}  if (i < N) { y[i] = fma(alpha, x[i], y[i]); }
}
{{else if eq .Entry "scale"}}
@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
{{if .USE_S}}  let alpha = K * s[{{.IDX}}u];
{{else}}  let alpha = K;
{{end}}  if (i < N) { y[i] = alpha * y[i]; }
}
{{else if eq .Entry "maskmul"}}
@compute @workgroup_size(256)
fn maskmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { y[i] = x[i] * m[i % {{.P}}u]; }
}
{{else if eq .Entry "fill"}}
@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i < N) { y[i] = K; }
}
{{end}}
