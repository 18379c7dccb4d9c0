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
	Entry                      string
	C, H, W                    int
	MAX, Backward, RELU, Route bool
}

// PoolRouteSpec is the spec of a pool's route (NewPoolForward): 4 bits
// per output of pooling x: (C,H,W), 8 outputs to a u32 word, so that the
// backward pass reads 4 bits per window (1/32 of x's memory) instead of
// keeping x and y.
//
//	route: ceil(C*(H/2)*(W/2)/8) u32
func PoolRouteSpec(name string, c, h, w int) gpu.Spec {
	return gpu.Spec{Name: name, DType: gpu.U32, Shape: []int{max((c*(h/2)*(w/2)+7)/8, 1)}}
}

// NewPoolForward pools x: (C,H,W) into y: (C,H/2,W/2), sizes floored.
// With route non-nil (PoolRouteSpec), it also writes which inputs of
// each window receive the output's gradient, for NewPoolBackward: with
// relu, only those that are also positive (x > 0), x being the post-ReLU
// output of the conv below. Without a route, relu has no effect.
func NewPoolForward(d *gpu.Device, kind Pooling, x, y, route *gpu.Buffer, relu bool) (*Step, error) {
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
	sl := slots{ro("a", x, "x: (C,H,W)"), rw("out", y, "y: (C,H/2,W/2)")}
	n := c * (h / 2) * (w / 2)
	if route != nil {
		if err := wantRoute(op, route, c, h, w); err != nil {
			return nil, err
		}
		data.Route, data.RELU = true, relu
		sl = append(sl, gpu.Slot{Name: "route", Access: gpu.Out, Buf: route, Elem: "u32", Note: "4 bits per output"})
		n = (n + 7) / 8
	}
	b, err := bindSlots(d, op, "pool.wgsl", "forward", &data, sl)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, n)
	return s, nil
}

// wantRoute checks that route is the u32 route of pooling (C,H,W).
func wantRoute(op string, route *gpu.Buffer, c, h, w int) error {
	want := PoolRouteSpec("route", c, h, w)
	if route == nil {
		return &gpu.ShapeError{Op: op, What: "route", Want: fmt.Sprintf("%d u32", want.Shape[0]), Got: "nil buffer"}
	}
	if route.DType != gpu.U32 || route.Len() != want.Shape[0] {
		return &gpu.ShapeError{Op: op, What: "route", Want: fmt.Sprintf("%d u32", want.Shape[0]), Got: route.DType.String() + gpu.ShapeString(route.Shape)}
	}
	return nil
}

// NewPoolBackward maps dy: (C,H/2,W/2) to dx: (C,H,W) (written with =),
// sending each output's gradient to the inputs its route (written by
// NewPoolForward over an x of dx's shape) names: the first maximum of
// its window, or all four with 1/4 each; with the forward's relu, only
// positive ones.
func NewPoolBackward(d *gpu.Device, kind Pooling, dy, route, dx *gpu.Buffer) (*Step, error) {
	op := "pool." + kind.String() + ".backward"
	c, h, w, err := chw(op, "dx", dx)
	if err != nil {
		return nil, err
	}
	if h < 2 || w < 2 {
		return nil, &gpu.ShapeError{Op: op, What: "dx", Want: "H,W >= 2", Got: gpu.ShapeString(dx.Shape)}
	}
	if err := wantShape(op, "dy", dy, c, h/2, w/2); err != nil {
		return nil, err
	}
	if err := wantRoute(op, route, c, h, w); err != nil {
		return nil, err
	}
	data := poolData{Entry: "backward", C: c, H: h, W: w, MAX: kind == MaxPool, Backward: true}
	b, err := bindSlots(d, op, "pool.wgsl", "backward", &data, slots{
		ro("a", dy, "dy: (C,H/2,W/2)"),
		gpu.Slot{Name: "route", Access: gpu.In, Buf: route, Elem: "u32", Note: "4 bits per output"},
		rw("out", dx, "dx: (C,H,W)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, c*h*w)
	return s, nil
}
