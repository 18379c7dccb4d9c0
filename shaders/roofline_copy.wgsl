// roofline_copy.wgsl: memory bandwidth, dst = src, a roofline microkernel
// of the bench (bench/roofline.go). Each invocation copies len(At) vec4,
// each strided by t, the number of invocations: coalesced on a GPU, and
// few enough invocations that a CPU's per-invocation cost does not
// dominate.
// Template: WG (workgroup size), Per (vec4 per invocation), At (the index
// expressions of those vec4: i, i + t, i + 2u * t, ...).
{{.Bindings}}
@compute @workgroup_size({{.WG}})
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = arrayLength(&src) / {{.Per}}u;
  let i = (wid.x + wid.y * nwg.x) * {{.WG}}u + lid;
  if (i >= t) {
    return;
  }
{{- range .At}}
  dst[{{.}}] = src[{{.}}];
{{- end}}
}
