package video_test

import (
	"context"
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/video"
	"github.com/stylize/stylize/weights"
)

// clip is n frames of three textures (one per channel) translating by
// (dx, dy) px a frame.
type clip struct {
	n, w, h int
	dx, dy  float64
	tex     [3]testgpu.Texture
}

func (c clip) Len() int { return c.n }

func (c clip) Frame(i int) (transfer.Image, error) {
	img := transfer.Image{W: c.w, H: c.h, Pix: make([]float32, 3*c.w*c.h)}
	for ch, t := range c.tex {
		f := t.Frame(c.h, c.w, func(x, y float64) (float64, float64) { return x - float64(i)*c.dx, y - float64(i)*c.dy })
		for k, v := range f {
			img.Pix[ch*c.w*c.h+k] = float32(v)
		}
	}
	return img, nil
}

// memSink keeps the frames in memory.
type memSink map[int]transfer.Image

func (m memSink) Done(i int) (transfer.Image, bool, error) { img, ok := m[i]; return img, ok, nil }
func (m memSink) Write(i int, img transfer.Image) error    { m[i] = img; return nil }

// TestTemporalConsistency: on a 12-frame clip of a translating texture
// (64×48, a narrow network), the warping error between consecutive
// stylised frames, mean |S_t − warp(S_{t−1})| over the pixels the
// consistency check keeps, is at least 3× lower with the temporal loss
// than with independent frames (Ruder et al. 2016).
func TestTemporalConsistency(t *testing.T) {
	w8, err := weights.Synthetic([]int{8, 16, 32, 64, 64}, 3)
	if err != nil {
		t.Fatal(err)
	}
	net, err := vgg.New(testgpu.Device(t), w8, ops.MaxPool, ops.Caffe)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	c := clip{n: 12, w: 64, h: 48, dx: 1.5, dy: 0.5, tex: [3]testgpu.Texture{testgpu.NewTexture(1), testgpu.NewTexture(2), testgpu.NewTexture(3)}}
	style := testgpu.F32(testgpu.Rand(9, 3*64*64, 0, 1))
	styles := []transfer.Image{{W: 64, H: 64, Pix: style}}
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
	base := transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1"},
		ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}
	run := func(temporal float64) memSink {
		cfg := base
		cfg.TemporalWeight = temporal
		out := memSink{}
		o := video.Options{Config: cfg, Iters: 40, ItersNext: 20}
		if err := video.Run(context.Background(), net, styles, []float64{1}, c, out, o, func(r video.Report) {
			t.Logf("temporal weight %g: frame %d, losses %v, %.1f%% masked", temporal, r.Frame, r.Loss, 100*r.Masked)
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The warping error, with the flow and masks of the content frames
	// (the twin's).
	warpErr := func(s memSink) float64 {
		sum, n := 0.0, 0
		for i := 1; i < c.n; i++ {
			f0, _ := c.Frame(i - 1)
			f1, _ := c.Frame(i)
			g0, g1 := twin.Gray(testgpu.F64(f0.Pix), c.h, c.w), twin.Gray(testgpu.F64(f1.Pix), c.h, c.w)
			ub, vb := twin.Flow(g1, g0, c.h, c.w, ops.DefaultFlow)
			uf, vf := twin.Flow(g0, g1, c.h, c.w, ops.DefaultFlow)
			occ, bnd := twin.Consistency(ub, vb, uf, vf, c.h, c.w)
			warped, _ := twin.Warp(testgpu.F64(s[i-1].Pix), 3, c.h, c.w, ub, vb)
			for k := range occ {
				if occ[k] || bnd[k] {
					continue
				}
				for ch := 0; ch < 3; ch++ {
					sum += math.Abs(float64(s[i].Pix[ch*c.w*c.h+k]) - warped[ch*c.w*c.h+k])
					n++
				}
			}
		}
		return sum / float64(n)
	}
	indep := warpErr(run(0))
	temporal := warpErr(run(1e9))
	t.Logf("warping error: independent frames %.4f, with the temporal loss %.4f (%.1fx lower)", indep, temporal, indep/temporal)
	if indep < 3*temporal {
		t.Errorf("the temporal loss lowers the warping error only %.2fx (%.4f -> %.4f), want >= 3x", indep/temporal, indep, temporal)
	}
}
