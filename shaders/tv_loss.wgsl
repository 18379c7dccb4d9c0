// tv_loss.wgsl: total variation of an image x: (C,H,W),
//   L = w * ( sum (x[c,i+1,j]-x[c,i,j])² / NY + sum (x[c,i,j+1]-x[c,i,j])² / NX )
// with NY = C(H-1)W and NX = CH(W-1) (a term is absent when its count is 0).
//   forward_backward: part[g] = sum over chunk g of each element's forward
//   differences, normalised; grad[i] (= or += with ACCUM) dL/dx[i].
// The weight w is params.grad (and params.value, which reduce.wgsl's "total"
// reads to turn part into the loss).
// Template: C, H, W, CHUNK, INY, INX, ACCUM.
// The weight-dependent coefficients are in a uniform, so that a loss weight
// can change between iterations without a new pipeline.
const C = {{.C}}u;
const H = {{.H}}u;
const W = {{.W}}u;
const N = {{mul .C (mul .H .W)}}u;
const CHUNK = {{.CHUNK}}u;
const INY = {{f32 .INY}};
const INX = {{f32 .INX}};
{{template "tree_sum"}}
{{.Bindings}}
@compute @workgroup_size(256)
fn forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let begin = g * CHUNK;
  let end = min(begin + CHUNK, N);
  var acc = 0.0;
  let wt = params.grad;
  for (var i = begin + lid; i < end; i += WG) {
    let r = i % (H * W);
    let y = r / W;
    let xx = r - y * W;
    let v = x[i];
    var gr = 0.0;
    if (y + 1u < H) { let d = x[i + W] - v; acc = fma(d * d, INY, acc); gr -= 2.0 * INY * d; }
    if (y > 0u) { let d = v - x[i - W]; gr += 2.0 * INY * d; }
    if (xx + 1u < W) { let d = x[i + 1u] - v; acc = fma(d * d, INX, acc); gr -= 2.0 * INX * d; }
    if (xx > 0u) { let d = v - x[i - 1u]; gr += 2.0 * INX * d; }
{{if .ACCUM}}    grad[i] = grad[i] + wt * gr;
{{else}}    grad[i] = wt * gr;
{{end}}  }
  let total = tree_sum(lid, acc);
  if (lid == 0u && begin < N) { part[g] = total; }
}
