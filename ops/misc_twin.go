package ops

import "math"

// PreprocessTwin is the float64 twin of preprocess.forward on x: (3,h,w).
func PreprocessTwin(p Preprocess, x []float64, hw int) []float64 {
	src, mul, add := p.Affine()
	y := make([]float64, 3*hw)
	for c := 0; c < 3; c++ {
		for i := 0; i < hw; i++ {
			y[c*hw+i] = x[src[c]*hw+i]*mul[c] + add[c]
		}
	}
	return y
}

// PreprocessBackwardTwin is the float64 twin of preprocess.backward.
func PreprocessBackwardTwin(p Preprocess, dy []float64, hw int) []float64 {
	src, mul, _ := p.Affine()
	dx := make([]float64, 3*hw)
	for c := 0; c < 3; c++ {
		for i := 0; i < hw; i++ {
			dx[src[c]*hw+i] = dy[c*hw+i] * mul[c]
		}
	}
	return dx
}

// ReluTwin returns max(x, 0).
func ReluTwin(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = math.Max(v, 0)
	}
	return y
}

// ReluBackwardTwin returns dy·(y > 0).
func ReluBackwardTwin(dy, y []float64) []float64 {
	dx := make([]float64, len(dy))
	for i := range dy {
		if y[i] > 0 {
			dx[i] = dy[i]
		}
	}
	return dx
}

// SumTwin returns Σ f(a,b) as NewSum defines it.
func SumTwin(mode SumMode, a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		switch mode {
		case SumDot:
			s += v * b[i]
		case SumSquares:
			s += v * v
		case SumAbs:
			s += math.Abs(v)
		default:
			s += v
		}
	}
	return s
}

// AdamTwin performs step t (1-based) of Adam in place on x, m, v.
func AdamTwin(cfg AdamConfig, t int, x, g, m, v []float64) {
	b1, b2 := cfg.Beta1, cfg.Beta2
	c1 := 1 - math.Pow(b1, float64(t))
	c2 := 1 - math.Pow(b2, float64(t))
	for i := range x {
		var xi float64
		if cfg.Form == AdamKeras {
			m[i] += (g[i] - m[i]) * (1 - b1)
			v[i] += (g[i]*g[i] - v[i]) * (1 - b2)
			xi = x[i] - cfg.LR*math.Sqrt(c2)/c1*m[i]/(math.Sqrt(v[i])+cfg.Eps)
		} else {
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			xi = x[i] - cfg.LR*(m[i]/c1)/(math.Sqrt(v[i]/c2)+cfg.Eps)
		}
		if cfg.Clip {
			xi = math.Min(math.Max(xi, cfg.Lo), cfg.Hi)
		}
		x[i] = xi
	}
}
