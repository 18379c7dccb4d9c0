// winograd.wgsl: the transforms of Winograd's minimal filtering F(m×m,3×3)
// (Lavin & Gray 2015) for a 3x3 convolution, stride 1, padding 1, with
// m = 2 (16 points) or 4 (36 points):
//   Y = Aᵀ [ U ⊙ V ] A,  U = G g Gᵀ (the weights, transformed once on the
//   host: ops.WinogradLayouts),  V = Bᵀ d B,
// over m×m output tiles t = ty·TW + tx, whose n×n input patch d (n = m+2)
// starts at row m·ty−1, column m·tx−1 (zeros outside the image). The n²
// elementwise products of a tile, summed over the input channels, are n²
// GEMMs M[p] = U[p]·V[p] (gemm_reg.wgsl), between these two passes:
//   input:  V[p][c][t] = (Bᵀ d B)[p] for channel c's patch of tile t, with
//           d = src (times mask > 0 with MASK: the ReLU mask of a backward's
//           dy);  V: (n², KC, T)
//   output: Y = Aᵀ M[·][m][t] A, the m×m outputs of tile t in channel m,
//           with the conv's epilogue: + bias, ReLU (forward); + the content
//           loss's gradient cparams.grad·(F − P), times omask > 0, += with
//           ACCUM (backward_input), as conv3x3.wgsl's.  M: (n², GM, T)
// The transforms' statements (Code) are generated from the matrices in Go
// (ops/winograd_transforms.go), the patch loads (Load) too. The shapes are
// in the uniform wp: the image's H and W, TW = ⌈W/m⌉ tiles a row, T tiles
// in all, and C channels (the input transform's KC, the output's GM), so
// that one compiled kernel serves every shape.
// Template: Entry, M, Load, Code, MASK, BIAS, RELU, CONTENT, OMASK, ACCUM;
// the Bindings.
const WG = 256u;
{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
{{if eq .Entry "input"}}
fn at(c: u32, y: i32, x: i32) -> f32 {
  let H = wp.h;
  let W = wp.w;
  if (y < 0 || x < 0 || y >= i32(H) || x >= i32(W)) { return 0.0; }
  let i = c * H * W + u32(y) * W + u32(x);
{{if .MASK}}  return select(0.0, src[i], mask[i] > 0.0);
{{else}}  return src[i];
{{end}}}

@compute @workgroup_size(256)
fn input(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let KC = wp.c;
  let T = wp.t;
  let TW = wp.tw;
  let i = flat_id(wid, nwg, lid);
  if (i >= KC * T) { return; }
  let c = i / T;
  let t = i - c * T;
  let ty = t / TW;
  let y0 = i32({{.M}}u * ty) - 1;
  let x0 = i32({{.M}}u * (t - ty * TW)) - 1;
  let o = c * T + t;
{{.Load}}{{.Code}}}
{{else}}
{{template "conv_finish" .}}
fn put(m: u32, y: u32, x: u32, v: f32) {
  let H = wp.h;
  let W = wp.w;
  if (y >= H || x >= W) { return; }
  finish(m * H * W + y * W + x, v{{if .BIAS}} + bias[m]{{end}});
}

@compute @workgroup_size(256)
fn output(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let GM = wp.c;
  let T = wp.t;
  let TW = wp.tw;
  let i = flat_id(wid, nwg, lid);
  if (i >= GM * T) { return; }
  let m = i / T;
  let t = i - m * T;
  let ty = t / TW;
  let tx = t - ty * TW;
{{.Load}}{{.Code}}}
{{end}}