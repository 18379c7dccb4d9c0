package twin

// This file: the content loss of Gatys et al. (2016), with the seed's
// mean instead of a sum (ops.NewContentLoss, shaders/mse.wgsl).

// ContentLoss returns w·mean((f-p)²) and its gradient 2w(f-p)/N.
func ContentLoss(f, p []float64, w float64) (float64, []float64) {
	n := float64(len(f))
	l := 0.0
	g := make([]float64, len(f))
	for i := range f {
		d := f[i] - p[i]
		l += d * d
		g[i] = 2 * w * d / n
	}
	return w * l / n, g
}
