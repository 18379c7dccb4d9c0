// gram.wgsl: Gram matrix G = F Fᵀ / M of a feature map F: (C, M), M = h*w.
//   partial: split-K. Slice s sums k in [s*KCHUNK, (s+1)*KCHUNK) into
//            part: (S, C, C); with S == 1 it writes G directly, scaled.
// No float atomics: reduce.wgsl's "slices" entry sums the S slices, scaled,
// into G (written with =).
// Template: C, K (= M), S, KCHUNK, SCALE (1/M), tile fields.
const GM = {{.C}}u;
const GN = {{.C}}u;
const KT = {{.K}}u;
const S = {{.S}}u;
const KCHUNK = {{.KCHUNK}}u;
const SCALE = {{f32 .SCALE}};
const TILES_N = {{cdiv .C .TN}}u;
const TILES_M = {{cdiv .C .TM}}u;

{{.Bindings}}
fn load_a(m: u32, k: u32) -> f32 { return f[m * KT + k]; }
fn load_b(k: u32, n: u32) -> f32 { return f[n * KT + k]; }

fn store_c(m: u32, n: u32, v: f32) {
  if (S == 1u) {
    out[m * GN + n] = v * SCALE;
  } else {
    out[slice * GM * GN + m * GN + n] = v;
  }
}
{{template "gemm_core" .}}
{{template "gemm_split_entry" .}}
