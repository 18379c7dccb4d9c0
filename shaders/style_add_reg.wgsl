// style_add_reg.wgsl: adds the style loss's gradient at features F to a
// conv backward's result dx, register-blocked (no workgroup memory), for a
// Winograd backward that fuses the style term (ops.FusedGrads): after its
// output transform has written dx = conv + content term,
//   dx[m][n] = (dx[m][n] + sparams.grad · Σ_c (G − T)[m][c] · F[c][n]) ⊙ (omask > 0)
// with the output mask only with OMASK (then the transform left it out).
// Gatys et al.'s dL/dF = 4w/(C²M)·(G − A)·F, G − A being symmetric.
//   G, T: (C,C)  F, dx, omask: (C,N)
// Invocation (tx, ty) of a TX×TY workgroup owns RM rows and RN consecutive
// columns; each c step loads RM values of G and of T and RN of F.
// The shapes are in the uniform ap (one compiled kernel per tile).
// Template: RM, RN, TX, TY, OMASK; the Bindings.
{{.Bindings}}
@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn style_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let C = ap.c;
  let N = ap.n;
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let tm = g / ap.tiles_n;
  let tn = g - tm * ap.tiles_n;
  let mb = tm * {{mul .RM .TY}}u + lid.y * {{.RM}}u;
  let nb = tn * {{mul .RN .TX}}u + lid.x * {{.RN}}u;
  if (mb >= C || nb >= N) { return; }
  let s = sparams.grad;
{{range $i := seq .RM}}  let ar{{$i}} = min(mb + {{$i}}u, C - 1u) * C;
{{end}}{{range $j := seq .RN}}  let n{{$j}} = min(nb + {{$j}}u, N - 1u);
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}  var c{{$i}}_{{$j}} = 0.0;
{{end}}{{end}}  for (var c = 0u; c < C; c++) {
{{range $i := seq .RM}}    let a{{$i}} = s * (gram[ar{{$i}} + c] - sty[ar{{$i}} + c]);
{{end}}{{range $j := seq .RN}}    let b{{$j}} = feat[c * N + n{{$j}}];
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}    c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}  }
{{range $i := seq .RM}}  if (mb + {{$i}}u < C) {
    let row{{$i}} = (mb + {{$i}}u) * N;
{{range $j := seq $.RN}}    if (nb + {{$j}}u < N) {
      let i = row{{$i}} + nb + {{$j}}u;
{{if $.OMASK}}      dst[i] = select(0.0, dst[i] + c{{$i}}_{{$j}}, omask[i] > 0.0);
{{else}}      dst[i] = dst[i] + c{{$i}}_{{$j}};
{{end}}    }
{{end}}  }
{{end}}}
