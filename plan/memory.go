package plan

import (
	"fmt"
	"math"
	"strings"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// Buffer is one buffer of the run and its lifetime: it is made at the
// start of stage First (before that stage's GPU work) and freed at the
// end of stage Last (after that stage's GPU work has finished).
type Buffer struct {
	gpu.Spec
	Owner       string // what makes it: "content trunk", "adam", ...
	First, Last int    // indices into Plan.Stages, inclusive
	Readback    bool   // a staging buffer the CPU maps, not a storage buffer
}

// Stage names. A run's stages follow one another; each ends with its GPU
// work finished, so that what dies with it can be freed before the next
// stage allocates.
const (
	StageContent = "content" // the content trunk's forward: the content targets P
	StageIterate = "iterate" // the iterations
)

// StageStyle is style image j's stage (0-based j): its trunk's forward
// and its Grams.
func StageStyle(j int) string { return fmt.Sprintf("style %d", j+1) }

// StageBytes is the memory live during stage s: every buffer made at or
// before it and not yet freed.
func (p *Plan) StageBytes(s int) uint64 {
	var n uint64
	for _, b := range p.Buffers {
		if b.First <= s && s <= b.Last {
			n += b.Bytes()
		}
	}
	return n
}

// Peak is the most memory the run's buffers hold at once, and the stage
// where they do. The weights (WeightBytes) come on top.
func (p *Plan) Peak() (bytes uint64, stage int) {
	for s := range p.Stages {
		if n := p.StageBytes(s); n > bytes {
			bytes, stage = n, s
		}
	}
	return bytes, stage
}

// Stage returns the index of the named stage, or -1.
func (p *Plan) Stage(name string) int {
	for i, s := range p.Stages {
		if s == name {
			return i
		}
	}
	return -1
}

// BuffersOf lists the buffers that owner makes.
func (p *Plan) BuffersOf(owner string) []Buffer {
	var out []Buffer
	for _, b := range p.Buffers {
		if b.Owner == owner {
			out = append(out, b)
		}
	}
	return out
}

// Owners of buffers; the engine allocates each owner's buffers from these
// lists, in order.
const (
	OwnContentTrunk  = "content trunk"
	OwnContentTarget = "content targets"
	OwnStyleTarget   = "style targets"
	OwnTargets       = "blended targets"
	OwnIterate       = "iteration trunk"
	OwnScalars       = "loss values"
	OwnLosses        = "losses"
	OwnTVGrad        = "tv gradient"
	OwnOptimizer     = "optimiser"
	OwnEMA           = "moving average"
	OwnLossReadback  = "loss readback"
	OwnImageReadback = "image readback"
	OwnTiling        = "tiling"        // a tiled iteration's own
	OwnContentImage  = "content image" // the whole content image, for a tiled content stage
	OwnTemporal      = "temporal"      // the temporal loss's target and weights
)

// OwnStyleTrunk is style image j's trunk (0-based j).
func OwnStyleTrunk(j int) string { return fmt.Sprintf("style %d trunk", j+1) }

// buffers lists every buffer of the run with its lifetime, in the order
// the engine makes them.
func (p *Plan) buffers() {
	p.Stages = []string{StageContent}
	for j := range p.StyleTrunks {
		p.Stages = append(p.Stages, StageStyle(j))
	}
	p.Stages = append(p.Stages, StageIterate)
	it := len(p.Stages) - 1
	add := func(owner string, first, last int, specs ...gpu.Spec) {
		for _, s := range specs {
			p.Buffers = append(p.Buffers, Buffer{Spec: s, Owner: owner, First: first, Last: last})
		}
	}
	trunk := func(tp vgg.TrunkPlan) []gpu.Spec { return append(tp.Buffers(), tp.Scratch()...) }

	add(OwnContentTrunk, 0, 0, trunk(p.ContentTrunk)...)
	if p.Tiled() {
		// The whole content image, and each tile's crop of it and its owned
		// targets put into P.
		add(OwnContentImage, 0, 0, gpu.F32Spec("content", 3, p.Content.H, p.Content.W))
		add(OwnContentTrunk, 0, 0, rectParams(len(p.Tiles)*(1+len(p.ContentLosses)))...)
	}
	for _, l := range p.ContentLosses {
		c, h, w := p.Layer(l.Pos)
		add(OwnContentTarget, 0, it, gpu.F32Spec("P."+l.Layer, c, h, w))
	}
	for j, tp := range p.StyleTrunks {
		s := 1 + j
		specs := trunk(tp)
		for l, g := range p.TargetGrams[j] {
			for _, sc := range ops.GramScratch(g, tp.Layers[p.StyleLosses[l].Pos].C) {
				sc.Name = p.StyleLosses[l].Layer + "." + sc.Name
				specs = append(specs, sc)
			}
		}
		add(OwnStyleTrunk(j), s, s, specs...)
		for _, l := range p.StyleLosses {
			c := tp.Layers[l.Pos].C
			add(OwnStyleTarget, s, it, gpu.F32Spec(fmt.Sprintf("G%d.%s", j+1, l.Layer), c, c))
		}
	}

	for _, l := range p.StyleLosses {
		c := p.Iterate.Layers[l.Pos].C
		add(OwnTargets, it, it, gpu.F32Spec("A."+l.Layer, c, c))
	}
	add(OwnTargets, it, it, gpu.F32Spec("blend", max(len(p.StyleTrunks), 1)))
	add(OwnIterate, it, it, trunk(p.Iterate)...)
	add(OwnScalars, it, it, gpu.F32Spec("scalars", NumScalars))
	for _, l := range p.ContentLosses {
		a := p.Iterate.Layers[l.Pos]
		add(OwnLosses, it, it, named(l.Layer, ops.ContentLossScratch(a.C*a.H*a.W))...)
	}
	if !p.Tiled() {
		for _, l := range p.StyleLosses {
			add(OwnLosses, it, it, named(l.Layer, ops.StyleLossScratch(l.Style, p.Iterate.Layers[l.Pos].C))...)
		}
	} else {
		p.tiledBuffers(add, it)
	}
	x := gpu.F32Spec("image", 3, p.Content.H, p.Content.W)
	if p.TV {
		add(OwnTVGrad, it, it, gpu.F32Spec("tv.grad", x.Shape...))
		add(OwnLosses, it, it, ops.TVLossScratch(3*p.Content.H*p.Content.W)...)
	}
	if p.Temporal {
		// Ruder et al.'s temporal loss: its target and weights, and the
		// masked copies and sums its op makes.
		add(OwnTemporal, it, it, gpu.F32Spec("temporal.target", x.Shape...), gpu.F32Spec("temporal.weights", 1, p.Content.H, p.Content.W))
		add(OwnLosses, it, it, gpu.F32Spec("temporal_loss.x", x.Shape...), gpu.F32Spec("temporal_loss.target", x.Shape...))
		add(OwnLosses, it, it, ops.ContentLossScratch(3*p.Content.H*p.Content.W)...)
	}
	if p.Optimizer == "lbfgs" {
		add(OwnOptimizer, it, it, ops.LBFGSBuffers(p.History, x.Shape...)...)
	} else {
		add(OwnOptimizer, it, it, ops.AdamBuffers(x.Shape...)...)
	}
	if p.EMA {
		add(OwnEMA, it, it, gpu.F32Spec("ema", x.Shape...))
	}
	if p.LossReadback {
		for i := 0; i < LossReadbacks; i++ {
			add(OwnLossReadback, it, it, gpu.F32Spec(fmt.Sprintf("losses %d", i), NumScalars))
			p.Buffers[len(p.Buffers)-1].Readback = true
		}
	}
	if p.ImageReadback {
		add(OwnImageReadback, it, it, gpu.F32Spec("image readback", x.Shape...))
		p.Buffers[len(p.Buffers)-1].Readback = true
	}
}

// tiledBuffers lists a tiled iteration's buffers. Those the engine makes
// (OwnTiling, in this order): the whole image and its gradient; per
// content loss a tile's owned features F and targets P; per style loss a
// tile's owned features, its Gram and the sum of the tiles' Grams. Those
// its ops make (OwnLosses): per style loss the Gram's scratch, the value
// over the sum and the gradient's params; and each tile's rectangles (its
// crop, its owned features and targets, its gradient put back).
func (p *Plan) tiledBuffers(add func(owner string, first, last int, specs ...gpu.Spec), it int) {
	add(OwnTiling, it, it, gpu.F32Spec("image", 3, p.Content.H, p.Content.W), gpu.F32Spec("dimage", 3, p.Content.H, p.Content.W))
	for _, l := range p.ContentLosses {
		a := p.Iterate.Layers[l.Pos]
		add(OwnTiling, it, it, gpu.F32Spec("F."+l.Layer, a.C, a.H, a.W), gpu.F32Spec("Ptile."+l.Layer, a.C, a.H, a.W))
	}
	for _, l := range p.StyleLosses {
		a := p.Iterate.Layers[l.Pos]
		add(OwnTiling, it, it, gpu.F32Spec("Fs."+l.Layer, a.C, a.H, a.W), gpu.F32Spec("Gtile."+l.Layer, a.C, a.C), gpu.F32Spec("G."+l.Layer, a.C, a.C))
	}
	for _, l := range p.StyleLosses {
		a := p.Iterate.Layers[l.Pos]
		add(OwnLosses, it, it, named(l.Layer, ops.GramScratch(l.Style.Gram, a.C))...)
		add(OwnLosses, it, it, named(l.Layer, ops.ContentLossScratch(a.C*a.C))...)
		add(OwnLosses, it, it, gpu.ParamsSpec(l.Layer+".style_grad.params", ops.LossParams()))
	}
	add(OwnLosses, it, it, rectParams(len(p.Tiles)*(2+2*len(p.ContentLosses)+len(p.StyleLosses)))...)
}

// rectParams are the params of n rectangle copies (ops.NewTake, NewPut).
func rectParams(n int) []gpu.Spec {
	var s []gpu.Spec
	for i := 0; i < n; i++ {
		s = append(s, gpu.ParamsSpec("rect.params", ops.Rect{}))
	}
	return s
}

// NumScalars is the length of the engine's loss scalars: total, content,
// style, TV and temporal.
const NumScalars = 5

// LossReadbacks is how many reads of the losses a run keeps in flight, a
// ring of staging buffers, so that -print-every 1 reports every
// iteration without waiting: the GPU runs an iteration ahead of the CPU,
// and a read's mapping arrives within a couple more.
const LossReadbacks = 4

// named prefixes specs' names with a layer's.
func named(layer string, specs []gpu.Spec) []gpu.Spec {
	for i := range specs {
		specs[i].Name = layer + "." + specs[i].Name
	}
	return specs
}

// fits checks every storage buffer against the adapter's binding and
// buffer limits, naming the image to shrink and the size that would fit.
func (p *Plan) fits() error {
	limit := min(p.Limits.MaxBinding, p.Limits.MaxBuffer)
	if limit == 0 {
		return nil
	}
	// The largest buffer over the limit: the one whose size sets how far
	// its image must shrink.
	var worst *Buffer
	for i, b := range p.Buffers {
		if b.Readback || b.DType == gpu.Params || b.Bytes() <= limit {
			continue
		}
		if worst == nil || b.Bytes() > worst.Bytes() {
			worst = &p.Buffers[i]
		}
	}
	if worst == nil {
		return nil
	}
	img, flag := p.Content, "-size"
	for j := range p.StyleTrunks {
		if worst.Owner == OwnStyleTrunk(j) {
			img, flag = p.Styles[j], "-style-size"
		}
	}
	// Activations scale with the image's area: shrink both sides by the
	// square root, a little more for rounding, and not below the smallest
	// side that reaches the deepest layer.
	fit := int(float64(max(img.W, img.H)) * math.Sqrt(float64(limit)/float64(worst.Bytes())) * 0.99)
	minSide, _ := vgg.MinSide(vgg.Table[p.Deepest].Name)
	return &FitError{Image: img, Buffer: *worst, Limit: limit, Adapter: p.Limits.Adapter, Flag: flag, Fit: max(fit, minSide)}
}

// FitError is a plan whose buffer exceeds what the adapter can bind.
type FitError struct {
	Image   Size
	Buffer  Buffer
	Limit   uint64
	Adapter string
	Flag    string // the flag that shrinks the image: -size or -style-size
	Fit     int    // a long side that fits
}

func (e *FitError) Error() string {
	return fmt.Sprintf("a %s image needs a %d MiB buffer (%s, %s), over this GPU's %d MiB binding limit (%s); use %s %d or less",
		e.Image, e.Buffer.Bytes()>>20, e.Buffer.Name, e.Buffer.Owner, e.Limit>>20, e.Adapter, e.Flag, e.Fit)
}

// withinBudget checks the plan's peak, weights included, against the
// memory budget (Limits.MaxMemory), naming the sizes that would fit: each
// stage over the budget shrinks its own image (the content's in the
// content and iteration stages, a style image's in its stage).
func (p *Plan) withinBudget() error {
	budget := p.Limits.MaxMemory
	if budget == 0 || budget == gpu.NoBudget {
		return nil
	}
	peak, stage := p.Peak()
	if peak+p.WeightBytes <= budget {
		return nil
	}
	e := &BudgetError{Image: p.Content, Need: peak + p.WeightBytes, Budget: budget, Stage: p.Stages[stage]}
	if budget <= p.WeightBytes {
		return e
	}
	// A stage's buffers scale with its image's area, the weights not at
	// all.
	fit := func(img Size, bytes uint64) int {
		return int(float64(max(img.W, img.H)) * math.Sqrt(float64(budget-p.WeightBytes)/float64(bytes)) * 0.98)
	}
	for s := range p.Stages {
		n := p.StageBytes(s)
		if n+p.WeightBytes <= budget {
			continue
		}
		img, style := p.Content, false
		for j := range p.StyleTrunks {
			if s == p.Stage(StageStyle(j)) {
				img, style = p.Styles[j], true
			}
		}
		f := fit(img, n)
		switch {
		case style && (e.StyleFit == 0 || f < e.StyleFit):
			e.StyleFit = f
		case !style && (e.Fit == 0 || f < e.Fit):
			e.Fit = f
		}
	}
	return e
}

// BudgetError is a plan whose peak memory exceeds the budget.
type BudgetError struct {
	Image        Size
	Need, Budget uint64
	Stage        string
	// Fit and StyleFit are the long sides of the content and the style
	// images that fit about (-size and -style-size); 0 where the image
	// need not shrink or no size fits.
	Fit, StyleFit int
}

func (e *BudgetError) Error() string {
	msg := fmt.Sprintf("a %s image needs %.0f MiB of GPU memory at its peak (stage %s, weights included), over the %.0f MiB budget (-max-memory)",
		e.Image, float64(e.Need)/(1<<20), e.Stage, float64(e.Budget)/(1<<20))
	var use []string
	if e.Fit > 0 {
		use = append(use, fmt.Sprintf("-size %d", e.Fit))
	}
	if e.StyleFit > 0 {
		use = append(use, fmt.Sprintf("-style-size %d", e.StyleFit))
	}
	if len(use) == 0 {
		return msg + ": the weights alone exceed it; raise -max-memory"
	}
	return msg + "; use " + strings.Join(use, " and ") + " or less, or raise -max-memory"
}
