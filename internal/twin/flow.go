package twin

import (
	"math"

	"github.com/stylize/stylize/ops"
)

// This file: optical flow, the float64 statement of what stylize video
// computes on the GPU. Ruder, Dosovitskiy & Brox ("Artistic style
// transfer for videos", GCPR 2016) need, between consecutive frames, the
// flow both ways, a backward warp, and the occlusion and motion-boundary
// masks of their forward-backward consistency check. The flow is Horn &
// Schunck's (1981), coarse to fine with warping (as Brox et al. 2004
// describe the scheme): on each level of a pyramid, the second frame is
// warped by the flow so far, the brightness-constancy constraint is
// linearised about it, and Jacobi iterations solve for the flow.
//
// Images here are single-channel (h,w), row-major; a flow is two such
// planes u (x) and v (y), in pixels, such that I1(x+u, y+v) ≈ I0(x, y).

// Gray is the luminance of a planar (3,h,w) RGB image (ITU-R BT.601).
func Gray(rgb []float64, h, w int) []float64 {
	n := h * w
	g := make([]float64, n)
	for i := range g {
		g[i] = 0.299*rgb[i] + 0.587*rgb[n+i] + 0.114*rgb[2*n+i]
	}
	return g
}

// Sample is img (h,w) at the real position (x,y), bilinearly, with the
// border replicated outside; inside reports whether (x,y) lies within the
// image (a sample from outside is a guess, and a warp's mask says so).
func Sample(img []float64, h, w int, x, y float64) (v float64, inside bool) {
	inside = x >= 0 && y >= 0 && x <= float64(w-1) && y <= float64(h-1)
	x = math.Min(math.Max(x, 0), float64(w-1))
	y = math.Min(math.Max(y, 0), float64(h-1))
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	top := img[y0*w+x0]*(1-fx) + img[y0*w+x1]*fx
	bot := img[y1*w+x0]*(1-fx) + img[y1*w+x1]*fx
	return top*(1-fy) + bot*fy, inside
}

// Warp is the backward warp of the c planes of img (c,h,w) by the flow
// (u,v): out(x,y) = img(x+u, y+v), bilinearly; valid marks the pixels
// whose source lies inside the image.
func Warp(img []float64, c, h, w int, u, v []float64) (out []float64, valid []bool) {
	out = make([]float64, len(img))
	valid = make([]bool, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			for ch := 0; ch < c; ch++ {
				out[ch*h*w+i], valid[i] = Sample(img[ch*h*w:(ch+1)*h*w], h, w, float64(x)+u[i], float64(y)+v[i])
			}
		}
	}
	return out, valid
}

// Flow is the optical flow from i0 to i1, both (h,w): u, v such that
// i1(x+u, y+v) ≈ i0(x, y), with p's settings (ops.DefaultFlow is stylize
// video's); ops.Flow is its GPU twin.
func Flow(i0, i1 []float64, h, w int, p ops.FlowParams) (u, v []float64) {
	type level struct {
		a, b []float64
		h, w int
	}
	pyr := []level{{i0, i1, h, w}}
	for len(pyr) < p.Levels {
		l := pyr[len(pyr)-1]
		if l.h/2 < 8 || l.w/2 < 8 {
			break
		}
		a, hh, ww := Downsample(l.a, l.h, l.w)
		b, _, _ := Downsample(l.b, l.h, l.w)
		pyr = append(pyr, level{a, b, hh, ww})
	}
	top := pyr[len(pyr)-1]
	u, v = make([]float64, top.h*top.w), make([]float64, top.h*top.w)
	for k := len(pyr) - 1; k >= 0; k-- {
		l := pyr[k]
		if k < len(pyr)-1 {
			u, v = upsampleFlow(u, v, pyr[k+1].h, pyr[k+1].w, l.h, l.w)
		}
		for wp := 0; wp < p.Warps; wp++ {
			u, v = hornSchunck(l.a, l.b, l.h, l.w, u, v, p)
		}
	}
	return u, v
}

// hornSchunck refines the flow (u0,v0) by Iters Jacobi iterations of
// Horn & Schunck's equations linearised about it: with I1 warped by
// (u0,v0) to I1w, It = I1w − I0 and Ix, Iy the mean of both images'
// central differences, each iteration sets
//
//	u = ū − Ix·(Ix(ū−u0) + Iy(v̄−v0) + It) / (α² + Ix² + Iy²)
//
// and v alike, ū being the 4-neighbour mean of u (the border replicated).
// Where the warp's source leaves the image there is no constraint, and
// the smoothness term alone fills the flow in.
func hornSchunck(i0, i1 []float64, h, w int, u0, v0 []float64, p ops.FlowParams) (u, v []float64) {
	i1w, valid := Warp(i1, 1, h, w, u0, v0)
	ix, iy := Gradient(i0, h, w)
	jx, jy := Gradient(i1w, h, w)
	n := h * w
	it := make([]float64, n)
	for i := range it {
		ix[i], iy[i] = (ix[i]+jx[i])/2, (iy[i]+jy[i])/2
		it[i] = i1w[i] - i0[i]
		if !valid[i] {
			// The pixel's match lies outside the second frame: no
			// brightness constraint; the smoothness term fills it in.
			ix[i], iy[i], it[i] = 0, 0, 0
		}
	}
	a2 := p.Alpha * p.Alpha
	u, v = append([]float64(nil), u0...), append([]float64(nil), v0...)
	nu, nv := make([]float64, n), make([]float64, n)
	for k := 0; k < p.EvenIters(); k++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				ub, vb := neighbourMean(u, h, w, x, y), neighbourMean(v, h, w, x, y)
				r := (ix[i]*(ub-u0[i]) + iy[i]*(vb-v0[i]) + it[i]) / (a2 + ix[i]*ix[i] + iy[i]*iy[i])
				nu[i], nv[i] = ub-ix[i]*r, vb-iy[i]*r
			}
		}
		u, nu = nu, u
		v, nv = nv, v
	}
	return u, v
}

// neighbourMean is the mean of f's 4 neighbours of (x,y), the border
// replicated.
func neighbourMean(f []float64, h, w, x, y int) float64 {
	at := func(x, y int) float64 { return f[min(max(y, 0), h-1)*w+min(max(x, 0), w-1)] }
	return (at(x-1, y) + at(x+1, y) + at(x, y-1) + at(x, y+1)) / 4
}

// Gradient is img's central differences (h,w) in x and y, one-sided at
// the border.
func Gradient(img []float64, h, w int) (gx, gy []float64) {
	gx, gy = make([]float64, h*w), make([]float64, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			xa, xb := max(x-1, 0), min(x+1, w-1)
			ya, yb := max(y-1, 0), min(y+1, h-1)
			gx[y*w+x] = (img[y*w+xb] - img[y*w+xa]) / float64(xb-xa)
			gy[y*w+x] = (img[yb*w+x] - img[ya*w+x]) / float64(yb-ya)
		}
	}
	return gx, gy
}

// Downsample halves img (h,w) after a [1 2 1]/4 blur in each direction:
// pixel (x,y) of the result is centred on (2x+0.5, 2y+0.5) of img.
func Downsample(img []float64, h, w int) ([]float64, int, int) {
	hh, ww := h/2, w/2
	out := make([]float64, hh*ww)
	at := func(x, y int) float64 { return img[min(max(y, 0), h-1)*w+min(max(x, 0), w-1)] }
	k := [4]float64{1, 3, 3, 1} // [1 2 1] * box of 2, centred between pixels
	for y := 0; y < hh; y++ {
		for x := 0; x < ww; x++ {
			s := 0.0
			for j := 0; j < 4; j++ {
				for i := 0; i < 4; i++ {
					s += k[j] * k[i] * at(2*x-1+i, 2*y-1+j)
				}
			}
			out[y*ww+x] = s / 64
		}
	}
	return out, hh, ww
}

// upsampleFlow brings a flow of (h,w) to (H,W): sampled bilinearly at the
// positions Downsample's pixel centres map to, and scaled by the sizes'
// ratios.
func upsampleFlow(u, v []float64, h, w, H, W int) ([]float64, []float64) {
	su, sv := make([]float64, H*W), make([]float64, H*W)
	rx, ry := float64(W)/float64(w), float64(H)/float64(h)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			fx, fy := (float64(x)+0.5)/rx-0.5, (float64(y)+0.5)/ry-0.5
			a, _ := Sample(u, h, w, fx, fy)
			b, _ := Sample(v, h, w, fx, fy)
			su[y*W+x], sv[y*W+x] = a*rx, b*ry
		}
	}
	return su, sv
}

// Consistency is Ruder et al.'s check of the flow (u,v) from frame A to
// frame B, at A's pixels, against the flow (ub,vb) from B to A. With ŵ
// the second flow at the first's target,
//   - occluded: |w + ŵ|² > 0.01·(|w|² + |ŵ|²) + 0.5 (the flows disagree:
//     the pixel of A is not seen in B), or its target leaves the image;
//   - motion boundary: |∇u|² + |∇v|² > 0.01·|w|² + 0.002.
//
// For the temporal loss of frame t+1, A is frame t+1 and (u,v) its flow
// back to frame t, as in Ruder et al.; the loss weights c = 1 where
// neither mask is set.
func Consistency(u, v, ub, vb []float64, h, w int) (occluded, boundary []bool) {
	n := h * w
	occluded, boundary = make([]bool, n), make([]bool, n)
	ux, uy := Gradient(u, h, w)
	vx, vy := Gradient(v, h, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			tx, ty := float64(x)+u[i], float64(y)+v[i]
			bu, in := Sample(ub, h, w, tx, ty)
			bv, _ := Sample(vb, h, w, tx, ty)
			su, sv := u[i]+bu, v[i]+bv
			occluded[i] = !in || su*su+sv*sv > 0.01*(u[i]*u[i]+v[i]*v[i]+bu*bu+bv*bv)+0.5
			boundary[i] = ux[i]*ux[i]+uy[i]*uy[i]+vx[i]*vx[i]+vy[i]*vy[i] > 0.01*(u[i]*u[i]+v[i]*v[i])+0.002
		}
	}
	return occluded, boundary
}

// Hold adds one earlier frame to Ruder et al.'s (2016) long-term temporal
// target (eq. 8): each pixel that no nearer frame holds (weights 0) and
// whose flow to this frame is consistent (keep) gets weight 1 and, in
// target, that frame's warped result. Their c_long weights, each frame's
// mask less the nearer frames', are so disjoint for 0/1 masks.
// ops.NewHold is its GPU twin.
//
//	target, warped: (3,H,W)   weights, keep: (H,W)
func Hold(target, weights, warped []float64, keep []bool) {
	n := len(weights)
	for k := 0; k < n; k++ {
		if weights[k] == 0 && keep[k] {
			weights[k] = 1
			for ch := 0; ch < 3; ch++ {
				target[ch*n+k] = warped[ch*n+k]
			}
		}
	}
}
