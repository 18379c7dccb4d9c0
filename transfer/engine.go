// Package transfer is Gatys et al.'s (2016) style transfer on the GPU:
// targets, losses, the optimiser and the iteration loop, each iteration
// one command buffer with no readback.
package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// Image is an RGB image in [0,1], planar (3,H,W).
type Image struct {
	H, W int
	Pix  []float32
}

// Config is the loss and optimiser settings of a run.
type Config struct {
	ContentLayers, StyleLayers []string
	ContentWeight, StyleWeight float64 // before division by the layer counts
	TVWeight                   float64
	Optimizer                  string // "adam" (the default) or "lbfgs"
	Adam                       ops.AdamConfig
	LBFGS                      LBFGSConfig
}

// LBFGSConfig is L-BFGS's settings: history size and step length.
type LBFGSConfig struct {
	History int
	LR      float64
}

// Loss indices in the scalar buffer.
const (
	LossTotal = iota
	LossContent
	LossStyle
	LossTV
	numScalars
)

// Engine holds everything one image size needs: the trunk, the targets,
// the loss steps, the optimiser, and the recorded iteration.
type Engine struct {
	D       *gpu.Device
	Trunk   *vgg.Trunk
	Scalars *gpu.Buffer // [total, content, style, tv]
	Adam    *ops.Adam   // when the optimiser is Adam
	LBFGS   *LBFGS      // when it is L-BFGS
	Iter    int

	iter  ops.Seq
	bufs  []*gpu.Buffer
	steps []interface{ Release() }
	trunk []*vgg.Trunk
}

func deepestOf(layers ...[]string) (string, error) {
	best, name := -1, ""
	for _, ls := range layers {
		for _, l := range ls {
			p, err := vgg.Index(l)
			if err != nil {
				return "", err
			}
			if p > best {
				best, name = p, vgg.Table[p].Name
			}
		}
	}
	if best < 0 {
		return "", fmt.Errorf("transfer: no content or style layers")
	}
	return name, nil
}

// NewEngine computes the targets from content and styles (blended with
// weights blend) once, then builds the iteration that starts from x0.
func NewEngine(net *vgg.Net, cfg Config, content Image, styles []Image, blend []float64, x0 Image) (*Engine, error) {
	if len(styles) != len(blend) {
		return nil, fmt.Errorf("transfer: %d style images but %d blend weights", len(styles), len(blend))
	}
	deepest, err := deepestOf(cfg.ContentLayers, cfg.StyleLayers)
	if err != nil {
		return nil, err
	}
	d := net.D
	e := &Engine{D: d}
	fail := func(err error) (*Engine, error) {
		e.Release()
		return nil, err
	}
	newBuf := func(name string, shape ...int) (*gpu.Buffer, error) {
		b, err := d.NewBuffer(name, gpu.F32, shape...)
		if err == nil {
			e.bufs = append(e.bufs, b)
		}
		return b, err
	}
	run := func(r ops.Recorder) error {
		enc, err := d.NewEncoder("targets")
		if err != nil {
			return err
		}
		if err := r.Record(enc); err != nil {
			enc.Discard()
			return err
		}
		return enc.Submit()
	}
	// Content targets P.
	ct, err := net.NewTrunk(content.H, content.W, deepest, false)
	if err != nil {
		return fail(err)
	}
	e.trunk = append(e.trunk, ct)
	if err := ct.X.Write(content.Pix); err != nil {
		return fail(err)
	}
	P := map[string]*gpu.Buffer{}
	enc, err := d.NewEncoder("content targets")
	if err != nil {
		return fail(err)
	}
	if err := ct.Forward().Record(enc); err != nil {
		enc.Discard()
		return fail(err)
	}
	for _, l := range cfg.ContentLayers {
		a, err := ct.Act(l)
		if err != nil {
			enc.Discard()
			return fail(err)
		}
		if P[l], err = newBuf("P."+l, a.Shape...); err != nil {
			enc.Discard()
			return fail(err)
		}
		if err := enc.Copy(a, P[l]); err != nil {
			return fail(err)
		}
	}
	if err := enc.Submit(); err != nil {
		return fail(err)
	}
	// Style targets A = Σ blend_j G(style_j).
	A := map[string]*gpu.Buffer{}
	for _, l := range cfg.StyleLayers {
		a, err := ct.Act(l)
		if err != nil {
			return fail(err)
		}
		c := a.Shape[0]
		if A[l], err = newBuf("A."+l, c, c); err != nil {
			return fail(err)
		}
	}
	for j, s := range styles {
		st, err := net.NewTrunk(s.H, s.W, deepest, false)
		if err != nil {
			return fail(fmt.Errorf("style image %d: %w", j+1, err))
		}
		e.trunk = append(e.trunk, st)
		if err := st.X.Write(s.Pix); err != nil {
			return fail(err)
		}
		seq := ops.Seq{st.Forward()}
		for _, l := range cfg.StyleLayers {
			a, _ := st.Act(l)
			c := a.Shape[0]
			g, err := newBuf("G", c, c)
			if err != nil {
				return fail(err)
			}
			gs, err := ops.NewGram(d, a, g)
			if err != nil {
				return fail(err)
			}
			ax, err := ops.NewAxpy(d, blend[j], nil, 0, g, A[l])
			if err != nil {
				return fail(err)
			}
			e.steps = append(e.steps, gs, ax)
			seq = append(seq, gs, ax)
		}
		if err := run(seq); err != nil {
			return fail(err)
		}
	}
	// The iteration at the content's size.
	tr, err := net.NewTrunk(content.H, content.W, deepest, true)
	if err != nil {
		return fail(err)
	}
	e.Trunk = tr
	e.trunk = append(e.trunk, tr)
	if x0.H != content.H || x0.W != content.W {
		return fail(fmt.Errorf("transfer: initial image %dx%d, content %dx%d", x0.W, x0.H, content.W, content.H))
	}
	if err := tr.X.Write(x0.Pix); err != nil {
		return fail(err)
	}
	if e.Scalars, err = newBuf("scalars", numScalars); err != nil {
		return fail(err)
	}
	taps := map[string][]ops.Recorder{}
	wc := cfg.ContentWeight / float64(max(len(cfg.ContentLayers), 1))
	ws := cfg.StyleWeight / float64(max(len(cfg.StyleLayers), 1))
	for _, l := range cfg.ContentLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		cl, err := ops.NewContentLoss(d, a, P[l], g, e.Scalars, LossContent, wc, true, true)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, cl)
		taps[l] = append(taps[l], cl)
	}
	for _, l := range cfg.StyleLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		sl, err := ops.NewStyleLoss(d, a, A[l], g, e.Scalars, LossStyle, ws, true, true)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, sl)
		taps[l] = append(taps[l], sl)
	}
	bw, err := tr.Backward(taps)
	if err != nil {
		return fail(err)
	}
	zero, err := ops.NewFill(d, e.Scalars, 0)
	if err != nil {
		return fail(err)
	}
	e.steps = append(e.steps, zero)
	e.iter = ops.Seq{zero, tr.Forward(), bw}
	if cfg.TVWeight != 0 {
		tvg, err := newBuf("tv.grad", 3, content.H, content.W)
		if err != nil {
			return fail(err)
		}
		tv, err := ops.NewTVLoss(d, tr.X, tvg, e.Scalars, LossTV, cfg.TVWeight, false, false)
		if err != nil {
			return fail(err)
		}
		add, err := ops.NewAxpy(d, 1, nil, 0, tvg, tr.DX)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, tv, add)
		e.iter = append(e.iter, tv, add)
	}
	total, err := ops.NewScalar(d, e.Scalars, "s[0] = s[1] + s[2] + s[3];")
	if err != nil {
		return fail(err)
	}
	e.steps = append(e.steps, total)
	e.iter = append(e.iter, total)
	switch cfg.Optimizer {
	case "", "adam":
		if e.Adam, err = ops.NewAdam(d, cfg.Adam, tr.X, tr.DX); err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, e.Adam)
	case "lbfgs":
		if e.LBFGS, err = NewLBFGS(d, tr.X, tr.DX, cfg.LBFGS.History, cfg.LBFGS.LR); err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, e.LBFGS)
	default:
		return fail(fmt.Errorf("transfer: unknown optimiser %q (want adam or lbfgs)", cfg.Optimizer))
	}
	return e, nil
}

// Step runs one iteration: forward, losses, backward, optimiser step (and
// clip), recorded into one command buffer and submitted, with no readback.
// The losses it leaves in Scalars are those of the image before the step.
func (e *Engine) Step() error {
	enc, err := e.D.NewEncoder(fmt.Sprintf("iteration %d", e.Iter+1))
	if err != nil {
		return err
	}
	if err := e.record(enc); err != nil {
		enc.Discard()
		return err
	}
	if err := enc.Submit(); err != nil {
		return err
	}
	e.Iter++
	return nil
}

// record appends iteration e.Iter+1 to enc.
func (e *Engine) record(enc *gpu.Encoder) error {
	if err := e.iter.Record(enc); err != nil {
		return err
	}
	if e.Adam != nil {
		return e.Adam.Record(enc)
	}
	if e.LBFGS != nil {
		return e.LBFGS.Record(enc, e.Iter+1)
	}
	return nil
}

// Losses reads back [total, content, style, tv] (blocking; call it only
// when the values are wanted).
func (e *Engine) Losses() ([]float32, error) { return e.Scalars.Read() }

// Release frees everything the engine allocated (not the Net).
func (e *Engine) Release() {
	for _, s := range e.steps {
		s.Release()
	}
	for _, t := range e.trunk {
		t.Release()
	}
	for _, b := range e.bufs {
		b.Release()
	}
	e.steps, e.trunk, e.bufs = nil, nil, nil
}
