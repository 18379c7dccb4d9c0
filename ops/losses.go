package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// lossParams mirrors the Params uniform of mse.wgsl, style_loss.wgsl and
// tv_loss.wgsl (and reduce.wgsl's "total" with PARAMS): the coefficients
// that depend on the loss's weight. They are computed in float64 on the
// host and live in a uniform so that the weight can change between
// iterations without building new pipelines.
type lossParams struct {
	Grad, Value float32 // the gradient's coefficient; the value's scale
	_, _        float32
}

// lossScratch is what every weighted loss allocates: its Params uniform
// and the partial sums of its value, over n squared terms.
func lossScratch(op string, n int) []gpu.Spec {
	return []gpu.Spec{gpu.ParamsSpec(op+".params", lossParams{}), gpu.F32Spec(op+".part", ceilDiv(n, Chunk))}
}

// Loss is a weighted loss term. Its weight can change between iterations
// (SetWeight); the kernels read it when they run.
type Loss struct {
	Step
	Params *gpu.Buffer // lossParams
	w      float64
	coefs  func(w float64) (grad, value float64)
	// feat and target are a content or style loss's features F and target
	// (P, or the target Gram A), for a conv backward that fuses the
	// gradient (FusedGrads).
	feat, target *gpu.Buffer
}

// Features is the features buffer F a content or style loss reads (nil
// for the TV loss).
func (l *Loss) Features() *gpu.Buffer { return l.feat }

// Target is a content loss's target P or a style loss's target Gram A
// (nil for the TV loss).
func (l *Loss) Target() *gpu.Buffer { return l.target }

func newLoss(d *gpu.Device, op string, w float64, coefs func(w float64) (grad, value float64)) (*Loss, error) {
	if err := finite(op, "weight", w); err != nil {
		return nil, err
	}
	l := &Loss{Step: Step{Name: op}, w: w, coefs: coefs}
	p, err := d.NewParams(lossScratch(op, 0)[0].Name, l.values(w))
	if err != nil {
		return nil, err
	}
	l.Params = p
	l.own = append(l.own, p)
	return l, nil
}

func (l *Loss) values(w float64) lossParams {
	g, v := l.coefs(w)
	return lossParams{Grad: float32(g), Value: float32(v)}
}

// Weight is the loss's weight now.
func (l *Loss) Weight() float64 { return l.w }

// SetWeight changes the weight for the iterations submitted from now on
// (a queue write, ordered before later submissions).
func (l *Loss) SetWeight(w float64) error {
	if err := finite(l.Name, "weight", w); err != nil {
		return err
	}
	if err := l.Params.SetParams(l.values(w)); err != nil {
		return err
	}
	l.w = w
	return nil
}

type mseData struct {
	decl
	N, CHUNK    int
	GRAD, ACCUM bool
}

// mse appends to l: part[g] = Σ_chunk (a-b)² and, when grad is not nil,
// grad (= or +=) params.grad*(a-b); then out[idx] (=, or += with accumOut)
// params.value*Σ part.
func (l *Loss) mse(d *gpu.Device, op string, a, b, grad *gpu.Buffer, accumGrad bool, out *gpu.Buffer, idx int, accumOut bool) error {
	n := a.Len()
	if err := wantLen(op, "target", b, n); err != nil {
		return err
	}
	if grad != nil {
		if err := wantLen(op, "grad", grad, n); err != nil {
			return err
		}
	}
	sc := lossScratch(op, n)[1]
	np := sc.Shape[0]
	part, err := d.Alloc(sc)
	if err != nil {
		return err
	}
	l.own = append(l.own, part)
	data := mseData{N: n, CHUNK: Chunk, GRAD: grad != nil, ACCUM: accumGrad}
	sl := slots{ro("a", a, ""), ro("b", b, "")}
	if grad != nil {
		sl = append(sl, rw("grad", grad, ""), rw("part", part, ""), uni("params", l.Params, lossParams{}))
	} else {
		sl = append(sl, rw("part", part, ""))
	}
	bd, err := bindSlots(d, op+".mse", "mse.wgsl", "forward_backward", &data, sl)
	if err != nil {
		return err
	}
	if err := l.addGrid(d, bd, np); err != nil {
		bd.Release()
		return err
	}
	f, err := lossTotal(d, op, part, np, out, idx, l.Params, accumOut)
	if err != nil {
		return err
	}
	l.then(f)
	return nil
}

// NewContentLoss records the content loss of one layer (Gatys et al. 2016,
// with the seed's mean instead of a sum):
//
//	L = w · mean((F-P)²),   dL/dF = 2w(F-P)/N,  N = C·h·w
//
// where w is the content weight already divided by the number of content
// layers. L goes to out[idx] (+= when accumOut); dL/dF to grad (+= when
// accumGrad, so several losses can share a layer's gradient).
//
//	f, p, grad: (C,h,w)
func NewContentLoss(d *gpu.Device, f, p, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*Loss, error) {
	const op = "content_loss"
	c, h, wd, err := chw(op, "features", f)
	if err != nil {
		return nil, err
	}
	n := float64(c * h * wd)
	l, err := newLoss(d, op, w, func(w float64) (float64, float64) { return 2 * w / n, w / n })
	if err != nil {
		return nil, err
	}
	if err := l.mse(d, op, f, p, grad, accumGrad, out, idx, accumOut); err != nil {
		l.Release()
		return nil, err
	}
	l.feat, l.target = f, p
	return l, nil
}

// ContentLossScratch is what NewContentLoss allocates over features of n
// values: its Params and the partial sums of its value.
func ContentLossScratch(n int) []gpu.Spec { return lossScratch("content_loss", n) }

type styleData struct {
	tileData
	decl
	C, K  int
	ACCUM bool
}

// StylePlan is how a style loss over C channels and M = h·w positions
// runs: the plan of its Gram, and the tile of its gradient's GEMM
// (G−A)·F, used only when the loss writes its gradient itself.
type StylePlan struct {
	Gram     GramPlan
	Backward Tile
}

// ChooseStylePlan chooses a style loss's plan within l: ChooseGramPlan's
// Gram, and ChooseTileFor's tile for the C×M gradient.
func ChooseStylePlan(l TileLimits, c, m int) StylePlan {
	return StylePlan{Gram: ChooseGramPlan(l, c, m), Backward: ChooseTileFor(l, c, m)}
}

// StyleLossScratch is what NewStyleLossPlan allocates over C channels:
// its Params, the Gram G (C,C) of the current features and the Gram's
// scratch, and the partial sums of its value over the C² entries.
func StyleLossScratch(p StylePlan, c int) []gpu.Spec {
	sc := lossScratch("style_loss", c*c)
	sc = append(sc, gpu.F32Spec("style_loss.gram", c, c))
	return append(sc, GramScratch(p.Gram, c)...)
}

// StyleLoss is the style loss of one layer, with its Gram matrix.
type StyleLoss struct {
	Loss
	Gram *gpu.Buffer // G of the current features, (C,C)
}

// NewStyleLoss records the style loss of one layer (Gatys et al. 2016, with
// the seed's Gram normalisation G = F Fᵀ/M and a mean over C² entries):
//
//	L = w · mean((G-A)²),   dL/dF = 4w/(C²M) · (G-A) F
//
// where w is the style weight already divided by the number of style
// layers and A the target Gram (a blend of the style images' Grams), with
// the heuristic plan (ChooseStylePlan), for tests and benchmarks (the
// engine passes its plan's to NewStyleLossPlan).
//
//	f, grad: (C,h,w)  a: (C,C)
func NewStyleLoss(d *gpu.Device, f, a, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*StyleLoss, error) {
	var p StylePlan
	if f != nil && len(f.Shape) == 3 {
		p = ChooseStylePlan(LimitsOf(d), f.Shape[0], f.Shape[1]*f.Shape[2])
	}
	return NewStyleLossPlan(d, f, a, grad, out, idx, w, accumGrad, accumOut, p)
}

// NewStyleLossPlan is NewStyleLoss with a given plan. L goes to out[idx]
// (+= when accumOut); dL/dF to grad (+= when accumGrad), unless grad is
// nil: then the loss records only its Gram and value, and a conv backward
// adds its gradient (FusedGrads).
func NewStyleLossPlan(d *gpu.Device, f, a, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool, p StylePlan) (*StyleLoss, error) {
	const op = "style_loss"
	c, h, wd, err := chw(op, "features", f)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "target", a, c, c); err != nil {
		return nil, err
	}
	if grad != nil {
		if err := wantShape(op, "grad", grad, c, h, wd); err != nil {
			return nil, err
		}
	}
	cc, m := float64(c*c), h*wd
	l, err := newLoss(d, op, w, func(w float64) (float64, float64) { return 4 * w / (cc * float64(m)), w / cc })
	if err != nil {
		return nil, err
	}
	l.feat, l.target = f, a
	sl := &StyleLoss{Loss: *l}
	g, err := d.Alloc(StyleLossScratch(p, c)[2])
	if err != nil {
		sl.Release()
		return nil, err
	}
	sl.own = append(sl.own, g)
	sl.Gram = g
	gs, err := NewGramPlan(d, f, g, p.Gram)
	if err != nil {
		sl.Release()
		return nil, err
	}
	sl.then(gs)
	if err := sl.mse(d, op, g, a, nil, false, out, idx, accumOut); err != nil {
		sl.Release()
		return nil, err
	}
	if grad == nil {
		return sl, nil
	}
	t := p.Backward
	if err := t.Check(LimitsOf(d)); err != nil {
		sl.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	data := styleData{tileData: t.data(true, false), C: c, K: m, ACCUM: accumGrad}
	b, err := bindSlots(d, op+".backward", "style_loss.wgsl", "backward", &data, slots{
		ro("gram", g, "G: (C,C)"), ro("tgt", a, "A: (C,C)"), ro("f", f, "F: (C,M)"), rw("df", grad, "dL/dF: (C,M)"),
		uni("params", sl.Params, lossParams{})})
	if err != nil {
		sl.Release()
		return nil, err
	}
	if err := sl.addGrid(d, b, t.tiles(c, m)); err != nil {
		b.Release()
		sl.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	return sl, nil
}

// TVLossScratch is what NewTVLoss allocates over an image of n values:
// its Params and the partial sums of its value.
func TVLossScratch(n int) []gpu.Spec { return lossScratch("tv_loss", n) }

type tvData struct {
	decl
	C, H, W, CHUNK int
	INY, INX       float64
	ACCUM          bool
}

// NewTVLoss records the total-variation loss of the image x: (C,H,W)
//
//	L = w · ( mean((x[:,i+1,j]-x[:,i,j])²) + mean((x[:,i,j+1]-x[:,i,j])²) )
//
// into out[idx] (+= when accumOut) and its gradient into grad (+= when accumGrad).
func NewTVLoss(d *gpu.Device, x, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*Loss, error) {
	const op = "tv_loss"
	c, h, wd, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "grad", grad, c, h, wd); err != nil {
		return nil, err
	}
	data := tvData{C: c, H: h, W: wd, CHUNK: Chunk, ACCUM: accumGrad}
	if ny := c * (h - 1) * wd; ny > 0 {
		data.INY = 1 / float64(ny)
	}
	if nx := c * h * (wd - 1); nx > 0 {
		data.INX = 1 / float64(nx)
	}
	l, err := newLoss(d, op, w, func(w float64) (float64, float64) { return w, w })
	if err != nil {
		return nil, err
	}
	sc := TVLossScratch(c * h * wd)[1]
	np := sc.Shape[0]
	part, err := d.Alloc(sc)
	if err != nil {
		l.Release()
		return nil, err
	}
	l.own = append(l.own, part)
	b, err := bindSlots(d, op, "tv_loss.wgsl", "forward_backward", &data, slots{
		ro("x", x, "(C,H,W)"), rw("grad", grad, "(C,H,W)"), rw("part", part, ""), uni("params", l.Params, lossParams{})})
	if err != nil {
		l.Release()
		return nil, err
	}
	if err := l.addGrid(d, b, np); err != nil {
		b.Release()
		l.Release()
		return nil, err
	}
	f, err := lossTotal(d, op, part, np, out, idx, l.Params, accumOut)
	if err != nil {
		l.Release()
		return nil, err
	}
	l.then(f)
	return l, nil
}

// NewStyleGrad records the gradient of a style loss whose Gram G was
// summed elsewhere, over m positions in all (exact tiling: G is the sum
// of the tiles' owned parts, and f one tile's features with the
// positions it does not own zeroed):
//
//	dL/dF = 4w/(C²m) · (G-A) F   (= or += with accumGrad)
//
// It is NewStyleLossPlan's backward alone, with m the whole layer's
// positions rather than f's; its weight can change with SetWeight.
//
//	g, a: (C,C)  f, grad: (C,h,w)
func NewStyleGrad(d *gpu.Device, g, a, f, grad *gpu.Buffer, m int, w float64, accumGrad bool, t Tile) (*Loss, error) {
	const op = "style_grad"
	c, h, wd, err := chw(op, "features", f)
	if err != nil {
		return nil, err
	}
	for _, b := range []struct {
		what string
		buf  *gpu.Buffer
	}{{"gram", g}, {"target", a}} {
		if err := wantShape(op, b.what, b.buf, c, c); err != nil {
			return nil, err
		}
	}
	if err := wantShape(op, "grad", grad, c, h, wd); err != nil {
		return nil, err
	}
	if m < 1 {
		return nil, fmt.Errorf("ops: %s: %d positions", op, m)
	}
	if err := t.Check(LimitsOf(d)); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	cc := float64(c * c)
	l, err := newLoss(d, op, w, func(w float64) (float64, float64) { return 4 * w / (cc * float64(m)), w / cc })
	if err != nil {
		return nil, err
	}
	l.feat, l.target = f, a
	data := styleData{tileData: t.data(true, false), C: c, K: h * wd, ACCUM: accumGrad}
	b, err := bindSlots(d, op, "style_loss.wgsl", "backward", &data, slots{
		ro("gram", g, "G: (C,C)"), ro("tgt", a, "A: (C,C)"), ro("f", f, "F: (C,M)"), rw("df", grad, "dL/dF: (C,M)"),
		uni("params", l.Params, lossParams{})})
	if err != nil {
		l.Release()
		return nil, err
	}
	if err := l.addGrid(d, b, t.tiles(c, h*wd)); err != nil {
		b.Release()
		l.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	return l, nil
}

// LossParams is the params uniform every weighted loss allocates, for
// plans that list it.
func LossParams() any { return lossParams{} }
