package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

type mseData struct {
	N, CHUNK    int
	GRAD, ACCUM bool
	COEF        float64
}

// mse records part[g] = Σ_chunk (a-b)² and, when grad is not nil,
// grad (= or +=) coef*(a-b); then out[idx] (=, or += with accumOut) scale*Σ part.
func mse(d *gpu.Device, op string, a, b, grad *gpu.Buffer, coef float64, accumGrad bool, out *gpu.Buffer, idx int, scale float64, accumOut bool) (*Step, error) {
	n := a.Len()
	if err := wantLen(op, "target", b, n); err != nil {
		return nil, err
	}
	if grad != nil {
		if err := wantLen(op, "grad", grad, n); err != nil {
			return nil, err
		}
	}
	if err := finite(op, "gradient coefficient", coef); err != nil {
		return nil, err
	}
	np := ceilDiv(n, Chunk)
	part, err := d.NewBuffer(op+".part", gpu.F32, np)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op, own: []*gpu.Buffer{part}}
	data := mseData{N: n, CHUNK: Chunk, GRAD: grad != nil, ACCUM: accumGrad, COEF: coef}
	var bd *gpu.Binding
	if grad != nil {
		bd, err = bind(d, op+".mse", "mse.wgsl", "forward_backward", data, acc(gpu.In, gpu.In, gpu.Out, gpu.Out), a, b, grad, part)
	} else {
		bd, err = bind(d, op+".mse", "mse.wgsl", "forward_backward", data, acc(gpu.In, gpu.In, gpu.Out), a, b, part)
	}
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, bd, np); err != nil {
		bd.Release()
		s.Release()
		return nil, err
	}
	f, err := finalStep(d, op, part, np, out, idx, scale, accumOut)
	if err != nil {
		s.Release()
		return nil, err
	}
	s.then(f)
	return s, nil
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
func NewContentLoss(d *gpu.Device, f, p, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*Step, error) {
	const op = "content_loss"
	c, h, wd, err := chw(op, "features", f)
	if err != nil {
		return nil, err
	}
	if err := finite(op, "weight", w); err != nil {
		return nil, err
	}
	n := float64(c * h * wd)
	return mse(d, op, f, p, grad, 2*w/n, accumGrad, out, idx, w/n, accumOut)
}

type styleData struct {
	tileData
	C, K  int
	COEF  float64
	ACCUM bool
}

// StyleLoss is the style loss of one layer, with its Gram matrix.
type StyleLoss struct {
	Step
	Gram *gpu.Buffer // G of the current features, (C,C)
}

// NewStyleLoss records the style loss of one layer (Gatys et al. 2016, with
// the seed's Gram normalisation G = F Fᵀ/M and a mean over C² entries):
//
//	L = w · mean((G-A)²),   dL/dF = 4w/(C²M) · (G-A) F
//
// where w is the style weight already divided by the number of style
// layers and A the target Gram (a blend of the style images' Grams).
//
//	f, grad: (C,h,w)  a: (C,C)
func NewStyleLoss(d *gpu.Device, f, a, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*StyleLoss, error) {
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
	if err := finite(op, "weight", w); err != nil {
		return nil, err
	}
	g, err := d.NewBuffer(op+".gram", gpu.F32, c, c)
	if err != nil {
		return nil, err
	}
	sl := &StyleLoss{Step: Step{Name: op, own: []*gpu.Buffer{g}}, Gram: g}
	gs, err := NewGram(d, f, g)
	if err != nil {
		sl.Release()
		return nil, err
	}
	sl.then(gs)
	cc := float64(c * c)
	val, err := mse(d, op, g, a, nil, 0, false, out, idx, w/cc, accumOut)
	if err != nil {
		sl.Release()
		return nil, err
	}
	sl.then(val)
	if grad == nil {
		return sl, nil
	}
	m := h * wd
	t := ChooseTile(c, m)
	data := styleData{tileData: t.data(true, false), C: c, K: m, COEF: 4 * w / (cc * float64(m)), ACCUM: accumGrad}
	b, err := bind(d, op+".backward", "style_loss.wgsl", "backward", data, acc(gpu.In, gpu.In, gpu.In, gpu.Out), g, a, f, grad)
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

type tvData struct {
	C, H, W, CHUNK int
	WT, INY, INX   float64
	ACCUM          bool
}

// NewTVLoss records the total-variation loss of the image x: (C,H,W)
//
//	L = w · ( mean((x[:,i+1,j]-x[:,i,j])²) + mean((x[:,i,j+1]-x[:,i,j])²) )
//
// into out[idx] (+= when accumOut) and its gradient into grad (+= when accumGrad).
func NewTVLoss(d *gpu.Device, x, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*Step, error) {
	const op = "tv_loss"
	c, h, wd, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "grad", grad, c, h, wd); err != nil {
		return nil, err
	}
	if err := finite(op, "weight", w); err != nil {
		return nil, err
	}
	data := tvData{C: c, H: h, W: wd, CHUNK: Chunk, WT: w}
	if ny := c * (h - 1) * wd; ny > 0 {
		data.INY = 1 / float64(ny)
	}
	if nx := c * h * (wd - 1); nx > 0 {
		data.INX = 1 / float64(nx)
	}
	data.ACCUM = accumGrad
	n := c * h * wd
	np := ceilDiv(n, Chunk)
	part, err := d.NewBuffer(op+".part", gpu.F32, np)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op, own: []*gpu.Buffer{part}}
	b, err := bind(d, op, "tv_loss.wgsl", "forward_backward", data, acc(gpu.In, gpu.Out, gpu.Out), x, grad, part)
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, b, np); err != nil {
		b.Release()
		s.Release()
		return nil, err
	}
	f, err := finalStep(d, op, part, np, out, idx, w, accumOut)
	if err != nil {
		s.Release()
		return nil, err
	}
	s.then(f)
	return s, nil
}
