package gpu

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Readback is a staging buffer that copies GPU data to the CPU. Create one
// once, record Copy into an iteration's encoder when a value is wanted, and
// either Wait for it or poll Ready without stalling the GPU.
type Readback struct {
	d       *Device
	name    string
	staging *wgpu.Buffer
	size    uint64
	state   atomic.Int32  // 0 idle, 1 copy recorded, 2 mapping, 3 mapped, 4 mapping failed
	gen     atomic.Uint64 // bumped when a mapping is abandoned, whose callback is then ignored
	mapErr  error         // why the mapping failed; written before state 4
	failed  atomic.Pointer[readbackFailure]
}

// readbackFailure is why a readback cannot be used any more.
type readbackFailure struct{ err error }

// NewReadback creates a staging buffer of n bytes.
func (d *Device) NewReadback(name string, n uint64) (*Readback, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("gpu: readback %q: zero size", name)
	}
	n = (n + 3) &^ 3
	if n > d.limits.MaxBufferSize {
		return nil, &LimitError{What: "readback " + name, Need: n, Limit: d.limits.MaxBufferSize}
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	st, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: name, Size: n, Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst})
	d.leave()
	if err != nil {
		return nil, fmt.Errorf("gpu: readback %q: %w", name, err)
	}
	d.addMem(int64(n))
	return &Readback{d: d, name: name, staging: st, size: n}, nil
}

// Busy reports whether a copy is in flight and not yet consumed. It is
// false again once the data is taken, the copy's encoder is discarded, or
// a wait for the data fails.
func (r *Readback) Busy() bool { return r.state.Load() != 0 }

// Copy records a copy of src (whole) into the staging buffer.
func (r *Readback) Copy(e *Encoder, src *Buffer) error {
	if f := r.failed.Load(); f != nil {
		return fmt.Errorf("gpu: readback %q cannot be used again: %w", r.name, f.err)
	}
	if r.staging == nil {
		return fmt.Errorf("gpu: readback %q was released", r.name)
	}
	n := uint64(src.Len()) * 4
	if n > r.size {
		return &ShapeError{Op: "Readback.Copy", What: src.Name, Want: fmt.Sprintf("at most %d bytes", r.size), Got: fmt.Sprintf("%d bytes", n)}
	}
	if r.state.Load() != 0 {
		return fmt.Errorf("gpu: readback of %s: the previous read has not been consumed", src.Name)
	}
	if err := e.copy(src, r.staging, n); err != nil {
		return err
	}
	r.state.Store(1)
	e.readbacks = append(e.readbacks, r)
	return nil
}

// start asks for the mapping once the copy has been submitted.
func (r *Readback) start() error {
	if !r.state.CompareAndSwap(1, 2) {
		return nil
	}
	gen := r.gen.Load()
	if err := mapRead(r.staging, r.size, func(err error) {
		if r.gen.Load() != gen {
			return // abandoned by a failed wait
		}
		if err == nil {
			r.state.Store(3)
			return
		}
		if errors.Is(err, ErrDeviceLost) {
			r.d.markLost(err.Error())
		}
		r.mapErr = err
		r.state.Store(4)
	}); err != nil {
		r.state.Store(0)
		return err
	}
	r.d.mu.Lock()
	r.d.counters.Readbacks++
	r.d.mu.Unlock()
	return nil
}

// unsubmitted is the error for collecting a copy that was recorded but
// whose encoder has not been submitted: mapping the staging buffer now
// would hand back stale bytes, and make that submission fatal.
func (r *Readback) unsubmitted() error {
	return fmt.Errorf("gpu: readback %q: its copy was recorded but the encoder has not been submitted", r.name)
}

// abandon gives up on a pending mapping after waiting for it failed (the
// device was lost or closed): the readback is no longer busy, ignores the
// mapping's callback if it ever comes, and refuses new copies, since its
// staging buffer may still be mapped.
func (r *Readback) abandon(err error) error {
	r.gen.Add(1)
	r.failed.CompareAndSwap(nil, &readbackFailure{err})
	r.state.Store(0)
	return err
}

// result hands over the data if the mapping has finished.
func (r *Readback) result() ([]byte, bool, error) {
	switch r.state.Load() {
	case 3:
		b, err := r.take()
		return b, err == nil, err
	case 4:
		err := r.mapErr
		r.state.Store(0)
		return nil, false, fmt.Errorf("gpu: readback %q: %w", r.name, err)
	}
	return nil, false, nil
}

// Ready polls the device without blocking and reports whether the data has
// arrived; when it has, it returns the bytes and frees the readback for reuse.
func (r *Readback) Ready() ([]byte, bool, error) {
	if r.state.Load() == 1 {
		return nil, false, r.unsubmitted()
	}
	if _, err := r.d.pollOnce(); err != nil {
		if r.state.Load() == 2 {
			return nil, false, r.abandon(err)
		}
		return nil, false, err
	}
	return r.result()
}

// Collect returns the bytes if a poll (Device.Wait, for instance) has
// already delivered them, without polling itself.
func (r *Readback) Collect() ([]byte, bool, error) {
	if r.state.Load() == 1 {
		return nil, false, r.unsubmitted()
	}
	return r.result()
}

// Wait blocks, polling, until the copied bytes arrive. If waiting fails
// (the device is lost or closed), the readback stops being busy and is
// unusable from then on.
func (r *Readback) Wait() ([]byte, error) {
	switch r.state.Load() {
	case 0:
		if f := r.failed.Load(); f != nil {
			return nil, fmt.Errorf("gpu: readback %q: an earlier wait failed: %w", r.name, f.err)
		}
		return nil, fmt.Errorf("gpu: readback %q waited with no copy recorded", r.name)
	case 1:
		return nil, r.unsubmitted()
	}
	if err := r.d.spin(func() bool { s := r.state.Load(); return s == 3 || s == 4 }); err != nil {
		return nil, r.abandon(err)
	}
	b, _, err := r.result()
	return b, err
}

// take copies out the mapped bytes and unmaps the staging buffer.
func (r *Readback) take() ([]byte, error) {
	r.d.call.Lock() // Unmap pushes an error scope
	m := r.staging.GetMappedRange(0, uint(r.size))
	out := append([]byte(nil), m...)
	err := r.staging.Unmap()
	r.d.call.Unlock()
	r.state.Store(0)
	if err != nil {
		return nil, r.abandon(fmt.Errorf("gpu: readback %q: unmap: %w", r.name, err))
	}
	return out, nil
}

// Release frees the staging buffer.
func (r *Readback) Release() {
	// A mapping still pending would call back into the destroyed buffer,
	// and wgpu-native 0.17 aborts the process in the next Poll ("Buffer
	// does not exist"): let it finish first (a run stopped early releases
	// reads still in flight). A lost device ends the wait.
	if r.staging != nil && r.state.Load() == 2 {
		if err := r.d.spin(func() bool { s := r.state.Load(); return s == 3 || s == 4 }); err != nil {
			r.abandon(err)
		}
	}
	if r.staging != nil {
		r.staging.Destroy()
		r.staging.Release()
		r.staging = nil
		r.d.addMem(-int64(r.size))
	}
}
