// gemm_reg.wgsl: batched register-blocked GEMM, C[b] = A[b]·B[b] for
// b < BATCH, written with = (the 16 GEMMs of a Winograd convolution,
// winograd.wgsl):
//   A: (BATCH, GM, KC)  B: (BATCH, KC, GN)  C: (BATCH, GM, GN)
// as conv3x3_reg.wgsl: no workgroup memory; invocation (tx, ty) of a TX×TY
// workgroup owns RM rows and RN consecutive columns, in RM·RN accumulators
// with literal names; each k step loads RM values of A and RN of B for
// RM·RN FMAs, B's along a row (contiguous).
// The shapes are in the uniform gp (one compiled kernel serves every
// shape with its tile).
// Template: RM, RN, TX, TY; the Bindings.
{{.Bindings}}
@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let BATCH = gp.batch;
  let GM = gp.gm;
  let KC = gp.kc;
  let GN = gp.gn;
  let TILES_N = gp.tiles_n;
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let per = gp.tiles_m * TILES_N;
  let b = g / per;
  if (b >= BATCH) { return; }
  let r = g - b * per;
  let tm = r / TILES_N;
  let tn = r - tm * TILES_N;
  let mb = tm * {{mul .RM .TY}}u + lid.y * {{.RM}}u;
  let nb = tn * {{mul .RN .TX}}u + lid.x * {{.RN}}u;
  if (mb >= GM || nb >= GN) { return; }
{{range $i := seq .RM}}  let ar{{$i}} = (b * GM + min(mb + {{$i}}u, GM - 1u)) * KC;
{{end}}{{range $j := seq .RN}}  let n{{$j}} = b * KC * GN + min(nb + {{$j}}u, GN - 1u);
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}  var c{{$i}}_{{$j}} = 0.0;
{{end}}{{end}}  for (var k = 0u; k < KC; k++) {
    let kb = k * GN;
{{range $i := seq .RM}}    let a{{$i}} = am[ar{{$i}} + k];
{{end}}{{range $j := seq .RN}}    let b{{$j}} = bm[n{{$j}} + kb];
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}    c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}  }
{{range $i := seq .RM}}  if (mb + {{$i}}u < GM) {
    let row{{$i}} = (b * GM + mb + {{$i}}u) * GN;
{{range $j := seq $.RN}}    if (nb + {{$j}}u < GN) { cm[row{{$i}} + nb + {{$j}}u] = c{{$i}}_{{$j}}; }
{{end}}  }
{{end}}}
