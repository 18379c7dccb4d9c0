package twin_test

import (
	"math"
	"testing"
	"time"

	"github.com/stylize/stylize/internal/oracle"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/weights"
)

// TestLossMatchesOracle checks the float64 twin chain (trunk, targets,
// loss0, grad0) against the PyTorch float64 oracle: both are float64, so
// they agree to rounding, far below what float32 can show.
func TestLossMatchesOracle(t *testing.T) {
	for _, name := range []string{"tiny_seed", "tiny_blend_tv_avg", "medium_seed"} {
		t.Run(name, func(t *testing.T) {
			c, err := oracle.Load("../../testdata/" + name + ".safetensors")
			if err != nil {
				t.Fatal(err)
			}
			f64 := func(name string) []float64 {
				t.Helper()
				v, err := c.F64(name)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			w, err := weights.FromSafetensors(c.File)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			L, err := twin.NewLoss(c, w, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range c.Meta.ContentLayers {
				s := testgpu.Errors(L.P[l], f64("ref.content_target."+l))
				t.Logf("content target %s: norm rel %.3g, max abs %.3g", l, s.NormRel, s.MaxAbs)
				// measured: ~2e-15
				if s.NormRel > 1e-12 {
					t.Errorf("content target %s: norm rel %.3g > 1e-12", l, s.NormRel)
				}
			}
			for _, l := range c.Meta.StyleLayers {
				s := testgpu.Errors(L.A[l], f64("ref.style_target."+l))
				t.Logf("style target %s: norm rel %.3g, max rel %.3g", l, s.NormRel, s.MaxRel)
				if s.NormRel > 1e-12 {
					t.Errorf("style target %s: norm rel %.3g > 1e-12", l, s.NormRel)
				}
			}
			loss, g, _, err := L.Eval(f64("content"))
			if err != nil {
				t.Fatal(err)
			}
			want := f64("ref.loss0")
			for i, n := range []string{"total", "content", "style", "tv"} {
				rel := math.Abs(loss[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-300)
				if want[i] == 0 {
					rel = math.Abs(loss[i])
				}
				t.Logf("loss0 %-7s twin %.15g oracle %.15g: rel err %.3g", n, loss[i], want[i], rel)
				// measured: <= 1e-15 (total), 3e-14 (tv)
				if rel > 1e-12 {
					t.Errorf("loss0 %s: rel err %.3g > 1e-12", n, rel)
				}
			}
			s := testgpu.Errors(g, f64("ref.grad0"))
			t.Logf("grad0: norm rel %.3g, max abs %.3g, max rel %.3g (%v)", s.NormRel, s.MaxAbs, s.MaxRel, time.Since(t0).Round(time.Millisecond))
			// measured: norm rel <= 5.5e-15
			if s.NormRel > 1e-11 {
				t.Errorf("grad0: norm rel %.3g > 1e-11", s.NormRel)
			}
		})
	}
}
