package twin

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/ops"
)

// This file: the reductions of ops.NewSum (shaders/reduce.wgsl).

// Sum returns Σ f(a,b) as ops.NewSum defines it for mode. It panics on a
// mode ops does not define.
func Sum(mode ops.SumMode, a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		switch mode {
		case ops.SumDot:
			s += v * b[i]
		case ops.SumSquares:
			s += v * v
		case ops.SumAbs:
			s += math.Abs(v)
		default:
			panic(fmt.Sprintf("twin: unknown sum mode %d", mode))
		}
	}
	return s
}
