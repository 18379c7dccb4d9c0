package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// CanRestart reports whether Restart can start the engine over on another
// content image: an untiled engine can; a tiled one computes its content
// targets tile by tile and must be built afresh.
// It also needs the iteration trunk's forward pass to be the content
// trunk's, kernel for kernel, so that the targets it computes are those
// a fresh engine would: the plan makes them so, and this checks it.
func (e *Engine) CanRestart() bool {
	ct, it := e.Plan.ContentTrunk, e.Plan.Iterate
	if e.Plan.Tiled() || e.Trunk == nil || ct.H != it.H || ct.W != it.W || len(ct.Layers) != len(it.Layers) {
		return false
	}
	for i := range ct.Layers {
		if ct.Layers[i].Forward != it.Layers[i].Forward {
			return false
		}
	}
	return true
}

// Restart starts the engine over on another content image of its size,
// from x0, as each frame of a video starts afresh (Ruder et al. 2016):
// the content targets P are recomputed by the iteration trunk's forward
// pass, whose kernels are the content trunk's, the optimiser's state is
// zeroed (Adam's moments and step count; L-BFGS's history, by starting
// the iteration count over) and the loss scalars cleared. The style
// targets, which depend on the style images alone, are kept, and so is
// every buffer and recorded pass: the iterations that follow equal those
// of an engine built on content from x0. The temporal loss's target and
// weights stay until SetTemporal.
func (e *Engine) Restart(content, x0 Image) error {
	if !e.CanRestart() {
		return fmt.Errorf("transfer: a tiled engine cannot restart on another content image; build a new one")
	}
	for _, img := range []struct {
		what string
		img  Image
	}{{"content", content}, {"start", x0}} {
		if img.img.W != e.W || img.img.H != e.H || len(img.img.Pix) != 3*e.W*e.H {
			return fmt.Errorf("transfer: restart with a %dx%d %s image (%d values) on a %dx%d engine", img.img.W, img.img.H, img.what, len(img.img.Pix), e.W, e.H)
		}
	}
	d := e.D
	if err := e.X.Write(content.Pix); err != nil {
		return err
	}
	err := d.Record("content targets", func(enc *gpu.Encoder) error {
		if err := e.Trunk.Forward().Record(enc); err != nil {
			return err
		}
		for i, l := range e.Plan.ContentLosses {
			a, err := e.Trunk.Act(l.Layer)
			if err != nil {
				return err
			}
			if err := enc.Copy(a, e.P[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := e.X.Write(x0.Pix); err != nil {
		return err
	}
	if err := e.Scalars.Fill(0); err != nil {
		return err
	}
	if e.Adam != nil {
		if err := e.Adam.Reset(); err != nil {
			return err
		}
	}
	e.Iter = 0
	return d.Poll()
}
