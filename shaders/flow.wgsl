// flow.wgsl: Horn & Schunck's optical flow, coarse to fine with warping
// (internal/twin/flow.go states it in float64; ops/flow.go records it).
// Planes are (H,W) row-major; one thread per output pixel.
//   down:    dst (HD,WD) = src (H,W) blurred by [1 3 3 1]/8 each way, halved
//   upflow:  du, dv (H,W) = su, sv (HS,WS) sampled bilinearly, scaled by W/WS, H/HS
//   warp:    i1w = i1 at (x+u0, y+v0), bilinearly; valid = 1 inside, else 0
//   deriv:   g = (Ix, Iy, It): the mean of i0's and i1w's central
//            differences, and i1w - i0; all 0 where not valid
//            (one (3,H,W) binding, so that jacobi binds 7 buffers, within
//            WebGPU's baseline 8 per stage)
//   jacobi:  nu, nv = one Jacobi iteration of the linearised equations
//   check:   occ, bnd = Ruder et al.'s forward-backward consistency masks
//   gray:    g (H,W) = the luminance of rgb (3,H,W), as twin.Gray
//   hold:    where weights is 0 and occ, bnd are below 1/2: weights = 1 and
//            held (3,H,W) = prev (3,H,W) at (x+u, y+v), bilinearly
//            (twin.Warp, then twin.Hold)
// Template: Entry, H, W, HS, WS, HD, WD, A2 (alpha squared).
const H = {{.H}}u;
const W = {{.W}}u;
const WG = 256u;

{{.Bindings}}
fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
}
// at is plane p's value at (x,y), the border replicated.
fn clampi(v: i32, n: u32) -> u32 { return u32(clamp(v, 0, i32(n) - 1)); }
// bilinear samples a plane of (h,w) at (x,y), clamped to the image.
{{define "flow_sample"}}
fn sample_{{.}}(x_in: f32, y_in: f32, h: u32, w: u32) -> f32 {
  let x = clamp(x_in, 0.0, f32(w - 1u));
  let y = clamp(y_in, 0.0, f32(h - 1u));
  let x0 = u32(floor(x));
  let y0 = u32(floor(y));
  let x1 = min(x0 + 1u, w - 1u);
  let y1 = min(y0 + 1u, h - 1u);
  let fx = x - f32(x0);
  let fy = y - f32(y0);
  let top = {{.}}[y0 * w + x0] * (1.0 - fx) + {{.}}[y0 * w + x1] * fx;
  let bot = {{.}}[y1 * w + x0] * (1.0 - fx) + {{.}}[y1 * w + x1] * fx;
  return top * (1.0 - fy) + bot * fy;
}
{{end}}
fn inside(x: f32, y: f32, h: u32, w: u32) -> bool {
  return x >= 0.0 && y >= 0.0 && x <= f32(w - 1u) && y <= f32(h - 1u);
}
{{if eq .Entry "down"}}
const WD = {{.WD}}u;
const HD = {{.HD}}u;
@compute @workgroup_size(256)
fn down(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= HD * WD) { return; }
  let x = i32(i % WD);
  let y = i32(i / WD);
  var k = array<f32, 4>(1.0, 3.0, 3.0, 1.0);
  var s = 0.0;
  for (var j = 0; j < 4; j++) {
    let row = clampi(2 * y - 1 + j, H) * W;
    for (var q = 0; q < 4; q++) {
      s += k[j] * k[q] * src[row + clampi(2 * x - 1 + q, W)];
    }
  }
  dst[i] = s / 64.0;
}
{{else if eq .Entry "upflow"}}
const HS = {{.HS}}u;
const WS = {{.WS}}u;
{{template "flow_sample" "su"}}{{template "flow_sample" "sv"}}
@compute @workgroup_size(256)
fn upflow(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  let rx = f32(W) / f32(WS);
  let ry = f32(H) / f32(HS);
  let fx = (f32(i % W) + 0.5) / rx - 0.5;
  let fy = (f32(i / W) + 0.5) / ry - 0.5;
  du[i] = sample_su(fx, fy, HS, WS) * rx;
  dv[i] = sample_sv(fx, fy, HS, WS) * ry;
}
{{else if eq .Entry "warp"}}
{{template "flow_sample" "i1"}}
@compute @workgroup_size(256)
fn warp(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  let x = f32(i % W) + u0[i];
  let y = f32(i / W) + v0[i];
  i1w[i] = sample_i1(x, y, H, W);
  valid[i] = select(0.0, 1.0, inside(x, y, H, W));
}
{{else if eq .Entry "deriv"}}
fn cdiff_x(p: u32, x: u32, y: u32) -> f32 {
  let xa = select(x - 1u, 0u, x == 0u);
  let xb = min(x + 1u, W - 1u);
  if (p == 0u) { return (i0[y * W + xb] - i0[y * W + xa]) / f32(xb - xa); }
  return (i1w[y * W + xb] - i1w[y * W + xa]) / f32(xb - xa);
}
fn cdiff_y(p: u32, x: u32, y: u32) -> f32 {
  let ya = select(y - 1u, 0u, y == 0u);
  let yb = min(y + 1u, H - 1u);
  if (p == 0u) { return (i0[yb * W + x] - i0[ya * W + x]) / f32(yb - ya); }
  return (i1w[yb * W + x] - i1w[ya * W + x]) / f32(yb - ya);
}
@compute @workgroup_size(256)
fn deriv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  let x = i % W;
  let y = i / W;
  let ok = valid[i] > 0.5;
  g[i] = select(0.0, (cdiff_x(0u, x, y) + cdiff_x(1u, x, y)) / 2.0, ok);
  g[H * W + i] = select(0.0, (cdiff_y(0u, x, y) + cdiff_y(1u, x, y)) / 2.0, ok);
  g[2u * H * W + i] = select(0.0, i1w[i] - i0[i], ok);
}
{{else if eq .Entry "jacobi"}}
const A2 = {{f32 .A2}};
fn mean4_u(x: u32, y: u32) -> f32 {
  let xa = select(x - 1u, 0u, x == 0u);
  let ya = select(y - 1u, 0u, y == 0u);
  return (u[y * W + xa] + u[y * W + min(x + 1u, W - 1u)] + u[ya * W + x] + u[min(y + 1u, H - 1u) * W + x]) / 4.0;
}
fn mean4_v(x: u32, y: u32) -> f32 {
  let xa = select(x - 1u, 0u, x == 0u);
  let ya = select(y - 1u, 0u, y == 0u);
  return (v[y * W + xa] + v[y * W + min(x + 1u, W - 1u)] + v[ya * W + x] + v[min(y + 1u, H - 1u) * W + x]) / 4.0;
}
@compute @workgroup_size(256)
fn jacobi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  let x = i % W;
  let y = i / W;
  let ub = mean4_u(x, y);
  let vb = mean4_v(x, y);
  let gx = g[i];
  let gy = g[H * W + i];
  let r = (gx * (ub - u0[i]) + gy * (vb - v0[i]) + g[2u * H * W + i]) / (A2 + gx * gx + gy * gy);
  nu[i] = ub - gx * r;
  nv[i] = vb - gy * r;
}
{{else if eq .Entry "check"}}
{{template "flow_sample" "ub"}}{{template "flow_sample" "vb"}}
fn grad2(x: u32, y: u32) -> f32 {
  let xa = select(x - 1u, 0u, x == 0u);
  let xb = min(x + 1u, W - 1u);
  let ya = select(y - 1u, 0u, y == 0u);
  let yb = min(y + 1u, H - 1u);
  let ux = (u[y * W + xb] - u[y * W + xa]) / f32(xb - xa);
  let uy = (u[yb * W + x] - u[ya * W + x]) / f32(yb - ya);
  let vx = (v[y * W + xb] - v[y * W + xa]) / f32(xb - xa);
  let vy = (v[yb * W + x] - v[ya * W + x]) / f32(yb - ya);
  return ux * ux + uy * uy + vx * vx + vy * vy;
}
@compute @workgroup_size(256)
fn check(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  let x = i % W;
  let y = i / W;
  let tx = f32(x) + u[i];
  let ty = f32(y) + v[i];
  let bu = sample_ub(tx, ty, H, W);
  let bv = sample_vb(tx, ty, H, W);
  let su = u[i] + bu;
  let sv = v[i] + bv;
  let w2 = u[i] * u[i] + v[i] * v[i];
  let out = !inside(tx, ty, H, W) || su * su + sv * sv > 0.01 * (w2 + bu * bu + bv * bv) + 0.5;
  occ[i] = select(0.0, 1.0, out);
  bnd[i] = select(0.0, 1.0, grad2(x, y) > 0.01 * w2 + 0.002);
}
{{else if eq .Entry "gray"}}
@compute @workgroup_size(256)
fn gray(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W) { return; }
  g[i] = 0.299 * rgb[i] + 0.587 * rgb[H * W + i] + 0.114 * rgb[2u * H * W + i];
}
{{else if eq .Entry "hold"}}
// prev's channel c at (x,y), bilinearly, clamped to the image.
fn sample_prev(c: u32, x_in: f32, y_in: f32) -> f32 {
  let x = clamp(x_in, 0.0, f32(W - 1u));
  let y = clamp(y_in, 0.0, f32(H - 1u));
  let x0 = u32(floor(x));
  let y0 = u32(floor(y));
  let x1 = min(x0 + 1u, W - 1u);
  let y1 = min(y0 + 1u, H - 1u);
  let fx = x - f32(x0);
  let fy = y - f32(y0);
  let b = c * H * W;
  let top = prev[b + y0 * W + x0] * (1.0 - fx) + prev[b + y0 * W + x1] * fx;
  let bot = prev[b + y1 * W + x0] * (1.0 - fx) + prev[b + y1 * W + x1] * fx;
  return top * (1.0 - fy) + bot * fy;
}
@compute @workgroup_size(256)
fn hold(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_id(wid, nwg, lid);
  if (i >= H * W || weights[i] != 0.0 || occ[i] >= 0.5 || bnd[i] >= 0.5) { return; }
  weights[i] = 1.0;
  let x = f32(i % W) + u[i];
  let y = f32(i / W) + v[i];
  for (var c = 0u; c < 3u; c++) {
    held[c * H * W + i] = sample_prev(c, x, y);
  }
}
{{end}}
