package transfer

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/plan"
)

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
	if err := e.D.Record("style targets", e.combine.Record); err != nil {
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
	// The new plan's layouts, then the old one's released: the iteration
	// reads the same ones.
	layouts := p.Layouts()
	if err := e.net.Acquire(layouts); err != nil {
		return err
	}
	if err := e.styleGrams(j, img, p); err != nil {
		e.net.Unacquire(layouts)
		return err
	}
	e.net.Unacquire(e.layouts)
	e.Plan, e.layouts = p, layouts
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
	for i, l := range e.content {
		if err := l.SetWeight(content / float64(len(e.Plan.ContentLosses)) * e.scale(e.contentScale, i)); err != nil {
			return err
		}
	}
	for _, l := range e.style {
		if err := l.SetWeight(style / float64(len(e.Plan.StyleLosses))); err != nil {
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

// scale is the factor of loss i's weight in scales, 1 where none is set:
// a tiled content loss's weight is scaled by the crop's elements over the
// whole layer's (tiled.go).
func (e *Engine) scale(scales []float64, i int) float64 {
	if i < len(scales) {
		return scales[i]
	}
	return 1
}
