// rect.wgsl: copies between a (C,HS,WS) tensor and a rectangle of a
// (C,HD,WD) one, for exact spatial tiling (plan/tiling.go): cutting a tile
// out of an image, keeping only the positions a tile owns, and putting
// what a tile computed back into the whole. The rectangle and the offset
// are in a uniform, so one pipeline serves every tile.
//   take: dst[c,y,x] = src[c, y+OY, x+OX] for (x,y) in [X0,X1)x[Y0,Y1), else 0
//         (one thread per dst element);
//   put:  dst[c, y+OY, x+OX] (= or += with ACCUM) src[c,y,x] for (x,y) in
//         [X0,X1)x[Y0,Y1) (one thread per src element).
// Template: Entry, C, HS, WS, HD, WD, ACCUM.
const HS = {{.HS}}u;
const WS = {{.WS}}u;
const HD = {{.HD}}u;
const WD = {{.WD}}u;
const WG = 256u;

{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
fn inside(x: u32, y: u32) -> bool {
  return x >= params.x0 && x < params.x1 && y >= params.y0 && y < params.y1;
}
{{if eq .Entry "take"}}
@compute @workgroup_size(256)
fn take(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= {{.C}}u * HD * WD) { return; }
  let x = i % WD;
  let y = (i / WD) % HD;
  let c = i / (WD * HD);
  var v = 0.0;
  if (inside(x, y)) { v = src[(c * HS + y + params.oy) * WS + x + params.ox]; }
  dst[i] = v;
}
{{else if eq .Entry "put"}}
@compute @workgroup_size(256)
fn put(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= {{.C}}u * HS * WS) { return; }
  let x = i % WS;
  let y = (i / WS) % HS;
  let c = i / (WS * HS);
  if (!inside(x, y)) { return; }
  let j = (c * HD + y + params.oy) * WD + x + params.ox;
{{if .ACCUM}}  dst[j] = dst[j] + src[i];
{{else}}  dst[j] = src[i];
{{end}}}
{{end}}
