// Package transfer is Gatys et al.'s (2016) style transfer on the GPU:
// targets, losses, the optimiser and the iteration loop, each iteration
// one command buffer with no readback.
package transfer

import (
	"fmt"

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
	// Kernels chooses the passes' kernel plans: measured ones (package
	// tune), or the heuristic's when nil.
	Kernels plan.Kernels
	// Unfused keeps the loss gradients in passes of their own. By default
	// a tapped layer's content and style gradients are added by the
	// backward pass of the conv above it, where the plan can fuse them
	// (plan.Fuse).
	Unfused bool
	// KeepActivations keeps every layer's activation of the iteration
	// trunk readable after an iteration (Trunk.Act), for tests that
	// inspect them, at the memory cost plan.Request.KeepActivations names.
	KeepActivations bool
	// TemporalWeight, when above 0, adds Ruder et al.'s (2016) temporal
	// loss, whose target and weights SetTemporal gives (zero until then).
	TemporalWeight float64
	// Tile, when above 0, runs the content targets and the iterations on
	// tiles of this core side (plan.Request.Tile): exact spatial tiling.
	Tile int
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
	LossTemporal
)

// Engine holds everything one image size needs: the targets, the trunk,
// the loss steps, the optimiser, and the recorded iteration. It executes a
// plan.Plan and decides nothing: which kernels, which fusions and which
// buffers, with their lifetimes, are the plan's.
type Engine struct {
	D    *gpu.Device
	Plan *plan.Plan
	// X is the image being optimised, (3,H,W), and DX the gradient of the
	// total loss; untiled they are Trunk's, tiled the whole image's
	// (Trunk runs the tiles).
	X, DX   *gpu.Buffer
	W, H    int
	Trunk   *vgg.Trunk
	Scalars *gpu.Buffer // [total, content, style, tv, temporal]
	Adam    *ops.Adam   // when the optimiser is Adam
	LBFGS   *ops.LBFGS  // when it is L-BFGS
	Iter    int

	iter  ops.Seq
	bufs  []*gpu.Buffer
	steps []interface{ Release() }

	net     *vgg.Net
	cfg     Config
	layouts vgg.Layouts // the weight layouts the engine holds (Net.Acquire)
	// The style targets: grams[j][l] is style image j's Gram at
	// cfg.StyleLayers[l]; A[l] = Σ_j blend[j]·grams[j][l] is recomputed by
	// combine from the blend weights in blendBuf, so the blend (or which
	// style is used) can change between iterations.
	grams    [][]*gpu.Buffer
	targets  []*gpu.Buffer
	P        []*gpu.Buffer // the content targets, untiled (Restart)
	blendBuf *gpu.Buffer
	blend    []float64
	combine  ops.Seq
	// The loss terms, whose weights SetWeights changes in place.
	content, style []*ops.Loss
	contentScale   []float64 // content[i]'s weight factor (tiled.go); 1 where unset
	tv             *ops.Loss
	temporal       *ops.TemporalLoss
	temporalBufs   []*gpu.Buffer  // its target (3,H,W) and weights (1,H,W)
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
		ContentLayers: c.ContentLayers, StyleLayers: c.StyleLayers, TV: c.TVWeight != 0, Temporal: c.TemporalWeight != 0, Unfused: c.Unfused, Tile: c.Tile,
		KeepActivations: c.KeepActivations, Optimizer: c.Optimizer, History: c.LBFGS.History, Kernels: c.Kernels}
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

// NewEngine plans an engine for cfg on net's adapter (plan.Make with
// cfg.Kernels, the heuristic's where nil), then builds it (Build).
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
	// The weight layouts the plan reads, before anything else.
	e.layouts = p.Layouts()
	if err := net.Acquire(e.layouts); err != nil {
		e.layouts = nil
		return fail(err)
	}
	contentTargets, iteration := e.contentTargets, e.iteration
	if p.Tiled() {
		contentTargets, iteration = e.contentTargetsTiled, e.iterationTiled
	}
	P, err := contentTargets(content)
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
	if err := iteration(P, x0); err != nil {
		return fail(err)
	}
	if !p.Tiled() {
		e.P = P
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
	if !same(cfg.ContentLayers, pc) || !same(cfg.StyleLayers, ps) || (cfg.TVWeight != 0) != p.TV || (cfg.TemporalWeight != 0) != p.Temporal || opt != popt || cfg.Unfused != p.Unfused || cfg.KeepActivations != p.KeepActivations ||
		(opt == "lbfgs" && cfg.LBFGS.History != p.History) {
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

// readback makes the staging buffer of the plan's owner (a loss or image
// readback, one each).
func (e *Engine) readback(owner string) (*gpu.Readback, error) {
	rbs, err := e.readbacks(owner)
	if err != nil {
		return nil, err
	}
	if len(rbs) != 1 {
		releaseAll(rbs)
		return nil, fmt.Errorf("transfer: the plan has %d %s buffers, want 1", len(rbs), owner)
	}
	return rbs[0], nil
}

// readbacks makes the staging buffers the plan lists for owner.
func (e *Engine) readbacks(owner string) ([]*gpu.Readback, error) {
	specs := e.Plan.BuffersOf(owner)
	if len(specs) == 0 {
		return nil, fmt.Errorf("transfer: the plan has no %s", owner)
	}
	var rbs []*gpu.Readback
	for _, s := range specs {
		if !s.Readback {
			releaseAll(rbs)
			return nil, fmt.Errorf("transfer: the plan's %s %s is no read-back buffer", owner, s.Name)
		}
		rb, err := e.D.NewReadback(s.Name, s.Bytes())
		if err != nil {
			releaseAll(rbs)
			return nil, err
		}
		rbs = append(rbs, rb)
	}
	return rbs, nil
}

// releaseAll releases read-backs.
func releaseAll(rbs []*gpu.Readback) {
	for _, rb := range rbs {
		rb.Release()
	}
}
