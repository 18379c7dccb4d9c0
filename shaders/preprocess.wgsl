// preprocess.wgsl: image x: (3,H,W) RGB in [0,1] to the network's input
// y: (3,H,W), per output channel c:  y[c] = x[SRC_c] * MUL_c + ADD_c.
//   Caffe: BGR order (SRC = 2,1,0), MUL = 255, ADD = -mean(BGR).
//   torch: RGB order, MUL = 1/std, ADD = -mean/std.
//   forward:  x -> y
//   backward: dy -> dx, dx[SRC_c] = MUL_c * dy[c] (written with =).
// Template: Entry, HW, SRC0..2, MUL0..2, ADD0..2.
const HW = {{.HW}}u;
const WG = 256u;
{{.Bindings}}
@compute @workgroup_size(256)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
  if (p >= HW) { return; }
{{if eq .Entry "forward"}}  out[p] = a[{{.SRC0}}u * HW + p] * {{f32 .MUL0}} + {{f32 .ADD0}};
  out[HW + p] = a[{{.SRC1}}u * HW + p] * {{f32 .MUL1}} + {{f32 .ADD1}};
  out[2u * HW + p] = a[{{.SRC2}}u * HW + p] * {{f32 .MUL2}} + {{f32 .ADD2}};
{{else}}  out[{{.SRC0}}u * HW + p] = a[p] * {{f32 .MUL0}};
  out[{{.SRC1}}u * HW + p] = a[HW + p] * {{f32 .MUL1}};
  out[{{.SRC2}}u * HW + p] = a[2u * HW + p] * {{f32 .MUL2}};
{{end}}}
