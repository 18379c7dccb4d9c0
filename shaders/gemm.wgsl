{{/* gemm.wgsl defines the tiled, register-blocked GEMM core that conv3x3,
gram and style_loss share. It is not a shader by itself.

The including file must define:
  const GM: u32, GN: u32      the problem's M and N
  fn load_a(m: u32, k: u32) -> f32
  fn load_b(k: u32, n: u32) -> f32
  fn store_c(m: u32, n: u32, v: f32)
Template fields: TM, TN, TK (tile), TX, TY (threads), RM=TM/TY, RN=TN/TX,
AKFast, BKFast (whether k is the fast-moving index of A / B in memory, so
tile loads walk memory contiguously), ALoads, BLoads (per-thread load counts).
Thread (tx,ty) owns rows ty+i*TY and columns tx+j*TX of the tile, so that
reads from workgroup memory are consecutive across a warp. The accumulators
are scalars with literal names: naga adds no bounds checks to them. */}}
{{define "gemm_core"}}
const TM = {{.TM}}u;
const TN = {{.TN}}u;
const TK = {{.TK}}u;
const TX = {{.TX}}u;
const TY = {{.TY}}u;
const NT = {{mul .TX .TY}}u;
const SA = {{add .TM 4}}u; // row stride of As, padded against bank conflicts
const SB = {{add .TN 4}}u;
var<workgroup> As: array<f32, {{mul .TK (add .TM 4)}}>;
var<workgroup> Bs: array<f32, {{mul .TK (add .TN 4)}}>;

fn gemm_tile(m0: u32, n0: u32, k_begin: u32, k_end: u32, lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * TX + tx;
{{range $i := seq .RM}}{{range $j := seq $.RN}}  var c{{$i}}_{{$j}} = 0.0;
{{end}}{{end}}
  for (var k0 = k_begin; k0 < k_end; k0 += TK) {
{{range $r := seq .ALoads}}    {
      let e = t + {{$r}}u * NT;
{{if $.AKFast}}      let mm = e / TK; let kk = e % TK;{{else}}      let kk = e / TM; let mm = e % TM;{{end}}
      let m = m0 + mm; let k = k0 + kk;
      var v = 0.0;
      if (m < GM && k < k_end) { v = load_a(m, k); }
      As[kk * SA + mm] = v;
    }
{{end}}{{range $r := seq .BLoads}}    {
      let e = t + {{$r}}u * NT;
{{if $.BKFast}}      let nn = e / TK; let kk = e % TK;{{else}}      let kk = e / TN; let nn = e % TN;{{end}}
      let n = n0 + nn; let k = k0 + kk;
      var v = 0.0;
      if (n < GN && k < k_end) { v = load_b(k, n); }
      Bs[kk * SB + nn] = v;
    }
{{end}}    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
{{range $i := seq .RM}}      let a{{$i}} = As[kk * SA + ty + {{$i}}u * TY];
{{end}}{{range $j := seq .RN}}      let b{{$j}} = Bs[kk * SB + tx + {{$j}}u * TX];
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}      c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}    }
    workgroupBarrier();
  }
{{range $i := seq .RM}}{{range $j := seq $.RN}}  {
    let m = m0 + ty + {{$i}}u * TY; let n = n0 + tx + {{$j}}u * TX;
    if (m < GM && n < GN) { store_c(m, n, c{{$i}}_{{$j}}); }
  }
{{end}}{{end}}}

fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}
{{end}}

{{/* gemm_split_entry is the entry point of a split-K GEMM: the flat
workgroup index picks a slice s < S of K (KCHUNK values from s*KCHUNK, up
to KT) and a TM×TN tile; store_c reads the slice from the private slice.
The including file defines S, KCHUNK, KT, TILES_M, TILES_N and names the
entry point in the Entry template field. */}}
{{define "gemm_split_entry"}}
var<private> slice: u32;

@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn {{.Entry}}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = flat_group(wid, nwg);
  let per = TILES_M * TILES_N;
  let s = g / per;
  if (s >= S) { return; }
  slice = s;
  let r = g - s * per;
  let tm = r / TILES_N;
  let tn = r - tm * TILES_N;
  let kb = s * KCHUNK;
  gemm_tile(tm * {{.TM}}u, tn * {{.TN}}u, kb, min(kb + KCHUNK, KT), lid);
}
{{end}}
