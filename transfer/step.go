package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Step runs one iteration: forward, losses, backward, optimiser step (and
// clip), recorded into one command buffer and submitted, with no readback.
// The losses it leaves in Scalars are those of the image before the step.
func (e *Engine) Step() error {
	enc, err := e.D.NewEncoder(fmt.Sprintf("iteration %d", e.Iter+1))
	if err != nil {
		return err
	}
	if err := e.record(enc); err != nil {
		enc.Discard()
		return err
	}
	if err := enc.Submit(); err != nil {
		return err
	}
	e.Iter++
	return nil
}

// record appends iteration e.Iter+1 to enc.
func (e *Engine) record(enc *gpu.Encoder) error {
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

// Losses reads back [total, content, style, tv] (blocking; call it only
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
	e.steps, e.bufs = nil, nil
}
