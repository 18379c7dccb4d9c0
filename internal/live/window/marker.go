package window

import (
	"encoding/binary"
	"fmt"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/gpu"
)

// markers measure spans of queue work (the frames' render passes) without
// blocking: a marker slot is begun (a GPU timestamp) in front of some work
// and ended behind it (a second timestamp, resolved and copied into the
// slot's buffer, which a gpu.Readback maps). Polling the slot with ready
// tells that the work finished and how long the GPU spent on it. Where the
// adapter has no timestamp queries the slots still tell completion.
type markers struct {
	d       *gpu.Device
	ts      bool
	qs      *wgpu.QuerySet
	resolve *wgpu.Buffer // 256 bytes per slot (the resolve offset alignment)
	slots   []markerSlot
}

type markerSlot struct {
	buf  *gpu.Buffer // u32[4]: t0 (2 words), t1 (2 words)
	rb   *gpu.Readback
	busy bool
}

func newMarkers(d *gpu.Device, n int, timestamps bool) (*markers, error) {
	m := &markers{d: d, ts: timestamps && d.HasTimestamps()}
	if m.ts {
		var err error
		if m.qs, err = d.Raw().CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "live.markers", Type: wgpu.QueryType_Timestamp, Count: uint32(2 * n)}); err != nil {
			return nil, fmt.Errorf("markers: query set: %w", err)
		}
		if m.resolve, err = d.Raw().CreateBuffer(&wgpu.BufferDescriptor{Label: "live.markers.resolve", Size: uint64(256 * n),
			Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc}); err != nil {
			m.release()
			return nil, fmt.Errorf("markers: resolve buffer: %w", err)
		}
	}
	for i := 0; i < n; i++ {
		b, err := d.NewBuffer(fmt.Sprintf("live.marker%d", i), gpu.U32, 4)
		if err != nil {
			m.release()
			return nil, err
		}
		rb, err := d.NewReadback(fmt.Sprintf("live.marker%d.readback", i), 16)
		if err != nil {
			b.Release()
			m.release()
			return nil, err
		}
		m.slots = append(m.slots, markerSlot{buf: b, rb: rb})
	}
	return m, nil
}

// free returns an idle slot, or -1.
func (m *markers) free() int {
	for i := range m.slots {
		if !m.slots[i].busy {
			return i
		}
	}
	return -1
}

// begin records the start timestamp of slot i into enc.
func (m *markers) begin(enc *wgpu.CommandEncoder, i int) error {
	m.slots[i].busy = true
	if !m.ts {
		return nil
	}
	return enc.WriteTimestamp(m.qs, uint32(2*i))
}

// end records the end timestamp of slot i and its copy into the slot's
// buffer.
func (m *markers) end(enc *wgpu.CommandEncoder, i int) error {
	s := &m.slots[i]
	s.busy = true
	if m.ts {
		if err := enc.WriteTimestamp(m.qs, uint32(2*i+1)); err != nil {
			return err
		}
		if err := enc.ResolveQuerySet(m.qs, uint32(2*i), 2, m.resolve, uint64(256*i)); err != nil {
			return err
		}
		if err := enc.CopyBufferToBuffer(m.resolve, uint64(256*i), s.buf.Raw(), 0, 16); err != nil {
			return err
		}
	}
	return nil
}

// read submits the readback of slot i; call it after the encoder that
// ended the slot was submitted.
func (m *markers) read(i int) error {
	enc, err := m.d.NewEncoder("live.marker read")
	if err != nil {
		return err
	}
	if err := enc.Read(m.slots[i].rb, m.slots[i].buf); err != nil {
		enc.Discard()
		return err
	}
	return enc.Submit()
}

// ready polls slot i without blocking: when its work has finished, ok is
// set and gpuNs is the GPU time between begin and end (< 0 if unknown).
func (m *markers) ready(i int) (gpuNs float64, ok bool, err error) {
	raw, ok, err := m.slots[i].rb.Ready()
	if err != nil || !ok {
		return 0, false, err
	}
	m.slots[i].busy = false
	gpuNs = -1
	if m.ts {
		t0 := binary.LittleEndian.Uint64(raw[0:])
		t1 := binary.LittleEndian.Uint64(raw[8:])
		if t1 >= t0 && t0 != 0 {
			gpuNs = float64(t1 - t0) // lavapipe and the desktop drivers tick in ns (see gpu.Timer)
		}
	}
	return gpuNs, true, nil
}

func (m *markers) release() {
	for _, s := range m.slots {
		s.rb.Release()
		s.buf.Release()
	}
	m.slots = nil
	if m.resolve != nil {
		m.resolve.Destroy()
		m.resolve.Release()
		m.resolve = nil
	}
	if m.qs != nil {
		m.qs.Release()
		m.qs = nil
	}
}

// submitRaw finishes a raw command encoder and submits it.
func submitRaw(d *gpu.Device, enc *wgpu.CommandEncoder) error {
	cb, err := enc.Finish(nil)
	enc.Release()
	if err != nil {
		return err
	}
	d.Queue().Submit(cb)
	cb.Release()
	return nil
}
