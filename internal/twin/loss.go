package twin

import (
	"fmt"

	"github.com/stylize/stylize/internal/oracle"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// This file: the whole objective of Gatys et al. (2016) as the seed and
// the PyTorch oracle (testdata/ORACLE.md) define it, on the trunk twin:
//
//	total = Σ_content ContentLoss(F, P, wc/nc) + Σ_style StyleLoss(F, A, ws/ns) + TVLoss(x, wtv)
//
// with P the content image's activations and A the blend of the style
// images' Gram matrices.

// Loss is the float64 twin of one oracle case's loss and its gradient.
type Loss struct {
	Trunk   *Trunk
	Meta    oracle.Meta
	Deepest string               // the deepest content or style layer
	P       map[string][]float64 // content targets, by content layer
	A       map[string][]float64 // blended style targets (c,c), by style layer
}

// NewLoss builds the trunk twin of weights w with the case's pooling and
// Caffe preprocessing, and computes the targets from the case's style
// images and from content (the case's own content image when nil).
func NewLoss(c *oracle.Case, w *weights.VGG19, content []float64) (*Loss, error) {
	m := c.Meta
	if content == nil {
		var err error
		if content, err = c.F64("content"); err != nil {
			return nil, err
		}
	}
	pool, err := ops.ParsePooling(m.Pooling)
	if err != nil {
		return nil, err
	}
	t, err := NewTrunk(w, pool, ops.Caffe)
	if err != nil {
		return nil, err
	}
	L := &Loss{Trunk: t, Meta: m, P: map[string][]float64{}, A: map[string][]float64{}}
	best := -1
	for _, l := range append(append([]string{}, m.ContentLayers...), m.StyleLayers...) {
		if p, _ := vgg.Index(l); p > best {
			best, L.Deepest = p, l
		}
	}
	cp, err := t.Forward(content, m.ContentHW[0], m.ContentHW[1], L.Deepest)
	if err != nil {
		return nil, err
	}
	for _, l := range m.ContentLayers {
		if L.P[l], err = cp.Act(l); err != nil {
			return nil, err
		}
	}
	if len(m.StyleBlend) != len(m.StyleHWs) {
		return nil, fmt.Errorf("twin: %d style blend weights for %d style images", len(m.StyleBlend), len(m.StyleHWs))
	}
	for j, hw := range m.StyleHWs {
		s, err := c.F64(fmt.Sprintf("style.%d", j))
		if err != nil {
			return nil, err
		}
		sp, err := t.Forward(s, hw[0], hw[1], L.Deepest)
		if err != nil {
			return nil, err
		}
		for _, l := range m.StyleLayers {
			a, err := sp.Act(l)
			if err != nil {
				return nil, err
			}
			sh, _ := sp.Shape(l)
			g := Gram(a, sh[0], sh[1]*sh[2])
			if L.A[l] == nil {
				L.A[l] = make([]float64, len(g))
			}
			for i, v := range g {
				L.A[l][i] += m.StyleBlend[j] * v
			}
		}
	}
	return L, nil
}

// Forward returns the trunk's pass at the image x: (3,H,W) of the case's
// content size, the losses [total, content, style, tv] (the order of the
// oracle's ref.loss0) and the content and style losses' gradients at
// their layers, the taps for Backward.
func (L *Loss) Forward(x []float64) (*Pass, [4]float64, map[string][][]float64, error) {
	m := L.Meta
	var loss [4]float64
	ps, err := L.Trunk.Forward(x, m.ContentHW[0], m.ContentHW[1], L.Deepest)
	if err != nil {
		return nil, loss, nil, err
	}
	taps := map[string][][]float64{}
	wc := m.ContentWeight / float64(len(m.ContentLayers))
	ws := m.StyleWeight / float64(len(m.StyleLayers))
	for _, l := range m.ContentLayers {
		a, _ := ps.Act(l)
		v, g := ContentLoss(a, L.P[l], wc)
		loss[1] += v
		taps[l] = append(taps[l], g)
	}
	for _, l := range m.StyleLayers {
		a, _ := ps.Act(l)
		sh, _ := ps.Shape(l)
		v, g := StyleLoss(a, L.A[l], sh[0], sh[1]*sh[2], ws)
		loss[2] += v
		taps[l] = append(taps[l], g)
	}
	if m.TVWeight != 0 {
		loss[3], _ = TVLoss(ps.X, 3, ps.H, ps.W, m.TVWeight)
	}
	loss[0] = loss[1] + loss[2] + loss[3]
	return ps, loss, taps, nil
}

// Backward returns d total/dx for the pass ps and its taps, with the ReLU
// masks and max-pool winners taken from the pass route: route = ps gives
// the true gradient; another pass freezes those decisions at its own
// (Backward reads route.Acts only for them).
func (L *Loss) Backward(ps, route *Pass, taps map[string][][]float64) ([]float64, error) {
	hyb := *ps
	hyb.Acts = route.Acts
	dx, err := hyb.Backward(taps)
	if err != nil {
		return nil, err
	}
	if L.Meta.TVWeight != 0 {
		_, g := TVLoss(ps.X, 3, ps.H, ps.W, L.Meta.TVWeight)
		for i := range dx {
			dx[i] += g[i]
		}
	}
	return dx, nil
}

// Eval returns the losses [total, content, style, tv], d total/dx and
// the pass at x.
func (L *Loss) Eval(x []float64) ([4]float64, []float64, *Pass, error) {
	ps, loss, taps, err := L.Forward(x)
	if err != nil {
		return loss, nil, nil, err
	}
	dx, err := L.Backward(ps, ps, taps)
	return loss, dx, ps, err
}
