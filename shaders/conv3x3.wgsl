// conv3x3.wgsl: 3x3 convolution, stride 1, padding 1, as an implicit GEMM.
//   forward:        y: (COUT,H,W) = act(conv(x, w) + b)      x: (CIN,H,W)
//   backward_input: dx: (CIN,H,W) = conv(dy * (y > 0), w')   (written with =)
//   combine:        the second pass of a split-K conv: sums the S slices
//                   of part: (S,GM,H,W) in a fixed order (no float atomics)
//                   and applies the epilogue (bias, ReLU, += with ACCUM).
// The weights arrive re-laid out as a GEMM operand A: (M, 9*KC) where
// k = (ky*3+kx)*KC + c, so that one K-tile mostly holds one spatial shift.
// For the forward pass A[co][k] = w[co][c][ky][kx]; for backward_input the
// Go side prepares A[ci][k] = w[co][ci][2-ky][2-kx] (k over co), once.
// Template: GM (output channels), KC (input channels of the GEMM), H, W,
// RELU (fuse ReLU into the forward epilogue), BIAS, MASK (multiply the
// B operand by mask > 0: the fused ReLU backward), ACCUM (+= instead of =),
// S (split-K slices; with S > 1 forward/backward_input write raw partial
// sums to part and combine applies the epilogue), KCHUNK (K per slice).
// Fused loss gradients (backward_input), when dx is the gradient of a
// tapped activation F: (CIN,H,W) = (GM,GN):
//   OMASK:   the result is multiplied by omask > 0, the ReLU mask of the
//            layer below, so that its backward reads it unmasked (with
//            S > 1 the combine pass does);
//   CONTENT: the epilogue adds cparams.grad * (F - P), P the content target
//            (with S > 1 the combine pass does, reading F, P and cparams);
//   STYLE:   K grows by GM: A[m][GK+c] = sparams.grad * (G - T)[m][c] and
//            B[GK+c][n] = F[c][n], so the GEMM itself adds
//            sparams.grad * (G - T) F (G - T is symmetric).
// The bindings are declared in Go (ops.convSlots) and rendered into
// the Bindings template field: src, wa, [bias], [mask], [feat], [gram, sty], [ptgt],
// dst, [cparams], [sparams]; combine binds part, [bias | feat, ptgt], dst,
// [cparams].
const GM = {{.GM}}u;
const S = {{.S}}u;
const KC = {{.KC}}u;
const H = {{.H}}u;
const W = {{.W}}u;
const GN = {{mul .H .W}}u;
const GK = {{mul 9 .KC}}u;
{{if .STYLE}}const KT = {{add (mul 9 .KC) .GM}}u; // the conv's K, then the style term's GM
{{else}}const KT = GK;
{{end}}const TILES_N = {{cdiv (mul .H .W) .TN}}u;
const KCHUNK = {{.KCHUNK}}u;
const TILES_M = {{cdiv .GM .TM}}u;

{{.Bindings}}
{{if or (eq .Entry "combine") (le .S 1)}}{{template "conv_finish" .}}{{end}}
{{if eq .Entry "combine"}}
@compute @workgroup_size(256)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 256u + lid;
  if (i >= GM * GN) { return; }
  var r = 0.0;
  for (var s = 0u; s < S; s++) { r += part[s * GM * GN + i]; }
  finish(i, r{{if .BIAS}} + bias[i / GN]{{end}});
}
{{else}}
fn load_a(m: u32, k: u32) -> f32 {
{{if .STYLE}}  if (k >= GK) {
    let j = m * GM + (k - GK);
    return sparams.grad * (gram[j] - sty[j]);
  }
{{end}}  return wa[m * GK + k];
}

fn load_b(k: u32, n: u32) -> f32 {
{{if .STYLE}}  if (k >= GK) { return feat[(k - GK) * GN + n]; }
{{end}}  let s = k / KC;
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
{{if gt .S 1}}  dst[slice * GM * GN + m * GN + n] = v;
{{else}}  finish(m * GN + n, v{{if .BIAS}} + bias[m]{{end}});
{{end}}}
{{template "gemm_core" .}}
{{template "gemm_split_entry" .}}
{{end}}
