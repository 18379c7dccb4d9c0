package transfer_test

import (
	"context"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
)

// TestPlanPredictsMemory runs whole runs and checks that the peak of the
// GPU memory they allocate, buffers, uniforms and readbacks, equals the
// peak their plans predict, to the byte, and that everything is freed at
// the end: the plan lists every buffer the engine makes, with the right
// lifetime. The configurations cover one and two styles of other sizes,
// TV, the moving average, L-BFGS, the unfused losses, several scales and
// VGG19's real widths (whose deep layers split K on this adapter).
func TestPlanPredictsMemory(t *testing.T) {
	d := testgpu.Device(t)
	seedStyle := []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
	for _, c := range []struct {
		name   string
		widths []int
		cfg    transfer.Config
		sizes  []int
		styles [][2]int
		ema    float64
		print  int
	}{
		{"seed, narrow", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu5_2"}, StyleLayers: seedStyle,
			ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}, []int{48}, [][2]int{{40, 36}}, 0, 1},
		{"two styles, TV, EMA, no readback", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: seedStyle,
			ContentWeight: 5, StyleWeight: 100, TVWeight: 1e-3, Adam: adam}, []int{40}, [][2]int{{56, 48}, {33, 35}}, 0.9, 0},
		{"L-BFGS, unfused, temporal loss", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: seedStyle,
			ContentWeight: 5, StyleWeight: 100, TVWeight: 1e-3, TemporalWeight: 1, Optimizer: "lbfgs", LBFGS: transfer.LBFGSConfig{History: 4, LR: 1}, Unfused: true},
			[]int{36}, [][2]int{{36, 40}}, 0, 2},
		{"three scales", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu5_2"}, StyleLayers: seedStyle,
			ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}, []int{32, 45, 64}, [][2]int{{64, 64}}, 0.5, 1},
		{"large style images: the style stages are the peak", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu5_2"}, StyleLayers: seedStyle,
			ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}, []int{32}, [][2]int{{96, 96}, {112, 80}}, 0, 1},
		{"tiled, TV, EMA, two scales", []int{8, 16, 32, 64, 64}, transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: seedStyle[:4],
			ContentWeight: 1e4, StyleWeight: 1e-2, TVWeight: 1e-3, Adam: adam, Tile: 32}, []int{120, 170}, [][2]int{{40, 36}}, 0.5, 1},
		{"VGG19 widths", []int{64, 128, 256, 512, 512}, transfer.Config{ContentLayers: []string{"relu5_2"}, StyleLayers: seedStyle,
			ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}, []int{40}, [][2]int{{32, 40}}, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, _ := d.MemoryBytes()
			net := syntheticNet(t, c.widths, 3)
			content := pattern(c.sizes[len(c.sizes)-1], c.sizes[len(c.sizes)-1]*3/4, 1)
			var styles []transfer.Image
			var blend []float64
			for j, s := range c.styles {
				styles = append(styles, pattern(s[0], s[1], int64(2+j)))
				blend = append(blend, 1/float64(len(c.styles)))
			}
			iters := make([]int, len(c.sizes))
			for i := range iters {
				iters[i] = 2
			}
			o := transfer.Options{Config: c.cfg, Sizes: c.sizes, Iters: iters, StyleScale: 1, EMA: c.ema,
				PrintEvery: c.print, OnProgress: func(transfer.Progress) {}, Resize: bilinear}
			var sizes []plan.Size
			for _, s := range styles {
				sizes = append(sizes, transfer.SizeOf(s))
			}
			plans, err := transfer.PlanRun(net.Widths(), plan.LimitsOf(d), transfer.SizeOf(content), sizes, o)
			if err != nil {
				t.Fatal(err)
			}
			// The net holds its biases; each scale's engine uploads the
			// weight layouts its plan reads (and frees the others) first.
			before, _ := d.MemoryBytes()
			var want uint64
			for i, p := range plans {
				peak, at := p.Peak()
				if big := c.styles[0][0] > 2*c.sizes[len(c.sizes)-1]; big && p.Stages[at] == plan.StageIterate {
					t.Errorf("scale %d: the peak is in stage %s, not a style stage: the case does not test what it is for", i+1, p.Stages[at])
				}
				t.Logf("scale %d (%s): %d buffers, peak %d bytes in stage %s, weights %d bytes", i+1, p.Content, len(p.Buffers), peak, p.Stages[at], p.WeightBytes)
				want = max(want, peak+p.WeightBytes)
			}
			if bias := biasBytes(net); before-base != bias {
				t.Errorf("before the run the net holds %d bytes; its biases are %d", before-base, bias)
			}
			d.ResetPeak()
			if _, err := transfer.Run(context.Background(), net, content, styles, blend, o); err != nil {
				t.Fatal(err)
			}
			after, peak := d.MemoryBytes()
			if got := uint64(peak - base); got != want {
				t.Errorf("the run's peak GPU memory was %d bytes; its plans predicted %d (off by %d)", got, want, int64(got)-int64(want))
			} else {
				t.Logf("peak %d bytes, as predicted", got)
			}
			if bias := biasBytes(net); after-base != bias {
				t.Errorf("after the run %d bytes are allocated; the biases are %d", after-base, bias)
			}
		})
	}
}

// biasBytes is what net's biases hold on the GPU.
func biasBytes(net *vgg.Net) int64 {
	var n int64
	for _, c := range net.Convs {
		n += int64(c.Bias.Bytes())
	}
	return n
}

// A configuration the plan refuses allocates nothing and leaves no
// encoder open; so does a step on a released engine, which fails.
func TestRefusedEngineAllocatesNothing(t *testing.T) {
	net := syntheticNet(t, []int{4, 4, 4, 4, 4}, 1)
	d := net.D
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1}
	img := pattern(32, 32, 1)
	before, _ := d.MemoryBytes()
	open0 := d.OpenEncoders()
	for _, cfg := range []transfer.Config{
		{ContentLayers: []string{"relu9_1"}, StyleLayers: []string{"relu1_1"}, Adam: adam},
		{ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"pool9"}, Adam: adam},
		{ContentLayers: []string{"relu5_4"}, Adam: adam, Optimizer: "sgd"},
		{ContentLayers: []string{"relu5_4"}, Optimizer: "lbfgs"},
	} {
		if e, err := transfer.NewEngine(net, cfg, img, []transfer.Image{img}, []float64{1}, img); err == nil {
			e.Release()
			t.Errorf("%+v: NewEngine succeeded", cfg)
		} else {
			t.Log(err)
		}
	}
	if now, _ := d.MemoryBytes(); now != before {
		t.Errorf("refused engines left %d bytes allocated", now-before)
	}
	e, err := transfer.NewEngine(net, transfer.Config{ContentLayers: []string{"relu2_1"}, StyleLayers: []string{"relu1_1"}, Adam: adam},
		img, []transfer.Image{img}, []float64{1}, img)
	if err != nil {
		t.Fatal(err)
	}
	e.Release()
	if err := e.Step(); err == nil {
		t.Error("a released engine stepped")
	}
	if n := d.OpenEncoders(); n != open0 {
		t.Errorf("%d encoders left open, want %d", n, open0)
	}
	if now, _ := d.MemoryBytes(); now != before {
		t.Errorf("%d bytes still allocated", now-before)
	}
}
