package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

type ewData struct {
	decl
	Entry string
	N     int
	K     float64
	IDX   int
	USE_S bool
	P     int // maskmul: the mask's length, one plane
}

func elementwise(d *gpu.Device, entry string, n int, data ewData, sl slots) (*Step, error) {
	op := "elementwise." + entry
	data.Entry, data.N = entry, n
	if err := finite(op, "constant", data.K); err != nil {
		return nil, err
	}
	b, err := bindSlots(d, op, "elementwise.wgsl", entry, &data, sl)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, n)
	return s, nil
}

// NewAxpy computes y += k·x, or y += k·s[idx]·x when s is not nil, where s
// holds GPU-resident scalars.
func NewAxpy(d *gpu.Device, k float64, s *gpu.Buffer, idx int, x, y *gpu.Buffer) (*Step, error) {
	if y == nil {
		return nil, fmt.Errorf("ops: elementwise.axpy: nil buffer")
	}
	n := y.Len()
	if err := wantLen("elementwise.axpy", "x", x, n); err != nil {
		return nil, err
	}
	data := ewData{K: k}
	sl := slots{ro("x", x, "")}
	if s != nil {
		if idx < 0 || idx >= s.Len() {
			return nil, fmt.Errorf("ops: elementwise.axpy: scalar index %d outside %s", idx, s)
		}
		data.USE_S, data.IDX = true, idx
		sl = append(sl, ro("s", s, "GPU-resident scalars"))
	}
	return elementwise(d, "axpy", n, data, append(sl, rw("y", y, "")))
}

// NewScale computes y *= k, or y *= k·s[idx] when s is not nil.
func NewScale(d *gpu.Device, k float64, s *gpu.Buffer, idx int, y *gpu.Buffer) (*Step, error) {
	if y == nil {
		return nil, fmt.Errorf("ops: elementwise.scale: nil buffer")
	}
	data := ewData{K: k}
	var sl slots
	if s != nil {
		if idx < 0 || idx >= s.Len() {
			return nil, fmt.Errorf("ops: elementwise.scale: scalar index %d outside %s", idx, s)
		}
		data.USE_S, data.IDX = true, idx
		sl = append(sl, ro("s", s, "GPU-resident scalars"))
	}
	return elementwise(d, "scale", y.Len(), data, append(sl, rw("y", y, "")))
}

// NewFill sets every element of y to k.
func NewFill(d *gpu.Device, y *gpu.Buffer, k float64) (*Step, error) {
	if y == nil {
		return nil, fmt.Errorf("ops: elementwise.fill: nil buffer")
	}
	return elementwise(d, "fill", y.Len(), ewData{K: k}, slots{rw("y", y, "")})
}

type scalarData struct {
	decl
	Body string
}

// NewScalar runs body, WGSL statements over s: array<f32> such as
// "s[3] = s[1] / s[2];", on one GPU thread: scalar algebra with no readback.
func NewScalar(d *gpu.Device, s *gpu.Buffer, body string) (*Step, error) {
	if s == nil || s.DType != gpu.F32 {
		return nil, fmt.Errorf("ops: scalar: need an f32 scalar buffer")
	}
	b, err := bindSlots(d, "scalar", "scalar.wgsl", "main", &scalarData{Body: body}, slots{rw("s", s, "")})
	if err != nil {
		return nil, err
	}
	st := &Step{Name: "scalar"}
	st.parts = append(st.parts, part{b: b, x: 1, y: 1, z: 1})
	return st, nil
}

// NewMaskMul computes y = x ⊙ m, the mask m: (1,H,W) broadcast over x's
// channels: x, y: (C,H,W).
func NewMaskMul(d *gpu.Device, x, m, y *gpu.Buffer) (*Step, error) {
	const op = "elementwise.maskmul"
	c, h, w, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "mask", m, 1, h, w); err != nil {
		return nil, err
	}
	if err := wantShape(op, "y", y, c, h, w); err != nil {
		return nil, err
	}
	return elementwise(d, "maskmul", x.Len(), ewData{P: h * w}, slots{ro("x", x, "(C,H,W)"), ro("m", m, "(1,H,W)"), rw("y", y, "(C,H,W)")})
}
