package twin

import "github.com/stylize/stylize/ops"

// This file: 2x2 stride-2 pooling between VGG19's blocks, max or average
// (Gatys et al. 2016 recommend average), forward and backward
// (shaders/pool.wgsl). Odd sizes are floored: the last row or column of
// an odd input is dropped.

// Pool is the twin of pool forward: x: (c,h,w) -> (c,h/2,w/2).
func Pool(kind ops.Pooling, x []float64, c, h, w int) []float64 {
	oh, ow := h/2, w/2
	y := make([]float64, c*oh*ow)
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				b := (ch*h+2*oy)*w + 2*ox
				v := [4]float64{x[b], x[b+1], x[b+w], x[b+w+1]}
				if kind == ops.MaxPool {
					m := v[0]
					for _, e := range v[1:] {
						if e > m {
							m = e
						}
					}
					y[(ch*oh+oy)*ow+ox] = m
				} else {
					y[(ch*oh+oy)*ow+ox] = 0.25 * (v[0] + v[1] + v[2] + v[3])
				}
			}
		}
	}
	return y
}

// PoolBackward is the twin of pool backward: dy: (c,h/2,w/2) and the pool
// input x: (c,h,w) -> dx: (c,h,w). Max routes to the first maximum in
// row-major order; floored edges get zero.
func PoolBackward(kind ops.Pooling, dy, x []float64, c, h, w int) []float64 {
	oh, ow := h/2, w/2
	dx := make([]float64, c*h*w)
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				g := dy[(ch*oh+oy)*ow+ox]
				b := (ch*h+2*oy)*w + 2*ox
				idx := [4]int{b, b + 1, b + w, b + w + 1}
				if kind == ops.MaxPool {
					best := 0
					for k := 1; k < 4; k++ {
						if x[idx[k]] > x[idx[best]] {
							best = k
						}
					}
					dx[idx[best]] += g
				} else {
					for _, i := range idx {
						dx[i] += 0.25 * g
					}
				}
			}
		}
	}
	return dx
}
