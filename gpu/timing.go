package gpu

import (
	"encoding/binary"
	"fmt"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Timer collects GPU timestamps written between compute passes. Each Mark
// starts a span that ends at the next Mark (or at submission).
type Timer struct {
	d       *Device
	qs      *wgpu.QuerySet
	resolve *wgpu.Buffer
	rb      *Readback
	cap     int
	labels  []string
}

// Span is the GPU time between two marks.
type Span struct {
	Label string
	Ns    float64
}

// NewTimer creates a timer for up to capacity marks per submission. It fails
// when the adapter has no timestamp queries.
func (d *Device) NewTimer(capacity int) (*Timer, error) {
	if !d.timestamps {
		return nil, fmt.Errorf("gpu: %s offers no timestamp queries", d.Info.Name)
	}
	if capacity < 1 || capacity > 4095 {
		return nil, fmt.Errorf("gpu: timer capacity %d out of range 1..4095", capacity)
	}
	n := capacity + 1
	if err := d.enter(); err != nil {
		return nil, err
	}
	qs, err := d.dev.CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "timer", Type: wgpu.QueryType_Timestamp, Count: uint32(n)})
	if err != nil {
		d.leave()
		return nil, fmt.Errorf("gpu: timer query set: %w", err)
	}
	res, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "timer.resolve", Size: uint64(n) * 8, Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	d.leave()
	if err != nil {
		qs.Release()
		return nil, fmt.Errorf("gpu: timer resolve buffer: %w", err)
	}
	rb, err := d.NewReadback("timer.readback", uint64(n)*8)
	if err != nil {
		qs.Release()
		res.Release()
		return nil, err
	}
	d.addMem(int64(n) * 8)
	return &Timer{d: d, qs: qs, resolve: res, rb: rb, cap: capacity}, nil
}

// Mark ends the current compute pass and writes a timestamp that starts the
// span called label.
func (e *Encoder) Mark(t *Timer, label string) error {
	if e.err != nil {
		return e.err
	}
	if e.done {
		return e.fail(fmt.Errorf("gpu: %s: mark after submit", e.label))
	}
	if e.timer != nil && e.timer != t {
		return e.fail(fmt.Errorf("gpu: %s: two timers in one encoder", e.label))
	}
	if e.timer == nil {
		// The timer's staging buffer may still be mapping the last
		// submission's timestamps; a submission copying into it would be
		// fatal in wgpu-native 0.17.
		if len(t.labels) > 0 || t.rb.Busy() {
			return e.fail(fmt.Errorf("gpu: %s: the timer's spans from another encoder have not been collected: call Spans first", e.label))
		}
		if f := t.rb.failed.Load(); f != nil {
			return e.fail(fmt.Errorf("gpu: %s: the timer cannot be used again: %w", e.label, f.err))
		}
	}
	if len(t.labels) >= t.cap {
		return e.fail(fmt.Errorf("gpu: %s: timer holds at most %d marks", e.label, t.cap))
	}
	if err := e.endPass(); err != nil {
		return err
	}
	if err := e.d.enter(); err != nil {
		return e.fail(err)
	}
	err := e.enc.WriteTimestamp(t.qs, uint32(len(t.labels)))
	e.d.leave()
	if err != nil {
		return e.fail(fmt.Errorf("gpu: %s: timestamp: %w", e.label, err))
	}
	e.timer = t
	t.labels = append(t.labels, label)
	return nil
}

func (t *Timer) finish(e *Encoder) {
	if err := e.endPass(); err != nil {
		return
	}
	n := len(t.labels) + 1
	if err := e.d.enter(); err != nil {
		e.fail(err)
		return
	}
	defer e.d.leave()
	if err := e.enc.WriteTimestamp(t.qs, uint32(n-1)); err != nil {
		e.fail(fmt.Errorf("gpu: timestamp: %w", err))
		return
	}
	if err := e.enc.ResolveQuerySet(t.qs, 0, uint32(n), t.resolve, 0); err != nil {
		e.fail(fmt.Errorf("gpu: resolve timestamps: %w", err))
		return
	}
	if err := e.enc.CopyBufferToBuffer(t.resolve, 0, t.rb.staging, 0, uint64(n)*8); err != nil {
		e.fail(fmt.Errorf("gpu: copy timestamps: %w", err))
		return
	}
	t.rb.state.Store(1)
	e.readbacks = append(e.readbacks, t.rb)
}

// Spans waits for the submitted timestamps and returns one span per mark.
// Ticks are taken as nanoseconds, which is what Vulkan drivers of NVIDIA,
// AMD, Intel and Mesa's lavapipe report (timestampPeriod 1).
func (t *Timer) Spans() ([]Span, error) {
	raw, err := t.rb.Wait()
	if err != nil {
		return nil, err
	}
	out := make([]Span, len(t.labels))
	for i := range t.labels {
		a := binary.LittleEndian.Uint64(raw[8*i:])
		b := binary.LittleEndian.Uint64(raw[8*i+8:])
		out[i] = Span{Label: t.labels[i], Ns: float64(int64(b - a))}
	}
	t.labels = t.labels[:0]
	return out, nil
}

// Release frees the timer's GPU objects.
func (t *Timer) Release() {
	if t == nil || t.resolve == nil {
		return
	}
	t.qs.Release()
	t.resolve.Destroy()
	t.resolve.Release()
	t.resolve = nil
	t.d.addMem(-int64(t.cap+1) * 8)
	t.rb.Release()
}
