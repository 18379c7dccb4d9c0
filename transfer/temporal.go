package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
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

// SetTemporal sets the temporal loss's target and weights for the
// iterations submitted from now on, copying them on the GPU: target
// (3,H,W), the earlier stylised frames warped to this one, and weights
// (1,H,W), one per pixel (1 where the optical flow is trusted, 0 at
// occlusions and motion boundaries). With start, target is also copied
// into X, the image the iterations start from.
func (e *Engine) SetTemporal(target, weights *gpu.Buffer, start bool) error {
	if e.temporal == nil {
		return fmt.Errorf("transfer: this engine has no temporal loss (it was built with temporal weight 0)")
	}
	return e.D.Record("temporal target", func(enc *gpu.Encoder) error {
		if err := enc.Copy(target, e.temporalBufs[0]); err != nil {
			return err
		}
		if err := enc.Copy(weights, e.temporalBufs[1]); err != nil {
			return err
		}
		if start {
			return enc.Copy(target, e.X)
		}
		return nil
	})
}
