package transfer_test

import (
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/transfer"
)

// An engine whose loss gradients are fused into the conv backward and one
// built Unfused from the same inputs compute the same losses and dL/dx
// (to float32 summation-order differences), and the fused one really
// fuses: some layers, and fewer dispatches per iteration. SetWeights
// takes effect in the fused passes as in the unfused ones.
func TestEngineFusedMatchesUnfused(t *testing.T) {
	for _, name := range []string{"tiny_seed", "tiny_blend_tv_avg"} {
		t.Run(name, func(t *testing.T) {
			c, net, content, styles := oracleSetup(t, name)
			o := c.Meta
			cfg := oracleConfig(o, "adam")
			// Start away from the content, so that the content loss and its
			// gradient are not 0.
			x0 := transfer.Image{H: content.H, W: content.W, Pix: make([]float32, len(content.Pix))}
			for i, v := range content.Pix {
				x0.Pix[i] = float32(math.Min(math.Max(float64(v)+0.2*math.Sin(float64(7*i)), 0), 1))
			}
			build := func(unfused bool) *transfer.Engine {
				t.Helper()
				cf := cfg
				cf.Unfused = unfused
				e, err := transfer.NewEngine(net, cf, content, styles, o.StyleBlend, x0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(e.Release)
				return e
			}
			fu, un := build(false), build(true)
			t.Logf("fused layers: %v (of content %v, style %v); unfused engine: %v", fu.FusedLayers(), o.ContentLayers, o.StyleLayers, un.FusedLayers())
			if len(fu.FusedLayers()) == 0 {
				t.Fatalf("the fused engine fused no layer")
			}
			if len(un.FusedLayers()) != 0 {
				t.Fatalf("the Unfused engine fused %v", un.FusedLayers())
			}
			df, du := fu.Dispatches(), un.Dispatches()
			t.Logf("dispatches per iteration: fused %d, unfused %d", df, du)
			if df >= du {
				t.Errorf("fused iteration records %d dispatches, unfused %d: want fewer", df, du)
			}
			step := func(e *transfer.Engine) ([]float32, []float64) { return stepRead(t, e) }
			compare := func(what string) {
				t.Helper()
				lf, gf := step(fu)
				lu, gu := step(un)
				for i, n := range []string{"total", "content", "style", "tv"} {
					if lu[i] == 0 && lf[i] == 0 {
						continue
					}
					rel := math.Abs(float64(lf[i]-lu[i])) / math.Abs(float64(lu[i]))
					t.Logf("%s: %s loss fused %.8g unfused %.8g (rel %.2g)", what, n, lf[i], lu[i], rel)
					if rel > 1e-6 {
						t.Errorf("%s: %s loss fused %.8g, unfused %.8g: rel %.2g > 1e-6", what, n, lf[i], lu[i], rel)
					}
				}
				s := testgpu.Errors(gf, gu)
				t.Logf("%s: dL/dx fused vs unfused: norm rel %.2g, max abs %.2g", what, s.NormRel, s.MaxAbs)
				if s.NormRel > 1e-6 {
					t.Errorf("%s: dL/dx fused vs unfused: norm rel %.2g > 1e-6", what, s.NormRel)
				}
			}
			compare("built")
			// New weights in place, then the step again from x0.
			for _, e := range []*transfer.Engine{fu, un} {
				if err := e.SetWeights(5*o.ContentWeight, o.StyleWeight/3, 2*o.TVWeight); err != nil {
					t.Fatal(err)
				}
				if err := e.Trunk.X.Write(x0.Pix); err != nil {
					t.Fatal(err)
				}
				if err := e.Adam.Reset(); err != nil {
					t.Fatal(err)
				}
			}
			compare("after SetWeights")
		})
	}
}
