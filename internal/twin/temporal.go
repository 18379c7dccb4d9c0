package twin

// This file: the short-term temporal loss of Ruder, Dosovitskiy & Brox
// ("Artistic style transfer for videos", GCPR 2016), eq. (7): the frame
// being optimised x against ω, the previous stylised frame warped to it
// by the optical flow, weighted per pixel by c (0 where the flow is not
// trusted: occlusions and motion boundaries, Consistency; else 1).

// TemporalLoss returns L = w/D · Σ_k c_k (x_k − ω_k)² over x, ω: (3,h,w)
// and c: (h,w), D = 3·h·w, and dL/dx = 2w/D · c (x − ω).
func TemporalLoss(x, omega, c []float64, w float64) (float64, []float64) {
	n := len(c)
	d := float64(len(x))
	l := 0.0
	g := make([]float64, len(x))
	for i := range x {
		ck := c[i%n]
		r := x[i] - omega[i]
		l += ck * r * r
		g[i] = 2 * w * ck * r / d
	}
	return w * l / d, g
}
