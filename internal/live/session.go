package live

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// Session is the style transfer that the window steers: the images, the
// settings that keys change, and the transfer.Engine built from them; it
// is the one place that drives the engine. With Adam, a change of loss
// weight, of the style selection or of a style image is applied to the
// engine in place, between iterations (uniform writes and a recomputation
// of the targets on the GPU). A new content image (a new size), and any
// change under L-BFGS (whose history belongs to one objective), builds a
// new engine that takes over the current image and Adam's state (m, v, t)
// from the old one.
type Session struct {
	d   *gpu.Device
	net *vgg.Net
	w8s *weights.VGG19
	set *cli.Settings
	cfg transfer.Config

	contentPath string
	content     imageio.Image // as loaded
	stylePaths  []string
	styles      []imageio.Image // at -style-size
	blend       []float64
	sel         int // 0: the blend of all styles; k: style k alone

	init      string
	initImage *imageio.Image

	w, h int            // the run's size
	c    transfer.Image // the content at the run's size
	x0   transfer.Image // the starting image at the run's size

	e        *transfer.Engine
	partial  *transfer.Partial // the split iteration in progress, if any
	rebuilds int               // engines built after the first
	last     time.Duration     // how long the last (re)build took, GPU work included
	changes  int               // settings applied in place
	applied  time.Duration     // how long the last in-place change took (CPU side)
}

// NewSession prepares a session on net (built from w8s on d) for the
// checked command line and its images, at the run's size; Start builds
// its engine.
func NewSession(d *gpu.Device, net *vgg.Net, w8s *weights.VGG19, set *cli.Settings, in *cli.Inputs) (*Session, error) {
	s := &Session{d: d, net: net, w8s: w8s, set: set, cfg: set.Config,
		contentPath: set.Content, stylePaths: append([]string(nil), set.Styles...), styles: in.Styles, blend: set.Blend,
		init: in.Init, initImage: in.InitImage}
	if err := s.setContent(in.Content); err != nil {
		return nil, err
	}
	return s, nil
}

// Device is the GPU the session runs on.
func (s *Session) Device() *gpu.Device { return s.d }

// runSize is the run's size for a content image: its long side set to -size.
func (s *Session) runSize(c imageio.Image) (int, int) {
	long := s.set.Size
	if long == 0 {
		long = max(c.W, c.H)
	}
	return transfer.FitLong(c.W, c.H, long)
}

// startImage is the init image at the run's size.
func (s *Session) startImage() (transfer.Image, error) {
	switch s.init {
	case "", "content":
		return s.c, nil
	case "random":
		r := rand.New(rand.NewSource(s.set.Seed))
		img := transfer.Image{H: s.h, W: s.w, Pix: make([]float32, 3*s.w*s.h)}
		for i := range img.Pix {
			img.Pix[i] = r.Float32()
		}
		return img, nil
	case "style":
		return cli.ToTransfer(imageio.Resize(s.styles[0], s.w, s.h)), nil
	case "file":
		return cli.ToTransfer(imageio.Resize(*s.initImage, s.w, s.h)), nil
	}
	return transfer.Image{}, fmt.Errorf("unknown init %q", s.init)
}

// fits refuses, before any GPU work, a content size w×h and style images
// that the engine's plan cannot run: an image too small for the deepest
// layer, or a buffer over the GPU's binding limit.
func (s *Session) fits(w, h int, styles []imageio.Image) error {
	var ss []plan.Size
	for _, st := range styles {
		ss = append(ss, plan.Size{W: st.W, H: st.H})
	}
	_, err := plan.Make(s.cfg.Request(s.net.Widths(), plan.Size{W: w, H: h}, ss), plan.LimitsOf(s.d))
	return err
}

// setContent makes img the content and computes the sizes and start
// image, refusing a size too small for the deepest layer or too large for
// the GPU's binding limit.
func (s *Session) setContent(img imageio.Image) error {
	w, h := s.runSize(img)
	if err := s.fits(w, h, s.styles); err != nil {
		return err
	}
	s.content = img
	s.w, s.h = w, h
	s.c = cli.ToTransfer(imageio.Resize(img, w, h))
	x0, err := s.startImage()
	if err != nil {
		return err
	}
	s.x0 = x0
	return nil
}

// blendFor is the blend weights the selection uses: the given blend, or
// one style alone (a one-hot blend).
func (s *Session) blendFor() []float64 {
	if s.sel >= 1 && s.sel <= len(s.styles) {
		b := make([]float64, len(s.styles))
		b[s.sel-1] = 1
		return b
	}
	return s.blend
}

// newEngine builds an engine from the current settings that starts from
// x0 and waits for the GPU work the build submitted.
func (s *Session) newEngine(x0 transfer.Image) (*transfer.Engine, error) {
	var styles []transfer.Image
	for _, st := range s.styles {
		styles = append(styles, cli.ToTransfer(st))
	}
	e, err := transfer.NewEngine(s.net, s.cfg, s.c, styles, s.blendFor(), x0)
	if err != nil {
		return nil, err
	}
	if err := s.d.Poll(); err != nil {
		e.Release()
		return nil, err
	}
	return e, nil
}

// replace makes e the engine, releasing the old one, and books how long
// the change took since t0.
func (s *Session) replace(e *transfer.Engine, t0 time.Time) {
	if s.e != nil {
		s.e.Release()
		s.rebuilds++
	}
	s.e, s.partial = e, nil
	s.last = time.Since(t0)
}

// Start builds the first engine, from the start image; later, a new
// engine from the start image (which empties L-BFGS's history).
func (s *Session) Start() error {
	t0 := time.Now()
	e, err := s.newEngine(s.x0)
	if err != nil {
		return err
	}
	return s.install(e, t0, nil)
}

// install runs setup (GPU work that prepares e: copies, uploads; may be
// nil), waits for the GPU and makes e the engine. On error e is released
// and the old engine stays.
func (s *Session) install(e *transfer.Engine, t0 time.Time, setup func() error) error {
	if setup != nil {
		if err := setup(); err != nil {
			e.Release()
			return err
		}
		if err := s.d.Poll(); err != nil {
			e.Release()
			return err
		}
	}
	s.replace(e, t0)
	return nil
}

// inPlace reports whether settings can change without a new engine.
func (s *Session) inPlace() bool { return s.e != nil && s.e.Adam != nil }

// apply gives the engine the current loss weights and style selection, in
// place: no pipeline is built and the GPU is not drained.
func (s *Session) apply() error {
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

// rebuild builds a new engine at the same size from the current settings,
// carrying the current image and Adam's state over by GPU copies. The GPU
// must be idle (the caller drains its batches). On error the old engine
// stays.
func (s *Session) rebuild() error {
	t0 := time.Now()
	old := s.e
	e, err := s.newEngine(s.c)
	if err != nil {
		return err
	}
	return s.install(e, t0, func() error {
		enc, err := s.d.NewEncoder("live: carry state")
		if err != nil {
			return err
		}
		pairs := [][2]*gpu.Buffer{{old.X, e.X}}
		if old.Adam != nil && e.Adam != nil {
			pairs = append(pairs, [2]*gpu.Buffer{old.Adam.M, e.Adam.M}, [2]*gpu.Buffer{old.Adam.V, e.Adam.V}, [2]*gpu.Buffer{old.Adam.State, e.Adam.State})
		}
		for _, p := range pairs {
			if err := enc.Copy(p[0], p[1]); err != nil {
				enc.Discard()
				return err
			}
		}
		return enc.Submit()
	})
}

// restart puts the start image back and zeroes Adam's state (L-BFGS gets a
// fresh engine, which empties its history). The GPU must be idle.
func (s *Session) restart() error {
	if s.e.Adam == nil {
		return s.Start()
	}
	if err := s.e.X.Write(s.x0.Pix); err != nil {
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
func (s *Session) setLR(lr float64) error {
	if s.e.Adam != nil {
		if err := s.e.Adam.SetLR(lr); err != nil {
			return err
		}
		s.cfg.Adam.LR, s.cfg.LBFGS.LR = lr, lr
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
func (s *Session) engineLR() float64 {
	switch {
	case s.e == nil:
		return s.cfg.Adam.LR
	case s.e.Adam != nil:
		return s.e.Adam.Config().LR
	case s.e.LBFGS != nil:
		return s.e.LBFGS.LR
	}
	return math.NaN()
}

// step records and submits one whole iteration.
func (s *Session) step() error { return s.e.Step() }

// stepPiece submits the next piece of the split iteration in progress,
// splitting the next iteration into n pieces when there is none; last
// reports that the piece completed its iteration, of pieces in all.
func (s *Session) stepPiece(n int) (last bool, pieces int, err error) {
	if s.partial == nil || s.partial.Done() {
		s.partial = s.e.Split(n)
	}
	pieces = s.partial.Len()
	if last, err = s.partial.SubmitNext(); err != nil {
		s.partial = nil
	}
	return last, pieces, err
}

// dropSplit gives up the split iteration in progress (its pieces so far
// changed nothing the next iteration does not recompute); it reports
// whether one was part way.
func (s *Session) dropSplit() bool {
	midway := s.partial != nil && !s.partial.Done()
	s.partial = nil
	return midway
}

// scalars is the engine's loss buffer: total, content, style, tv.
func (s *Session) scalars() *gpu.Buffer { return s.e.Scalars }

// image is the engine's image buffer, (3,H,W); nil before Start.
func (s *Session) image() *gpu.Buffer {
	if s.e == nil {
		return nil
	}
	return s.e.X
}

// Release frees the engine.
func (s *Session) Release() {
	if s.e != nil {
		s.e.Release()
		s.e = nil
	}
}

// Headless runs n iterations of the session's engine with no window, as
// transfer.Run does (one iteration queued behind the running one), and
// prints the rate as a JSON line: the baseline for the window's cost.
func Headless(s *Session, n int, stdout io.Writer) error {
	if err := s.Start(); err != nil {
		return err
	}
	for i := 0; i < 2; i++ { // warm-up: first dispatches, allocations
		if err := s.step(); err != nil {
			return err
		}
	}
	if err := s.d.Poll(); err != nil {
		return err
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		prev := s.d.Mark()
		if err := s.step(); err != nil {
			return err
		}
		if err := prev.Wait(); err != nil {
			return err
		}
	}
	if err := s.d.Poll(); err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	b, _ := json.Marshal(map[string]any{"event": "headless", "iters": n, "seconds": secs,
		"it_per_sec": float64(n) / secs, "w": s.w, "h": s.h, "build_ms": s.last.Milliseconds()})
	_, err := fmt.Fprintln(stdout, string(b))
	return err
}
