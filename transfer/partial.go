package transfer

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
)

// Partial is one iteration split into several command buffers, for a
// caller that must put other GPU work between its pieces: a window whose
// frames would otherwise wait behind a whole long iteration (a queue runs
// its submissions in order). Step submits an iteration in one command
// buffer and remains what a run uses.
//
// Only the last piece changes the optimiser's state and the image, so an
// iteration given up half way (Abandon, or just dropping the Partial)
// leaves the engine as it was: the next iteration recomputes everything
// from the image.
type Partial struct {
	e     *Engine
	parts []ops.Seq
	next  int
	it    int // the iteration it records
}

// flatten appends the leaf recorders of r: the members of nested Seqs.
func flatten(out []ops.Recorder, r ops.Recorder) []ops.Recorder {
	if s, ok := r.(ops.Seq); ok {
		for _, m := range s {
			out = flatten(out, m)
		}
		return out
	}
	return append(out, r)
}

type recorderFunc func(*gpu.Encoder) error

func (f recorderFunc) Record(e *gpu.Encoder) error { return f(e) }

// Split prepares iteration e.Iter+1 as n pieces (at most one per op) of
// about equal numbers of ops, the optimiser's step in the last.
func (e *Engine) Split(n int) *Partial {
	leaves := flatten(nil, e.iter)
	iter := e.Iter + 1
	leaves = append(leaves, recorderFunc(func(enc *gpu.Encoder) error {
		if e.Adam != nil {
			return e.Adam.Record(enc)
		}
		if e.LBFGS != nil {
			return e.LBFGS.Record(enc, iter)
		}
		return nil
	}))
	n = min(max(n, 1), len(leaves))
	p := &Partial{e: e, it: iter}
	for i := 0; i < n; i++ {
		p.parts = append(p.parts, ops.Seq(leaves[i*len(leaves)/n:(i+1)*len(leaves)/n]))
	}
	return p
}

// Len is the number of pieces; Next the index of the next one to submit.
func (p *Partial) Len() int  { return len(p.parts) }
func (p *Partial) Next() int { return p.next }

// Done reports whether every piece has been submitted.
func (p *Partial) Done() bool { return p.next >= len(p.parts) }

// SubmitNext records and submits the next piece; after the last one the
// iteration counts (e.Iter is incremented) and last is true.
func (p *Partial) SubmitNext() (last bool, err error) {
	if p.Done() {
		return true, fmt.Errorf("transfer: iteration already submitted")
	}
	if p.e.Iter+1 != p.it {
		return false, fmt.Errorf("transfer: the engine stepped past this split iteration")
	}
	enc, err := p.e.D.NewEncoder(fmt.Sprintf("iteration %d, piece %d/%d", p.e.Iter+1, p.next+1, len(p.parts)))
	if err != nil {
		return false, err
	}
	if err := p.parts[p.next].Record(enc); err != nil {
		enc.Discard()
		return false, err
	}
	if err := enc.Submit(); err != nil {
		return false, err
	}
	p.next++
	if p.Done() {
		p.e.Iter++
		return true, nil
	}
	return false, nil
}
