// The stages an Engine executes, in the order of its plan: the content
// targets, each style's Grams, the blended style targets and the
// iteration. Each stage's trunk is freed when its GPU work has finished.

package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

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
	err = d.Record("content targets", func(enc *gpu.Encoder) error {
		if err := ct.Forward().Record(enc); err != nil {
			return err
		}
		for i, l := range p.ContentLosses {
			a, err := ct.Act(l.Layer)
			if err != nil {
				return err
			}
			if err := enc.Copy(a, P[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
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
	if err := d.Record(fmt.Sprintf("style %d grams", j+1), seq.Record); err != nil {
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
	d, p := e.D, e.Plan
	tr, err := e.net.NewTrunk(p.Iterate)
	if err != nil {
		return err
	}
	e.Trunk = tr
	e.X, e.DX, e.W, e.H = tr.X, tr.DX, tr.W, tr.H
	e.steps = append(e.steps, tr)
	if err := tr.X.Write(x0.Pix); err != nil {
		return err
	}
	sc, err := e.take(plan.OwnScalars, 0, -1)
	if err != nil {
		return err
	}
	e.Scalars = sc[0]
	taps, fused, err := e.losses(tr, P)
	if err != nil {
		return err
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
	return e.finishIteration()
}

// losses builds the iteration's content and style losses on trunk tr's
// activations, against the targets P and e.targets: the recorders tapped
// at each layer, and the gradients the plan fuses into a conv backward
// (those losses write no gradient themselves).
func (e *Engine) losses(tr *vgg.Trunk, P []*gpu.Buffer) (map[string][]ops.Recorder, map[string]ops.FusedGrads, error) {
	d, p, cfg := e.D, e.Plan, e.cfg
	taps := map[string][]ops.Recorder{}
	contentAt := map[string]*ops.Loss{}
	styleAt := map[string]*ops.StyleLoss{}
	// at returns a loss's features and the gradient it writes: none when
	// the plan fuses it.
	at := func(l plan.Loss) (a, g *gpu.Buffer, err error) {
		if a, err = tr.Act(l.Layer); err != nil || l.Fused {
			return a, nil, err
		}
		g, err = tr.Grad(l.Layer)
		return a, g, err
	}
	wc := cfg.ContentWeight / float64(max(len(p.ContentLosses), 1))
	for i, l := range p.ContentLosses {
		a, g, err := at(l)
		if err != nil {
			return nil, nil, err
		}
		cl, err := ops.NewContentLoss(d, a, P[i], g, e.Scalars, LossContent, wc, true, true)
		if err != nil {
			return nil, nil, err
		}
		e.steps, e.content = append(e.steps, cl), append(e.content, cl)
		taps[l.Layer] = append(taps[l.Layer], cl)
		if l.Fused {
			contentAt[l.Layer] = cl
		}
	}
	ws := cfg.StyleWeight / float64(max(len(p.StyleLosses), 1))
	for i, l := range p.StyleLosses {
		a, g, err := at(l)
		if err != nil {
			return nil, nil, err
		}
		sl, err := ops.NewStyleLossPlan(d, a, e.targets[i], g, e.Scalars, LossStyle, ws, true, true, l.Style)
		if err != nil {
			return nil, nil, err
		}
		e.steps, e.style = append(e.steps, sl), append(e.style, &sl.Loss)
		taps[l.Layer] = append(taps[l.Layer], sl)
		if l.Fused {
			styleAt[l.Layer] = sl
		}
	}
	fused := map[string]ops.FusedGrads{}
	for _, l := range append(append([]plan.Loss(nil), p.ContentLosses...), p.StyleLosses...) {
		if l.Fused {
			g, err := ops.FuseLosses(contentAt[l.Layer], styleAt[l.Layer])
			if err != nil {
				return nil, nil, err
			}
			fused[l.Layer] = g
		}
	}
	return taps, fused, nil
}

// finishIteration appends what every iteration ends with, over the whole
// image X and its gradient DX, tiled or not: the TV loss (its gradient
// added into DX), the temporal loss, the total of the loss scalars, and
// then builds the optimiser.
func (e *Engine) finishIteration() error {
	d := e.D
	if e.Plan.TV {
		tvg, err := e.take(plan.OwnTVGrad, 0, -1)
		if err != nil {
			return err
		}
		tv, err := ops.NewTVLoss(d, e.X, tvg[0], e.Scalars, LossTV, e.cfg.TVWeight, false, false)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, tv)
		e.tv = tv
		add, err := ops.NewAxpy(d, 1, nil, 0, tvg[0], e.DX)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, add)
		e.iter = append(e.iter, tv, add)
	}
	if err := e.addTemporal(); err != nil {
		return err
	}
	total, err := ops.NewScalar(d, e.Scalars, "s[0] = s[1] + s[2] + s[3] + s[4];")
	if err != nil {
		return err
	}
	e.steps = append(e.steps, total)
	e.iter = append(e.iter, total)
	return e.optimizer()
}

// optimizer builds the plan's optimiser over X and DX.
func (e *Engine) optimizer() error {
	var err error
	if e.Plan.Optimizer == "lbfgs" {
		if e.LBFGS, err = ops.NewLBFGS(e.D, e.X, e.DX, e.Plan.History, e.cfg.LBFGS.LR); err != nil {
			return err
		}
		e.steps = append(e.steps, e.LBFGS)
		return nil
	}
	if e.Adam, err = ops.NewAdam(e.D, e.cfg.Adam, e.X, e.DX); err != nil {
		return err
	}
	e.steps = append(e.steps, e.Adam)
	return nil
}
