package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Pooling is the kind of 2x2 stride-2 pooling between VGG blocks.
type Pooling int

const (
	// MaxPool keeps the largest of each 2x2 window.
	MaxPool Pooling = iota
	// AvgPool averages each 2x2 window (Gatys et al. recommend it).
	AvgPool
)

// String names the pooling as the command line spells it.
func (p Pooling) String() string {
	if p == AvgPool {
		return "avg"
	}
	return "max"
}

// ParsePooling accepts "max" or "avg".
func ParsePooling(s string) (Pooling, error) {
	switch s {
	case "max":
		return MaxPool, nil
	case "avg", "average":
		return AvgPool, nil
	}
	return 0, fmt.Errorf("unknown pooling %q (want max or avg)", s)
}

type poolData struct {
	decl
	Entry               string
	C, H, W             int
	MAX, Backward, RELU bool
}

// NewPoolForward pools x: (C,H,W) into y: (C,H/2,W/2), sizes floored.
func NewPoolForward(d *gpu.Device, kind Pooling, x, y *gpu.Buffer) (*Step, error) {
	op := "pool." + kind.String() + ".forward"
	c, h, w, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if h < 2 || w < 2 {
		return nil, &gpu.ShapeError{Op: op, What: "x", Want: "H,W >= 2", Got: gpu.ShapeString(x.Shape)}
	}
	if err := wantShape(op, "y", y, c, h/2, w/2); err != nil {
		return nil, err
	}
	data := poolData{Entry: "forward", C: c, H: h, W: w, MAX: kind == MaxPool}
	b, err := bindSlots(d, op, "pool.wgsl", "forward", &data, slots{ro("a", x, "x: (C,H,W)"), rw("out", y, "y: (C,H/2,W/2)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, c*(h/2)*(w/2))
	return s, nil
}

// NewPoolBackward maps dy: (C,H/2,W/2) to dx: (C,H,W) (written with =),
// reading the pool's input x: (C,H,W) to find each window's maximum. With
// relu, dx is also multiplied by x's ReLU mask (x > 0), x being the
// post-ReLU output of the conv below, whose backward then reads dx
// unmasked.
func NewPoolBackward(d *gpu.Device, kind Pooling, dy, x, dx *gpu.Buffer, relu bool) (*Step, error) {
	op := "pool." + kind.String() + ".backward"
	c, h, w, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if h < 2 || w < 2 {
		return nil, &gpu.ShapeError{Op: op, What: "x", Want: "H,W >= 2", Got: gpu.ShapeString(x.Shape)}
	}
	if err := wantShape(op, "dy", dy, c, h/2, w/2); err != nil {
		return nil, err
	}
	if err := wantShape(op, "dx", dx, c, h, w); err != nil {
		return nil, err
	}
	data := poolData{Entry: "backward", C: c, H: h, W: w, MAX: kind == MaxPool, Backward: true, RELU: relu}
	b, err := bindSlots(d, op, "pool.wgsl", "backward", &data, slots{ro("a", dy, "dy: (C,H/2,W/2)"), ro("x", x, "(C,H,W)"), rw("out", dx, "dx: (C,H,W)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, c*h*w)
	return s, nil
}
