// Package plan decides how a style-transfer run executes, in one place,
// before anything is allocated: per layer and pass the kernel algorithm,
// its tile and split-K; which loss gradients fuse into which conv
// backward; every GPU buffer with its size and lifetime; and from those
// the memory the run will hold at its peak. The engine (package transfer)
// executes a Plan and decides nothing; `stylize run -dry-run` prints one.
//
// A plan is made from the run's configuration (Request), the adapter's
// limits (Limits) and, where they exist, measured kernel choices. Making
// one touches no GPU.
package plan

import (
	"errors"
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// Size is an image's width and height in pixels.
type Size struct{ W, H int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.W, s.H) }

// Limits is what a plan needs to know of the adapter.
type Limits struct {
	Adapter  string // for the printout
	Software bool   // a CPU adapter such as lavapipe
	Tile     ops.TileLimits
	// MaxBinding and MaxBuffer bound one storage buffer: the adapter's
	// maxStorageBufferBindingSize and maxBufferSize.
	MaxBinding, MaxBuffer uint64
	// StorageBuffers is maxStorageBuffersPerShaderStage, which bounds
	// what a fused conv backward may bind.
	StorageBuffers int
	// MaxMemory bounds the plan's peak memory, weights included
	// (gpu.Device.Budget, -max-memory); 0 or gpu.NoBudget bounds nothing.
	MaxMemory uint64
}

// LimitsOf returns the limits of d's adapter.
func LimitsOf(d *gpu.Device) Limits {
	l := d.Limits()
	return Limits{
		Adapter:        d.Info.String(),
		Software:       d.Info.Software,
		Tile:           ops.LimitsOf(d),
		MaxBinding:     l.MaxStorageBufferBindingSize,
		MaxBuffer:      l.MaxBufferSize,
		StorageBuffers: int(l.MaxStorageBuffersPerShaderStage),
		MaxMemory:      d.Budget(),
	}
}

// Request is what a plan is made from: one scale of a run.
type Request struct {
	// Widths are the output channels of each conv the weights hold
	// (vgg.Net.Widths, or the weights file's).
	Widths []int
	// Content is the content image's size, which is also the size of the
	// image being optimised; Styles are the style images' sizes.
	Content Size
	Styles  []Size
	// ContentLayers and StyleLayers name the tapped layers (any naming
	// scheme vgg.Index reads).
	ContentLayers, StyleLayers []string
	// TV is whether the run has a total-variation loss, Temporal whether
	// it has Ruder et al.'s temporal loss (a video frame's).
	TV, Temporal bool
	// Unfused keeps every loss gradient in passes of its own.
	Unfused bool
	// KeepActivations keeps every layer's activation in a buffer of its
	// own (no TrunkPlan.Shed), for tests that read the GPU's activations
	// after an iteration.
	KeepActivations bool
	// Optimizer is "adam" (or "") or "lbfgs", History L-BFGS's.
	Optimizer string
	History   int
	// Kernels chooses each pass's kernel plan; nil means Heuristic.
	Kernels Kernels
	// EMA is whether the run keeps a moving average of the iterates.
	EMA bool
	// Tile, when above 0, runs the content and iteration trunks on tiles
	// of this core side (Tiles; exact tiling, plan/tiling.go), with every
	// loss gradient in a pass of its own.
	Tile int
	// LossReadback is whether it reads the losses back (the progress
	// display), and ImageReadback whether it reads images back (the
	// result, the saved iterates, Adam's moments between scales), through
	// one staging buffer of the image's size.
	LossReadback, ImageReadback bool
}

// Plan is one scale of a run, decided: three kinds of trunk, the losses,
// and the buffers.
type Plan struct {
	Request
	Limits Limits
	// Deepest is the deepest layer any loss needs (a Table position).
	Deepest int
	// ContentTrunk computes the content targets; StyleTrunks each style
	// image's Grams; Iterate is the trunk the iterations run, with its
	// backward pass.
	ContentTrunk vgg.TrunkPlan
	StyleTrunks  []vgg.TrunkPlan
	Iterate      vgg.TrunkPlan
	// Tiles are the tiles of a tiled plan (Request.Tile), whose content
	// and iteration trunks run at the tiles' crop size; nil for none.
	Tiles []Tile
	// TargetGrams[j][l] is the Gram plan of style image j at StyleLayers[l].
	TargetGrams [][]ops.GramPlan
	// ContentLosses and StyleLosses are the iteration's losses, one per
	// layer of ContentLayers and StyleLayers, in order.
	ContentLosses, StyleLosses []Loss
	// Buffers is every buffer the run makes, with its lifetime in Stages.
	Buffers []Buffer
	Stages  []string
	// WeightBytes is the conv weights' memory while the plan runs: the
	// biases and the layouts its passes read (Layouts), which the engine
	// keeps on the GPU (vgg.Net.Use) before its first stage and through
	// all of them.
	WeightBytes uint64
}

// Loss is one loss term of the iteration.
type Loss struct {
	Layer string // canonical name
	Pos   int    // Table position
	// Fused is set when the conv above the layer adds this loss's
	// gradient in its backward pass (vgg.LayerPlan.FuseContent/FuseStyle);
	// else the loss writes its gradient itself.
	Fused bool
	// Style is a style loss's plan (zero for a content loss).
	Style ops.StylePlan
}

// Make decides the plan of one scale. It fails, before any GPU work,
// where the run cannot execute on this adapter: unknown layers, weights
// too shallow, images too small for the deepest layer, or a buffer over
// the adapter's binding limit or a peak over the memory budget that
// tiling does not cure.
//
// Request.Tile chooses the tiling: above 0 tiles of that core side; below
// 0 none; 0 none where the untiled plan fits, else the largest core of
// tileCores that fits (exact tiling, plan/tiling.go). A style image too
// large is not tiled: -style-size shrinks it.
//
// Where the content image does not fit even tiled, the error names the
// largest -size that does, tiled as Tile says.
func Make(r Request, l Limits) (*Plan, error) {
	p, err := makeTiled(r, l)
	if err == nil || !tilingHelps(err) {
		return p, err
	}
	// The largest long side that fits, by bisection (the plans cost no
	// GPU work).
	long := max(r.Content.W, r.Content.H)
	minSide, _ := vgg.MinSide(vgg.Table[p0Deepest(r)].Name)
	fits := func(side int) bool {
		q := r
		q.Content = fitLong(r.Content, side)
		_, err := makeTiled(q, l)
		return err == nil
	}
	// The smallest long side whose short side reaches the deepest layer.
	lo := (minSide*long + min(r.Content.W, r.Content.H) - 1) / min(r.Content.W, r.Content.H)
	if lo >= long || !fits(lo) {
		// No content size fits alone (a style stage is over too, say):
		// the error's own estimates shrink both images together.
		return nil, err
	}
	hi := long // fits(lo), !fits(hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	var fe *FitError
	var be *BudgetError
	switch {
	case errors.As(err, &fe):
		fe.Fit = lo
	case errors.As(err, &be):
		be.Fit = lo
	}
	return nil, err
}

// fitLong is s scaled to long side long, rounded as the run resizes
// (imageio.FitLongSide, transfer.FitLong).
func fitLong(s Size, long int) Size {
	if s.W >= s.H {
		return Size{W: long, H: max(1, int(math.Round(float64(s.H)*float64(long)/float64(s.W))))}
	}
	return Size{W: max(1, int(math.Round(float64(s.W)*float64(long)/float64(s.H)))), H: long}
}

// p0Deepest is the Table position of the deepest layer r names (0 where
// none is known: make1 reports those).
func p0Deepest(r Request) int {
	d := 0
	for _, n := range append(append([]string(nil), r.ContentLayers...), r.StyleLayers...) {
		if q, err := vgg.Index(n); err == nil {
			d = max(d, q)
		}
	}
	return d
}

// makeTiled is Make without the size search: the tiling r.Tile says.
func makeTiled(r Request, l Limits) (*Plan, error) {
	if r.Tile != 0 {
		r.Tile = max(r.Tile, 0)
		return make1(r, l)
	}
	p, err := make1(r, l)
	if err == nil || !tilingHelps(err) {
		return p, err
	}
	for _, core := range tileCores {
		if core >= max(r.Content.W, r.Content.H) || tileCount(r.Content, core) > maxTiles {
			continue
		}
		r.Tile = core
		tp, terr := make1(r, l)
		if terr == nil {
			return tp, nil
		}
		if !tilingHelps(terr) {
			return nil, terr
		}
	}
	return nil, err
}

// maxTiles bounds automatic tiling: each tile records a few dozen
// dispatches per pass into the iteration's command buffer.
const maxTiles = 1024

func tileCount(s Size, core int) int {
	return (s.W + core - 1) / core * ((s.H + core - 1) / core)
}

// tileCores are the core sides automatic tiling tries, largest first:
// the fewer the tiles, the less their halos cost.
var tileCores = []int{2048, 1536, 1024, 768, 512, 384, 256, 192, 128, 96, 64, 48, 32, 16}

// tilingHelps reports whether err is one that tiling the content image
// may cure: a content or iteration buffer over the binding limit, or a
// peak over the budget in a stage of theirs.
func tilingHelps(err error) bool {
	var fe *FitError
	if errors.As(err, &fe) {
		return fe.Flag == "-size"
	}
	var be *BudgetError
	return errors.As(err, &be) && be.Fit > 0
}

// make1 is Make with the tiling decided: r.Tile > 0 tiles, 0 none.
func make1(r Request, l Limits) (*Plan, error) {
	p := &Plan{Request: r, Limits: l}
	cl, err := positions(r.ContentLayers)
	if err != nil {
		return nil, err
	}
	sl, err := positions(r.StyleLayers)
	if err != nil {
		return nil, err
	}
	p.Deepest = -1
	for _, q := range append(append([]int(nil), cl...), sl...) {
		p.Deepest = max(p.Deepest, q)
	}
	if p.Deepest < 0 {
		return nil, fmt.Errorf("plan: no content or style layers")
	}
	switch r.Optimizer {
	case "", "adam":
	case "lbfgs":
		if r.History < 1 || r.History > 1000 {
			return nil, fmt.Errorf("plan: L-BFGS history %d out of range 1..1000", r.History)
		}
	default:
		return nil, fmt.Errorf("plan: unknown optimiser %q (want adam or lbfgs)", r.Optimizer)
	}
	deepest, k := vgg.Table[p.Deepest].Name, r.kernels()
	// The trunks that run the content image and the iterate: at its size,
	// or at the tiles' crop size.
	at := r.Content
	if r.Tile > 0 {
		if minSide, _ := vgg.MinSide(deepest); r.Content.W < minSide || r.Content.H < minSide {
			return nil, fmt.Errorf("plan: the content image, %s, is too small to reach %s: both sides must be at least %d", r.Content, deepest, minSide)
		}
		if p.Tiles, err = Tiles(r.Content.H, r.Content.W, r.Tile, deepest); err != nil {
			return nil, err
		}
		at = Size{W: p.Tiles[0].Crop.W(), H: p.Tiles[0].Crop.H()}
	}
	if p.ContentTrunk, err = trunk(k, l, r.Widths, at, deepest, false, "content image"); err != nil {
		return nil, err
	}
	for j, s := range r.Styles {
		tp, err := trunk(k, l, r.Widths, s, deepest, false, fmt.Sprintf("style image %d", j+1))
		if err != nil {
			return nil, err
		}
		p.StyleTrunks = append(p.StyleTrunks, tp)
		var gs []ops.GramPlan
		for _, q := range sl {
			a := tp.Layers[q]
			gs = append(gs, k.Gram(l.Tile, a.C, a.H*a.W))
		}
		p.TargetGrams = append(p.TargetGrams, gs)
	}
	if p.Iterate, err = trunk(k, l, r.Widths, at, deepest, true, "content image"); err != nil {
		return nil, err
	}
	fused := Fuse(l, p.Iterate, cl, sl, r.Unfused || p.Tiled())
	for q, f := range fused {
		lp := &p.Iterate.Layers[q+1]
		lp.FuseContent, lp.FuseStyle = f.Content, f.Style
		below := p.Iterate.Layers[q]
		lp.Backward = k.Conv(l, ConvPass{Cin: below.C, Cout: lp.C, H: lp.H, W: lp.W, Backward: true, Style: f.Style})
	}
	p.maskGrads(cl, sl, fused)
	// What no loss and no backward pass reads needs no buffer of its own.
	if !r.KeepActivations {
		p.ContentTrunk.Shed(cl)
		for j := range p.StyleTrunks {
			p.StyleTrunks[j].Shed(sl)
		}
		p.Iterate.Shed(append(append([]int(nil), cl...), sl...))
	}
	for _, q := range cl {
		p.ContentLosses = append(p.ContentLosses, Loss{Layer: vgg.Table[q].Name, Pos: q, Fused: fused[q].Content})
	}
	for _, q := range sl {
		a := p.Iterate.Layers[q]
		p.StyleLosses = append(p.StyleLosses, Loss{Layer: vgg.Table[q].Name, Pos: q, Fused: fused[q].Style,
			Style: ops.StylePlan{Gram: k.Gram(l.Tile, a.C, a.H*a.W), Backward: k.StyleBackward(l.Tile, a.C, a.H*a.W)}})
	}
	p.WeightBytes = p.weightBytes()
	p.buffers()
	if err := p.fits(); err != nil {
		return nil, err
	}
	if err := p.withinBudget(); err != nil {
		return nil, err
	}
	return p, nil
}

// maskGrads decides which conv layers' output gradients are written
// already multiplied by their ReLU mask, by the backward of the layer
// above (a conv's OutMask, a pool's relu), so that the layer's own conv
// backward reads them without one: one mask load per gradient value,
// instead of one per read of it (nine per output tile). That holds for
// every conv layer but the deepest (its gradient is zeroed and the losses
// add into it) and those where a loss adds its gradient in a pass of its
// own, after the write; at a fused layer only where Fuse allows MaskOut.
func (p *Plan) maskGrads(content, style []int, fused map[int]Fusion) {
	tapped := map[int]bool{}
	for _, q := range append(append([]int(nil), content...), style...) {
		tapped[q] = true
	}
	for q := 0; q+1 < p.Iterate.Depth(); q++ {
		if vgg.Table[q].Pool {
			continue
		}
		f, isFused := fused[q]
		p.Iterate.Layers[q].MaskedGrad = !tapped[q] || isFused && f.MaskOut
	}
}

// Tiled reports whether the plan runs on tiles.
func (p *Plan) Tiled() bool { return len(p.Tiles) > 0 }

// Layer is the shape (C,H,W) of Table position q's activation for the
// whole content image, tiled or not.
func (p *Plan) Layer(q int) (c, h, w int) {
	c, h, w = 3, p.Content.H, p.Content.W
	for i := 0; i <= q; i++ {
		if vgg.Table[i].Pool {
			h, w = h/2, w/2
		} else {
			c = p.Widths[vgg.Table[i].Conv]
		}
	}
	return c, h, w
}

// Pools is the number of pools up to Table position q.
func Pools(q int) int {
	n := 0
	for i := 0; i <= q; i++ {
		if vgg.Table[i].Pool {
			n++
		}
	}
	return n
}

// positions returns the Table positions of layers.
func positions(layers []string) ([]int, error) {
	var out []int
	for _, name := range layers {
		q, err := vgg.Index(name)
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		out = append(out, q)
	}
	return out, nil
}

// Trunk plans a trunk of weights with these conv widths at size s, up
// to and including layer deepest, with or without its backward pass:
// each conv's Heuristic kernel plans and no fusion (Make adds the
// fusions that Fuse decides).
func Trunk(l Limits, widths []int, s Size, deepest string, grad bool) (vgg.TrunkPlan, error) {
	return trunk(Heuristic{}, l, widths, s, deepest, grad, "image")
}

// TrunkWith is Trunk with k's kernel plans (Heuristic when nil).
func TrunkWith(k Kernels, l Limits, widths []int, s Size, deepest string, grad bool) (vgg.TrunkPlan, error) {
	return trunk(Request{Kernels: k}.kernels(), l, widths, s, deepest, grad, "image")
}

// trunk is Trunk with k's kernel plans, naming the image what in its
// errors.
func trunk(k Kernels, l Limits, widths []int, s Size, deepestName string, grad bool, what string) (vgg.TrunkPlan, error) {
	tp := vgg.TrunkPlan{H: s.H, W: s.W, Grad: grad}
	q, err := vgg.Index(deepestName)
	if err != nil {
		return tp, fmt.Errorf("plan: %w", err)
	}
	depth, deepest := q+1, vgg.Table[q]
	if min, _ := vgg.MinSide(deepest.Name); s.W < min || s.H < min {
		return tp, fmt.Errorf("plan: the %s, %s, is too small to reach %s: both sides must be at least %d", what, s, deepest.Name, min)
	}
	c, h, w := 3, s.H, s.W
	for i := 0; i < depth; i++ {
		t := vgg.Table[i]
		if t.Pool {
			h, w = h/2, w/2
			tp.Layers = append(tp.Layers, vgg.LayerPlan{C: c, H: h, W: w})
			continue
		}
		if t.Conv >= len(widths) {
			return tp, fmt.Errorf("plan: layer %s is deeper than the %d convs the weights hold", deepest.Name, len(widths))
		}
		cin := c
		c = widths[t.Conv]
		lp := vgg.LayerPlan{C: c, H: h, W: w, Forward: k.Conv(l, ConvPass{Cin: cin, Cout: c, H: h, W: w})}
		if grad {
			lp.Backward = k.Conv(l, ConvPass{Cin: cin, Cout: c, H: h, W: w, Backward: true})
		}
		tp.Layers = append(tp.Layers, lp)
	}
	return tp, nil
}

// Layouts are the weight layouts the plan's passes read, by conv index:
// what vgg.Net.Use keeps on the GPU while the plan runs.
func (p *Plan) Layouts() map[int]map[ops.LayoutKey]bool {
	out := map[int]map[ops.LayoutKey]bool{}
	for _, tp := range append([]vgg.TrunkPlan{p.ContentTrunk, p.Iterate}, p.StyleTrunks...) {
		for c, ks := range tp.Layouts() {
			if out[c] == nil {
				out[c] = map[ops.LayoutKey]bool{}
			}
			for k := range ks {
				out[c][k] = true
			}
		}
	}
	return out
}

// weightBytes is the weights' memory while the plan runs: every conv's
// bias (vgg.New uploads them all) and the layouts Layouts names.
func (p *Plan) weightBytes() uint64 {
	var n uint64
	cin := 3
	layouts := p.Layouts()
	for i, c := range p.Widths {
		n += 4 * uint64(c)
		for k := range layouts[i] {
			n += ops.LayoutSpec("", k, c, cin).Bytes()
		}
		cin = c
	}
	return n
}
