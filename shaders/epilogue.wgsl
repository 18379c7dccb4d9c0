{{/* epilogue.wgsl defines conv_finish, the epilogue every pass that writes
a conv's output shares (conv3x3.wgsl's store_c and combine,
conv3x3_reg.wgsl's store, winograd.wgsl's output transform), so that it
is written once. It is not a shader by itself.

finish(i, r) takes output element i, its sum with the bias already added,
and applies, as the template fields say: RELU, max(r, 0) (forward);
CONTENT, + cparams.grad·(F − P), the fused content gradient; OMASK, times
the ReLU mask of the layer below (omask > 0); then writes dst, with +=
under ACCUM. The including file binds what the fields name. */}}
{{define "conv_finish"}}
fn finish(i: u32, v: f32) {
  var r = v;
{{if .RELU}}  r = max(r, 0.0);
{{end}}{{if .CONTENT}}  r = fma(cparams.grad, feat[i] - ptgt[i], r);
{{end}}{{if .OMASK}}  r = select(0.0, r, omask[i] > 0.0);
{{end}}{{if .ACCUM}}  dst[i] = dst[i] + r;
{{else}}  dst[i] = r;
{{end}}}
{{end}}
