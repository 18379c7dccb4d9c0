package video_test

import (
	"context"
	"math"
	"slices"
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

// setup is the consistency tests' narrow network (released when the test
// ends), style image and settings.
func setup(t *testing.T) (*vgg.Net, []transfer.Image, transfer.Config) {
	w8, err := weights.Synthetic([]int{8, 16, 32, 64, 64}, 3)
	if err != nil {
		t.Fatal(err)
	}
	net, err := vgg.New(testgpu.Device(t), w8, ops.MaxPool, ops.Caffe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Release)
	style := testgpu.F32(testgpu.Rand(9, 3*64*64, 0, 1))
	styles := []transfer.Image{{W: 64, H: 64, Pix: style}}
	adam := ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.9, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
	base := transfer.Config{ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1"},
		ContentWeight: 1e4, StyleWeight: 1e-2, Adam: adam}
	return net, styles, base
}

// stylise runs the clip with the temporal weight and the earlier frames
// back, logging each frame's losses; it returns the results and the
// share of each frame's pixels that the temporal loss leaves free.
func stylise(t *testing.T, net *vgg.Net, styles []transfer.Image, base transfer.Config, src video.Source, temporal float64, back ...int) (memSink, []float64) {
	cfg := base
	cfg.TemporalWeight = temporal
	out := memSink{}
	masked := make([]float64, src.Len())
	o := video.Options{Config: cfg, Iters: 40, ItersNext: 20, Back: back}
	if err := video.Run(context.Background(), net, styles, []float64{1}, src, out, o, func(r video.Report) {
		t.Logf("temporal weight %g, frames back %v: frame %d, losses %v, %.1f%% masked", temporal, back, r.Frame, r.Loss, 100*r.Masked)
		masked[r.Frame] = r.Masked
	}); err != nil {
		t.Fatal(err)
	}
	return out, masked
}

// TestTemporalConsistency: on a 12-frame clip of a translating texture
// (64×48, a narrow network), the warping error between consecutive
// stylised frames, mean |S_t − warp(S_{t−1})| over the pixels the
// consistency check keeps, is at least 3× lower with the temporal loss
// than with independent frames (Ruder et al. 2016).
func TestTemporalConsistency(t *testing.T) {
	net, styles, base := setup(t)
	c := clip{n: 12, w: 64, h: 48, dx: 1.5, dy: 0.5, tex: [3]testgpu.Texture{testgpu.NewTexture(1), testgpu.NewTexture(2), testgpu.NewTexture(3)}}
	run := func(temporal float64, back ...int) memSink {
		out, _ := stylise(t, net, styles, base, c, temporal, back...)
		return out
	}
	// The warping error between frames j apart, with the flow and masks
	// of the content frames (the twin's).
	warpErrBack := func(s memSink, j int) float64 {
		sum, n := 0.0, 0
		for i := j; i < c.n; i++ {
			f0, _ := c.Frame(i - j)
			f1, _ := c.Frame(i)
			g0, g1 := twin.Gray(testgpu.F64(f0.Pix), c.h, c.w), twin.Gray(testgpu.F64(f1.Pix), c.h, c.w)
			ub, vb := twin.Flow(g1, g0, c.h, c.w, ops.DefaultFlow)
			uf, vf := twin.Flow(g0, g1, c.h, c.w, ops.DefaultFlow)
			occ, bnd := twin.Consistency(ub, vb, uf, vf, c.h, c.w)
			warped, _ := twin.Warp(testgpu.F64(s[i-j].Pix), 3, c.h, c.w, ub, vb)
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
	warpErr := func(s memSink) float64 { return warpErrBack(s, 1) }
	ind, short, long := run(0), run(1e9), run(1e9, 1, 2, 4)
	indep, temporal, longTerm := warpErr(ind), warpErr(short), warpErr(long)
	t.Logf("warping error: independent frames %.4f, with the temporal loss %.4f (%.1fx lower), with the long-term loss over frames 1, 2 and 4 back %.4f (%.1fx lower)",
		indep, temporal, indep/temporal, longTerm, indep/longTerm)
	t.Logf("warping error over 4 frames: independent %.4f, short-term %.4f, long-term %.4f", warpErrBack(ind, 4), warpErrBack(short, 4), warpErrBack(long, 4))
	// The first frame's temporal loss holds no pixel: it adds exactly 0,
	// so that frame is the independent run's, bit for bit.
	if !slices.Equal(short[0].Pix, ind[0].Pix) || !slices.Equal(long[0].Pix, ind[0].Pix) {
		t.Error("the first frame differs with the temporal loss")
	}
	if indep < 3*temporal {
		t.Errorf("the temporal loss lowers the warping error only %.2fx (%.4f -> %.4f), want >= 3x", indep/temporal, indep, temporal)
	}
	if indep < 3*longTerm {
		t.Errorf("the long-term temporal loss lowers the warping error only %.2fx (%.4f -> %.4f), want >= 3x", indep/longTerm, indep, longTerm)
	}
}

// occluded is n frames of a still background texture with a square of
// another texture moving across it by speed px a frame, so that what the
// square uncovers was in view a few frames before.
type occluded struct {
	n, w, h, side, speed int
	bg, fg               [3]testgpu.Texture
}

func (c occluded) Len() int { return c.n }

// covered reports whether the square covers pixel (x, y) in frame i.
func (c occluded) covered(i, x, y int) bool {
	x0, y0 := 4+i*c.speed, (c.h-c.side)/2
	return x >= x0 && x < x0+c.side && y >= y0 && y < y0+c.side
}

func (c occluded) Frame(i int) (transfer.Image, error) {
	img := transfer.Image{W: c.w, H: c.h, Pix: make([]float32, 3*c.w*c.h)}
	for ch := 0; ch < 3; ch++ {
		bg := c.bg[ch].Frame(c.h, c.w, func(x, y float64) (float64, float64) { return x, y })
		fg := c.fg[ch].Frame(c.h, c.w, func(x, y float64) (float64, float64) { return x - float64(i*c.speed), y })
		for y := 0; y < c.h; y++ {
			for x := 0; x < c.w; x++ {
				v := bg[y*c.w+x]
				if c.covered(i, x, y) {
					v = fg[y*c.w+x]
				}
				img.Pix[ch*c.w*c.h+y*c.w+x] = float32(v)
			}
		}
	}
	return img, nil
}

// TestLongTermConsistency: where a square moving over a still background
// uncovers what it hid for four frames, the long-term loss (Ruder et al.
// 2016, eq. 8) over frames 1 and 5 back holds pixels that the short-term
// loss leaves free: in every frame it leaves at most the short-term's
// share free (the masks depend on the input frames alone), and fewer in
// the frames 5 back reaches. It also logs how much the uncovered
// background's results differ from frame t−5's, mean |S_t − S_{t−5}|
// (the background is still, so this needs no flow).
func TestLongTermConsistency(t *testing.T) {
	net, styles, base := setup(t)
	c := occluded{n: 12, w: 64, h: 48, side: 16, speed: 4,
		bg: [3]testgpu.Texture{testgpu.NewTexture(4), testgpu.NewTexture(5), testgpu.NewTexture(6)},
		fg: [3]testgpu.Texture{testgpu.NewTexture(7), testgpu.NewTexture(8), testgpu.NewTexture(9)}}
	const back = 5 // the square hides what it uncovers for 4 frames
	revealed := func(s memSink) (float64, int) {
		sum, n := 0.0, 0
		for i := back; i < c.n; i++ {
			for y := 0; y < c.h; y++ {
				for x := 0; x < c.w; x++ {
					if c.covered(i, x, y) || c.covered(i-back, x, y) || !c.covered(i-1, x, y) {
						continue
					}
					for ch := 0; ch < 3; ch++ {
						k := ch*c.w*c.h + y*c.w + x
						sum += math.Abs(float64(s[i].Pix[k] - s[i-back].Pix[k]))
					}
					n++
				}
			}
		}
		return sum / float64(3*n), n
	}
	ind, _ := stylise(t, net, styles, base, c, 0)
	short, freeShort := stylise(t, net, styles, base, c, 1e9)
	long, freeLong := stylise(t, net, styles, base, c, 1e9, 1, back)
	var sumShort, sumLong float64
	for i := range freeShort {
		if freeLong[i] > freeShort[i] {
			t.Errorf("frame %d: the long-term loss leaves %.1f%% of the pixels free, more than the short-term's %.1f%%", i, 100*freeLong[i], 100*freeShort[i])
		}
		if i >= back {
			sumShort, sumLong = sumShort+freeShort[i], sumLong+freeLong[i]
		}
	}
	t.Logf("frames %d.., pixels left free: short-term %.1f%%, long-term %.1f%%", back, 100*sumShort/float64(c.n-back), 100*sumLong/float64(c.n-back))
	if sumLong >= sumShort {
		t.Errorf("the long-term loss holds no more pixels than the short-term one")
	}
	ri, n := revealed(ind)
	rs, _ := revealed(short)
	rl, _ := revealed(long)
	t.Logf("uncovered background (%d pixels over the clip), mean |S_t - S_t-%d|: independent %.4f, short-term %.4f, long-term %.4f", n, back, ri, rs, rl)
}

// A long-term list whose nearest frame is several frames back leaves the
// frames before it wholly free (they start from themselves), and holds
// the first frame it reaches.
func TestTemporalFramesBeyondTheStart(t *testing.T) {
	net, styles, base := setup(t)
	c := clip{n: 4, w: 64, h: 48, dx: 1.5, dy: 0.5, tex: [3]testgpu.Texture{testgpu.NewTexture(1), testgpu.NewTexture(2), testgpu.NewTexture(3)}}
	cfg := base
	cfg.TemporalWeight = 1e9
	var reports []video.Report
	o := video.Options{Config: cfg, Iters: 2, ItersNext: 1, Back: []int{3}}
	if err := video.Run(context.Background(), net, styles, []float64{1}, c, memSink{}, o, func(r video.Report) { reports = append(reports, r) }); err != nil {
		t.Fatal(err)
	}
	for i, r := range reports {
		t.Logf("frame %d: temporal %v, %.1f%% free", i, r.Temporal, 100*r.Masked)
	}
	if len(reports) != 4 || reports[0].Temporal || reports[1].Masked != 1 || reports[2].Masked != 1 || !(reports[3].Masked < 0.5) {
		t.Errorf("with only frame 3 back: %+v", reports)
	}
}
