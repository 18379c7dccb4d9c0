package transfer_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
)

// TestSplitIterationMatchesStep: an iteration submitted in pieces (as the
// live window does when one iteration is longer than a frame) computes
// exactly what Step computes, and a piece-wise iteration given up half way
// changes nothing.
func TestSplitIterationMatchesStep(t *testing.T) {
	c, net, content, styles := oracleSetup(t, "tiny_blend_tv_avg")
	o := c.Meta
	for _, run := range []struct {
		opt  string
		tile int
	}{{"adam", 0}, {"lbfgs", 0}, {"adam", 16}} {
		opt := run.opt
		t.Run(fmt.Sprintf("%s tile %d", opt, run.tile), func(t *testing.T) {
			cfg := transfer.Config{Tile: run.tile,
				ContentLayers: o.ContentLayers, StyleLayers: o.StyleLayers,
				ContentWeight: o.ContentWeight, StyleWeight: o.StyleWeight, TVWeight: o.TVWeight,
				Optimizer: opt, LBFGS: transfer.LBFGSConfig{History: 5, LR: 1},
				Adam: ops.AdamConfig{Form: ops.AdamKeras, LR: o.Adam.LR, Beta1: o.Adam.Beta1, Beta2: o.Adam.Beta2, Eps: o.Adam.Epsilon, Clip: true, Lo: 0, Hi: 1},
			}
			whole, err := transfer.NewEngine(net, cfg, content, styles, o.StyleBlend, content)
			if err != nil {
				t.Fatal(err)
			}
			defer whole.Release()
			pieces, err := transfer.NewEngine(net, cfg, content, styles, o.StyleBlend, content)
			if err != nil {
				t.Fatal(err)
			}
			defer pieces.Release()
			for k, n := range []int{3, 1, 7, 1000} {
				if err := whole.Step(); err != nil {
					t.Fatal(err)
				}
				if k == 2 { // give one up half way first
					p := pieces.Split(4)
					for i := 0; i < 2; i++ {
						if last, err := p.SubmitNext(); err != nil || last {
							t.Fatalf("abandoned piece %d: last %v, err %v", i, last, err)
						}
					}
				}
				p := pieces.Split(n)
				if n == 1000 && p.Len() >= 1000 {
					t.Fatalf("Split(1000) made %d pieces: more than the ops", p.Len())
				}
				subs := 0
				for !p.Done() {
					before := pieces.Iter
					last, err := p.SubmitNext()
					if err != nil {
						t.Fatal(err)
					}
					subs++
					if last != p.Done() || (last && pieces.Iter != before+1) || (!last && pieces.Iter != before) {
						t.Fatalf("piece %d/%d: last %v, Iter %d -> %d", subs, p.Len(), last, before, pieces.Iter)
					}
				}
				if subs != p.Len() || (n <= 7 && subs != n) {
					t.Fatalf("Split(%d): %d submissions for %d pieces", n, subs, p.Len())
				}
				if _, err := p.SubmitNext(); err == nil {
					t.Fatal("SubmitNext after the last piece succeeded")
				}
				lw, err := whole.Losses()
				if err != nil {
					t.Fatal(err)
				}
				lp, err := pieces.Losses()
				if err != nil {
					t.Fatal(err)
				}
				xw, xp := testgpu.Read(t, whole.Trunk.X), testgpu.Read(t, pieces.Trunk.X)
				for i := range xw {
					if xw[i] != xp[i] {
						t.Fatalf("iteration %d (%d pieces): x[%d] = %v in pieces, %v whole", k+1, p.Len(), i, xp[i], xw[i])
					}
				}
				for i := range lw {
					if lw[i] != lp[i] {
						t.Fatalf("iteration %d (%d pieces): losses %v in pieces, %v whole", k+1, p.Len(), lp, lw)
					}
				}
				t.Logf("iteration %d in %d pieces: image and losses bit-identical to Step (loss %.7g)", k+1, p.Len(), lp[0])
			}
			stale := pieces.Split(2)
			if err := pieces.Step(); err != nil {
				t.Fatal(err)
			}
			if _, err := stale.SubmitNext(); err == nil {
				t.Error("a split made before Step still submitted")
			}
		})
	}
}
