package gpu

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Encoder records many dispatches into one command buffer, submitted once.
// Within a compute pass wgpu inserts the barriers that a dispatch needs
// after the one that wrote its inputs.
type Encoder struct {
	d         *Device
	label     string
	enc       *wgpu.CommandEncoder
	pass      *wgpu.ComputePassEncoder
	err       error
	readbacks []*Readback
	used      map[*Buffer]struct{} // the buffers recorded dispatches and copies use
	timer     *Timer
	dispatch  int64
	done      bool
}

// use notes that the recorded work uses b, for Submit to check.
func (e *Encoder) use(b *Buffer) {
	if e.used == nil {
		e.used = map[*Buffer]struct{}{}
	}
	e.used[b] = struct{}{}
}

// released returns an error naming every buffer that the recorded work
// uses and that was released since it was recorded. Submitting it would be
// fatal: wgpu-native 0.17 treats a submission that uses a destroyed buffer
// as an unrecoverable error and aborts the process.
func (e *Encoder) released() error {
	var names []string
	for b := range e.used {
		if b.buf == nil {
			names = append(names, "buffer "+b.Name)
		}
	}
	for _, rb := range e.readbacks {
		if rb.staging == nil {
			names = append(names, "readback "+rb.name)
		}
	}
	if e.timer != nil && e.timer.resolve == nil {
		names = append(names, "timer")
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return fmt.Errorf("gpu: submit %q: %s released after the work using it was recorded; nothing was submitted", e.label, strings.Join(names, ", "))
}

// NewEncoder starts recording a command buffer.
func (d *Device) NewEncoder(label string) (*Encoder, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	enc, err := d.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: label})
	d.leave()
	if err != nil {
		return nil, fmt.Errorf("gpu: command encoder %q: %w", label, err)
	}
	d.openEncoders.Add(1)
	return &Encoder{d: d, label: label, enc: enc}, nil
}

// close marks the encoder submitted or discarded, once.
func (e *Encoder) close() {
	if !e.done {
		e.done = true
		e.d.openEncoders.Add(-1)
	}
}

func (e *Encoder) fail(err error) error {
	if e.err == nil {
		e.err = err
	}
	return err
}

// Err returns the first error recorded so far.
func (e *Encoder) Err() error { return e.err }

func (e *Encoder) endPass() error {
	if e.pass == nil {
		return nil
	}
	err := e.d.enter()
	if err == nil {
		err = e.pass.End()
		e.d.leave()
	}
	e.pass.Release()
	e.pass = nil
	if err != nil {
		return e.fail(fmt.Errorf("gpu: %s: end compute pass: %w", e.label, err))
	}
	return nil
}

// Dispatch records b over a grid of workgroups. The grid must respect the
// device's per-dimension limit; use Grid to split a large 1-D count.
func (e *Encoder) Dispatch(b *Binding, x, y, z uint32) error {
	if e.err != nil {
		return e.err
	}
	if e.done {
		return e.fail(fmt.Errorf("gpu: %s: dispatch after submit", e.label))
	}
	if b == nil || b.bg == nil {
		return e.fail(fmt.Errorf("gpu: %s: dispatch of a nil or released binding", e.label))
	}
	for _, buf := range b.bufs {
		if buf.buf == nil {
			return e.fail(fmt.Errorf("gpu: pipeline %q: buffer %s was released", b.Kernel.Name, buf.Name))
		}
	}
	lim := e.d.limits.MaxComputeWorkgroupsPerDimension
	if x == 0 || y == 0 || z == 0 {
		return nil
	}
	if x > lim || y > lim || z > lim {
		return e.fail(fmt.Errorf("gpu: pipeline %q: grid %dx%dx%d exceeds %d workgroups per dimension", b.Kernel.Name, x, y, z, lim))
	}
	if e.pass == nil {
		e.pass = e.enc.BeginComputePass(&wgpu.ComputePassDescriptor{Label: e.label})
	}
	for _, buf := range b.bufs {
		e.use(buf)
	}
	e.pass.SetPipeline(b.Kernel.pipeline)
	e.pass.SetBindGroup(0, b.bg, nil)
	e.pass.DispatchWorkgroups(x, y, z)
	e.dispatch++
	return nil
}

// Dispatch1D records b over enough workgroups of size wg to cover n
// invocations, splitting across dimensions as Grid does.
func (e *Encoder) Dispatch1D(b *Binding, n, wg int) error {
	if b == nil {
		return e.Dispatch(nil, 0, 0, 0) // its error, not a nil dereference below
	}
	x, y, z, err := Grid(n, wg, int(e.d.limits.MaxComputeWorkgroupsPerDimension))
	if err != nil {
		return e.fail(fmt.Errorf("gpu: pipeline %q: %w", b.Kernel.Name, err))
	}
	return e.Dispatch(b, x, y, z)
}

// Copy records a whole-buffer copy from src to dst, which must match in size.
func (e *Encoder) Copy(src, dst *Buffer) error {
	if src == nil || dst == nil {
		return e.fail(fmt.Errorf("gpu: %s: copy with a nil buffer", e.label))
	}
	if src.bytes != dst.bytes || src.DType != dst.DType {
		return e.fail(&ShapeError{Op: "Copy", What: dst.Name, Want: src.String(), Got: dst.String()})
	}
	if err := e.copy(src, dst.buf, src.bytes); err != nil {
		return err
	}
	e.use(dst)
	return nil
}

func (e *Encoder) copy(src *Buffer, dst *wgpu.Buffer, n uint64) error {
	if e.err != nil {
		return e.err
	}
	if e.done {
		return e.fail(fmt.Errorf("gpu: %s: copy after submit", e.label))
	}
	if src.buf == nil || dst == nil {
		return e.fail(fmt.Errorf("gpu: %s: copy of a released buffer", e.label))
	}
	if err := e.endPass(); err != nil {
		return err
	}
	e.use(src)
	if err := e.d.enter(); err != nil {
		return e.fail(err)
	}
	err := e.enc.CopyBufferToBuffer(src.buf, 0, dst, 0, n)
	e.d.leave()
	if err != nil {
		return e.fail(fmt.Errorf("gpu: %s: copy %s: %w", e.label, src.Name, err))
	}
	return nil
}

// Read records a copy of src into rb; the data can be collected after Submit.
func (e *Encoder) Read(rb *Readback, src *Buffer) error {
	if err := rb.Copy(e, src); err != nil {
		return e.fail(err)
	}
	return nil
}

// Record records one command buffer with record and submits it. If
// record fails, the encoder is discarded, so that no error path leaves
// one open (OpenEncoders), and nothing is submitted.
func (d *Device) Record(label string, record func(*Encoder) error) error {
	enc, err := d.NewEncoder(label)
	if err != nil {
		return err
	}
	if err := record(enc); err != nil {
		enc.Discard()
		return err
	}
	return enc.Submit()
}

// Discard abandons the recording.
func (e *Encoder) Discard() {
	if e.done {
		return
	}
	e.dropReadbacks()
	if e.pass != nil {
		if e.d.enter() == nil {
			_ = e.pass.End()
			e.d.leave()
		}
		e.pass.Release()
		e.pass = nil
	}
	e.enc.Release()
	e.close()
}

// Submit finishes the command buffer and submits it. If anything failed
// while recording, or a buffer the work uses was released since, nothing
// is submitted and the first error is returned. An error that wgpu raises
// while finishing and submitting the command buffer, or while asking for
// the readbacks' mappings, is returned here, naming the encoder's label.
func (e *Encoder) Submit() error {
	if e.done {
		return fmt.Errorf("gpu: %s: submitted twice", e.label)
	}
	if err := e.d.check(); err != nil {
		e.Discard()
		return err
	}
	if e.timer != nil && e.err == nil {
		e.timer.finish(e)
	}
	if e.err == nil {
		_ = e.endPass()
	}
	if e.err == nil {
		e.err = e.released()
	}
	if e.err != nil {
		e.Discard()
		return e.err
	}
	if err := e.d.enter(); err != nil {
		e.Discard()
		return err
	}
	what := fmt.Sprintf("submit %q", e.label)
	submitted := false
	err := e.d.scoped(what, func() error {
		cb, err := e.enc.Finish(&wgpu.CommandBufferDescriptor{Label: e.label})
		if err != nil {
			return fmt.Errorf("gpu: %s: finish: %w", what, err)
		}
		e.d.queue.Submit(cb)
		cb.Release()
		submitted = true
		var first error
		for _, rb := range e.readbacks {
			if err := rb.start(); err != nil && first == nil {
				first = fmt.Errorf("gpu: %s: %w", what, err)
			}
		}
		return first
	})
	if submitted {
		e.d.mu.Lock()
		e.d.lastSubmit = e.label
		e.d.counters.Submits++
		e.d.counters.Dispatch += e.dispatch
		e.d.mu.Unlock()
	}
	e.d.leave()
	e.enc.Release()
	e.close()
	if !submitted {
		e.dropReadbacks()
	}
	if err != nil {
		return err
	}
	return e.d.check()
}

// dropReadbacks frees the readbacks whose copies were recorded here but will
// never be submitted, so that they neither stay busy nor hand back stale
// bytes, and forgets the marks of its timer.
func (e *Encoder) dropReadbacks() {
	for _, rb := range e.readbacks {
		rb.state.CompareAndSwap(1, 0)
	}
	if e.timer != nil {
		e.timer.labels = e.timer.labels[:0]
	}
}
