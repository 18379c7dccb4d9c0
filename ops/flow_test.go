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
