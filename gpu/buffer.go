package gpu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// DType is the element type of a buffer.
type DType int

const (
	// F32 is 32-bit IEEE float.
	F32 DType = iota
	// U32 is 32-bit unsigned integer.
	U32
	// Params marks a uniform buffer of kernel parameters.
	Params
)

func (t DType) String() string {
	switch t {
	case F32:
		return "f32"
	case U32:
		return "u32"
	case Params:
		return "params"
	}
	return fmt.Sprintf("dtype(%d)", int(t))
}

// Buffer is a GPU buffer that knows its shape and element type.
type Buffer struct {
	Name  string
	Shape []int
	DType DType

	d     *Device
	buf   *wgpu.Buffer
	bytes uint64 // allocated size (a multiple of 4)
	usage wgpu.BufferUsage
	view  bool // a View: it shares its parent's memory and frees none
}

// View is a buffer of the given shape over the start of b's memory: the
// same GPU buffer, bound with the view's own size. It lets buffers whose
// lifetimes do not overlap share memory (vgg's gradients, one layer at a
// time). A view's Release frees nothing; it must not be used after b's.
func (b *Buffer) View(name string, shape ...int) (*Buffer, error) {
	if b == nil || b.buf == nil {
		return nil, fmt.Errorf("gpu: view %q of a released buffer", name)
	}
	if b.DType != F32 && b.DType != U32 {
		return nil, fmt.Errorf("gpu: view %q of %s buffer %q: only storage buffers have views", name, b.DType, b.Name)
	}
	n := uint64(Numel(shape)) * 4
	if len(shape) == 0 || n == 0 || n > b.bytes {
		return nil, &ShapeError{Op: "View", What: name, Want: fmt.Sprintf("at most %d elements (%s)", b.bytes/4, b.Name), Got: ShapeString(shape)}
	}
	return &Buffer{Name: name, Shape: append([]int(nil), shape...), DType: b.DType, d: b.d, buf: b.buf, bytes: n, usage: b.usage, view: true}, nil
}

// ShapeString renders a shape as (a,b,c).
func ShapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, v := range shape {
		s[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(s, ",") + ")"
}

// Numel returns the product of the dimensions of shape.
func Numel(shape []int) int {
	n := 1
	for _, v := range shape {
		n *= v
	}
	return n
}

// Len returns the number of elements.
func (b *Buffer) Len() int { return Numel(b.Shape) }

// Bytes returns the allocated size in bytes.
func (b *Buffer) Bytes() uint64 { return b.bytes }

// Raw exposes the underlying wgpu buffer (for the live window's render pass).
func (b *Buffer) Raw() *wgpu.Buffer { return b.buf }

// String describes the buffer.
func (b *Buffer) String() string {
	return fmt.Sprintf("%s %s%s", b.Name, b.DType, ShapeString(b.Shape))
}

// CheckFits returns a LimitError if a storage buffer of n bytes cannot be
// created or bound on this device.
func (d *Device) CheckFits(what string, n uint64) error {
	if n > d.limits.MaxStorageBufferBindingSize {
		return &LimitError{What: what + ": storage binding size", Need: n, Limit: d.limits.MaxStorageBufferBindingSize}
	}
	if n > d.limits.MaxBufferSize {
		return &LimitError{What: what + ": buffer size", Need: n, Limit: d.limits.MaxBufferSize}
	}
	return nil
}

// NewBuffer allocates a zero-filled storage buffer of the given shape.
func (d *Device) NewBuffer(name string, t DType, shape ...int) (*Buffer, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if t != F32 && t != U32 {
		return nil, fmt.Errorf("gpu: buffer %q: storage buffers hold f32 or u32, not %s", name, t)
	}
	if len(shape) == 0 {
		return nil, &ShapeError{Op: "NewBuffer", What: name, Want: "at least one dimension", Got: "()"}
	}
	n := uint64(1)
	for _, v := range shape {
		if v <= 0 {
			return nil, &ShapeError{Op: "NewBuffer", What: name, Want: "positive dimensions", Got: ShapeString(shape)}
		}
		n *= uint64(v)
		if n > 1<<40 {
			return nil, &LimitError{What: "buffer " + name, Need: n * 4, Limit: d.limits.MaxBufferSize}
		}
	}
	size := n * 4
	if err := d.CheckFits(fmt.Sprintf("buffer %q %s", name, ShapeString(shape)), size); err != nil {
		return nil, err
	}
	usage := wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopySrc | wgpu.BufferUsage_CopyDst
	return d.alloc(name, t, append([]int(nil), shape...), size, usage)
}

func (d *Device) alloc(name string, t DType, shape []int, size uint64, usage wgpu.BufferUsage) (*Buffer, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	raw, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: name, Usage: usage, Size: size})
	d.leave()
	if err != nil {
		return nil, fmt.Errorf("gpu: create buffer %q (%d bytes): %w", name, size, err)
	}
	d.addMem(int64(size))
	return &Buffer{Name: name, Shape: shape, DType: t, d: d, buf: raw, bytes: size, usage: usage}, nil
}

// NewParams creates a uniform buffer holding p, a struct of uint32, int32
// and float32 fields that mirrors a WGSL params struct field for field.
// Its size must be a multiple of 16 bytes.
func (d *Device) NewParams(name string, p any) (*Buffer, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	data, err := ParamBytes(p)
	if err != nil {
		return nil, fmt.Errorf("gpu: params %q: %w", name, err)
	}
	b, err := d.alloc(name, Params, []int{len(data) / 4}, uint64(len(data)), wgpu.BufferUsage_Uniform|wgpu.BufferUsage_CopyDst)
	if err != nil {
		return nil, err
	}
	if err := d.upload(b, data); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// ParamBytes encodes a params struct little-endian and checks that its size
// is a non-zero multiple of 16, as WGSL's uniform layout requires.
func ParamBytes(p any) ([]byte, error) {
	var w bytes.Buffer
	if err := binary.Write(&w, binary.LittleEndian, p); err != nil {
		return nil, err
	}
	if w.Len() == 0 || w.Len()%16 != 0 {
		return nil, fmt.Errorf("size %d bytes is not a non-zero multiple of 16; pad the struct", w.Len())
	}
	return w.Bytes(), nil
}

// SetParams overwrites a uniform buffer with new values of the same layout.
func (b *Buffer) SetParams(p any) error {
	if b.DType != Params {
		return fmt.Errorf("gpu: SetParams on %s, which is not a params buffer", b)
	}
	data, err := ParamBytes(p)
	if err != nil {
		return fmt.Errorf("gpu: params %q: %w", b.Name, err)
	}
	if uint64(len(data)) != b.bytes {
		return fmt.Errorf("gpu: params %q: %d bytes, buffer holds %d", b.Name, len(data), b.bytes)
	}
	return b.d.upload(b, data)
}

func (d *Device) upload(b *Buffer, data []byte) error {
	if b.buf == nil {
		return fmt.Errorf("gpu: write %s: the buffer was released", b)
	}
	if err := d.enter(); err != nil {
		return err
	}
	what := "write " + b.String()
	err := d.scoped(what, func() error {
		if err := d.queue.WriteBuffer(b.buf, 0, data); err != nil {
			return fmt.Errorf("gpu: %s: %w", what, err)
		}
		return nil
	})
	d.leave()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.counters.Uploads++
	d.mu.Unlock()
	return nil
}

// Write uploads v, which must hold exactly Len() values.
func (b *Buffer) Write(v []float32) error {
	if b.DType != F32 {
		return &ShapeError{Op: "Write", What: b.Name, Want: "f32 buffer", Got: b.DType.String()}
	}
	if len(v) != b.Len() {
		return &ShapeError{Op: "Write", What: b.Name, Want: fmt.Sprintf("%d values %s", b.Len(), ShapeString(b.Shape)), Got: fmt.Sprintf("%d values", len(v))}
	}
	return b.d.upload(b, wgpu.ToBytes(v))
}

// Fill sets every element to v.
func (b *Buffer) Fill(v float32) error {
	s := make([]float32, b.Len())
	for i := range s {
		s[i] = v
	}
	return b.Write(s)
}

// Read copies the buffer back to the CPU and waits for it. It is explicit
// and blocking: never call it inside an iteration loop.
func (b *Buffer) Read() ([]float32, error) {
	raw, err := b.readBytes()
	if err != nil {
		return nil, err
	}
	return Float32s(raw[:4*b.Len()]), nil
}

// ReadVia is Read through the staging buffer rb, made once by the caller
// and reused (Read makes one per call).
func (b *Buffer) ReadVia(rb *Readback) ([]float32, error) {
	if b.DType != F32 {
		return nil, &ShapeError{Op: "ReadVia", What: b.Name, Want: "f32 buffer", Got: b.DType.String()}
	}
	if err := b.d.Record("read "+b.Name, func(e *Encoder) error { return e.Read(rb, b) }); err != nil {
		return nil, err
	}
	raw, err := rb.Wait()
	if err != nil {
		return nil, err
	}
	return Float32s(raw[:4*b.Len()]), nil
}

// Float32s decodes little-endian float32 values.
func Float32s(raw []byte) []float32 {
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// ReadU32 copies a u32 buffer back to the CPU.
func (b *Buffer) ReadU32() ([]uint32, error) {
	raw, err := b.readBytes()
	if err != nil {
		return nil, err
	}
	out := make([]uint32, b.Len())
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return out, nil
}

func (b *Buffer) readBytes() ([]byte, error) {
	d := b.d
	if err := d.check(); err != nil {
		return nil, err
	}
	n := uint64(b.Len()) * 4
	rb, err := d.NewReadback(b.Name+".readback", n)
	if err != nil {
		return nil, err
	}
	defer rb.Release()
	if err := d.Record("readback "+b.Name, func(e *Encoder) error { return e.Read(rb, b) }); err != nil {
		return nil, err
	}
	return rb.Wait()
}

// Release frees the buffer's GPU memory.
func (b *Buffer) Release() {
	if b == nil || b.buf == nil {
		return
	}
	if b.view {
		b.buf = nil
		return
	}
	b.buf.Destroy()
	b.buf.Release()
	b.buf = nil
	b.d.addMem(-int64(b.bytes))
}
