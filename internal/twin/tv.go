package twin

// This file: the total-variation regulariser of the image, the mean of
// squared differences of vertical and of horizontal neighbours
// (ops.NewTVLoss, shaders/tv_loss.wgsl).

// TVLoss returns the total variation loss of x: (c,h,w) and its gradient.
func TVLoss(x []float64, c, h, w int, wt float64) (float64, []float64) {
	g := make([]float64, len(x))
	ny, nx := float64(c*(h-1)*w), float64(c*h*(w-1))
	ly, lx := 0.0, 0.0
	for ch := 0; ch < c; ch++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				k := (ch*h+i)*w + j
				if i+1 < h {
					d := x[k+w] - x[k]
					ly += d * d
					g[k+w] += wt * 2 * d / ny
					g[k] -= wt * 2 * d / ny
				}
				if j+1 < w {
					d := x[k+1] - x[k]
					lx += d * d
					g[k+1] += wt * 2 * d / nx
					g[k] -= wt * 2 * d / nx
				}
			}
		}
	}
	l := 0.0
	if ny > 0 {
		l += ly / ny
	}
	if nx > 0 {
		l += lx / nx
	}
	return wt * l, g
}
