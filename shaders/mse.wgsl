// mse.wgsl: squared-error sums and their gradient, for the content loss
// (features F against target P) and the style loss value (G against A).
//   forward_backward: part[g] = sum over chunk g of (a-b)^2;
//                     with GRAD also grad[i] (= or += with ACCUM) params.grad*(a[i]-b[i]).
// reduce.wgsl's "total" turns part into the loss value.
// Template: N, CHUNK, GRAD, ACCUM.
// The weight-dependent coefficients are in a uniform, so that a loss weight
// can change between iterations without a new pipeline.
const N = {{.N}}u;
const CHUNK = {{.CHUNK}}u;
{{template "tree_sum"}}
{{.Bindings}}
@compute @workgroup_size(256)
fn forward_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  let begin = g * CHUNK;
  let end = min(begin + CHUNK, N);
  var acc = 0.0;
{{if .GRAD}}  let coef = params.grad;
{{end}}  for (var i = begin + lid; i < end; i += WG) {
    let d = a[i] - b[i];
    acc = fma(d, d, acc);
{{if .GRAD}}{{if .ACCUM}}    grad[i] = grad[i] + coef * d;
{{else}}    grad[i] = coef * d;
{{end}}{{end}}  }
  let total = tree_sum(lid, acc);
  if (lid == 0u && begin < N) { part[g] = total; }
}
