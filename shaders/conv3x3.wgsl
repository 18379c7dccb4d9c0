// conv3x3.wgsl: 3x3 convolution, stride 1, padding 1, as an implicit GEMM.
//   forward:        y: (COUT,H,W) = act(conv(x, w) + b)      x: (CIN,H,W)
//   backward_input: dx: (CIN,H,W) = conv(dy * (y > 0), w')   (written with =)
// The weights arrive re-laid out as a GEMM operand A: (M, 9*KC) where
// k = (ky*3+kx)*KC + c, so that one K-tile mostly holds one spatial shift.
// For the forward pass A[co][k] = w[co][c][ky][kx]; for backward_input the
// Go side prepares A[ci][k] = w[co][ci][2-ky][2-kx] (k over co), once.
// Template: GM (output channels), KC (input channels of the GEMM), H, W,
// RELU (fuse ReLU into the forward epilogue), BIAS, MASK (multiply the
// B operand by mask > 0: the fused ReLU backward), ACCUM (+= instead of =).
const GM = {{.GM}}u;
const KC = {{.KC}}u;
const H = {{.H}}u;
const W = {{.W}}u;
const GN = {{mul .H .W}}u;
const GK = {{mul 9 .KC}}u;
const TILES_N = {{cdiv (mul .H .W) .TN}}u;
const TILES_M = {{cdiv .GM .TM}}u;

@group(0) @binding(0) var<storage, read> src: array<f32>;   // (KC,H,W)
@group(0) @binding(1) var<storage, read> wa: array<f32>;    // (GM, 9*KC)
{{if .MASK}}@group(0) @binding(2) var<storage, read> mask: array<f32>; // (KC,H,W)
@group(0) @binding(3) var<storage, read_write> dst: array<f32>; // (GM,H,W)
{{else if .BIAS}}@group(0) @binding(2) var<storage, read> bias: array<f32>; // (GM)
@group(0) @binding(3) var<storage, read_write> dst: array<f32>; // (GM,H,W)
{{else}}@group(0) @binding(2) var<storage, read_write> dst: array<f32>; // (GM,H,W)
{{end}}
fn load_a(m: u32, k: u32) -> f32 {
  return wa[m * GK + k];
}

fn load_b(k: u32, n: u32) -> f32 {
  let s = k / KC;
  let c = k - s * KC;
  let ky = s / 3u;
  let kx = s - ky * 3u;
  let y = n / W;
  let x = n - y * W;
  let iy = i32(y) + i32(ky) - 1;
  let ix = i32(x) + i32(kx) - 1;
  if (iy < 0 || ix < 0 || iy >= i32(H) || ix >= i32(W)) { return 0.0; }
  let idx = c * GN + u32(iy) * W + u32(ix);
{{if .MASK}}  return select(0.0, src[idx], mask[idx] > 0.0);
{{else}}  return src[idx];
{{end}}}

fn store_c(m: u32, n: u32, v: f32) {
  var r = v;
{{if .BIAS}}  r = r + bias[m];
{{end}}{{if .RELU}}  r = max(r, 0.0);
{{end}}{{if .ACCUM}}  dst[m * GN + n] = dst[m * GN + n] + r;
{{else}}  dst[m * GN + n] = r;
{{end}}}
{{template "gemm_core" .}}
@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = flat_group(wid, nwg);
  let tm = g / TILES_N;
  if (tm >= TILES_M) { return; }
  let tn = g - tm * TILES_N;
  gemm_tile(tm * {{.TM}}u, tn * {{.TN}}u, 0u, GK, lid);
}
