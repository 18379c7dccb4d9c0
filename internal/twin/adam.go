package twin

import (
	"math"

	"github.com/stylize/stylize/ops"
)

// This file: one step of Adam (Kingma & Ba 2015) in either of its
// published forms, ops.AdamKeras or ops.AdamTorch, with the optional clip
// (ops.NewAdam, shaders/adam.wgsl).

// Adam performs step t (1-based) of Adam in place on x, m, v, given the
// gradient g.
func Adam(cfg ops.AdamConfig, t int, x, g, m, v []float64) {
	b1, b2 := cfg.Beta1, cfg.Beta2
	c1 := 1 - math.Pow(b1, float64(t))
	c2 := 1 - math.Pow(b2, float64(t))
	for i := range x {
		var xi float64
		if cfg.Form == ops.AdamKeras {
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
