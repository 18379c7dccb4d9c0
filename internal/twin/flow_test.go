package twin_test

import (
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// Warp's known answers: an integer shift moves pixels exactly, and a
// sub-pixel shift of a linear ramp (which bilinear sampling reproduces)
// is exact; sources outside are marked.
func TestWarpKnownAnswers(t *testing.T) {
	const h, w = 9, 11
	img := make([]float64, h*w)
	for i := range img {
		img[i] = float64(i*i%17) / 17
	}
	u, v := make([]float64, h*w), make([]float64, h*w)
	for i := range u {
		u[i], v[i] = 2, -1
	}
	out, valid := twin.Warp(img, 1, h, w, u, v)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			in := x+2 < w && y-1 >= 0
			if valid[y*w+x] != in {
				t.Fatalf("(%d,%d): valid %v, want %v", x, y, valid[y*w+x], in)
			}
			if in && out[y*w+x] != img[(y-1)*w+x+2] {
				t.Fatalf("(%d,%d): %g, want %g", x, y, out[y*w+x], img[(y-1)*w+x+2])
			}
		}
	}
	ramp := make([]float64, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			ramp[y*w+x] = 0.3*float64(x) - 0.2*float64(y)
		}
	}
	for i := range u {
		u[i], v[i] = 0.37, 0.61
	}
	out, _ = twin.Warp(ramp, 1, h, w, u, v)
	for y := 0; y < h-1; y++ {
		for x := 0; x < w-1; x++ {
			want := 0.3*(float64(x)+0.37) - 0.2*(float64(y)+0.61)
			if math.Abs(out[y*w+x]-want) > 1e-12 {
				t.Fatalf("ramp at (%d,%d): %g, want %g", x, y, out[y*w+x], want)
			}
		}
	}
}

// Gradient against the texture's analytic derivative: central
// differences err by O(k²) for a sinusoid of k radians per pixel.
func TestGradientAgainstDerivative(t *testing.T) {
	tx := testgpu.NewTexture(3)
	const h, w = 20, 24
	img := tx.Frame(h, w, func(x, y float64) (float64, float64) { return x, y })
	gx, gy := twin.Gradient(img, h, w)
	worst := 0.0
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			dx, dy := tx.Grad(float64(x), float64(y))
			worst = math.Max(worst, math.Max(math.Abs(gx[y*w+x]-dx), math.Abs(gy[y*w+x]-dy)))
		}
	}
	// |f'''|/6 ≤ Σ a·k³/6 ≤ 0.5·0.33³/6 = 0.003.
	if worst > 0.003 {
		t.Errorf("central differences off the derivative by %.3g", worst)
	}
	t.Logf("central differences within %.2g of the derivative", worst)
}

// endpointError is the mean |flow − truth| over pixels at least margin
// from the border.
func endpointError(u, v []float64, h, w, margin int, truth func(x, y float64) (float64, float64)) float64 {
	s, n := 0.0, 0
	for y := margin; y < h-margin; y++ {
		for x := margin; x < w-margin; x++ {
			tu, tv := truth(float64(x), float64(y))
			s += math.Hypot(u[y*w+x]-tu, v[y*w+x]-tv)
			n++
		}
	}
	return s / float64(n)
}

// The flow of a textured pattern that translates, and one that rotates,
// by known amounts is within 0.25 px (mean endpoint error) of the truth
// away from the borders; the forward-backward check marks the strip that
// a translation uncovers, and little else.
func TestFlowKnownMotion(t *testing.T) {
	const h, w = 48, 64
	tx := testgpu.NewTexture(7)
	id := func(x, y float64) (float64, float64) { return x, y }
	i0 := tx.Frame(h, w, id)
	for _, c := range testgpu.Motions(h, w) {
		i1 := tx.Frame(h, w, c.Src)
		u, v := twin.Flow(i0, i1, h, w, ops.DefaultFlow)
		epe := endpointError(u, v, h, w, 8, c.Truth)
		t.Logf("%s: mean endpoint error %.3f px", c.Name, epe)
		if epe > 0.25 {
			t.Errorf("%s: mean endpoint error %.3f px, want <= 0.25", c.Name, epe)
		}
		if c.Name != "translation" {
			continue
		}
		// At frame 1's pixels: the backward flow (to frame 0) is checked
		// against the forward one. The strip x < dx shows what frame 0
		// did not: it is occluded, the rest mostly not.
		ub, vb := twin.Flow(i1, i0, h, w, ops.DefaultFlow)
		occ, _ := twin.Consistency(ub, vb, u, v, h, w)
		dx, _ := c.Truth(0, 0)
		strip, rest, ns, nr := 0, 0, 0, 0
		for y := 4; y < h-4; y++ {
			for x := 0; x < w-4; x++ {
				switch {
				case float64(x) < dx-0.5:
					ns++
					if occ[y*w+x] {
						strip++
					}
				case float64(x) > dx+1.5:
					nr++
					if occ[y*w+x] {
						rest++
					}
				}
			}
		}
		t.Logf("occluded: %d of %d strip pixels, %d of %d others", strip, ns, rest, nr)
		if float64(strip) < 0.9*float64(ns) || float64(rest) > 0.02*float64(nr) {
			t.Errorf("occlusion: %d of %d strip pixels, %d of %d others; want >= 90%% and <= 2%%", strip, ns, rest, nr)
		}
	}
}
