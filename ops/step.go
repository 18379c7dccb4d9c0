// Package ops holds the GPU operations of a Gatys style-transfer
// iteration (preprocess, conv3x3, pooling, Gram, losses, reductions,
// element-wise maths, Adam). Their float64 CPU twins, the test oracle,
// are in internal/twin. Every GPU op is built once over fixed buffers (its
// pipelines, params and bind groups are created in its constructor) and
// recorded into an iteration's encoder as often as needed.
package ops

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
)

// WG is the workgroup size of the one-dimensional kernels.
const WG = 256

// Step is a recorded sequence of dispatches over fixed buffers.
type Step struct {
	Name     string
	parts    []part
	own      []*gpu.Buffer // scratch buffers the step allocated
	released bool
}

type part struct {
	b       *gpu.Binding
	x, y, z uint32
	n       int // when > 0, dispatch 1-D over n invocations instead
}

// Record appends the step's dispatches to e.
func (s *Step) Record(e *gpu.Encoder) error {
	if s.released {
		return fmt.Errorf("ops: %s: recorded after Release", s.Name)
	}
	for _, p := range s.parts {
		var err error
		if p.n > 0 {
			err = e.Dispatch1D(p.b, p.n, WG)
		} else {
			err = e.Dispatch(p.b, p.x, p.y, p.z)
		}
		if err != nil {
			return fmt.Errorf("ops: %s: %w", s.Name, err)
		}
	}
	return nil
}

// Dispatches returns how many dispatches Record adds.
func (s *Step) Dispatches() int { return len(s.parts) }

// Release frees the step's bind groups and scratch buffers.
func (s *Step) Release() {
	for _, p := range s.parts {
		p.b.Release()
	}
	for _, b := range s.own {
		b.Release()
	}
	s.parts = nil
	s.own = nil
	s.released = true
}

// then appends another step's dispatches (and ownership) to s.
func (s *Step) then(o *Step) {
	s.parts = append(s.parts, o.parts...)
	s.own = append(s.own, o.own...)
}

func (s *Step) add1D(b *gpu.Binding, n int) { s.parts = append(s.parts, part{b: b, n: n}) }

func (s *Step) addGrid(d *gpu.Device, b *gpu.Binding, groups int) error {
	x, y, z, err := gpu.Grid(groups, 1, int(d.Limits().MaxComputeWorkgroupsPerDimension))
	if err != nil {
		return err
	}
	s.parts = append(s.parts, part{b: b, x: x, y: y, z: z})
	return nil
}

// wantShape checks that b has exactly the given shape.
func wantShape(op, what string, b *gpu.Buffer, shape ...int) error {
	if b == nil {
		return &gpu.ShapeError{Op: op, What: what, Want: gpu.ShapeString(shape), Got: "nil buffer"}
	}
	if b.DType != gpu.F32 {
		return &gpu.ShapeError{Op: op, What: what, Want: "f32", Got: b.DType.String()}
	}
	if len(b.Shape) != len(shape) {
		return &gpu.ShapeError{Op: op, What: what, Want: gpu.ShapeString(shape), Got: gpu.ShapeString(b.Shape)}
	}
	for i := range shape {
		if b.Shape[i] != shape[i] {
			return &gpu.ShapeError{Op: op, What: what, Want: gpu.ShapeString(shape), Got: gpu.ShapeString(b.Shape)}
		}
	}
	return nil
}

// wantLen checks that b is an f32 buffer of n elements, whatever its shape.
func wantLen(op, what string, b *gpu.Buffer, n int) error {
	if b == nil {
		return &gpu.ShapeError{Op: op, What: what, Want: fmt.Sprintf("%d values", n), Got: "nil buffer"}
	}
	if b.DType != gpu.F32 || b.Len() != n {
		return &gpu.ShapeError{Op: op, What: what, Want: fmt.Sprintf("f32 with %d values", n), Got: b.String()}
	}
	return nil
}

// chw returns the (C,H,W) of a rank-3 buffer.
func chw(op, what string, b *gpu.Buffer) (c, h, w int, err error) {
	if b == nil || len(b.Shape) != 3 || b.DType != gpu.F32 {
		got := "nil buffer"
		if b != nil {
			got = b.String()
		}
		return 0, 0, 0, &gpu.ShapeError{Op: op, What: what, Want: "f32 (C,H,W)", Got: got}
	}
	return b.Shape[0], b.Shape[1], b.Shape[2], nil
}

func finite(op, what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("ops: %s: %s is %v", op, what, v)
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Recorder is anything that records dispatches into an encoder.
type Recorder interface {
	Record(e *gpu.Encoder) error
}

// Seq records its members in order.
type Seq []Recorder

// Record records every member.
func (s Seq) Record(e *gpu.Encoder) error {
	for _, r := range s {
		if err := r.Record(e); err != nil {
			return err
		}
	}
	return nil
}

// KernelVersion names the kernels' code and the meaning of their plans.
// Change it whenever either changes: kernel choices measured with other
// kernels (package tune's cache) are then ignored, and retaken.
const KernelVersion = "2026-12-02.3"
