// conv3x3_reg.wgsl: the register-blocked direct 3x3 convolution (stride 1,
// padding 1), conv3x3.wgsl's forward and backward_input for a plan's
// register tiles (ops.Tile.Reg), for adapters where workgroup memory costs
// as much as a global load (a CPU adapter such as lavapipe runs a
// workgroup's invocations as SIMD lanes and loops over them for every
// load; the GEMM ladder in the design notes). No workgroup memory, no
// barriers:
//   forward:        y: (GM,H,W) = act(conv(x, w) + b)        x: (KC,H,W)
//   backward_input: dx: (GM,H,W) (= or += with ACCUM) conv(dy * (y > 0), w')
// as the implicit GEMM C[m][n] = Σ_k A[m][k]·B[k][n], A the weights in
// the layout of conv3x3.wgsl, (GM, 9·KC) with k = s·KC + c, s = 3·ky + kx.
// Invocation (tx, ty) of a TX×TY workgroup owns the RM rows mb+i and the RN
// consecutive outputs nb+j of its tile, in RM·RN accumulators with literal
// names (naga adds no bounds checks to them). For one shift s each output's
// im2col offset and validity are computed once, and the c loop only adds
// c·GN: each c step loads RM weights and RN inputs for RM·RN FMAs. A split-K
// slice covers k in [kb, ke), any range; conv3x3.wgsl's combine pass adds
// the slices. With STYLE, K continues past GK = 9·KC with the fused style
// gradient's GM values: A = sparams.grad·(G − T), B = F (see
// conv3x3.wgsl); with CONTENT the epilogue adds cparams.grad·(F − P), and
// with OMASK multiplies by the ReLU mask of the layer below.
// The shapes come from the uniform cp, not the text, so that one pipeline
// serves every layer and image size with the same tile and flags.
// Template: Entry, RM, RN, TX, TY, MASK, BIAS, RELU, ACCUM, CONTENT, STYLE,
// OMASK, SPLIT (the slices write raw partial sums), and the Bindings.
{{.Bindings}}
{{if not .SPLIT}}{{template "conv_finish" .}}{{end}}
var<private> slice: u32;

@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let GM = cp.gm;
  let KC = cp.kc;
  let H = i32(cp.h);
  let W = cp.w;
  let GN = cp.gn;
  let GK = cp.gk;
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let per = cp.tiles_m * cp.tiles_n;
  let sl = g / per;
  if (sl >= cp.s) { return; }
  slice = sl;
  let r = g - sl * per;
  let tm = r / cp.tiles_n;
  let tn = r - tm * cp.tiles_n;
  let mb = tm * {{mul .RM .TY}}u + lid.y * {{.RM}}u;
  let nb = tn * {{mul .RN .TX}}u + lid.x * {{.RN}}u;
  if (mb >= GM || nb >= GN) { return; }
  let kb = sl * cp.kchunk;
  let ke = min(kb + cp.kchunk, cp.kt);
{{range $i := seq .RM}}  let ar{{$i}} = min(mb + {{$i}}u, GM - 1u) * GK;
{{end}}{{range $j := seq .RN}}  let n{{$j}} = min(nb + {{$j}}u, GN - 1u);
  let y{{$j}} = i32(n{{$j}} / W);
  let x{{$j}} = i32(n{{$j}} % W);
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}  var c{{$i}}_{{$j}} = 0.0;
{{end}}{{end}}  var k = kb;
  let kconv = min(ke, GK);
  loop {
    if (k >= kconv) { break; }
    let s = k / KC;
    let c0 = k - s * KC;
    let c1 = min(KC, c0 + (kconv - k));
    let dy = i32(s / 3u) - 1;
    let dx = i32(s % 3u) - 1;
{{range $j := seq .RN}}    let iy{{$j}} = y{{$j}} + dy;
    let ix{{$j}} = x{{$j}} + dx;
    let v{{$j}} = iy{{$j}} >= 0 && iy{{$j}} < H && ix{{$j}} >= 0 && ix{{$j}} < i32(W);
    let o{{$j}} = u32(select(0, iy{{$j}} * i32(W) + ix{{$j}}, v{{$j}}));
{{end}}    for (var c = c0; c < c1; c++) {
      let cb = c * GN;
      let ka = s * KC + c;
{{range $i := seq .RM}}      let a{{$i}} = wa[ar{{$i}} + ka];
{{end}}{{range $j := seq .RN}}{{if $.MASK}}      let b{{$j}} = select(0.0, src[cb + o{{$j}}], v{{$j}} && mask[cb + o{{$j}}] > 0.0);
{{else}}      let b{{$j}} = select(0.0, src[cb + o{{$j}}], v{{$j}});
{{end}}{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}      c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}    }
    k += c1 - c0;
  }
{{if .STYLE}}{{range $i := seq .RM}}  let gr{{$i}} = min(mb + {{$i}}u, GM - 1u) * GM;
{{end}}  for (var kk = max(kb, GK); kk < ke; kk++) {
    let c = kk - GK;
{{range $i := seq .RM}}    let a{{$i}} = sparams.grad * (gram[gr{{$i}} + c] - sty[gr{{$i}} + c]);
{{end}}{{range $j := seq .RN}}    let b{{$j}} = feat[c * GN + n{{$j}}];
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}    c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}  }
{{end}}{{range $i := seq .RM}}  if (mb + {{$i}}u < GM) {
    let row{{$i}} = (mb + {{$i}}u) * GN;
{{if $.SPLIT}}    let at{{$i}} = slice * GM * GN + row{{$i}};
{{else if $.BIAS}}    let bias{{$i}} = bias[mb + {{$i}}u];
{{end}}{{range $j := seq $.RN}}    if (nb + {{$j}}u < GN) {
{{if $.SPLIT}}      dst[at{{$i}} + nb + {{$j}}u] = c{{$i}}_{{$j}};
{{else}}      finish(row{{$i}} + nb + {{$j}}u, c{{$i}}_{{$j}}{{if $.BIAS}} + bias{{$i}}{{end}});
{{end}}    }
{{end}}  }
{{end}}}
