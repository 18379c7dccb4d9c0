// pool.wgsl: 2x2 stride-2 pooling, max or avg, odd sizes floored.
//   forward:          x: (C,H,W) -> y: (C,H/2,W/2)
//   forward, Route:   x: (C,H,W) -> y: (C,H/2,W/2), route: ceil(C*(H/2)*(W/2)/8) u32
//   backward:         dy: (C,H/2,W/2), route -> dx: (C,H,W), written with =.
// The route is 4 bits per output, 8 outputs per word (output o in bits
// 4*(o%8).. of word o/8): bit k is set when input k of the window (row-
// major) receives the output's gradient. Max sets the first maximum in
// scan order, as max() keeps it; avg sets all four, each getting 1/4.
// With RELU the bits also carry the ReLU mask of x (x > 0), x being the
// post-ReLU output of the conv below, whose backward then reads dx
// unmasked. So the backward reads neither x nor y, and neither has to be
// kept for it. Rows and columns dropped by flooring get zero gradient.
// Template: C, H, W, MAX (bool), RELU, Route, Backward, Entry.
const C = {{.C}}u;
const H = {{.H}}u;
const W = {{.W}}u;
const OH = {{div .H 2}}u;
const OW = {{div .W 2}}u;
const N = {{mul .C (mul (div .H 2) (div .W 2))}}u; // outputs
const WG = 256u;

{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
{{if not .Backward}}
// pool writes output o and returns its route nibble.
fn pool(o: u32) -> u32 {
  let c = o / (OH * OW);
  let r = o - c * OH * OW;
  let oy = r / OW;
  let ox = r - oy * OW;
  let base = c * H * W + (2u * oy) * W + 2u * ox;
  let v0 = a[base];
  let v1 = a[base + 1u];
  let v2 = a[base + W];
  let v3 = a[base + W + 1u];
{{if .MAX}}  var best = 0u;
  var bv = v0;
  if (v1 > bv) { best = 1u; bv = v1; }
  if (v2 > bv) { best = 2u; bv = v2; }
  if (v3 > bv) { best = 3u; bv = v3; }
  out[o] = bv;
{{if .RELU}}  return select(0u, 1u << best, bv > 0.0);
{{else}}  return 1u << best;
{{end}}{{else}}  out[o] = 0.25 * ((v0 + v1) + (v2 + v3));
{{if .RELU}}  return select(0u, 1u, v0 > 0.0) | select(0u, 2u, v1 > 0.0) | select(0u, 4u, v2 > 0.0) | select(0u, 8u, v3 > 0.0);
{{else}}  return 15u;
{{end}}{{end}}}
{{if not .Route}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= N) { return; }
  pool(i);
}
{{else}}
// One invocation per route word: its eight outputs.
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i * 8u >= N) { return; }
  var word = 0u;
  for (var k = 0u; k < 8u; k = k + 1u) {
    let o = i * 8u + k;
    if (o < N) { word = word | (pool(o) << (4u * k)); }
  }
  route[i] = word;
}
{{end}}{{else}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= C * H * W) { return; }
  let c = i / (H * W);
  let r = i - c * H * W;
  let y = r / W;
  let xx = r - y * W;
  let oy = y / 2u;
  let ox = xx / 2u;
  if (oy >= OH || ox >= OW) { out[i] = 0.0; return; }
  let o = c * OH * OW + oy * OW + ox;
  let mine = (y - 2u * oy) * 2u + (xx - 2u * ox);
  let bit = (route[o / 8u] >> (4u * (o % 8u) + mine)) & 1u;
{{if .MAX}}  out[i] = select(0.0, a[o], bit == 1u);
{{else}}  out[i] = select(0.0, 0.25 * a[o], bit == 1u);
{{end}}}
{{end}}
