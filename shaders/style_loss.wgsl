// style_loss.wgsl: the style loss's gradient with respect to the features.
// For L = w * mean((G-A)^2) with G = F Fᵀ / M (Gatys et al. 2016, with the
// seed's normalisation), dL/dG = 2w(G-A)/C² and, as G-A is symmetric,
//   backward: dF (C,M) (= or += with ACCUM) params.grad * (G - A) F,
// with params.grad = 4w/(C²·M) supplied by the host. The value comes from mse.wgsl.
// Template: C, K (= M), ACCUM, tile fields.
// The weight-dependent coefficients are in a uniform, so that a loss weight
// can change between iterations without a new pipeline.
const GM = {{.C}}u;
const GN = {{.K}}u;
const CC = {{.C}}u;
const TILES_N = {{cdiv .K .TN}}u;
const TILES_M = {{cdiv .C .TM}}u;

{{.Bindings}}
fn load_a(m: u32, k: u32) -> f32 { return params.grad * (gram[m * CC + k] - tgt[m * CC + k]); }
fn load_b(k: u32, n: u32) -> f32 { return f[k * GN + n]; }
fn store_c(m: u32, n: u32, v: f32) {
{{if .ACCUM}}  df[m * GN + n] = df[m * GN + n] + v;
{{else}}  df[m * GN + n] = v;
{{end}}}
{{template "gemm_core" .}}
@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = flat_group(wid, nwg);
  let tm = g / TILES_N;
  if (tm >= TILES_M) { return; }
  let tn = g - tm * TILES_N;
  gemm_tile(tm * {{.TM}}u, tn * {{.TN}}u, 0u, CC, lid);
}
