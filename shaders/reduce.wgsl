// reduce.wgsl: deterministic two-stage sums, split-K, no float atomics.
//   partials: part[g] = sum over chunk g of f(a[i], b[i]) where f is
//             a[i]*b[i] (MODE 1, a dot product), a[i]^2 (MODE 2) or |a[i]|
//             (MODE 3, an L1 norm).
//   total:    out[IDX] (=, or += with ACCUM) SCALE * sum_g part[g]; with
//             PARAMS the scale is the loss uniform's value instead (a loss
//             weight that can change between iterations).
//   slices:   out[i] = SCALE * sum_s part[s*N + i] for i < N (split-K GEMM).
// Template: Entry, N, MODE, CHUNK, NP, IDX, SCALE, PARAMS, ACCUM, S. The
// bindings are declared in Go (ops/reduce.go, ops/gram.go) and rendered
// by the template.
{{template "tree_sum"}}
{{.Bindings}}{{if eq .Entry "partials"}}
const N = {{.N}}u;
const CHUNK = {{.CHUNK}}u;

@compute @workgroup_size(256)
fn partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let begin = g * CHUNK;
  let end = min(begin + CHUNK, N);
  var acc = 0.0;
  for (var i = begin + lid; i < end; i += WG) {
{{if eq .MODE 1}}    acc = fma(a[i], b[i], acc);
{{else if eq .MODE 2}}    acc = fma(a[i], a[i], acc);
{{else}}    acc += abs(a[i]);
{{end}}  }
  let total = tree_sum(lid, acc);
  if (lid == 0u && begin < N) { part[g] = total; }
}
{{else if eq .Entry "total"}}
const NP = {{.NP}}u;
const IDX = {{.IDX}}u;
{{if .PARAMS}}fn scale() -> f32 { return params.value; }
{{else}}fn scale() -> f32 { return {{f32 .SCALE}}; }
{{end}}
@compute @workgroup_size(256)
fn total(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < NP; i += WG) { acc += part[i]; }
  let total = tree_sum(lid, acc);
  if (lid == 0u) {
{{if .ACCUM}}    out[IDX] = out[IDX] + scale() * total;
{{else}}    out[IDX] = scale() * total;
{{end}}  }
}
{{else}}
const N = {{.N}}u;
const S = {{.S}}u;
const SCALE = {{f32 .SCALE}};

@compute @workgroup_size(256)
fn slices(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
  if (i >= N) { return; }
  var acc = 0.0;
  for (var s = 0u; s < S; s++) { acc += part[s * N + i]; }
  out[i] = SCALE * acc;
}
{{end}}
