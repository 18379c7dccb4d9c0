// roofline_read.wgsl: memory bandwidth, read and sum, a roofline
// microkernel of the bench (bench/roofline.go). Each invocation sums
// len(At) vec4 strided like roofline_copy.wgsl's, with a guarded store of
// the sum.
// Template: WG (workgroup size), Per (vec4 per invocation), At (the index
// expressions of those vec4: i, i + t, i + 2u * t, ...).
{{.Bindings}}
@compute @workgroup_size({{.WG}})
fn read_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = arrayLength(&src) / {{.Per}}u;
  let i = (wid.x + wid.y * nwg.x) * {{.WG}}u + lid;
  if (i >= t) {
    return;
  }
  let r = {{range $k, $at := .At}}{{if eq $k 4}}
        + {{else if $k}} + {{end}}src[{{$at}}]{{end}};
  if (r.x == -1.0e-30) {
    out[lid] = r;
  }
}
