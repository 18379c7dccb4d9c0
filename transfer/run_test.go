package transfer_test

import (
	"context"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// bilinear is a plain resampler for the tests (the command uses imageio's).
func bilinear(img transfer.Image, w, h int) transfer.Image {
	out := transfer.Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			fy := (float64(y)+0.5)*float64(img.H)/float64(h) - 0.5
			y0 := max(0, min(img.H-1, int(fy)))
			y1 := min(img.H-1, y0+1)
			ty := min(max(fy-float64(y0), 0), 1)
			for x := 0; x < w; x++ {
				fx := (float64(x)+0.5)*float64(img.W)/float64(w) - 0.5
				x0 := max(0, min(img.W-1, int(fx)))
				x1 := min(img.W-1, x0+1)
				tx := min(max(fx-float64(x0), 0), 1)
				p := func(yy, xx int) float64 { return float64(img.Pix[(c*img.H+yy)*img.W+xx]) }
				v := (1-ty)*((1-tx)*p(y0, x0)+tx*p(y0, x1)) + ty*((1-tx)*p(y1, x0)+tx*p(y1, x1))
				out.Pix[(c*h+y)*w+x] = float32(v)
			}
		}
	}
	return out
}

// syntheticNet uploads synthetic weights of these block widths, released
// when the test ends.
func syntheticNet(t *testing.T, widths []int, seed int64) *vgg.Net {
	t.Helper()
	w, err := weights.Synthetic(widths, seed)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Synthetic {
		t.Fatal("synthetic weights must be flagged")
	}
	net, err := vgg.New(testgpu.Device(t), w, ops.MaxPool, ops.Caffe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Release)
	return net
}

func pattern(w, h int, seed int64) transfer.Image {
	return transfer.Image{H: h, W: w, Pix: testgpu.F32(testgpu.Rand(seed, 3*w*h, 0, 1))}
}

// TestFullWidthRunsReduceLoss runs VGG19 at its real widths (synthetic
// weights, flagged as such) on small images with both presets' settings:
// the seed's (Adam, two scales) and neural-style's (L-BFGS, TV, random init).
func TestFullWidthRunsReduceLoss(t *testing.T) {
	net := syntheticNet(t, []int{64, 128, 256, 512, 512}, 7)
	content := pattern(48, 32, 1)
	style := pattern(40, 48, 2)
	cases := []struct {
		name string
		o    transfer.Options
	}{
		{"seed-adam-2-scales", transfer.Options{Config: transfer.Config{
			ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
			ContentWeight: 1e4, StyleWeight: 1e-2,
			Adam: ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Hi: 1}},
			Sizes: []int{34, 48}, Iters: []int{3, 4}, Init: "content"}},
		{"neural-style-lbfgs", transfer.Options{Config: transfer.Config{
			ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
			ContentWeight: 5, StyleWeight: 100, TVWeight: 1e-3,
			Optimizer: "lbfgs", LBFGS: transfer.LBFGSConfig{History: 5, LR: 1}},
			Sizes: []int{48}, Iters: []int{6}, Init: "random", Seed: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var first, last transfer.Progress // of the last scale
			seen := 0
			tc.o.PrintEvery = 1
			tc.o.StyleScale = 1
			tc.o.Resize = bilinear
			tc.o.OnProgress = func(p transfer.Progress) {
				if p.Scale == p.Scales && first.Scale != p.Scale {
					first = p
				}
				last = p
				seen++
				t.Logf("scale %d/%d %dx%d iter %d/%d: loss %.6g (content %.4g style %.4g tv %.3g)", p.Scale, p.Scales, p.W, p.H, p.Iter, p.Iters, p.Loss[0], p.Loss[1], p.Loss[2], p.Loss[3])
			}
			out, err := transfer.Run(context.Background(), net, content, []transfer.Image{style}, []float64{1}, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if out.W != 48 || out.H != 32 || len(out.Pix) != 3*48*32 {
				t.Fatalf("output %dx%d, want 48x32", out.W, out.H)
			}
			if seen < 2 {
				t.Fatalf("only %d progress reports", seen)
			}
			if last.Iter != last.Iters-1 || first.Iter != 0 {
				t.Fatalf("the last scale reported iterations %d..%d, want 0..%d", first.Iter, last.Iter, last.Iters-1)
			}
			if !(last.Loss[0] < first.Loss[0]) {
				t.Fatalf("loss did not decrease over the last scale: %.6g -> %.6g", first.Loss[0], last.Loss[0])
			}
			t.Logf("last scale: loss %.6g -> %.6g", first.Loss[0], last.Loss[0])
		})
	}
}
