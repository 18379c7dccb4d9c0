package live

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/plan"
)

// runner submits the session's iterations in batches — k calls of
// Engine.Step followed by one copy of the loss scalars into a readback —
// and learns from the readbacks, without ever waiting on the GPU, when
// each batch finished, how long an iteration takes, and the losses the
// batch's last iteration computed. One extra submission per batch: on a
// software GPU every submission costs.
type runner struct {
	d        *gpu.Device
	slots    []*gpu.Readback
	busy     []bool
	inflight []batch

	tIt      float64 // seconds per iteration (moving average); 0 until measured
	tRec     float64 // CPU seconds to record and submit one Engine.Step (moving average)
	lastDone time.Time

	losses   [plan.NumScalars]float32 // total, content, style, tv, temporal
	lossIter int                      // the iteration whose image the losses are of
	haveLoss bool

	submitted, completed int // iterations since the start or the last restart
	total                int // iterations finished in all, restarts included

	log []doneAt // recent completions, for iterations per second

	pieceGPU   float64 // seconds the pieces of the current split iteration took so far
	splitEpoch int     // bumped when a split iteration is given up: its pieces still in flight no longer count
}

type batch struct {
	slot, k int
	first   int // iterations completed before the batch
	at      time.Time
	piece   bool    // a piece of a split iteration other than its last: no losses yet
	frac    float64 // a piece's share of its iteration (0: a batch of k whole ones)
	epoch   int     // the runner's splitEpoch when the piece was submitted
}

type doneAt struct {
	t time.Time
	n int
}

// average moves the moving average *avg towards v by rate; a first value
// (*avg is 0) is taken as it is.
func average(avg *float64, v, rate float64) {
	if *avg == 0 {
		*avg = v
	} else {
		*avg += rate * (v - *avg)
	}
}

func newRunner(d *gpu.Device) (*runner, error) {
	r := &runner{d: d}
	for i := 0; i < 4; i++ {
		rb, err := d.NewReadback(fmt.Sprintf("live.losses%d", i), 4*plan.NumScalars)
		if err != nil {
			r.release()
			return nil, err
		}
		r.slots = append(r.slots, rb)
		r.busy = append(r.busy, false)
	}
	return r, nil
}

func (r *runner) free() int {
	for i, b := range r.busy {
		if !b {
			return i
		}
	}
	return -1
}

// canSubmit reports whether a readback slot is free.
func (r *runner) canSubmit() bool { return r.free() >= 0 }

// submit queues k iterations of s and the losses' readback behind them.
func (r *runner) submit(s *Session, k int) error {
	slot := r.free()
	if slot < 0 || k < 1 {
		return nil
	}
	b := batch{slot: slot, k: k, first: r.submitted, at: time.Now()}
	for i := 0; i < k; i++ {
		if err := s.step(); err != nil {
			return err
		}
	}
	average(&r.tRec, time.Since(b.at).Seconds()/float64(k), 0.3)
	if err := r.readLosses(slot, s); err != nil {
		return err
	}
	r.busy[slot] = true
	r.inflight = append(r.inflight, b)
	r.submitted += k
	return nil
}

// submitPiece submits the next piece of the session's split iteration
// (splitting the next iteration into n pieces when none is in progress)
// and the losses' readback behind it. The last piece completes the
// iteration.
func (r *runner) submitPiece(s *Session, n int) error {
	slot := r.free()
	if slot < 0 {
		return nil
	}
	b := batch{slot: slot, first: r.submitted, at: time.Now(), epoch: r.splitEpoch}
	last, pieces, err := s.stepPiece(n)
	if err != nil {
		return err
	}
	b.frac = 1 / float64(pieces)
	average(&r.tRec, time.Since(b.at).Seconds()*float64(pieces), 0.3)
	if err := r.readLosses(slot, s); err != nil {
		return err
	}
	if last {
		b.k = 1
		r.submitted++
	} else {
		b.piece = true
	}
	r.busy[slot] = true
	r.inflight = append(r.inflight, b)
	return nil
}

// readLosses submits the copy of the loss scalars into readback slot,
// behind the work submitted so far.
func (r *runner) readLosses(slot int, s *Session) error {
	enc, err := r.d.NewEncoder("live.losses")
	if err != nil {
		return err
	}
	if err := enc.Read(r.slots[slot], s.scalars()); err != nil {
		enc.Discard()
		return err
	}
	return enc.Submit()
}

// poll collects the batches that have finished, in order, without
// blocking; it returns how many iterations finished.
func (r *runner) poll() (int, error) {
	n := 0
	for len(r.inflight) > 0 {
		b := r.inflight[0]
		raw, ok, err := r.slots[b.slot].Ready()
		if err != nil {
			return n, err
		}
		if !ok {
			break
		}
		r.inflight = r.inflight[1:]
		r.finish(b, raw, time.Now())
		n += b.k
	}
	return n, nil
}

// drain waits for every batch in flight.
func (r *runner) drain() error {
	for len(r.inflight) > 0 {
		b := r.inflight[0]
		raw, err := r.slots[b.slot].Wait()
		if err != nil {
			return err
		}
		r.inflight = r.inflight[1:]
		r.finish(b, raw, time.Now())
	}
	return nil
}

// finish books a finished batch. Its time is from when the GPU could
// start it (its submission, or the end of the batch before it) to when the
// loop saw it done, which polls every millisecond or so.
func (r *runner) finish(b batch, raw []byte, now time.Time) {
	r.busy[b.slot] = false
	start := b.at
	if r.lastDone.After(start) {
		start = r.lastDone
	}
	if b.piece {
		if b.epoch == r.splitEpoch {
			r.pieceGPU += now.Sub(start).Seconds()
		}
		r.lastDone = now
		return
	}
	r.completed = b.first + b.k
	r.total += b.k
	for i := range r.losses {
		r.losses[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	r.lossIter = b.first + b.k - 1 // Step leaves the losses of the image before its update
	r.haveLoss = true
	average(&r.tIt, (now.Sub(start).Seconds()+r.pieceGPU)/float64(b.k), 0.3)
	r.pieceGPU = 0
	r.lastDone = now
	r.log = append(r.log, doneAt{now, r.completed})
	if len(r.log) > 256 {
		r.log = r.log[len(r.log)-256:]
	}
}

// reset sets the iteration count (after a restart) and forgets the losses.
func (r *runner) reset(n int) {
	r.submitted, r.completed = n, n
	r.haveLoss = false
	r.log = nil
	r.abandonSplit()
}

// abandonSplit forgets the split iteration in progress: the time of its
// pieces, including those still in flight, is not an iteration's.
func (r *runner) abandonSplit() {
	r.pieceGPU = 0
	r.splitEpoch++
}

// queued estimates the GPU time of the work in flight that is left.
func (r *runner) queued(now time.Time) float64 {
	if len(r.inflight) == 0 {
		return 0
	}
	total := 0.0
	for _, b := range r.inflight {
		w := float64(b.k)
		if b.frac > 0 {
			w = b.frac
		}
		total += w * r.tIt
	}
	start := r.inflight[0].at
	if r.lastDone.After(start) {
		start = r.lastDone
	}
	return max(total-now.Sub(start).Seconds(), 0)
}

// itPerSec is the completion rate over about the last two seconds.
func (r *runner) itPerSec(now time.Time) float64 {
	if len(r.log) < 2 {
		return 0
	}
	last := r.log[len(r.log)-1]
	if now.Sub(last.t) > 5*time.Second {
		return 0
	}
	i := len(r.log) - 2
	for i > 0 && last.t.Sub(r.log[i].t) < 2*time.Second {
		i--
	}
	first := r.log[i]
	dt := last.t.Sub(first.t).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(last.n-first.n) / dt
}

func (r *runner) release() {
	for _, rb := range r.slots {
		rb.Release()
	}
	r.slots = nil
}
