package ops

// GramTwin is the float64 twin of gram: f: (c, m) -> G = F Fᵀ / m: (c,c).
func GramTwin(f []float64, c, m int) []float64 {
	g := make([]float64, c*c)
	for i := 0; i < c; i++ {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := 0; k < m; k++ {
				s += f[i*m+k] * f[j*m+k]
			}
			g[i*c+j] = s / float64(m)
			g[j*c+i] = s / float64(m)
		}
	}
	return g
}

// ContentLossTwin returns w·mean((f-p)²) and its gradient 2w(f-p)/N.
func ContentLossTwin(f, p []float64, w float64) (float64, []float64) {
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

// StyleLossTwin returns w·mean((G-A)²) for G = F Fᵀ/m and its gradient
// with respect to f: (c, m), computed as 2·dL/dG·F/m (Gatys et al. 2016).
func StyleLossTwin(f, a []float64, c, m int, w float64) (float64, []float64) {
	g := GramTwin(f, c, m)
	cc := float64(c * c)
	l := 0.0
	dg := make([]float64, c*c)
	for i := range g {
		d := g[i] - a[i]
		l += d * d
		dg[i] = 2 * w * d / cc
	}
	df := make([]float64, c*m)
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			coef := (dg[i*c+j] + dg[j*c+i]) / float64(m)
			for k := 0; k < m; k++ {
				df[i*m+k] += coef * f[j*m+k]
			}
		}
	}
	return w * l / cc, df
}

// TVLossTwin returns the total variation loss of x: (c,h,w) and its gradient.
func TVLossTwin(x []float64, c, h, w int, wt float64) (float64, []float64) {
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
