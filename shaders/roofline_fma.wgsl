// roofline_fma.wgsl: peak fp32 FMA throughput, the bench's roofline
// microkernel (bench/roofline.go), as vkpeak and clpeak measure it. Each
// invocation runs long chains of independent vec4 fma on registers, with
// no memory traffic but one guarded store that the compiler cannot prove
// dead: len(Offsets)·Unroll·Iters vec4 FMAs (8 FLOP each).
// p holds m (p[0]) and c (p[1]), the chains' multiplier and addend, and
// p[2].x, a value the sum never equals.
// Template: WG (workgroup size), Iters (loop trips), Unroll (FMAs per
// chain per trip), Offsets (one per chain: its start's offset, a literal).
{{.Bindings}}
@compute @workgroup_size({{.WG}})
fn fma_peak(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * {{.WG}}u + lid;
  let m = p[0];
  let c = p[1];
  let s0 = vec4<f32>(f32(g & 1023u) * 0.0001, 0.1, 0.2, 0.3);
{{- range $a, $off := .Offsets}}
  var a{{$a}} = s0 + vec4<f32>({{$off}});
{{- end}}
  for (var i = 0u; i < {{.Iters}}u; i = i + 1u) {
{{- range seq .Unroll}}
   {{range $a, $_ := $.Offsets}} a{{$a}} = fma(a{{$a}}, m, c);{{end}}
{{- end}}
  }
  let r = {{range $a, $_ := .Offsets}}{{if $a}} + {{end}}a{{$a}}{{end}};
  if (r.x == p[2].x) { out[lid] = r; }
}
