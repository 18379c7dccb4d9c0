package twin_test

// Finite-difference checks of the float64 CPU twins' gradients.
//
// The twins are the oracles the GPU shaders are tested against, so their
// backward passes must themselves be right. Every test here compares a
// twin's analytic gradient with central differences of a scalar loss built
// from the matching forward twin. Everything is pure CPU and float64.
//
// Step and bound: every loss below is piecewise a polynomial of degree at
// most 4 in the perturbed coordinate (linear for conv/pool/preprocess,
// quadratic for the content and TV losses, quartic for the style loss), so
// the central-difference truncation error is O(h²·|L'''|) ≈ 1e-10 relative
// with h = 1e-5 × value scale, and the round-off error is about
// eps·|L|/h ≈ 1e-11 relative. A norm-wise relative error bound of 1e-6
// therefore leaves four to five orders of magnitude of headroom while still
// catching any real mistake (a wrong factor, index or sign gives O(1)).
//
// Non-smooth points (ReLU at 0, max-pool ties) are avoided, never skipped:
// inputs are re-sampled (seed after seed) until every ReLU pre-activation
// and every max-pool top-two gap is at least fdMargin away from the kink,
// which is far more than any FD step can move it, and the composite and
// masked tests additionally verify that no FD evaluation changed the
// activation pattern; if one did, the test fails instead of passing.

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

const (
	fdStep   = 1e-5 // FD step, relative to the scale of the perturbed values
	fdBound  = 1e-6 // norm-wise relative error bound
	fdMargin = 1e-3 // minimum distance of ReLU pre-activations / max-pool gaps from a kink
	fdTries  = 200  // seeds tried before giving up on finding a kink-free input
)

// centralDiff returns the central-difference gradient of f at x with step h
// on every coordinate. x is restored before returning.
func centralDiff(f func([]float64) float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		x0 := x[i]
		x[i] = x0 + h
		fp := f(x)
		x[i] = x0 - h
		fm := f(x)
		x[i] = x0
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// checkGrad compares the analytic gradient g with the FD gradient fd:
// ||fd - g|| / ||g|| must be <= bound. It logs the measured error and on
// failure reports the first failing index and the max abs error.
func checkGrad(t *testing.T, name string, g, fd []float64, bound float64) {
	t.Helper()
	if len(g) != len(fd) {
		t.Fatalf("%s: gradient length %d, FD length %d", name, len(g), len(fd))
	}
	var dn, gn, fn, gmax, maxErr float64
	maxIdx := -1
	for i := range g {
		d := fd[i] - g[i]
		dn += d * d
		gn += g[i] * g[i]
		fn += fd[i] * fd[i]
		gmax = math.Max(gmax, math.Abs(g[i]))
		if math.Abs(d) > maxErr || maxIdx < 0 {
			maxErr, maxIdx = math.Abs(d), i
		}
	}
	dn, gn, fn = math.Sqrt(dn), math.Sqrt(gn), math.Sqrt(fn)
	// A check whose reference is zero checks nothing: a zero gradient
	// agrees with a zero finite difference whatever the code computes.
	if fn == 0 {
		t.Fatalf("%s: the finite-difference gradient is zero; choose a point where it is not", name)
	}
	var rel float64
	switch {
	case gn > 0:
		rel = dn / gn
	default:
		rel = math.Inf(1) // analytic gradient is zero but FD is not
	}
	t.Logf("%s: n=%d ||g||=%.4g rel err=%.3g max abs err=%.3g (bound %g)", name, len(g), gn, rel, maxErr, bound)
	if math.IsNaN(rel) || rel > bound {
		first := maxIdx
		for i := range g {
			if math.Abs(fd[i]-g[i]) > bound*gmax {
				first = i
				break
			}
		}
		t.Fatalf("%s: FD mismatch: first failing index %d (g=%g fd=%g), max abs err %g at %d, rel err %g > bound %g",
			name, first, g[first], fd[first], maxErr, maxIdx, rel, bound)
	}
}

func randVec(r *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func addTo(dst, src []float64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, e := range v {
		m = math.Max(m, math.Abs(e))
	}
	return m
}

// minAbs returns the smallest |v_i| (how close any ReLU input is to its kink).
func minAbs(v []float64) float64 {
	m := math.Inf(1)
	for _, e := range v {
		m = math.Min(m, math.Abs(e))
	}
	return m
}

// reluPattern returns the ReLU activation pattern of pre-activations.
func reluPattern(pre []float64) []bool {
	p := make([]bool, len(pre))
	for i, v := range pre {
		p[i] = v > 0
	}
	return p
}

func samePattern(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// poolArgmax returns, per 2x2 window of x: (c,h,w), the row-major index of
// its first maximum, and the smallest gap between a window's maximum and its
// runner-up over the windows whose maximum is positive (windows that are all
// <= 0 after a ReLU have zero gradient however the tie is broken, since the
// ReLU mask kills it; the caller only passes post-ReLU or distinct inputs).
func poolArgmax(x []float64, c, h, w int, postRelu bool) ([]int, float64) {
	oh, ow := h/2, w/2
	arg := make([]int, c*oh*ow)
	gap := math.Inf(1)
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				b := (ch*h+2*oy)*w + 2*ox
				idx := [4]int{b, b + 1, b + w, b + w + 1}
				best := 0
				for k := 1; k < 4; k++ {
					if x[idx[k]] > x[idx[best]] {
						best = k
					}
				}
				second := math.Inf(-1)
				for k := 0; k < 4; k++ {
					if k != best {
						second = math.Max(second, x[idx[k]])
					}
				}
				arg[(ch*oh+oy)*ow+ox] = idx[best]
				if !postRelu || x[idx[best]] > 0 {
					gap = math.Min(gap, x[idx[best]]-second)
				}
			}
		}
	}
	return arg, gap
}

type fdConvCase struct {
	name      string
	cin, cout int
	h, w      int
	seed      int64
	wlo, whi  float64 // weight range
	xlo, xhi  float64 // input range
	blo, bhi  float64 // bias range
}

var fdConvCases = []fdConvCase{
	{"cin3-cout5-5x4", 3, 5, 5, 4, 1, -0.5, 0.5, -1, 1, -0.3, 0.3},
	{"cin1-cout1-5x3", 1, 1, 5, 3, 2, -1, 1, -1, 1, -0.5, 0.5},
	{"cin2-cout7-13x11", 2, 7, 13, 11, 3, -0.5, 0.5, -1, 1, -0.3, 0.3},
	{"cin4-cout5-1x1", 4, 5, 1, 1, 4, -1, 1, -1, 1, -0.5, 0.5},
	{"cin3-cout3-6x5", 3, 3, 6, 5, 5, -0.5, 0.5, 0, 1, -0.5, 0.5},
}

// TestFDConv3x3 checks Conv3x3Backward against central differences of
// L(x) = Σ r ⊙ Conv3x3(x), unmasked (relu=false, mask nil) and masked
// (relu=true, mask = the ReLU output).
func TestFDConv3x3(t *testing.T) {
	for _, tc := range fdConvCases {
		t.Run(tc.name+"/linear", func(t *testing.T) {
			rng := rand.New(rand.NewSource(tc.seed))
			x := randVec(rng, tc.cin*tc.h*tc.w, tc.xlo, tc.xhi)
			wt := randVec(rng, tc.cout*tc.cin*9, tc.wlo, tc.whi)
			b := randVec(rng, tc.cout, tc.blo, tc.bhi)
			r := randVec(rng, tc.cout*tc.h*tc.w, -1, 1)
			loss := func(x []float64) float64 {
				return dot(r, twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, false))
			}
			g := twin.Conv3x3Backward(r, nil, tc.cout, tc.h, tc.w, wt, tc.cin)
			h := fdStep * math.Max(1, maxAbs(x))
			checkGrad(t, tc.name+"/linear", g, centralDiff(loss, x, h), fdBound)
		})
		t.Run(tc.name+"/relu-masked", func(t *testing.T) {
			// Re-sample until no pre-activation lies within fdMargin of 0.
			// One FD step moves a pre-activation by at most max|w|·h ≤ 1e-5.
			var x, wt, b, r, pre []float64
			seed, ok := tc.seed, false
			for try := 0; try < fdTries; try++ {
				rng := rand.New(rand.NewSource(seed))
				x = randVec(rng, tc.cin*tc.h*tc.w, tc.xlo, tc.xhi)
				wt = randVec(rng, tc.cout*tc.cin*9, tc.wlo, tc.whi)
				b = randVec(rng, tc.cout, tc.blo, tc.bhi)
				r = randVec(rng, tc.cout*tc.h*tc.w, -1, 1)
				pre = twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, false)
				if minAbs(pre) >= fdMargin {
					ok = true
					break
				}
				seed += 1000
			}
			if !ok {
				t.Fatalf("%s: no kink-free input found in %d seeds", tc.name, fdTries)
			}
			active := 0
			for _, v := range pre {
				if v > 0 {
					active++
				}
			}
			t.Logf("seed %d: min |pre-activation| %.3g, %d/%d active", seed, minAbs(pre), active, len(pre))
			if active == 0 || active == len(pre) {
				t.Logf("note: all outputs on one side of the ReLU")
			}
			m := twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, true)
			base := reluPattern(pre)
			crossed := false
			loss := func(x []float64) float64 {
				if !samePattern(base, reluPattern(twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, false))) {
					crossed = true
				}
				return dot(r, twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, true))
			}
			g := twin.Conv3x3Backward(r, m, tc.cout, tc.h, tc.w, wt, tc.cin)
			h := fdStep * math.Max(1, maxAbs(x))
			fd := centralDiff(loss, x, h)
			if crossed {
				t.Fatalf("%s: an FD step crossed a ReLU kink despite margin %g", tc.name, fdMargin)
			}
			checkGrad(t, tc.name+"/relu-masked", g, fd, fdBound)
		})
	}
}

// TestFDPool checks PoolBackward against central differences of
// L(x) = Σ r ⊙ Pool(x), including odd sizes whose floored last row /
// column must get exactly zero gradient.
func TestFDPool(t *testing.T) {
	cases := []struct {
		name    string
		kind    ops.Pooling
		c, h, w int
	}{
		{"max-2x5x7", ops.MaxPool, 2, 5, 7},
		{"avg-2x5x7", ops.AvgPool, 2, 5, 7},
		{"max-3x4x6", ops.MaxPool, 3, 4, 6},
		{"avg-3x4x6", ops.AvgPool, 3, 4, 6},
		{"max-1x3x3", ops.MaxPool, 1, 3, 3},
		{"avg-1x3x2", ops.AvgPool, 1, 3, 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(100 + i)))
			n := tc.c * tc.h * tc.w
			// Distinct values: a random permutation in steps of 0.1 plus
			// noise below 0.01, so every gap is > 0.08 ≫ the FD step.
			perm := rng.Perm(n)
			x := make([]float64, n)
			for k := range x {
				x[k] = 0.1*float64(perm[k]) + 0.01*rng.Float64()
			}
			oh, ow := tc.h/2, tc.w/2
			r := randVec(rng, tc.c*oh*ow, -1, 1)
			loss := func(x []float64) float64 { return dot(r, twin.Pool(tc.kind, x, tc.c, tc.h, tc.w)) }
			g := twin.PoolBackward(tc.kind, r, x, tc.c, tc.h, tc.w)
			for ch := 0; ch < tc.c; ch++ {
				for yy := 0; yy < tc.h; yy++ {
					for xx := 0; xx < tc.w; xx++ {
						if (yy >= 2*oh || xx >= 2*ow) && g[(ch*tc.h+yy)*tc.w+xx] != 0 {
							t.Fatalf("%s: floored edge (%d,%d,%d) got gradient %g, want 0", tc.name, ch, yy, xx, g[(ch*tc.h+yy)*tc.w+xx])
						}
					}
				}
			}
			if tc.kind == ops.MaxPool {
				_, gap := poolArgmax(x, tc.c, tc.h, tc.w, false)
				t.Logf("min max-pool top-two gap %.3g", gap)
				if gap < fdMargin {
					t.Fatalf("%s: max-pool gap %g below margin %g", tc.name, gap, fdMargin)
				}
			}
			h := fdStep * math.Max(1, maxAbs(x))
			checkGrad(t, tc.name, g, centralDiff(loss, x, h), fdBound)
		})
	}
}

// TestFDStyleLoss checks StyleLoss's gradient (through Gram) against
// central differences of its value, with a symmetric target A = Gram(f2).
func TestFDStyleLoss(t *testing.T) {
	cases := []struct {
		name string
		c, m int
		w    float64
	}{
		{"c3-m20", 3, 20, 1.7},
		{"c1-m7", 1, 7, 0.5},
		{"c5-m9", 5, 9, 3},
		{"c4-m1", 4, 1, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(200 + i)))
			f := randVec(rng, tc.c*tc.m, -1, 1)
			a := twin.Gram(randVec(rng, tc.c*tc.m, -1, 1), tc.c, tc.m)
			for p := 0; p < tc.c; p++ {
				for q := 0; q < tc.c; q++ {
					if a[p*tc.c+q] != a[q*tc.c+p] {
						t.Fatalf("%s: Gram target not symmetric at (%d,%d)", tc.name, p, q)
					}
				}
			}
			l, g := twin.StyleLoss(f, a, tc.c, tc.m, tc.w)
			t.Logf("loss %.4g", l)
			loss := func(f []float64) float64 {
				l, _ := twin.StyleLoss(f, a, tc.c, tc.m, tc.w)
				return l
			}
			h := fdStep * math.Max(1, maxAbs(f))
			checkGrad(t, tc.name, g, centralDiff(loss, f, h), fdBound)
		})
	}
}

// TestFDContentLoss checks ContentLoss's gradient against its value.
func TestFDContentLoss(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		w     float64
		scale float64
	}{
		{"n60-w1", 60, 1, 1},
		{"n1-w2.5", 1, 2.5, 1},
		{"n37-w0.01-scale100", 37, 0.01, 100},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(300 + i)))
			f := randVec(rng, tc.n, -tc.scale, tc.scale)
			p := randVec(rng, tc.n, -tc.scale, tc.scale)
			l, g := twin.ContentLoss(f, p, tc.w)
			t.Logf("loss %.4g", l)
			loss := func(f []float64) float64 {
				l, _ := twin.ContentLoss(f, p, tc.w)
				return l
			}
			h := fdStep * math.Max(1, maxAbs(f))
			checkGrad(t, tc.name, g, centralDiff(loss, f, h), fdBound)
		})
	}
}

// TestFDTVLoss checks TVLoss's gradient against its value, including
// images one pixel high or wide, where one of the two terms is absent.
func TestFDTVLoss(t *testing.T) {
	cases := []struct {
		name    string
		c, h, w int
		wt      float64
	}{
		{"3x5x4", 3, 5, 4, 1},
		{"2x1x6-h1", 2, 1, 6, 0.7},
		{"2x5x1-w1", 2, 5, 1, 1.3},
		{"1x2x2", 1, 2, 2, 2},
		{"3x6x5-w10", 3, 6, 5, 10},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(400 + i)))
			x := randVec(rng, tc.c*tc.h*tc.w, 0, 1)
			l, g := twin.TVLoss(x, tc.c, tc.h, tc.w, tc.wt)
			t.Logf("loss %.4g", l)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				t.Fatalf("%s: loss %g", tc.name, l)
			}
			loss := func(x []float64) float64 {
				l, _ := twin.TVLoss(x, tc.c, tc.h, tc.w, tc.wt)
				return l
			}
			h := fdStep * math.Max(1, maxAbs(x))
			checkGrad(t, tc.name, g, centralDiff(loss, x, h), fdBound)
		})
	}
}

// TestFDPreprocess checks PreprocessBackward against central
// differences of L(x) = Σ r ⊙ Preprocess(x) for both conventions.
func TestFDPreprocess(t *testing.T) {
	cases := []struct {
		name string
		p    ops.Preprocess
		h, w int
	}{
		{"caffe-5x4", ops.Caffe, 5, 4},
		{"torch-5x4", ops.Torch, 5, 4},
		{"caffe-1x3", ops.Caffe, 1, 3},
		{"torch-3x1", ops.Torch, 3, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(500 + i)))
			hw := tc.h * tc.w
			x := randVec(rng, 3*hw, 0, 1)
			r := randVec(rng, 3*hw, -1, 1)
			loss := func(x []float64) float64 { return dot(r, twin.Preprocess(tc.p, x, hw)) }
			g := twin.PreprocessBackward(tc.p, r, hw)
			h := fdStep * math.Max(1, maxAbs(x))
			checkGrad(t, tc.name, g, centralDiff(loss, x, h), fdBound)
		})
	}
}

// TestFDComposite mirrors a tiny network:
//
//	x (3,6,6) in [0,1] -> Preprocess(Caffe) -> conv1 (3->4, ReLU) = f1
//	  -> MaxPool (4,3,3) -> conv2 (4->5, ReLU) = f2
//	loss = StyleLoss(f2, A) + ContentLoss(f1, P)
//
// and checks the hand-assembled backward chain against FD of the total.
func TestFDComposite(t *testing.T) {
	const (
		c0, h0, w0 = 3, 6, 6
		c1         = 4
		h1, w1     = h0 / 2, w0 / 2
		c2         = 5
		styleW     = 0.05
		contentW   = 0.1
	)
	hw0 := h0 * w0

	type net struct {
		x, w1t, b1, w2t, b2, a, p []float64
	}
	type acts struct {
		pre, z1, f1, pooled, z2, f2 []float64
		style, content              float64
		gs, gc                      []float64
	}
	forward := func(n *net, x []float64) acts {
		var s acts
		s.pre = twin.Preprocess(ops.Caffe, x, hw0)
		s.z1 = twin.Conv3x3(s.pre, c0, h0, w0, n.w1t, n.b1, c1, false)
		s.f1 = twin.Conv3x3(s.pre, c0, h0, w0, n.w1t, n.b1, c1, true)
		s.pooled = twin.Pool(ops.MaxPool, s.f1, c1, h0, w0)
		s.z2 = twin.Conv3x3(s.pooled, c1, h1, w1, n.w2t, n.b2, c2, false)
		s.f2 = twin.Conv3x3(s.pooled, c1, h1, w1, n.w2t, n.b2, c2, true)
		s.style, s.gs = twin.StyleLoss(s.f2, n.a, c2, h1*w1, styleW)
		s.content, s.gc = twin.ContentLoss(s.f1, n.p, contentW)
		return s
	}

	// Caffe preprocessing maps [0,1] to roughly [-124, 151]; weights of
	// ±0.01 on 27 inputs keep conv1's pre-activations O(1–10), and ±0.1 on
	// conv2's 36 inputs keeps those O(1). One FD step (1e-5 on x) moves a
	// preprocessed value by 2.55e-3 and a conv1 pre-activation by at most
	// 2.55e-5, far below fdMargin.
	var n net
	var s acts
	seed, ok := int64(700), false
	for try := 0; try < fdTries; try++ {
		rng := rand.New(rand.NewSource(seed))
		n = net{
			x:   randVec(rng, c0*hw0, 0, 1),
			w1t: randVec(rng, c1*c0*9, -0.01, 0.01),
			b1:  randVec(rng, c1, -0.5, 0.5),
			w2t: randVec(rng, c2*c1*9, -0.1, 0.1),
			b2:  randVec(rng, c2, -0.2, 0.2),
		}
		n.a = twin.Gram(randVec(rng, c2*h1*w1, 0, 2), c2, h1*w1)
		n.p = randVec(rng, c1*hw0, 0, 3)
		s = forward(&n, n.x)
		_, gap := poolArgmax(s.f1, c1, h0, w0, true)
		if minAbs(s.z1) >= fdMargin && minAbs(s.z2) >= fdMargin && gap >= fdMargin {
			ok = true
			t.Logf("seed %d: min |z1| %.3g, min |z2| %.3g, min pool gap %.3g", seed, minAbs(s.z1), minAbs(s.z2), gap)
			break
		}
		seed++
	}
	if !ok {
		t.Fatalf("composite: no kink-free input found in %d seeds", fdTries)
	}
	act1, act2 := 0, 0
	for _, v := range s.z1 {
		if v > 0 {
			act1++
		}
	}
	for _, v := range s.z2 {
		if v > 0 {
			act2++
		}
	}
	t.Logf("style loss %.4g, content loss %.4g, total %.4g; conv1 active %d/%d, conv2 active %d/%d",
		s.style, s.content, s.style+s.content, act1, len(s.z1), act2, len(s.z2))
	if act1 == 0 || act2 == 0 {
		t.Fatalf("composite: a layer is entirely inactive, the check would be vacuous")
	}

	// Backward, by hand, with the backward twins.
	dPooled := twin.Conv3x3Backward(s.gs, s.f2, c2, h1, w1, n.w2t, c1)
	df1 := twin.PoolBackward(ops.MaxPool, dPooled, s.f1, c1, h0, w0)
	addTo(df1, s.gc)
	dPre := twin.Conv3x3Backward(df1, s.f1, c1, h0, w0, n.w1t, c0)
	g := twin.PreprocessBackward(ops.Caffe, dPre, hw0)

	base1, base2 := reluPattern(s.z1), reluPattern(s.z2)
	baseArg, _ := poolArgmax(s.f1, c1, h0, w0, true)
	crossed := false
	loss := func(x []float64) float64 {
		e := forward(&n, x)
		arg, _ := poolArgmax(e.f1, c1, h0, w0, true)
		if !samePattern(base1, reluPattern(e.z1)) || !samePattern(base2, reluPattern(e.z2)) {
			crossed = true
		}
		// An argmax change only matters in a window whose max is active.
		for k := range arg {
			if arg[k] != baseArg[k] && s.f1[baseArg[k]] > 0 {
				crossed = true
			}
		}
		return e.style + e.content
	}
	x := append([]float64(nil), n.x...)
	fd := centralDiff(loss, x, fdStep)
	if crossed {
		t.Fatalf("composite: an FD step crossed a ReLU or max-pool kink despite margin %g", fdMargin)
	}
	checkGrad(t, "composite", g, fd, fdBound)
}

// TestTemporalLossGradient: the temporal loss's gradient against central
// differences, with a mask that drops some pixels (their gradient must be
// zero, and is, as the loss does not see them).
func TestTemporalLossGradient(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	const n = 5 * 7
	x, omega := randVec(r, 3*n, 0, 1), randVec(r, 3*n, 0, 1)
	c := make([]float64, n)
	for i := range c {
		if r.Float64() > 0.3 {
			c[i] = 1
		}
	}
	_, g := twin.TemporalLoss(x, omega, c, 3)
	fd := centralDiff(func(v []float64) float64 { l, _ := twin.TemporalLoss(v, omega, c, 3); return l }, x, 1e-3)
	checkGrad(t, "temporal loss", g, fd, 1e-9)
}
