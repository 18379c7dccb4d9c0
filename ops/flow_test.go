package ops_test

import (
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// The GPU flow against its float64 twin, and against the truth, on a
// textured pattern that translates and one that rotates by known amounts
// (64×48): within 0.25 px of the true motion (mean endpoint error away
// from the borders), and within float32's reach of the twin; its
// consistency masks are the twin's but for pixels on a threshold.
func TestFlowMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	const h, w = 48, 64
	tx := testgpu.NewTexture(7)
	i0 := tx.Frame(h, w, func(x, y float64) (float64, float64) { return x, y })
	for _, c := range testgpu.Motions(h, w) {
		t.Run(c.Name, func(t *testing.T) {
			i1 := testgpu.Round(tx.Frame(h, w, c.Src))
			a := testgpu.Round(i0)
			b0 := testgpu.Upload(t, d, "i0", a, 1, h, w)
			b1 := testgpu.Upload(t, d, "i1", i1, 1, h, w)
			fwd, err := ops.NewFlow(d, b0, b1, ops.DefaultFlow)
			if err != nil {
				t.Fatal(err)
			}
			defer fwd.Release()
			bwd, err := ops.NewFlow(d, b1, b0, ops.DefaultFlow)
			if err != nil {
				t.Fatal(err)
			}
			defer bwd.Release()
			occ := testgpu.Upload(t, d, "occ", nil, 1, h, w)
			bnd := testgpu.Upload(t, d, "bnd", nil, 1, h, w)
			check, err := ops.NewConsistency(d, bwd.U, bwd.V, fwd.U, fwd.V, occ, bnd)
			if err != nil {
				t.Fatal(err)
			}
			defer check.Release()
			testgpu.Run(t, d, fwd, bwd, check)
			u, v := testgpu.F64(testgpu.Read(t, fwd.U)), testgpu.F64(testgpu.Read(t, fwd.V))
			tu, tv := twin.Flow(a, i1, h, w, ops.DefaultFlow)
			du := testgpu.Errors(u, tu)
			dv := testgpu.Errors(v, tv)
			epe := 0.0
			n := 0
			for y := 8; y < h-8; y++ {
				for x := 8; x < w-8; x++ {
					gu, gv := c.Truth(float64(x), float64(y))
					epe += math.Hypot(u[y*w+x]-gu, v[y*w+x]-gv)
					n++
				}
			}
			epe /= float64(n)
			t.Logf("%d dispatches; mean endpoint error %.3f px; GPU against the twin: u max abs %.2g, v max abs %.2g", fwd.Dispatches(), epe, du.MaxAbs, dv.MaxAbs)
			if epe > 0.25 {
				t.Errorf("mean endpoint error %.3f px, want <= 0.25", epe)
			}
			// Float32 against float64 over ~900 dependent passes: each may
			// add a rounding of ~1e-7 px (measured: 3e-6 px).
			if du.MaxAbs > 1e-4 || dv.MaxAbs > 1e-4 {
				t.Errorf("GPU flow off its twin by %.3g, %.3g px", du.MaxAbs, dv.MaxAbs)
			}
			// Recorded again, it starts afresh: the same flow, bit for bit,
			// not one warm-started from the last.
			testgpu.Run(t, d, fwd)
			for i, x := range testgpu.Read(t, fwd.U) {
				if float64(x) != u[i] {
					t.Fatalf("the second recording's u differs at %d: %g, was %g", i, x, u[i])
				}
			}
			ub, vb := twin.Flow(i1, a, h, w, ops.DefaultFlow)
			tocc, tbnd := twin.Consistency(ub, vb, tu, tv, h, w)
			gocc, gbnd := testgpu.Read(t, occ), testgpu.Read(t, bnd)
			diff, marked := 0, 0
			for i := range tocc {
				if tocc[i] {
					marked++
				}
				if tocc[i] != (gocc[i] > 0.5) || tbnd[i] != (gbnd[i] > 0.5) {
					diff++
				}
			}
			t.Logf("occluded (twin): %d pixels; masks differ at %d of %d", marked, diff, h*w)
			if diff > h*w/200 {
				t.Errorf("the GPU's masks differ from the twin's at %d pixels", diff)
			}
		})
	}
}

// The GPU's gray plane and its long-term hold against the twin
// (twin.Gray; twin.Warp then twin.Hold): a frame held to two earlier
// frames' results, warped by flows with fractional and out-of-frame
// parts, with masks that keep some pixels for each and some for none.
func TestGrayAndHoldMatchTwin(t *testing.T) {
	d := testgpu.Device(t)
	const h, w = 13, 17
	n := h * w
	rgb := testgpu.Round(testgpu.Rand(1, 3*n, 0, 1))
	rb := testgpu.Upload(t, d, "rgb", rgb, 3, h, w)
	g := testgpu.Upload(t, d, "g", nil, 1, h, w)
	gray, err := ops.NewGray(d, rb, g)
	if err != nil {
		t.Fatal(err)
	}
	defer gray.Release()
	testgpu.Run(t, d, gray)
	testgpu.Close(t, "gray", testgpu.Read(t, g), twin.Gray(rgb, h, w), 1e-6, 1e-6)

	target0 := testgpu.Round(testgpu.Rand(2, 3*n, 0, 1)) // the frame itself
	tb := testgpu.Upload(t, d, "target", target0, 3, h, w)
	wb := testgpu.Upload(t, d, "weights", nil, 1, h, w)
	want, weights := append([]float64(nil), target0...), make([]float64, n)
	kept := [2]int{}
	for j := 0; j < 2; j++ {
		prev := testgpu.Round(testgpu.Rand(int64(3+j), 3*n, 0, 1))
		u := testgpu.Round(testgpu.Rand(int64(5+j), n, -3, 3))
		v := testgpu.Round(testgpu.Rand(int64(7+j), n, -3, 3))
		occ, bnd := make([]float64, n), make([]float64, n)
		keep := make([]bool, n)
		for k := range keep {
			occ[k] = float64((k + j) % 3 / 2) // 1 at every third pixel, shifted per frame
			bnd[k] = float64((k + 2*j) % 5 / 4)
			keep[k] = occ[k] == 0 && bnd[k] == 0
		}
		hold, err := ops.NewHold(d, testgpu.Upload(t, d, "prev", prev, 3, h, w), testgpu.Upload(t, d, "u", u, 1, h, w), testgpu.Upload(t, d, "v", v, 1, h, w),
			testgpu.Upload(t, d, "occ", occ, 1, h, w), testgpu.Upload(t, d, "bnd", bnd, 1, h, w), tb, wb)
		if err != nil {
			t.Fatal(err)
		}
		defer hold.Release()
		testgpu.Run(t, d, hold)
		warped, _ := twin.Warp(prev, 3, h, w, u, v)
		before := 0.0
		for _, x := range weights {
			before += x
		}
		twin.Hold(want, weights, warped, keep)
		after := 0.0
		for _, x := range weights {
			after += x
		}
		kept[j] = int(after - before)
	}
	t.Logf("pixels held to the nearer frame %d, to the farther %d, free %d", kept[0], kept[1], n-kept[0]-kept[1])
	if kept[0] == 0 || kept[1] == 0 || kept[0]+kept[1] == n {
		t.Fatalf("the masks exercise too little: %v of %d", kept, n)
	}
	testgpu.Close(t, "hold weights", testgpu.Read(t, wb), weights, 0, 0)
	testgpu.Close(t, "hold target", testgpu.Read(t, tb), want, 1e-6, 1e-6)
}
