// pool.wgsl: 2x2 stride-2 pooling, max or avg, odd sizes floored.
//   forward:  x: (C,H,W) -> y: (C,H/2,W/2)
//   backward: dy: (C,H/2,W/2), x: (C,H,W) -> dx: (C,H,W), written with =.
// Max routes each gradient to the first maximum of its window in the
// forward's scan order (row-major), recomputed from x; avg spreads 1/4.
// Rows and columns dropped by flooring get zero gradient.
// With RELU the backward also multiplies dx by the ReLU mask of x (x > 0),
// x being the post-ReLU output of the conv below, so that the conv's
// backward reads dx unmasked.
// Template: C, H, W, MAX (bool), RELU, Entry.
const C = {{.C}}u;
const H = {{.H}}u;
const W = {{.W}}u;
const OH = {{div .H 2}}u;
const OW = {{div .W 2}}u;
const WG = 256u;

{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
{{if not .Backward}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= C * OH * OW) { return; }
  let c = i / (OH * OW);
  let r = i - c * OH * OW;
  let oy = r / OW;
  let ox = r - oy * OW;
  let base = c * H * W + (2u * oy) * W + 2u * ox;
  let v0 = a[base];
  let v1 = a[base + 1u];
  let v2 = a[base + W];
  let v3 = a[base + W + 1u];
{{if .MAX}}  out[i] = max(max(v0, v1), max(v2, v3));
{{else}}  out[i] = 0.25 * ((v0 + v1) + (v2 + v3));
{{end}}}
{{else}}
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
  let g = a[c * OH * OW + oy * OW + ox];
{{if .MAX}}  let base = c * H * W + (2u * oy) * W + 2u * ox;
  // First maximum in scan order, as the forward's max() keeps it.
  var best = 0u;
  var bv = x[base];
  let v1 = x[base + 1u];
  if (v1 > bv) { best = 1u; bv = v1; }
  let v2 = x[base + W];
  if (v2 > bv) { best = 2u; bv = v2; }
  let v3 = x[base + W + 1u];
  if (v3 > bv) { best = 3u; bv = v3; }
  let mine = (y - 2u * oy) * 2u + (xx - 2u * ox);
{{if .RELU}}  // Times the ReLU mask of the layer below: the winner's value is x[i].
  out[i] = select(0.0, g, mine == best && bv > 0.0);
{{else}}  out[i] = select(0.0, g, mine == best);
{{end}}{{else if .RELU}}  out[i] = select(0.0, 0.25 * g, x[i] > 0.0);
{{else}}  out[i] = 0.25 * g;
{{end}}}
{{end}}
