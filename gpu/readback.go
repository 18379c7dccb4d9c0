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
	state   atomic.Int32 // 0 idle, 1 copy recorded, 2 mapping, 3 mapped, 4 failed
}

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
	return &Readback{d: d, name: name, staging: st, size: n}, nil
}

// Busy reports whether a copy is in flight and not yet consumed.
func (r *Readback) Busy() bool { return r.state.Load() != 0 }

// Copy records a copy of src (whole) into the staging buffer.
func (r *Readback) Copy(e *Encoder, src *Buffer) error {
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
	if err := mapRead(r.staging, r.size, func(err error) {
		if err == nil {
			r.state.Store(3)
			return
		}
		if errors.Is(err, ErrDeviceLost) {
			r.d.markLost(err.Error())
		}
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

// Ready polls the device without blocking and reports whether the data has
// arrived; when it has, it returns the bytes and frees the readback for reuse.
func (r *Readback) Ready() ([]byte, bool, error) {
	if err := r.start(); err != nil {
		return nil, false, err
	}
	if _, err := r.d.pollOnce(); err != nil {
		return nil, false, err
	}
	switch r.state.Load() {
	case 3:
		return r.take(), true, nil
	case 4:
		r.state.Store(0)
		return nil, false, fmt.Errorf("gpu: readback mapping failed")
	}
	return nil, false, nil
}

// Collect returns the bytes if a poll (Device.Wait, for instance) has
// already delivered them, without polling itself.
func (r *Readback) Collect() ([]byte, bool, error) {
	if err := r.start(); err != nil {
		return nil, false, err
	}
	switch r.state.Load() {
	case 3:
		return r.take(), true, nil
	case 4:
		r.state.Store(0)
		return nil, false, fmt.Errorf("gpu: readback mapping failed")
	}
	return nil, false, nil
}

// Wait blocks, polling, until the copied bytes arrive.
func (r *Readback) Wait() ([]byte, error) {
	if err := r.start(); err != nil {
		return nil, err
	}
	if r.state.Load() == 0 {
		return nil, fmt.Errorf("gpu: readback waited with no copy recorded")
	}
	if err := r.d.spin(func() bool { s := r.state.Load(); return s == 3 || s == 4 }); err != nil {
		return nil, err
	}
	if r.state.Load() == 4 {
		r.state.Store(0)
		return nil, fmt.Errorf("gpu: readback mapping failed")
	}
	return r.take(), nil
}

func (r *Readback) take() []byte {
	m := r.staging.GetMappedRange(0, uint(r.size))
	out := append([]byte(nil), m...)
	_ = r.staging.Unmap()
	r.state.Store(0)
	return out
}

// Release frees the staging buffer.
func (r *Readback) Release() {
	if r.staging != nil {
		r.staging.Destroy()
		r.staging.Release()
		r.staging = nil
	}
}
