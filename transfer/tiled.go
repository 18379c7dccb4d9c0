// The stages of a tiled plan (plan/tiling.go): the content targets and
// the iteration run their trunk on each tile's crop in turn, so that no
// buffer is larger than a crop's, and the losses and the gradient equal
// the whole image's to rounding. The float64 statement of the same
// computation is twin.Loss.EvalTiled.

package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// cropRect is the rectangle that cuts tile t's crop out of the whole
// image: all of the crop, offset by its origin.
func cropRect(t plan.Tile) ops.Rect {
	return ops.Rect{X1: uint32(t.Crop.W()), Y1: uint32(t.Crop.H()), OX: uint32(t.Crop.X0), OY: uint32(t.Crop.Y0)}
}

// ownedRect is the rectangle of the positions tile t owns at layer q, in
// its crop's coordinates, with the offset to the whole image's (offset
// false: none, for a copy within the tile's own tensors).
func (e *Engine) ownedRect(t plan.Tile, q int, offset bool) ops.Rect {
	own, ox, oy := t.Owned(plan.Pools(q), e.Plan.Content.H, e.Plan.Content.W)
	r := ops.Rect{X0: uint32(own.X0), Y0: uint32(own.Y0), X1: uint32(own.X1), Y1: uint32(own.Y1)}
	if offset {
		r.OX, r.OY = uint32(ox), uint32(oy)
	}
	return r
}

// contentTargetsTiled runs the content stage on tiles: each tile's crop
// of the content image through the content trunk, and the activations
// it owns at the content layers put into the targets P, which have the
// whole image's shape and outlive the stage.
func (e *Engine) contentTargetsTiled(content Image) ([]*gpu.Buffer, error) {
	d, p := e.D, e.Plan
	ct, err := e.net.NewTrunk(p.ContentTrunk)
	if err != nil {
		return nil, err
	}
	var steps []*ops.RectOp
	var img *gpu.Buffer
	defer func() {
		for _, s := range steps {
			s.Release()
		}
		img.Release()
		ct.Release()
	}()
	P, err := e.take(plan.OwnContentTarget, 0, -1)
	if err != nil {
		return nil, err
	}
	specs := p.BuffersOf(plan.OwnContentImage)
	if len(specs) != 1 {
		return nil, fmt.Errorf("transfer: the tiled plan has %d content images", len(specs))
	}
	if img, err = d.Alloc(specs[0].Spec); err != nil {
		return nil, err
	}
	if err := img.Write(content.Pix); err != nil {
		return nil, err
	}
	var seq ops.Seq
	for _, t := range p.Tiles {
		cut, err := ops.NewTake(d, img, ct.X, cropRect(t))
		if err != nil {
			return nil, err
		}
		steps = append(steps, cut)
		seq = append(seq, cut, ct.Forward())
		for i, l := range p.ContentLosses {
			a, err := ct.Act(l.Layer)
			if err != nil {
				return nil, err
			}
			put, err := ops.NewPut(d, a, P[i], e.ownedRect(t, l.Pos, true), false)
			if err != nil {
				return nil, err
			}
			steps = append(steps, put)
			seq = append(seq, put)
		}
	}
	if err := d.Record("content targets, tiled", seq.Record); err != nil {
		return nil, err
	}
	// The trunk and the image die with this stage: wait for its work
	// before freeing them.
	return P, d.Poll()
}

// iterationTiled builds the iteration of a tiled plan, starting from x0,
// with the content targets P (the whole image's):
//   - the first pass runs each tile's crop forward and adds the Gram of
//     the features it owns, scaled by the tile's share of the positions,
//     into the Grams G of the whole image;
//   - the style losses' values come from G;
//   - the second pass runs each tile forward again, takes the features
//     and content targets it owns, runs its backward with the content
//     losses' gradients and the style losses' from G (each over the owned
//     features, normalised by the whole layer's positions), and adds its
//     crop's gradient into DX;
//   - the TV loss and the optimiser run on the whole image.
func (e *Engine) iterationTiled(P []*gpu.Buffer, x0 Image) error {
	d, p, cfg := e.D, e.Plan, e.cfg
	tr, err := e.net.NewTrunk(p.Iterate)
	if err != nil {
		return err
	}
	e.Trunk = tr
	e.steps = append(e.steps, tr)
	own, err := e.take(plan.OwnTiling, 0, -1)
	if err != nil {
		return err
	}
	if want := 2 + 2*len(p.ContentLosses) + 3*len(p.StyleLosses); len(own) != want {
		return fmt.Errorf("transfer: the tiled plan has %d buffers of %s, want %d", len(own), plan.OwnTiling, want)
	}
	e.X, e.DX, e.W, e.H = own[0], own[1], p.Content.W, p.Content.H
	if err := e.X.Write(x0.Pix); err != nil {
		return err
	}
	sc, err := e.take(plan.OwnScalars, 0, -1)
	if err != nil {
		return err
	}
	e.Scalars = sc[0]
	keep := func(s interface{ Release() }) { e.steps = append(e.steps, s) }
	fill := func(b *gpu.Buffer) (*ops.Step, error) {
		z, err := ops.NewFill(d, b, 0)
		if err == nil {
			keep(z)
		}
		return z, err
	}
	start := ops.Seq{}
	for _, b := range []*gpu.Buffer{e.Scalars, e.DX} {
		z, err := fill(b)
		if err != nil {
			return err
		}
		start = append(start, z)
	}

	// The losses, built once over the tile-sized buffers F and Ptile and
	// tapped into the trunk's backward: the same for every tile.
	taps := map[string][]ops.Recorder{}
	wc := cfg.ContentWeight / float64(max(len(p.ContentLosses), 1))
	Fc, Pt := make([]*gpu.Buffer, len(p.ContentLosses)), make([]*gpu.Buffer, len(p.ContentLosses))
	for i, l := range p.ContentLosses {
		Fc[i], Pt[i] = own[2+2*i], own[3+2*i]
		g, err := tr.Grad(l.Layer)
		if err != nil {
			return err
		}
		// Its mean is over the crop's elements; the whole layer's is wanted
		// (the crop's elements it does not own are zero in F and Ptile).
		c, h, w := p.Layer(l.Pos)
		share := float64(Fc[i].Len()) / float64(c*h*w)
		cl, err := ops.NewContentLoss(d, Fc[i], Pt[i], g, e.Scalars, LossContent, wc*share, true, true)
		if err != nil {
			return err
		}
		keep(cl)
		e.content, e.contentScale = append(e.content, cl), append(e.contentScale, share)
		taps[l.Layer] = append(taps[l.Layer], cl)
	}
	ws := cfg.StyleWeight / float64(max(len(p.StyleLosses), 1))
	k := 2 + 2*len(p.ContentLosses)
	Fs := make([]*gpu.Buffer, len(p.StyleLosses))
	var grams, values ops.Seq // the first pass's, per tile; after it
	for i, l := range p.StyleLosses {
		f, gt, G := own[k+3*i], own[k+3*i+1], own[k+3*i+2]
		Fs[i] = f
		c, h, w := p.Layer(l.Pos)
		m := h * w
		z, err := fill(G)
		if err != nil {
			return err
		}
		start = append(start, z)
		gs, err := ops.NewGramPlan(d, f, gt, l.Style.Gram)
		if err != nil {
			return err
		}
		keep(gs)
		// The Gram op divides by the crop's positions; G is over the whole.
		acc, err := ops.NewAxpy(d, float64(f.Shape[1]*f.Shape[2])/float64(m), nil, 0, gt, G)
		if err != nil {
			return err
		}
		keep(acc)
		grams = append(grams, gs, acc)
		// L = ws·mean((G-A)²) is a mean of squares, as a content loss is
		// (over views of G and A as (C,C,1)).
		gv, err := G.View(G.Name, c, c, 1)
		if err != nil {
			return err
		}
		av, err := e.targets[i].View(e.targets[i].Name, c, c, 1)
		if err != nil {
			return err
		}
		v, err := ops.NewContentLoss(d, gv, av, nil, e.Scalars, LossStyle, ws, false, true)
		if err != nil {
			return err
		}
		keep(v)
		values = append(values, v)
		g, err := tr.Grad(l.Layer)
		if err != nil {
			return err
		}
		sg, err := ops.NewStyleGrad(d, G, e.targets[i], f, g, m, ws, true, l.Style.Backward)
		if err != nil {
			return err
		}
		keep(sg)
		e.style = append(e.style, v, sg)
		taps[l.Layer] = append(taps[l.Layer], sg)
	}
	bw, err := tr.Backward(taps, nil)
	if err != nil {
		return err
	}

	// Each tile's rectangles.
	rect := func(r *ops.RectOp, err error) (*ops.RectOp, error) {
		if err == nil {
			keep(r)
		}
		return r, err
	}
	pass1, pass2 := ops.Seq{}, ops.Seq{}
	for _, t := range p.Tiles {
		cut, err := rect(ops.NewTake(d, e.X, tr.X, cropRect(t)))
		if err != nil {
			return err
		}
		var styleF, contentF ops.Seq
		for i, l := range p.StyleLosses {
			a, err := tr.Act(l.Layer)
			if err != nil {
				return err
			}
			tf, err := rect(ops.NewTake(d, a, Fs[i], e.ownedRect(t, l.Pos, false)))
			if err != nil {
				return err
			}
			styleF = append(styleF, tf)
		}
		for i, l := range p.ContentLosses {
			a, err := tr.Act(l.Layer)
			if err != nil {
				return err
			}
			tf, err := rect(ops.NewTake(d, a, Fc[i], e.ownedRect(t, l.Pos, false)))
			if err != nil {
				return err
			}
			tp, err := rect(ops.NewTake(d, P[i], Pt[i], e.ownedRect(t, l.Pos, true)))
			if err != nil {
				return err
			}
			contentF = append(contentF, tf, tp)
		}
		put, err := rect(ops.NewPut(d, tr.DX, e.DX, ops.Rect{X1: uint32(t.Crop.W()), Y1: uint32(t.Crop.H()),
			OX: uint32(t.Crop.X0), OY: uint32(t.Crop.Y0)}, true))
		if err != nil {
			return err
		}
		pass1 = append(pass1, cut, tr.Forward(), styleF)
		for i := range p.StyleLosses {
			pass1 = append(pass1, grams[2*i], grams[2*i+1])
		}
		pass2 = append(pass2, cut, tr.Forward(), styleF, contentF, bw, put)
	}
	if len(p.StyleLosses) == 0 {
		pass1 = nil // it only sums the Grams
	}
	e.iter = ops.Seq{start, pass1, values, pass2}
	return e.finishIteration()
}
