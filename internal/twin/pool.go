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
				_, v, first := PoolWindow(x, (ch*h+2*oy)*w+2*ox, w)
				if kind == ops.MaxPool {
					y[(ch*oh+oy)*ow+ox] = v[first]
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
				idx, _, first := PoolWindow(x, (ch*h+2*oy)*w+2*ox, w)
				if kind == ops.MaxPool {
					dx[idx[first]] += g
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

// PoolWindow returns the flat indices and the values of the 2x2 window
// whose top-left element is x[b], in a plane w wide, and the position
// (0..3, row-major) of its first maximum: the element max pooling passes
// on and PoolBackward routes the gradient to.
func PoolWindow(x []float64, b, w int) (idx [4]int, v [4]float64, first int) {
	idx = [4]int{b, b + 1, b + w, b + w + 1}
	for k, i := range idx {
		v[k] = x[i]
		if v[k] > v[first] {
			first = k
		}
	}
	return idx, v, first
}
