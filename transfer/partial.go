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
	e    *Engine
	ends []int // piece i records e.leaves[ends[i-1]:ends[i]] (the last also the optimiser)
	next int
	it   int // the iteration it records
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

// Split prepares iteration e.Iter+1 as n pieces (at most one per op) of
// about equal numbers of ops, the optimiser's step in the last.
func (e *Engine) Split(n int) *Partial {
	if e.leaves == nil {
		e.leaves = flatten(nil, e.iter) // once: the iteration's ops do not change
	}
	m := len(e.leaves) + 1 // the optimiser's step counts as one op
	n = min(max(n, 1), m)
	p := &Partial{e: e, it: e.Iter + 1, ends: make([]int, n)}
	for i := range p.ends {
		p.ends[i] = min((i+1)*m/n, len(e.leaves))
	}
	return p
}

// Len is the number of pieces; Next the index of the next one to submit.
func (p *Partial) Len() int  { return len(p.ends) }
func (p *Partial) Next() int { return p.next }

// Done reports whether every piece has been submitted.
func (p *Partial) Done() bool { return p.next >= len(p.ends) }

// SubmitNext records and submits the next piece; after the last one the
// iteration counts (e.Iter is incremented) and last is true.
func (p *Partial) SubmitNext() (last bool, err error) {
	if p.Done() {
		return true, fmt.Errorf("transfer: iteration already submitted")
	}
	if p.e.Iter+1 != p.it {
		return false, fmt.Errorf("transfer: the engine stepped past this split iteration")
	}
	lo := 0
	if p.next > 0 {
		lo = p.ends[p.next-1]
	}
	err = p.e.D.Record(fmt.Sprintf("iteration %d, piece %d/%d", p.it, p.next+1, len(p.ends)), func(enc *gpu.Encoder) error {
		if err := ops.Seq(p.e.leaves[lo:p.ends[p.next]]).Record(enc); err != nil {
			return err
		}
		if p.next == len(p.ends)-1 {
			return p.e.recordOptimizer(enc, p.it)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	p.next++
	if p.Done() {
		p.e.Iter++
		return true, nil
	}
	return false, nil
}
