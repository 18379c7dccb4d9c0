package transfer_test

import (
	"context"
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// TestTiledMatchesUntiled: an engine on small tiles (-tile 32 to 64,
// cores smaller than their halos) gives the losses and dL/dx of the
// untiled engine on the same images to float rounding (≤1e-5, norm-wise
// for dL/dx): with max and average pooling, TV, two styles, at VGG19's
// real widths and on a narrow network, at sizes that are no multiple of
// 16.
func TestTiledMatchesUntiled(t *testing.T) {
	seed := []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
	for _, c := range []struct {
		name     string
		widths   []int
		pool     ops.Pooling
		cfg      transfer.Config
		w, h     int
		styles   int
		minTiles int
	}{
		{"narrow, seed layers, max pooling", []int{8, 16, 32, 64, 64}, ops.MaxPool,
			transfer.Config{ContentLayers: []string{"relu5_2"}, StyleLayers: seed, ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam, Tile: 64}, 300, 203, 1, 6},
		{"narrow, avg pooling, TV, two styles", []int{8, 16, 32, 64, 64}, ops.AvgPool,
			transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: seed, ContentWeight: 5, StyleWeight: 100, TVWeight: 1e-3, Adam: adam, Tile: 48}, 250, 181, 2, 9},
		{"VGG19 widths, relu4", []int{64, 128, 256, 512, 512}, ops.MaxPool,
			transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: seed[:4], ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam, Tile: 32}, 150, 97, 1, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			w8, err := weights.Synthetic(c.widths, 5)
			if err != nil {
				t.Fatal(err)
			}
			net, err := vgg.New(testgpu.Device(t), w8, c.pool, ops.Caffe)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Release()
			content := pattern(c.w, c.h, 1)
			var styles []transfer.Image
			var blend []float64
			for j := 0; j < c.styles; j++ {
				styles = append(styles, pattern(60+13*j, 50, int64(2+j)))
				blend = append(blend, []float64{0.7, 0.3}[j])
			}
			x0 := pattern(c.w, c.h, 9)
			run := func(tile int) ([]float32, []float32, int) {
				cfg := c.cfg
				cfg.Tile = tile
				e, err := transfer.NewEngine(net, cfg, content, styles, blend, x0)
				if err != nil {
					t.Fatal(err)
				}
				defer e.Release()
				if err := e.Step(); err != nil {
					t.Fatal(err)
				}
				loss, err := e.Losses()
				if err != nil {
					t.Fatal(err)
				}
				dx, err := e.DX.Read()
				if err != nil {
					t.Fatal(err)
				}
				return loss, dx, len(e.Plan.Tiles)
			}
			wl, wdx, _ := run(0)
			tl, tdx, n := run(c.cfg.Tile)
			if n < c.minTiles {
				t.Fatalf("%d tiles, want at least %d: the case does not tile", n, c.minTiles)
			}
			for i := range wl {
				if d := math.Abs(float64(tl[i]) - float64(wl[i])); d > 1e-5*math.Abs(float64(wl[i])) {
					t.Errorf("loss %d: tiled %g, untiled %g (rel %.2g)", i, tl[i], wl[i], d/math.Abs(float64(wl[i])))
				}
			}
			s := testgpu.Errors(testgpu.F64(tdx), testgpu.F64(wdx))
			if s.NormRel > 1e-5 {
				t.Errorf("dL/dx tiled vs untiled: norm rel %.3g, max abs %.3g", s.NormRel, s.MaxAbs)
			}
			t.Logf("%dx%d on %d tiles of %d: losses %v vs %v; dL/dx norm rel %.2g", c.w, c.h, n, c.cfg.Tile, tl, wl, s.NormRel)
		})
	}
}

// TestTiledRunMatchesUntiled: 15 Adam steps on tiles (TV on) land on
// the untiled run's image within 1e-4, and L-BFGS's within the same. Two
// scales are chaotic here: the upscaled image saturates, and max-pool
// ties then break by rounding. There the bound is the spread that
// rounding alone makes: the untiled run with direct kernels instead of
// the heuristic's, measured in the same test.
func TestTiledRunMatchesUntiled(t *testing.T) {
	net := syntheticNet(t, []int{8, 16, 32, 64, 64}, 4)
	content := pattern(150, 110, 1)
	styles := []transfer.Image{pattern(64, 56, 2)}
	// Adam with a large epsilon steps in proportion to the gradient, as
	// gradient descent with momentum does: with the seed's small epsilon it
	// steps by about lr·sign(g), so that a gradient near 0 whose sign a
	// rounding flips moves a pixel by lr either way (chaos, not error).
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e4, Clip: true, Lo: 0, Hi: 1}
	base := transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1"},
		ContentWeight: 1e4, StyleWeight: 1e-2, TVWeight: 1e-3, Adam: adam}
	for _, c := range []struct {
		name    string
		cfg     func(transfer.Config) transfer.Config
		sizes   []int
		iters   []int
		chaotic bool
	}{
		{"Adam, 15 steps", func(c transfer.Config) transfer.Config { return c }, []int{150}, []int{15}, false},
		{"L-BFGS", func(c transfer.Config) transfer.Config {
			c.Optimizer, c.LBFGS = "lbfgs", transfer.LBFGSConfig{History: 5, LR: 1}
			return c
		}, []int{150}, []int{6}, false},
		{"Adam, two scales", func(c transfer.Config) transfer.Config { return c }, []int{110, 150}, []int{7, 8}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(tile int, k plan.Kernels) transfer.Image {
				cfg := c.cfg(base)
				cfg.Tile, cfg.Kernels = tile, k
				o := transfer.Options{Config: cfg, Sizes: c.sizes, Iters: c.iters, StyleScale: 1, Resize: bilinear}
				img, err := transfer.Run(context.Background(), net, content, styles, []float64{1}, o)
				if err != nil {
					t.Fatal(err)
				}
				return img
			}
			whole, tiled := run(-1, nil), run(32, nil)
			s := testgpu.Errors(testgpu.F64(tiled.Pix), testgpu.F64(whole.Pix))
			moved := testgpu.Errors(testgpu.F64(whole.Pix), testgpu.F64(bilinear(content, whole.W, whole.H).Pix))
			t.Logf("after %v iterations (the image moved from the content by up to %.2g): tiled vs untiled image max abs %.2g, norm rel %.2g",
				c.iters, moved.MaxAbs, s.MaxAbs, s.NormRel)
			if moved.MaxAbs < 1e-3 {
				t.Errorf("the image moved by only %.2g: the case compares next to nothing", moved.MaxAbs)
			}
			bound := 1e-4
			if c.chaotic {
				k := testgpu.Errors(testgpu.F64(run(-1, plan.Forced{Algo: ops.Direct}).Pix), testgpu.F64(whole.Pix))
				t.Logf("rounding alone (untiled, direct kernels against the heuristic's): max abs %.2g", k.MaxAbs)
				bound = k.MaxAbs
			}
			if s.MaxAbs > bound {
				t.Errorf("the tiled image differs from the untiled by %.3g (max abs), want <= %.3g", s.MaxAbs, bound)
			}
		})
	}
}
