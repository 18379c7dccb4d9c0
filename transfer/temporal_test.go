package transfer_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
)

// The engine's temporal loss: with the content and style weights 0, the
// iteration's loss and dL/dx are the temporal loss's alone, as the twin
// computes them, untiled and tiled; before SetTemporal its target and
// weights are zero, and so is the loss.
func TestEngineTemporalLoss(t *testing.T) {
	net := syntheticNet(t, []int{8, 16, 32, 64, 64}, 6)
	const w, h = 90, 70
	content := pattern(w, h, 1)
	target := pattern(w, h, 2)
	r := testgpu.Rand(3, w*h, 0, 1)
	c := make([]float64, w*h) // the weights
	for i, v := range r {
		if v > 0.25 {
			c[i] = 1
		}
	}
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
	for _, tile := range []int{-1, 32} {
		cfg := transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1"}, Adam: adam, TemporalWeight: 3, Tile: tile}
		e, err := transfer.NewEngine(net, cfg, content, []transfer.Image{pattern(40, 40, 4)}, []float64{1}, content)
		if err != nil {
			t.Fatal(err)
		}
		l0, _ := stepRead(t, e)
		if l0[transfer.LossTemporal] != 0 {
			t.Errorf("tile %d: the temporal loss is %g before SetTemporal", tile, l0[transfer.LossTemporal])
		}
		e.Release()
		e, err = transfer.NewEngine(net, cfg, content, []transfer.Image{pattern(40, 40, 4)}, []float64{1}, content)
		if err != nil {
			t.Fatal(err)
		}
		tb := testgpu.Upload(t, net.D, "target", testgpu.F64(target.Pix), 3, h, w)
		wb := testgpu.Upload(t, net.D, "weights", c, 1, h, w)
		if err := e.SetTemporal(tb, wb, false); err != nil {
			t.Fatal(err)
		}
		if err := e.Step(); err != nil {
			t.Fatal(err)
		}
		l, err := e.Losses()
		if err != nil {
			t.Fatal(err)
		}
		dx := testgpu.Read(t, e.DX)
		wantL, wantG := twin.TemporalLoss(testgpu.F64(content.Pix), testgpu.F64(target.Pix), c, 3)
		testgpu.Close(t, "temporal loss", l[transfer.LossTemporal:], []float64{wantL}, 0, 1e-5)
		testgpu.Close(t, "total", l[:1], []float64{wantL}, 0, 1e-5)
		testgpu.Close(t, "dL/dx", dx, wantG, 1e-9, 1e-5)
		if len(e.Plan.Tiles) == 0 != (tile < 0) {
			t.Errorf("tile %d: %d tiles", tile, len(e.Plan.Tiles))
		}
		t.Logf("tile %d (%d tiles): temporal loss %g, want %g", tile, len(e.Plan.Tiles), l[transfer.LossTemporal], wantL)
		e.Release()
	}
}
