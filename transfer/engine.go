// Package transfer is Gatys et al.'s (2016) style transfer on the GPU:
// targets, losses, the optimiser and the iteration loop, each iteration
// one command buffer with no readback.
package transfer

import (
	"fmt"
	"math"
	"sort"

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
	// Unfused keeps the loss gradients in passes of their own. By default
	// a tapped layer's content and style gradients are added by the
	// backward pass of the conv above it (vgg.Trunk.BackwardFused) where
	// that conv can take them (vgg.Trunk.CanFuse).
	Unfused bool
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

	net     *vgg.Net
	cfg     Config
	deepest string
	// The style targets: grams[j][l] is style image j's Gram at
	// cfg.StyleLayers[l]; A[l] = Σ_j blend[j]·grams[j][l] is recomputed by
	// combine from the blend weights in blendBuf, so the blend (or which
	// style is used) can change between iterations.
	grams    [][]*gpu.Buffer
	targets  []*gpu.Buffer
	blendBuf *gpu.Buffer
	blend    []float64
	combine  ops.Seq
	// The loss terms, whose weights SetWeights changes in place.
	content, style []*ops.Loss
	tv             *ops.Loss
	fused          []string       // the layers whose loss gradients are fused
	leaves         []ops.Recorder // the iteration's ops, flattened once for Split
}

// Dispatches is the number of compute dispatches one iteration records
// (Adam's included, not L-BFGS's).
func (e *Engine) Dispatches() int {
	n := countDispatches(e.iter)
	if e.Adam != nil {
		n += countDispatches(e.Adam)
	}
	return n
}

func countDispatches(r ops.Recorder) int {
	switch v := r.(type) {
	case ops.Seq:
		n := 0
		for _, m := range v {
			n += countDispatches(m)
		}
		return n
	case interface{ Dispatches() int }:
		return v.Dispatches()
	}
	return 0
}

// FusedLayers lists the layers whose loss gradients the conv backward
// adds (none with Config.Unfused).
func (e *Engine) FusedLayers() []string { return append([]string(nil), e.fused...) }

// fusable returns the layers of cfg whose losses fuse into the backward:
// those the trunk can fuse, appearing at most once in each list (a
// layer named twice in a list keeps its losses' own passes).
func fusable(tr *vgg.Trunk, cfg Config) map[string]bool {
	if cfg.Unfused {
		return nil
	}
	count := func(ls []string) map[int]int {
		n := map[int]int{}
		for _, l := range ls {
			if p, err := vgg.Index(l); err == nil {
				n[p]++
			}
		}
		return n
	}
	nc, ns := count(cfg.ContentLayers), count(cfg.StyleLayers)
	ok := map[string]bool{}
	for _, ls := range [][]string{cfg.ContentLayers, cfg.StyleLayers} {
		for _, l := range ls {
			p, err := vgg.Index(l)
			if err != nil || nc[p] > 1 || ns[p] > 1 || !tr.CanFuse(l) {
				continue
			}
			ok[vgg.Table[p].Name] = true
		}
	}
	return ok
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
	e := &Engine{D: d, net: net, cfg: cfg, deepest: deepest}
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
	// Style targets A = Σ blend_j G(style_j), from each style's Grams.
	for _, l := range cfg.StyleLayers {
		a, err := ct.Act(l)
		if err != nil {
			return fail(err)
		}
		c := a.Shape[0]
		A, err := newBuf("A."+l, c, c)
		if err != nil {
			return fail(err)
		}
		e.targets = append(e.targets, A)
	}
	if e.blendBuf, err = newBuf("blend", max(len(styles), 1)); err != nil {
		return fail(err)
	}
	for j := range styles {
		var gs []*gpu.Buffer
		for l := range cfg.StyleLayers {
			c := e.targets[l].Shape[0]
			g, err := newBuf(fmt.Sprintf("G%d.%s", j+1, cfg.StyleLayers[l]), c, c)
			if err != nil {
				return fail(err)
			}
			gs = append(gs, g)
		}
		e.grams = append(e.grams, gs)
	}
	for l, A := range e.targets {
		z, err := ops.NewFill(d, A, 0)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, z)
		e.combine = append(e.combine, z)
		for j := range styles {
			ax, err := ops.NewAxpy(d, 1, e.blendBuf, j, e.grams[j][l], A)
			if err != nil {
				return fail(err)
			}
			e.steps = append(e.steps, ax)
			e.combine = append(e.combine, ax)
		}
	}
	for j, s := range styles {
		if err := e.styleGrams(j, s, false); err != nil {
			return fail(fmt.Errorf("style image %d: %w", j+1, err))
		}
	}
	if err := e.SetBlend(blend); err != nil {
		return fail(err)
	}
	A := map[string]*gpu.Buffer{}
	for l, name := range cfg.StyleLayers {
		A[name] = e.targets[l]
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
	// Fused layers' losses compute only their values (and Grams); the conv
	// backward above the layer adds their gradients.
	fuse := fusable(tr, cfg)
	fused := map[string]ops.GradTaps{}
	canon := func(l string) string { p, _ := vgg.Index(l); return vgg.Table[p].Name }
	wc := cfg.ContentWeight / float64(max(len(cfg.ContentLayers), 1))
	ws := cfg.StyleWeight / float64(max(len(cfg.StyleLayers), 1))
	for _, l := range cfg.ContentLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		if fuse[canon(l)] {
			g = nil
		}
		cl, err := ops.NewContentLoss(d, a, P[l], g, e.Scalars, LossContent, wc, true, true)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, cl)
		e.content = append(e.content, cl)
		taps[l] = append(taps[l], cl)
		if g == nil {
			ft := fused[canon(l)]
			ft.Content = cl
			fused[canon(l)] = ft
		}
	}
	for _, l := range cfg.StyleLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		if fuse[canon(l)] {
			g = nil
		}
		sl, err := ops.NewStyleLoss(d, a, A[l], g, e.Scalars, LossStyle, ws, true, true)
		if err != nil {
			return fail(err)
		}
		e.steps = append(e.steps, sl)
		e.style = append(e.style, &sl.Loss)
		taps[l] = append(taps[l], sl)
		if g == nil {
			ft := fused[canon(l)]
			ft.Style = sl
			fused[canon(l)] = ft
		}
	}
	for l := range fused {
		e.fused = append(e.fused, l)
	}
	sort.Slice(e.fused, func(i, j int) bool {
		pi, _ := vgg.Index(e.fused[i])
		pj, _ := vgg.Index(e.fused[j])
		return pi < pj
	})
	bw, err := tr.BackwardFused(taps, fused)
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
		e.tv = tv
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

// styleGrams computes style image j's Grams at the style layers into
// e.grams[j] with a trunk at the image's size. When release is set the
// trunk is freed once the GPU has finished with it; otherwise the engine
// keeps it until Release.
func (e *Engine) styleGrams(j int, img Image, release bool) error {
	d := e.D
	st, err := e.net.NewTrunk(img.H, img.W, e.deepest, false)
	if err != nil {
		return err
	}
	var steps []interface{ Release() }
	free := func() {
		for _, s := range steps {
			s.Release()
		}
		st.Release()
	}
	if err := st.X.Write(img.Pix); err != nil {
		free()
		return err
	}
	seq := ops.Seq{st.Forward()}
	for l, name := range e.cfg.StyleLayers {
		a, err := st.Act(name)
		if err != nil {
			free()
			return err
		}
		gs, err := ops.NewGram(d, a, e.grams[j][l])
		if err != nil {
			free()
			return err
		}
		steps = append(steps, gs)
		seq = append(seq, gs)
	}
	enc, err := d.NewEncoder(fmt.Sprintf("style %d grams", j+1))
	if err != nil {
		free()
		return err
	}
	if err := seq.Record(enc); err != nil {
		enc.Discard()
		free()
		return err
	}
	if err := enc.Submit(); err != nil {
		free()
		return err
	}
	if !release {
		e.trunk = append(e.trunk, st)
		for _, s := range steps {
			e.steps = append(e.steps, s)
		}
		return nil
	}
	err = d.Poll()
	free()
	return err
}

// Blend is the style blend weights in use.
func (e *Engine) Blend() []float64 { return append([]float64(nil), e.blend...) }

// SetBlend changes the style blend weights (one per style image; a one-hot
// vector selects one style) and recomputes the style targets on the GPU,
// ordered before the iterations submitted after it.
func (e *Engine) SetBlend(blend []float64) error {
	if len(blend) != len(e.grams) {
		return fmt.Errorf("transfer: %d style images but %d blend weights", len(e.grams), len(blend))
	}
	v := make([]float32, max(len(blend), 1))
	for j, b := range blend {
		if math.IsNaN(b) || math.IsInf(b, 0) || b < 0 {
			return fmt.Errorf("transfer: blend weight %d is %v; want a finite number >= 0", j+1, b)
		}
		v[j] = float32(b)
	}
	if err := e.blendBuf.Write(v); err != nil {
		return err
	}
	enc, err := e.D.NewEncoder("style targets")
	if err != nil {
		return err
	}
	if err := e.combine.Record(enc); err != nil {
		enc.Discard()
		return err
	}
	if err := enc.Submit(); err != nil {
		return err
	}
	e.blend = append(e.blend[:0], blend...)
	return nil
}

// SetStyle replaces style image j (0-based): its Grams are recomputed and
// the targets recombined, between iterations. It waits for the GPU.
func (e *Engine) SetStyle(j int, img Image) error {
	if j < 0 || j >= len(e.grams) {
		return fmt.Errorf("transfer: no style image %d (have %d)", j+1, len(e.grams))
	}
	if err := e.styleGrams(j, img, true); err != nil {
		return err
	}
	return e.SetBlend(e.blend)
}

// Weights returns the content, style and TV weights in use (before their
// division by the number of layers).
func (e *Engine) Weights() (content, style, tv float64) {
	return e.cfg.ContentWeight, e.cfg.StyleWeight, e.cfg.TVWeight
}

// SetWeights changes the loss weights (before their division by the
// number of layers) for the iterations submitted from now on. The kernels
// read them from uniforms: no pipeline is rebuilt. A TV weight can change
// only when the engine was built with one (> 0).
func (e *Engine) SetWeights(content, style, tv float64) error {
	for _, w := range []struct {
		n string
		v float64
	}{{"content", content}, {"style", style}, {"tv", tv}} {
		if math.IsNaN(w.v) || math.IsInf(w.v, 0) || w.v < 0 {
			return fmt.Errorf("transfer: %s weight %v; want a finite number >= 0", w.n, w.v)
		}
	}
	if e.tv == nil && tv != 0 {
		return fmt.Errorf("transfer: this engine has no TV loss (it was built with TV weight 0)")
	}
	for _, l := range e.content {
		if err := l.SetWeight(content / float64(len(e.content))); err != nil {
			return err
		}
	}
	for _, l := range e.style {
		if err := l.SetWeight(style / float64(len(e.style))); err != nil {
			return err
		}
	}
	if e.tv != nil {
		if err := e.tv.SetWeight(tv); err != nil {
			return err
		}
	}
	e.cfg.ContentWeight, e.cfg.StyleWeight, e.cfg.TVWeight = content, style, tv
	return nil
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
	return e.recordOptimizer(enc, e.Iter+1)
}

// recordOptimizer appends iteration it's optimiser step to enc.
func (e *Engine) recordOptimizer(enc *gpu.Encoder, it int) error {
	if e.Adam != nil {
		return e.Adam.Record(enc)
	}
	if e.LBFGS != nil {
		return e.LBFGS.Record(enc, it)
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
