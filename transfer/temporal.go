package transfer

import (
	"fmt"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// addTemporal appends Ruder, Dosovitskiy & Brox's (2016) temporal loss to
// the iteration when the plan has one: the image against the target ω
// (the previous stylised frame warped to this one) with per-pixel weights
// c, both zero until SetTemporal, its gradient added into DX.
func (e *Engine) addTemporal() error {
	if !e.Plan.Temporal {
		return nil
	}
	b, err := e.take(plan.OwnTemporal, 0, -1)
	if err != nil {
		return err
	}
	e.temporalBufs = b
	tl, err := ops.NewTemporalLoss(e.D, e.X, b[0], b[1], e.DX, e.Scalars, LossTemporal, e.cfg.TemporalWeight, true, false)
	if err != nil {
		return err
	}
	e.steps = append(e.steps, tl)
	e.temporal = tl
	e.iter = append(e.iter, tl)
	return nil
}

// SetTemporal sets the temporal loss's target, target: the previous
// stylised frame warped to this one (W×H), and its weights, one per pixel
// (1 where the optical flow is trusted, 0 at occlusions and motion
// boundaries), for the iterations submitted from now on.
func (e *Engine) SetTemporal(target Image, weights []float32) error {
	if e.temporal == nil {
		return fmt.Errorf("transfer: this engine has no temporal loss (it was built with temporal weight 0)")
	}
	if target.W != e.W || target.H != e.H || len(weights) != e.W*e.H {
		return fmt.Errorf("transfer: a %dx%d temporal target with %d weights for a %dx%d image", target.W, target.H, len(weights), e.W, e.H)
	}
	if err := e.temporalBufs[0].Write(target.Pix); err != nil {
		return err
	}
	return e.temporalBufs[1].Write(weights)
}
