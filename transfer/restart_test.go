package transfer_test

import (
	"slices"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/transfer"
)

// An engine restarted on another content image (a video's next frame)
// runs the very iterations of an engine built on that image: the same
// losses and image, bit for bit, with Adam and with L-BFGS, however far
// the first image's run had gone. A restart with an image of another
// size is refused.
func TestRestartEqualsFreshEngine(t *testing.T) {
	c, net, a, styles := oracleSetup(t, "tiny_seed")
	// A second content image of a's size: a reflected left to right.
	b := transfer.Image{W: a.W, H: a.H, Pix: make([]float32, len(a.Pix))}
	for ch := 0; ch < 3; ch++ {
		for y := 0; y < a.H; y++ {
			for x := 0; x < a.W; x++ {
				b.Pix[(ch*a.H+y)*a.W+x] = a.Pix[(ch*a.H+y)*a.W+a.W-1-x]
			}
		}
	}
	run := func(e *transfer.Engine, n int) ([]float32, []float32) {
		for k := 0; k < n; k++ {
			if err := e.Step(); err != nil {
				t.Fatal(err)
			}
		}
		l, err := e.Losses()
		if err != nil {
			t.Fatal(err)
		}
		return l, testgpu.Read(t, e.X)
	}
	for _, optimizer := range []string{"adam", "lbfgs"} {
		t.Run(optimizer, func(t *testing.T) {
			cfg := oracleConfig(c.Meta, optimizer)
			fresh, err := transfer.NewEngine(net, cfg, b, styles, c.Meta.StyleBlend, b)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Release()
			wantLoss, wantX := run(fresh, 6)
			used, err := transfer.NewEngine(net, cfg, a, styles, c.Meta.StyleBlend, a)
			if err != nil {
				t.Fatal(err)
			}
			defer used.Release()
			run(used, 4)
			if !used.CanRestart() {
				t.Fatal("an untiled engine cannot restart")
			}
			if err := used.Restart(b, b); err != nil {
				t.Fatal(err)
			}
			gotLoss, gotX := run(used, 6)
			if !slices.Equal(gotLoss, wantLoss) || !slices.Equal(gotX, wantX) {
				t.Errorf("after a restart, losses %v, want %v; images equal: %v", gotLoss, wantLoss, slices.Equal(gotX, wantX))
			}
			small := transfer.Image{W: a.W - 1, H: a.H, Pix: make([]float32, 3*(a.W-1)*a.H)}
			if err := used.Restart(small, small); err == nil {
				t.Error("a restart on a smaller image was accepted")
			}
		})
	}
}
