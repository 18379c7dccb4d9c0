package main

import (
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// session is the style transfer that the window steers: the images, the
// settings that keys change, and the transfer.Engine built from them.
// With Adam, a change of loss weight, of the style selection or of a style
// image is applied to the engine in place, between iterations (uniform
// writes and a recomputation of the targets on the GPU). A new content
// image (a new size), and any change under L-BFGS (whose history belongs
// to one objective), builds a new engine that takes over the current image
// and Adam's state (m, v, t) from the old one.
type session struct {
	d   *gpu.Device
	net *vgg.Net
	w8s *weights.VGG19
	cfg transfer.Config

	size, styleSize, maxPixels int

	contentPath string
	content     imageio.Image // as loaded
	stylePaths  []string
	styles      []imageio.Image // at -style-size
	blend       []float64
	sel         int // 0: the blend of all styles; k: style k alone

	init      string
	initImage *imageio.Image
	seed      int64

	w, h int            // the run's size
	c    transfer.Image // the content at the run's size
	x0   transfer.Image // the starting image at the run's size

	e        *transfer.Engine
	gen      int           // bumped whenever e changes
	rebuilds int           // engines built after the first
	last     time.Duration // how long the last (re)build took, GPU work included
	changes  int           // settings applied in place
	applied  time.Duration // how long the last in-place change took (CPU side)
}

func toT(m imageio.Image) transfer.Image   { return transfer.Image{H: m.H, W: m.W, Pix: m.Pix} }
func fromT(m transfer.Image) imageio.Image { return imageio.Image{H: m.H, W: m.W, Pix: m.Pix} }

// runSize is the run's size for a content image: its long side set to -size.
func (s *session) runSize(c imageio.Image) (int, int) {
	long := s.size
	if long == 0 {
		long = max(c.W, c.H)
	}
	return transfer.FitLong(c.W, c.H, long)
}

// checkSize refuses a size too small for the deepest layer or too large for
// the GPU's binding limit (block 1's activations are the largest buffer).
func (s *session) checkSize(w, h int) error {
	if err := cli.CheckLayers("image", w, h, s.cfg.ContentLayers, s.cfg.StyleLayers); err != nil {
		return err
	}
	return cli.CheckFits(s.d, s.w8s, w, h)
}

// startImage is the init image at the run's size.
func (s *session) startImage() (transfer.Image, error) {
	switch s.init {
	case "", "content":
		return s.c, nil
	case "random":
		r := rand.New(rand.NewSource(s.seed))
		img := transfer.Image{H: s.h, W: s.w, Pix: make([]float32, 3*s.w*s.h)}
		for i := range img.Pix {
			img.Pix[i] = r.Float32()
		}
		return img, nil
	case "style":
		return toT(imageio.Resize(s.styles[0], s.w, s.h)), nil
	case "file":
		return toT(imageio.Resize(*s.initImage, s.w, s.h)), nil
	}
	return transfer.Image{}, fmt.Errorf("unknown init %q", s.init)
}

// setContent makes img the content and computes the sizes and start image.
func (s *session) setContent(img imageio.Image) error {
	w, h := s.runSize(img)
	if err := s.checkSize(w, h); err != nil {
		return err
	}
	s.content = img
	s.w, s.h = w, h
	s.c = toT(imageio.Resize(img, w, h))
	x0, err := s.startImage()
	if err != nil {
		return err
	}
	s.x0 = x0
	return nil
}

// active returns the style images and the blend weights the selection
// uses: the given blend, or one style alone (a one-hot blend).
func (s *session) active() ([]transfer.Image, []float64) {
	var out []transfer.Image
	for _, st := range s.styles {
		out = append(out, toT(st))
	}
	return out, s.blendFor()
}

func (s *session) blendFor() []float64 {
	if s.sel >= 1 && s.sel <= len(s.styles) {
		b := make([]float64, len(s.styles))
		b[s.sel-1] = 1
		return b
	}
	return s.blend
}

// inPlace reports whether settings can change without a new engine.
func (s *session) inPlace() bool { return s.e != nil && s.e.Adam != nil }

// apply gives the engine the current loss weights and style selection, in
// place: no pipeline is built and the GPU is not drained.
func (s *session) apply() error {
	t0 := time.Now()
	if err := s.e.SetWeights(s.cfg.ContentWeight, s.cfg.StyleWeight, s.cfg.TVWeight); err != nil {
		return err
	}
	if err := s.e.SetBlend(s.blendFor()); err != nil {
		return err
	}
	s.changes++
	s.applied = time.Since(t0)
	return nil
}

// start builds the first engine, from the start image.
func (s *session) start() error {
	t0 := time.Now()
	styles, blend := s.active()
	e, err := transfer.NewEngine(s.net, s.cfg, s.c, styles, blend, s.x0)
	if err != nil {
		return err
	}
	if err := s.d.Poll(); err != nil {
		e.Release()
		return err
	}
	s.e = e
	s.gen++
	s.last = time.Since(t0)
	return nil
}

// rebuild builds a new engine at the same size from the current settings,
// carrying the current image and Adam's state over by GPU copies. The GPU
// must be idle (the caller drains its batches). On error the old engine
// stays.
func (s *session) rebuild() error {
	t0 := time.Now()
	styles, blend := s.active()
	old := s.e
	e, err := transfer.NewEngine(s.net, s.cfg, s.c, styles, blend, s.c)
	if err != nil {
		return err
	}
	enc, err := s.d.NewEncoder("live: carry state")
	if err != nil {
		e.Release()
		return err
	}
	pairs := [][2]*gpu.Buffer{{old.Trunk.X, e.Trunk.X}}
	if old.Adam != nil && e.Adam != nil {
		pairs = append(pairs, [2]*gpu.Buffer{old.Adam.M, e.Adam.M}, [2]*gpu.Buffer{old.Adam.V, e.Adam.V}, [2]*gpu.Buffer{old.Adam.State, e.Adam.State})
	}
	for _, p := range pairs {
		if err := enc.Copy(p[0], p[1]); err != nil {
			enc.Discard()
			e.Release()
			return err
		}
	}
	if err := enc.Submit(); err != nil {
		e.Release()
		return err
	}
	if err := s.d.Poll(); err != nil {
		e.Release()
		return err
	}
	old.Release()
	s.e = e
	s.gen++
	s.rebuilds++
	s.last = time.Since(t0)
	return nil
}

// swapContent makes img the content: the run's size follows its aspect,
// and the current image and Adam's moments are resized to it (as
// transfer.Run carries them between scales). The GPU must be idle.
func (s *session) swapContent(path string, img imageio.Image) error {
	t0 := time.Now()
	old := s.e
	oldW, oldH := s.w, s.h
	x, err := old.Trunk.X.Read()
	if err != nil {
		return err
	}
	var m, v, st []float32
	if old.Adam != nil {
		if m, err = old.Adam.M.Read(); err != nil {
			return err
		}
		if v, err = old.Adam.V.Read(); err != nil {
			return err
		}
		if st, err = old.Adam.State.Read(); err != nil {
			return err
		}
	}
	prev := *s
	if err := s.setContent(img); err != nil {
		*s = prev
		return err
	}
	resize := func(p []float32) []float32 {
		return imageio.Resize(imageio.Image{H: oldH, W: oldW, Pix: p}, s.w, s.h).Pix
	}
	styles, blend := s.active()
	xr := transfer.Image{H: s.h, W: s.w, Pix: resize(x)}
	for i, p := range xr.Pix { // the resampling kernel overshoots a little
		xr.Pix[i] = min(max(p, 0), 1)
	}
	e, err := transfer.NewEngine(s.net, s.cfg, s.c, styles, blend, xr)
	if err != nil {
		*s = prev
		return err
	}
	if e.Adam != nil && m != nil {
		vr := resize(v)
		for i, p := range vr {
			vr[i] = max(p, 0)
		}
		for _, wr := range []struct {
			b *gpu.Buffer
			p []float32
		}{{e.Adam.M, resize(m)}, {e.Adam.V, vr}, {e.Adam.State, st}} {
			if err := wr.b.Write(wr.p); err != nil {
				e.Release()
				*s = prev
				return err
			}
		}
	}
	if err := s.d.Poll(); err != nil {
		e.Release()
		*s = prev
		return err
	}
	old.Release()
	s.e = e
	s.contentPath = path
	s.gen++
	s.rebuilds++
	s.last = time.Since(t0)
	return nil
}

// swapStyle replaces style j (0-based): in place with Adam (its Grams are
// recomputed), by a rebuild with L-BFGS. The GPU must be idle.
func (s *session) swapStyle(j int, path string, img imageio.Image) error {
	if j < 0 || j >= len(s.styles) {
		return fmt.Errorf("no style %d", j+1)
	}
	if s.styleSize > 0 {
		w, h := imageio.FitLongSide(img.W, img.H, s.styleSize)
		img = imageio.Resize(img, w, h)
	}
	if err := cli.CheckLayers("style image", img.W, img.H, s.cfg.StyleLayers); err != nil {
		return err
	}
	oldImg, oldPath := s.styles[j], s.stylePaths[j]
	s.styles[j], s.stylePaths[j] = img, path
	if s.inPlace() {
		t0 := time.Now()
		if err := s.e.SetStyle(j, toT(img)); err != nil {
			s.styles[j], s.stylePaths[j] = oldImg, oldPath
			return err
		}
		s.changes++
		s.applied = time.Since(t0)
		return nil
	}
	if err := s.rebuild(); err != nil {
		s.styles[j], s.stylePaths[j] = oldImg, oldPath
		return err
	}
	return nil
}

// restart puts the start image back and zeroes Adam's state (L-BFGS gets a
// fresh engine, which empties its history). The GPU must be idle.
func (s *session) restart() error {
	if s.e.Adam == nil {
		t0 := time.Now()
		styles, blend := s.active()
		e, err := transfer.NewEngine(s.net, s.cfg, s.c, styles, blend, s.x0)
		if err != nil {
			return err
		}
		s.e.Release()
		s.e = e
		s.gen++
		s.rebuilds++
		s.last = time.Since(t0)
		return s.d.Poll()
	}
	if err := s.e.Trunk.X.Write(s.x0.Pix); err != nil {
		return err
	}
	if err := s.e.Adam.Reset(); err != nil {
		return err
	}
	s.e.Iter = 0
	return s.d.Poll()
}

// setLR changes the learning rate: in place for Adam, by a rebuild for
// L-BFGS (whose step length is part of its recorded steps).
func (s *session) setLR(lr float64) error {
	if s.e.Adam != nil {
		if err := s.e.Adam.SetLR(lr); err != nil {
			return err
		}
		s.cfg.Adam.LR = lr
		s.cfg.LBFGS.LR = lr
		return nil
	}
	old := s.cfg
	s.cfg.Adam.LR, s.cfg.LBFGS.LR = lr, lr
	if err := s.rebuild(); err != nil {
		s.cfg = old
		return err
	}
	return nil
}

// engineLR is the learning rate the engine uses now.
func (s *session) engineLR() float64 {
	if s.e == nil {
		return s.cfg.Adam.LR
	}
	if s.e.Adam != nil {
		return s.e.Adam.Config().LR
	}
	if s.e.LBFGS != nil {
		return s.e.LBFGS.LR
	}
	return math.NaN()
}

func (s *session) release() {
	if s.e != nil {
		s.e.Release()
		s.e = nil
	}
}
