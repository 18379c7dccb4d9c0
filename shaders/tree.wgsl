{{/* tree.wgsl defines tree_sum, the workgroup-wide sum that reduce, mse
and tv_loss share: each of the WG = 256 threads stores its value in red,
then a tree of barriers halves the live threads until red[0] holds the
total, which every thread gets back. It is not a shader by itself. */}}
{{define "tree_sum"}}
const WG = 256u;
var<workgroup> red: array<f32, 256>;

fn tree_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
  }
  workgroupBarrier();
  return red[0];
}
{{end}}
