package twin

// This file: the style representation and loss of Gatys et al. (2016),
// with the seed's normalisations (ops.NewGram, ops.NewStyleLoss,
// shaders/gram.wgsl and style_loss.wgsl).

// Gram is the twin of gram: f: (c, m) -> G = F Fᵀ / m: (c,c).
func Gram(f []float64, c, m int) []float64 {
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

// StyleLoss returns w·mean((G-A)²) for G = F Fᵀ/m and its gradient with
// respect to f: (c, m), computed as 2·dL/dG·F/m (Gatys et al. 2016).
func StyleLoss(f, a []float64, c, m int, w float64) (float64, []float64) {
	g := Gram(f, c, m)
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
