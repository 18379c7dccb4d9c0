// gram_reg.wgsl: the Gram matrix G = F Fᵀ / M of a feature map F: (C, M),
// M = h*w, register-blocked for a plan's register tiles (ops.Tile.Reg):
// no workgroup memory, as conv3x3_reg.wgsl. G is symmetric, so only the
// tiles on and above the diagonal are computed, and each value is stored
// at (m, n) and mirrored to (n, m): half the FLOPs of the full product.
//   partial: split-K. Slice s sums k in [s*KCHUNK, (s+1)*KCHUNK) into
//            part: (S, C, C); with S == 1 it writes G directly, scaled.
// reduce.wgsl's "slices" entry sums the S slices, scaled, into G.
// Invocation (tx, ty) of a TX×TY workgroup owns RM rows and RN columns of
// its tile; each k step loads RM + RN values of F for RM·RN FMAs.
// Template: C, K (= M), S, KCHUNK, SCALE (1/M), TM (= TN), RM, RN, TX, TY.
const C = {{.C}}u;
const KT = {{.K}}u;
const S = {{.S}}u;
const KCHUNK = {{.KCHUNK}}u;
const SCALE = {{f32 .SCALE}};
const TILES = {{cdiv .C .TM}}u;
const PAIRS = {{.Pairs}}u; // TILES·(TILES+1)/2, the tiles on and above the diagonal

{{.Bindings}}
@compute @workgroup_size({{.TX}}, {{.TY}}, 1)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let sl = g / PAIRS;
  if (sl >= S) { return; }
  // The r-th tile of the upper triangle, row by row.
  var r = g - sl * PAIRS;
  var tm = 0u;
  var len = TILES;
  loop {
    if (r < len) { break; }
    r -= len;
    tm += 1u;
    len -= 1u;
  }
  let tn = tm + r;
  let mb = tm * {{.TM}}u + lid.y * {{.RM}}u;
  let nb = tn * {{.TM}}u + lid.x * {{.RN}}u;
  if (mb >= C || nb >= C) { return; }
  let kb = sl * KCHUNK;
  let ke = min(kb + KCHUNK, KT);
{{range $i := seq .RM}}  let ar{{$i}} = min(mb + {{$i}}u, C - 1u) * KT;
{{end}}{{range $j := seq .RN}}  let br{{$j}} = min(nb + {{$j}}u, C - 1u) * KT;
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}  var c{{$i}}_{{$j}} = 0.0;
{{end}}{{end}}  for (var k = kb; k < ke; k++) {
{{range $i := seq .RM}}    let a{{$i}} = f[ar{{$i}} + k];
{{end}}{{range $j := seq .RN}}    let b{{$j}} = f[br{{$j}} + k];
{{end}}{{range $i := seq .RM}}{{range $j := seq $.RN}}    c{{$i}}_{{$j}} = fma(a{{$i}}, b{{$j}}, c{{$i}}_{{$j}});
{{end}}{{end}}  }
  let base = {{if gt .S 1}}sl * C * C{{else}}0u{{end}};
  let scale = {{if gt .S 1}}1.0{{else}}SCALE{{end}};
{{range $i := seq .RM}}{{range $j := seq $.RN}}  if (mb + {{$i}}u < C && nb + {{$j}}u < C) {
    let v = c{{$i}}_{{$j}} * scale;
    out[base + (mb + {{$i}}u) * C + nb + {{$j}}u] = v;
    out[base + (nb + {{$j}}u) * C + mb + {{$i}}u] = v;
  }
{{end}}{{end}}}
