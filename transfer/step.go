package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Step runs one iteration: forward, losses, backward, optimiser step (and
// clip), recorded into one command buffer and submitted, with no readback.
// The losses it leaves in Scalars are those of the image before the step.
func (e *Engine) Step() error {
	if err := e.D.Record(fmt.Sprintf("iteration %d", e.Iter+1), e.record); err != nil {
		return err
	}
	e.Iter++
	return nil
}

// record appends iteration e.Iter+1 to enc.
func (e *Engine) record(enc *gpu.Encoder) error {
	if e.iter == nil {
		return fmt.Errorf("transfer: the engine was released")
	}
	if err := e.iter.Record(enc); err != nil {
		return err
	}
	return e.recordOptimizer(enc, e.Iter+1)
}

// recordOptimizer appends iteration it's optimiser step to enc.
func (e *Engine) recordOptimizer(enc *gpu.Encoder, it int) error {
	if e.Adam != nil {
		return e.Adam.Record(enc)
	}
	if e.LBFGS != nil {
		return e.LBFGS.Record(enc, it)
	}
	return nil
}

// Losses reads back [total, content, style, tv, temporal] (blocking; call it only
// when the values are wanted).
func (e *Engine) Losses() ([]float32, error) { return e.Scalars.Read() }

// Release frees everything the engine allocated (not the Net).
func (e *Engine) Release() {
	for _, s := range e.steps {
		s.Release()
	}
	for _, b := range e.bufs {
		b.Release()
	}
	e.steps, e.bufs, e.iter, e.leaves, e.combine = nil, nil, nil, nil, nil
	if e.layouts != nil {
		e.net.Unacquire(e.layouts)
		e.layouts = nil
	}
}
