package bench

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/gpu"
)

// Sampler times GPU work the way the bench does: GPU timestamps where the
// adapter has them (ticks taken as ns), else the wall clock from submit
// to idle; a row is the median of up to Reps samples after Warmup
// untimed runs, stopping once the samples add up to RowTime.
type Sampler struct {
	d            *gpu.Device
	timer        *gpu.Timer // timestamps around one command buffer; nil: wall clock
	brk          *bracket   // timestamps around others' command buffers; nil: wall clock
	reps, warmup int
	rowTime      time.Duration
}

// NewSampler makes a Sampler for d with o's Timing, Reps, Warmup and
// RowTime. Timing "gpu" fails on an adapter without timestamp queries.
// Release it when done.
func NewSampler(d *gpu.Device, o Options) (*Sampler, error) {
	s := &Sampler{d: d, reps: o.Reps, warmup: o.Warmup, rowTime: o.RowTime}
	switch {
	case o.Timing == "wall":
		return s, nil
	case !d.HasTimestamps():
		if o.Timing == "gpu" {
			return nil, fmt.Errorf("bench: -timing gpu: %s offers no timestamp queries (use -timing wall)", d.Info.Name)
		}
		return s, nil
	}
	var err error
	if s.timer, err = d.NewTimer(1); err != nil {
		return nil, err
	}
	if s.brk, err = newBracket(d); err != nil {
		s.timer.Release()
		return nil, err
	}
	return s, nil
}

// Timestamps reports whether s times with GPU timestamps.
func (s *Sampler) Timestamps() bool { return s.timer != nil }

// Release frees the timestamp queries.
func (s *Sampler) Release() {
	if s.timer != nil {
		s.timer.Release()
	}
	s.brk.release()
}

// Time runs what rec records as one command buffer and returns its time
// in ms: GPU timestamps around it, or wall clock from submit to idle.
func (s *Sampler) Time(rec func(e *gpu.Encoder) error) (float64, error) {
	e, err := s.d.NewEncoder("bench")
	if err != nil {
		return 0, err
	}
	if s.timer != nil {
		if err := e.Mark(s.timer, "bench"); err != nil {
			e.Discard()
			return 0, err
		}
	}
	if err := rec(e); err != nil {
		e.Discard()
		return 0, err
	}
	start := time.Now()
	if err := e.Submit(); err != nil {
		return 0, err
	}
	if s.timer != nil {
		spans, err := s.timer.Spans()
		if err != nil {
			return 0, err
		}
		return spans[0].Ns / 1e6, nil
	}
	if err := s.d.Poll(); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Nanoseconds()) / 1e6, nil
}

// TimeQueue runs submit, which submits command buffers of its own (an
// engine's iterations, which the bench cannot mark), and returns the ms
// they took: timestamps written just before and after them in queue
// order, or the wall clock until the device is idle.
func (s *Sampler) TimeQueue(submit func() error) (float64, error) {
	if s.brk != nil {
		if err := s.brk.mark(0, false); err != nil {
			return 0, err
		}
		if err := submit(); err != nil {
			return 0, err
		}
		if err := s.brk.mark(1, true); err != nil {
			return 0, err
		}
		ns, err := s.brk.read()
		if err != nil {
			return 0, err
		}
		return ns / 1e6, nil
	}
	t0 := time.Now()
	if err := submit(); err != nil {
		return 0, err
	}
	if err := s.d.Poll(); err != nil {
		return 0, err
	}
	return float64(time.Since(t0).Nanoseconds()) / 1e6, nil
}

// Repeat runs fn Warmup times untimed, then samples it (see Sample).
func (s *Sampler) Repeat(fn func() (float64, error)) ([]float64, error) {
	for i := 0; i < s.warmup; i++ {
		if _, err := fn(); err != nil {
			return nil, err
		}
	}
	return s.Sample(fn)
}

// Sample runs fn, which returns a time in ms, up to Reps times, stopping
// once the times add up to RowTime.
func (s *Sampler) Sample(fn func() (float64, error)) ([]float64, error) {
	var out []float64
	total := 0.0
	for r := 0; r < s.reps; r++ {
		ms, err := fn()
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
		total += ms
		if total >= float64(s.rowTime.Milliseconds()) {
			break
		}
	}
	return out, nil
}

// bracket writes GPU timestamps in command buffers of its own, before and
// after work submitted by others. Queue order makes the two timestamps
// bracket the work.
type bracket struct {
	d       *gpu.Device
	qs      *wgpu.QuerySet
	resolve *wgpu.Buffer
	out     *gpu.Buffer
}

// newBracket makes the query set and the buffers of a bracket on d.
func newBracket(d *gpu.Device) (*bracket, error) {
	qs, err := d.Raw().CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "bench.bracket", Type: wgpu.QueryType_Timestamp, Count: 2})
	if err != nil {
		return nil, fmt.Errorf("bench: timestamp query set: %w", err)
	}
	res, err := d.Raw().CreateBuffer(&wgpu.BufferDescriptor{Label: "bench.bracket.resolve", Size: 16, Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	if err != nil {
		qs.Release()
		return nil, fmt.Errorf("bench: timestamp resolve buffer: %w", err)
	}
	out, err := d.NewBuffer("bench.bracket.out", gpu.U32, 4)
	if err != nil {
		qs.Release()
		res.Release()
		return nil, err
	}
	return &bracket{d: d, qs: qs, resolve: res, out: out}, nil
}

// mark submits a command buffer that writes timestamp i (and, when last,
// resolves both into out).
func (k *bracket) mark(i uint32, last bool) error {
	enc, err := k.d.Raw().CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "bench.bracket"})
	if err != nil {
		return err
	}
	defer enc.Release()
	if err := enc.WriteTimestamp(k.qs, i); err != nil {
		return fmt.Errorf("bench: timestamp: %w", err)
	}
	if last {
		if err := enc.ResolveQuerySet(k.qs, 0, 2, k.resolve, 0); err != nil {
			return fmt.Errorf("bench: resolve timestamps: %w", err)
		}
		if err := enc.CopyBufferToBuffer(k.resolve, 0, k.out.Raw(), 0, 16); err != nil {
			return fmt.Errorf("bench: copy timestamps: %w", err)
		}
	}
	cb, err := enc.Finish(&wgpu.CommandBufferDescriptor{Label: "bench.bracket"})
	if err != nil {
		return fmt.Errorf("bench: timestamps: %w", err)
	}
	k.d.Queue().Submit(cb)
	cb.Release()
	return nil
}

// read waits for the last bracket and returns its span in ns (ticks taken
// as ns, as gpu.Timer does).
func (k *bracket) read() (float64, error) {
	v, err := k.out.ReadU32()
	if err != nil {
		return 0, err
	}
	var raw [16]byte
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], x)
	}
	a := binary.LittleEndian.Uint64(raw[0:])
	c := binary.LittleEndian.Uint64(raw[8:])
	return float64(int64(c - a)), nil
}

// release frees the bracket; a nil one is a no-op.
func (k *bracket) release() {
	if k == nil {
		return
	}
	k.qs.Release()
	k.resolve.Destroy()
	k.resolve.Release()
	k.out.Release()
}
