// Package transfer is Gatys et al.'s (2016) style transfer on the GPU:
// targets, losses, the optimiser and the iteration loop, each iteration
// one command buffer with no readback.
package transfer

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
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

// Engine holds everything one image size needs: the targets, the trunk,
// the loss steps, the optimiser, and the recorded iteration. It executes a
// plan.Plan and decides nothing: which kernels, which fusions and which
// buffers, with their lifetimes, are the plan's.
type Engine struct {
	D       *gpu.Device
	Plan    *plan.Plan
	Trunk   *vgg.Trunk
	Scalars *gpu.Buffer // [total, content, style, tv]
	Adam    *ops.Adam   // when the optimiser is Adam
	LBFGS   *ops.LBFGS  // when it is L-BFGS
	Iter    int

	iter  ops.Seq
	bufs  []*gpu.Buffer
	steps []interface{ Release() }

	net *vgg.Net
	cfg Config
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
// adds, as the plan decided (none with Config.Unfused).
func (e *Engine) FusedLayers() []string {
	var out []string
	for q, l := range e.Plan.Iterate.Layers {
		if l.FuseContent || l.FuseStyle {
			out = append(out, vgg.Table[q-1].Name)
		}
	}
	return out
}

// Request is the plan request of an engine that runs cfg with weights of
// these conv widths on a content image and style images of these sizes.
func (c Config) Request(widths []int, content plan.Size, styles []plan.Size) plan.Request {
	return plan.Request{Widths: widths, Content: content, Styles: styles,
		ContentLayers: c.ContentLayers, StyleLayers: c.StyleLayers, TV: c.TVWeight != 0, Unfused: c.Unfused,
		Optimizer: c.Optimizer, History: c.LBFGS.History}
}

// SizeOf is an image's size.
func SizeOf(img Image) plan.Size { return plan.Size{W: img.W, H: img.H} }

func sizesOf(imgs []Image) []plan.Size {
	var s []plan.Size
	for _, img := range imgs {
		s = append(s, SizeOf(img))
	}
	return s
}

// NewEngine plans an engine for cfg on net's adapter (plan.Make with the
// heuristic kernel plans), then builds it (Build).
func NewEngine(net *vgg.Net, cfg Config, content Image, styles []Image, blend []float64, x0 Image) (*Engine, error) {
	p, err := plan.Make(cfg.Request(net.Widths(), SizeOf(content), sizesOf(styles)), plan.LimitsOf(net.D))
	if err != nil {
		return nil, err
	}
	return Build(net, p, cfg, content, styles, blend, x0)
}

// Build executes plan p's stages: the content targets, each style's
// Grams (each stage's trunk freed once its GPU work has finished), then
// the iteration, which starts from x0. cfg supplies the loss weights and
// the optimiser's settings; its layers and optimiser must be p's.
func Build(net *vgg.Net, p *plan.Plan, cfg Config, content Image, styles []Image, blend []float64, x0 Image) (*Engine, error) {
	if err := checkBuild(p, cfg, content, styles, blend, x0); err != nil {
		return nil, err
	}
	e := &Engine{D: net.D, Plan: p, net: net, cfg: cfg}
	fail := func(err error) (*Engine, error) {
		e.Release()
		return nil, err
	}
	P, err := e.contentTargets(content)
	if err != nil {
		return fail(fmt.Errorf("content targets: %w", err))
	}
	for j, s := range styles {
		g, err := e.take(plan.OwnStyleTarget, j*len(p.StyleLosses), (j+1)*len(p.StyleLosses))
		if err != nil {
			return fail(err)
		}
		e.grams = append(e.grams, g)
		if err := e.styleGrams(j, s, p); err != nil {
			return fail(fmt.Errorf("style image %d: %w", j+1, err))
		}
	}
	if err := e.blendedTargets(blend); err != nil {
		return fail(err)
	}
	if err := e.iteration(P, x0); err != nil {
		return fail(err)
	}
	return e, nil
}

// checkBuild checks that the images and cfg are those p was made for.
func checkBuild(p *plan.Plan, cfg Config, content Image, styles []Image, blend []float64, x0 Image) error {
	if len(styles) != len(blend) {
		return fmt.Errorf("transfer: %d style images but %d blend weights", len(styles), len(blend))
	}
	if SizeOf(content) != p.Content || len(styles) != len(p.Styles) {
		return fmt.Errorf("transfer: the plan is for a %s content image and %d styles, not %s and %d", p.Content, len(p.Styles), SizeOf(content), len(styles))
	}
	for j, s := range styles {
		if SizeOf(s) != p.Styles[j] {
			return fmt.Errorf("transfer: the plan is for a %s style image %d, not %s", p.Styles[j], j+1, SizeOf(s))
		}
	}
	if SizeOf(x0) != p.Content {
		return fmt.Errorf("transfer: initial image %s, content %s", SizeOf(x0), p.Content)
	}
	same := func(a, b []string) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if ca, err := vgg.Canonical(a[i]); err != nil || ca != b[i] {
				return false
			}
		}
		return true
	}
	var pc, ps []string
	for _, l := range p.ContentLosses {
		pc = append(pc, l.Layer)
	}
	for _, l := range p.StyleLosses {
		ps = append(ps, l.Layer)
	}
	opt := cfg.Optimizer
	if opt == "" {
		opt = "adam"
	}
	popt := p.Optimizer
	if popt == "" {
		popt = "adam"
	}
	if !same(cfg.ContentLayers, pc) || !same(cfg.StyleLayers, ps) || (cfg.TVWeight != 0) != p.TV || opt != popt || cfg.Unfused != p.Unfused {
		return fmt.Errorf("transfer: the plan was made for another configuration")
	}
	return nil
}

// take allocates the plan's buffers of owner, those from index lo to hi
// (exclusive) among them, hi < 0 meaning all, and keeps them until Release.
func (e *Engine) take(owner string, lo, hi int) ([]*gpu.Buffer, error) {
	specs := e.Plan.BuffersOf(owner)
	if hi < 0 {
		hi = len(specs)
	}
	if lo < 0 || hi > len(specs) || lo > hi {
		return nil, fmt.Errorf("transfer: the plan has %d buffers of %s, not %d..%d", len(specs), owner, lo, hi)
	}
	var out []*gpu.Buffer
	for _, s := range specs[lo:hi] {
		b, err := e.D.Alloc(s.Spec)
		if err != nil {
			return nil, err
		}
		e.bufs = append(e.bufs, b)
		out = append(out, b)
	}
	return out, nil
}

// contentTargets runs the content stage: the content trunk's forward, its
// activations at the content layers copied into the targets P, which
// outlive the trunk. It returns P, one per content layer.
func (e *Engine) contentTargets(content Image) ([]*gpu.Buffer, error) {
	d, p := e.D, e.Plan
	ct, err := e.net.NewTrunk(p.ContentTrunk)
	if err != nil {
		return nil, err
	}
	defer ct.Release()
	P, err := e.take(plan.OwnContentTarget, 0, -1)
	if err != nil {
		return nil, err
	}
	if err := ct.X.Write(content.Pix); err != nil {
		return nil, err
	}
	enc, err := d.NewEncoder("content targets")
	if err != nil {
		return nil, err
	}
	if err := ct.Forward().Record(enc); err != nil {
		enc.Discard()
		return nil, err
	}
	for i, l := range p.ContentLosses {
		a, err := ct.Act(l.Layer)
		if err != nil {
			enc.Discard()
			return nil, err
		}
		if err := enc.Copy(a, P[i]); err != nil {
			enc.Discard()
			return nil, err
		}
	}
	if err := enc.Submit(); err != nil {
		return nil, err
	}
	// The trunk dies with this stage: wait for its work before freeing it.
	return P, d.Poll()
}

// styleGrams runs style image j's stage with plan p: its trunk's forward
// and its Grams at the style layers, into e.grams[j]. The trunk and the
// Gram passes are freed once the GPU has finished with them.
func (e *Engine) styleGrams(j int, img Image, p *plan.Plan) error {
	d := e.D
	st, err := e.net.NewTrunk(p.StyleTrunks[j])
	if err != nil {
		return err
	}
	var steps []*ops.Step
	defer func() {
		for _, s := range steps {
			s.Release()
		}
		st.Release()
	}()
	if err := st.X.Write(img.Pix); err != nil {
		return err
	}
	seq := ops.Seq{st.Forward()}
	for l, sl := range p.StyleLosses {
		a, err := st.Act(sl.Layer)
		if err != nil {
			return err
		}
		gs, err := ops.NewGramPlan(d, a, e.grams[j][l], p.TargetGrams[j][l])
		if err != nil {
			return err
		}
		steps = append(steps, gs)
		seq = append(seq, gs)
	}
	enc, err := d.NewEncoder(fmt.Sprintf("style %d grams", j+1))
	if err != nil {
		return err
	}
	if err := seq.Record(enc); err != nil {
		enc.Discard()
		return err
	}
	if err := enc.Submit(); err != nil {
		return err
	}
	return d.Poll()
}

// blendedTargets makes the style targets A = Σ_j blend_j·G_j, on the
// GPU, from the blend weights.
func (e *Engine) blendedTargets(blend []float64) error {
	t, err := e.take(plan.OwnTargets, 0, -1)
	if err != nil {
		return err
	}
	e.targets, e.blendBuf = t[:len(t)-1], t[len(t)-1]
	for l, A := range e.targets {
		z, err := ops.NewFill(e.D, A, 0)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, z)
		e.combine = append(e.combine, z)
		for j := range e.grams {
			ax, err := ops.NewAxpy(e.D, 1, e.blendBuf, j, e.grams[j][l], A)
			if err != nil {
				return err
			}
			e.steps = append(e.steps, ax)
			e.combine = append(e.combine, ax)
		}
	}
	return e.SetBlend(blend)
}

// iteration builds the iteration at the content's size, starting from
// x0, with the content targets P: forward, losses, backward with the
// plan's fused gradients, TV, the total, and the optimiser.
func (e *Engine) iteration(P []*gpu.Buffer, x0 Image) error {
	d, p, cfg := e.D, e.Plan, e.cfg
	tr, err := e.net.NewTrunk(p.Iterate)
	if err != nil {
		return err
	}
	e.Trunk = tr
	e.steps = append(e.steps, tr)
	if err := tr.X.Write(x0.Pix); err != nil {
		return err
	}
	sc, err := e.take(plan.OwnScalars, 0, -1)
	if err != nil {
		return err
	}
	e.Scalars = sc[0]
	taps := map[string][]ops.Recorder{}
	fused := map[string]ops.FusedGrads{}
	contentAt := map[string]*ops.Loss{}
	styleAt := map[string]*ops.StyleLoss{}
	wc := cfg.ContentWeight / float64(max(len(p.ContentLosses), 1))
	ws := cfg.StyleWeight / float64(max(len(p.StyleLosses), 1))
	for i, l := range p.ContentLosses {
		a, err := tr.Act(l.Layer)
		if err != nil {
			return err
		}
		var g *gpu.Buffer
		if !l.Fused {
			if g, err = tr.Grad(l.Layer); err != nil {
				return err
			}
		}
		cl, err := ops.NewContentLoss(d, a, P[i], g, e.Scalars, LossContent, wc, true, true)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, cl)
		e.content = append(e.content, cl)
		taps[l.Layer] = append(taps[l.Layer], cl)
		if l.Fused {
			contentAt[l.Layer] = cl
		}
	}
	for i, l := range p.StyleLosses {
		a, err := tr.Act(l.Layer)
		if err != nil {
			return err
		}
		var g *gpu.Buffer
		if !l.Fused {
			if g, err = tr.Grad(l.Layer); err != nil {
				return err
			}
		}
		sl, err := ops.NewStyleLossPlan(d, a, e.targets[i], g, e.Scalars, LossStyle, ws, true, true, l.Style)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, sl)
		e.style = append(e.style, &sl.Loss)
		taps[l.Layer] = append(taps[l.Layer], sl)
		if l.Fused {
			styleAt[l.Layer] = sl
		}
	}
	for _, l := range append(append([]plan.Loss(nil), p.ContentLosses...), p.StyleLosses...) {
		if l.Fused {
			fused[l.Layer] = ops.FuseLosses(contentAt[l.Layer], styleAt[l.Layer])
		}
	}
	bw, err := tr.Backward(taps, fused)
	if err != nil {
		return err
	}
	zero, err := ops.NewFill(d, e.Scalars, 0)
	if err != nil {
		return err
	}
	e.steps = append(e.steps, zero)
	e.iter = ops.Seq{zero, tr.Forward(), bw}
	if p.TV {
		tvg, err := e.take(plan.OwnTVGrad, 0, -1)
		if err != nil {
			return err
		}
		tv, err := ops.NewTVLoss(d, tr.X, tvg[0], e.Scalars, LossTV, cfg.TVWeight, false, false)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, tv)
		e.tv = tv
		add, err := ops.NewAxpy(d, 1, nil, 0, tvg[0], tr.DX)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, add)
		e.iter = append(e.iter, tv, add)
	}
	total, err := ops.NewScalar(d, e.Scalars, "s[0] = s[1] + s[2] + s[3];")
	if err != nil {
		return err
	}
	e.steps = append(e.steps, total)
	e.iter = append(e.iter, total)
	if p.Optimizer == "lbfgs" {
		if e.LBFGS, err = ops.NewLBFGS(d, tr.X, tr.DX, p.History, cfg.LBFGS.LR); err != nil {
			return err
		}
		e.steps = append(e.steps, e.LBFGS)
		return nil
	}
	if e.Adam, err = ops.NewAdam(d, cfg.Adam, tr.X, tr.DX); err != nil {
		return err
	}
	e.steps = append(e.steps, e.Adam)
	return nil
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

// SetStyle replaces style image j (0-based): its Grams are recomputed
// and the targets recombined, between iterations. The new image may have
// another size: its trunk is planned anew (plan.Make), and lives only
// while its Grams are computed, on top of the iteration's memory. It
// waits for the GPU.
func (e *Engine) SetStyle(j int, img Image) error {
	if j < 0 || j >= len(e.grams) {
		return fmt.Errorf("transfer: no style image %d (have %d)", j+1, len(e.grams))
	}
	r := e.Plan.Request
	r.Styles = append([]plan.Size(nil), r.Styles...)
	r.Styles[j] = SizeOf(img)
	p, err := plan.Make(r, e.Plan.Limits)
	if err != nil {
		return err
	}
	if err := e.styleGrams(j, img, p); err != nil {
		return err
	}
	e.Plan = p
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
	for _, b := range e.bufs {
		b.Release()
	}
	e.steps, e.bufs = nil, nil
}
