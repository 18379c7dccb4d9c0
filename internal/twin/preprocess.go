package twin

import "github.com/stylize/stylize/ops"

// This file: the per-channel affine map from an RGB image in [0,1] to the
// network's input convention (ops.Caffe or ops.Torch), forward and
// backward (shaders/preprocess.wgsl).

// Preprocess is the twin of preprocess.forward on x: (3,h,w), hw = h·w.
func Preprocess(p ops.Preprocess, x []float64, hw int) []float64 {
	src, mul, add := p.Affine()
	y := make([]float64, 3*hw)
	for c := 0; c < 3; c++ {
		for i := 0; i < hw; i++ {
			y[c*hw+i] = x[src[c]*hw+i]*mul[c] + add[c]
		}
	}
	return y
}

// PreprocessBackward is the twin of preprocess.backward: dy: (3,h,w) ->
// dx: (3,h,w).
func PreprocessBackward(p ops.Preprocess, dy []float64, hw int) []float64 {
	src, mul, _ := p.Affine()
	dx := make([]float64, 3*hw)
	for c := 0; c < 3; c++ {
		for i := 0; i < hw; i++ {
			dx[src[c]*hw+i] = dy[c*hw+i] * mul[c]
		}
	}
	return dx
}
