package twin

// This file: the 3x3 convolution of VGG19 (Simonyan & Zisserman 2015),
// stride 1, zero padding 1, forward and backward with respect to its
// input (shaders/conv3x3.wgsl's forward and backward_input).

// Conv3x3 is the twin of conv3x3.forward, with the ReLU fused when relu:
//
//	x: (cin,h,w)  wt: (cout,cin,3,3)  b: (cout)  ->  y: (cout,h,w)
func Conv3x3(x []float64, cin, h, w int, wt, b []float64, cout int, relu bool) []float64 {
	y := make([]float64, cout*h*w)
	for co := 0; co < cout; co++ {
		for yy := 0; yy < h; yy++ {
			for xx := 0; xx < w; xx++ {
				s := b[co]
				for c := 0; c < cin; c++ {
					for ky := 0; ky < 3; ky++ {
						iy := yy + ky - 1
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < 3; kx++ {
							ix := xx + kx - 1
							if ix < 0 || ix >= w {
								continue
							}
							s += wt[((co*cin+c)*3+ky)*3+kx] * x[(c*h+iy)*w+ix]
						}
					}
				}
				if relu && s < 0 {
					s = 0
				}
				y[(co*h+yy)*w+xx] = s
			}
		}
	}
	return y
}

// Conv3x3Backward is the twin of conv3x3.backward_input: the adjoint of
// the convolution applied to dy ⊙ (mask > 0) (mask may be nil; with the
// ReLU output as mask, it is the backward of the fused conv and ReLU).
//
//	dy, mask: (cout,h,w)  ->  dx: (cin,h,w)
func Conv3x3Backward(dy, mask []float64, cout, h, w int, wt []float64, cin int) []float64 {
	dx := make([]float64, cin*h*w)
	for co := 0; co < cout; co++ {
		for yy := 0; yy < h; yy++ {
			for xx := 0; xx < w; xx++ {
				g := dy[(co*h+yy)*w+xx]
				if mask != nil && !(mask[(co*h+yy)*w+xx] > 0) {
					continue
				}
				for c := 0; c < cin; c++ {
					for ky := 0; ky < 3; ky++ {
						iy := yy + ky - 1
						if iy < 0 || iy >= h {
							continue
						}
						for kx := 0; kx < 3; kx++ {
							ix := xx + kx - 1
							if ix < 0 || ix >= w {
								continue
							}
							dx[(c*h+iy)*w+ix] += wt[((co*cin+c)*3+ky)*3+kx] * g
						}
					}
				}
			}
		}
	}
	return dx
}
