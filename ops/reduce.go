package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// SumMode is what a reduction adds up; NewSum rejects any value but the
// constants below.
type SumMode int

const (
	// SumDot adds a[i]*b[i].
	SumDot SumMode = 1
	// SumSquares adds a[i]².
	SumSquares SumMode = 2
	// SumAbs adds |a[i]|, the L1 norm.
	SumAbs SumMode = 3
)

// Chunk is how many elements one workgroup of a first reduction stage sums.
const Chunk = WG * 16

type reduceData struct {
	Entry     string
	N, MODE   int
	CHUNK, NP int
	IDX, S    int
	SCALE     float64
	PARAMS    bool // the scale is a loss uniform's value, not SCALE
	ACCUM     bool
}

// finalStep writes out[idx] (= or += with accum) scale * sum(part[:np]).
func finalStep(d *gpu.Device, name string, partials *gpu.Buffer, np int, out *gpu.Buffer, idx int, scale float64, accum bool) (*Step, error) {
	if idx < 0 || out == nil || idx >= out.Len() {
		return nil, fmt.Errorf("ops: %s: scalar index %d outside the output buffer", name, idx)
	}
	if err := finite(name, "scale", scale); err != nil {
		return nil, err
	}
	data := reduceData{Entry: "total", NP: np, IDX: idx, SCALE: scale, ACCUM: accum}
	b, err := bind(d, name+".total", "reduce.wgsl", "total", data, acc(gpu.In, gpu.Out), partials, out)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: name}
	s.parts = append(s.parts, part{b: b, x: 1, y: 1, z: 1})
	return s, nil
}

// lossTotal writes out[idx] (= or += with accum) params.value * sum(part[:np]),
// the scale read from a loss's uniform when the kernel runs.
func lossTotal(d *gpu.Device, name string, partials *gpu.Buffer, np int, out *gpu.Buffer, idx int, params *gpu.Buffer, accum bool) (*Step, error) {
	if idx < 0 || out == nil || idx >= out.Len() {
		return nil, fmt.Errorf("ops: %s: scalar index %d outside the output buffer", name, idx)
	}
	data := reduceData{Entry: "total", NP: np, IDX: idx, PARAMS: true, ACCUM: accum}
	b, err := bind(d, name+".total", "reduce.wgsl", "total", data, acc(gpu.In, gpu.Out, gpu.Uniform), partials, out, params)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: name}
	s.parts = append(s.parts, part{b: b, x: 1, y: 1, z: 1})
	return s, nil
}

// NewSum reduces a (and b for SumDot) into out[idx] = scale * Σ f(a,b),
// or adds to it when accum. The sum is split over workgroups and combined
// by a second dispatch, in a fixed order: no float atomics, reproducible.
func NewSum(d *gpu.Device, mode SumMode, a, b, out *gpu.Buffer, idx int, scale float64, accum bool) (*Step, error) {
	const op = "reduce.sum"
	if a == nil || a.DType != gpu.F32 {
		return nil, &gpu.ShapeError{Op: op, What: "a", Want: "f32 buffer", Got: fmt.Sprint(a)}
	}
	if mode != SumDot && mode != SumSquares && mode != SumAbs {
		return nil, fmt.Errorf("ops: %s: unknown mode %d", op, mode)
	}
	n := a.Len()
	if mode == SumDot {
		if err := wantLen(op, "b", b, n); err != nil {
			return nil, err
		}
	}
	np := ceilDiv(n, Chunk)
	part, err := d.NewBuffer(op+".part", gpu.F32, np)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op, own: []*gpu.Buffer{part}}
	data := reduceData{Entry: "partials", N: n, MODE: int(mode), CHUNK: Chunk}
	var bd *gpu.Binding
	if mode == SumDot {
		bd, err = bind(d, op+".partials", "reduce.wgsl", "partials", data, acc(gpu.In, gpu.In, gpu.Out), a, b, part)
	} else {
		bd, err = bind(d, op+".partials", "reduce.wgsl", "partials", data, acc(gpu.In, gpu.Out), a, part)
	}
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, bd, np); err != nil {
		bd.Release()
		s.Release()
		return nil, err
	}
	f, err := finalStep(d, op, part, np, out, idx, scale, accum)
	if err != nil {
		s.Release()
		return nil, err
	}
	s.then(f)
	return s, nil
}
