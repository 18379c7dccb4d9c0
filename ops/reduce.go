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
	decl
	Entry     string
	N, MODE   int
	CHUNK, NP int
	IDX, S    int
	SCALE     float64
	PARAMS    bool // the scale is a loss uniform's value, not SCALE
	ACCUM     bool
}

// total writes out[idx] (= or += with accum) scale · Σ part[:np], with
// the scale a constant, or with params the value scale of a loss's
// uniform read when the kernel runs (a weight that can change).
func total(d *gpu.Device, name string, partials *gpu.Buffer, np int, out *gpu.Buffer, idx int, scale float64, params *gpu.Buffer, accum bool) (*Step, error) {
	if idx < 0 || out == nil || idx >= out.Len() {
		return nil, fmt.Errorf("ops: %s: scalar index %d outside the output buffer", name, idx)
	}
	if err := finite(name, "scale", scale); err != nil {
		return nil, err
	}
	data := reduceData{Entry: "total", NP: np, IDX: idx, SCALE: scale, ACCUM: accum, PARAMS: params != nil}
	sl := slots{ro("part", partials, "partial sums"), rw("out", out, "scalars")}
	if params != nil {
		sl = append(sl, uni("params", params, lossParams{}))
	}
	b, err := bindSlots(d, name+".total", "reduce.wgsl", "total", &data, sl)
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
	return total(d, name, partials, np, out, idx, 0, params, accum)
}

// SumScratch is what a reduction over n values needs: the partial sums
// of its first stage, one per Chunk.
func SumScratch(n int) []gpu.Spec { return []gpu.Spec{gpu.F32Spec("reduce.part", ceilDiv(n, Chunk))} }

// NewSum reduces a (and b for SumDot) into out[idx] = scale * Σ f(a,b),
// or adds to it when accum. The sum is split over workgroups, whose
// partial sums go to part (SumScratch's shape: reductions that run one
// after another can share it), and combined by a second dispatch, in a
// fixed order: no float atomics, reproducible.
func NewSum(d *gpu.Device, mode SumMode, a, b, part, out *gpu.Buffer, idx int, scale float64, accum bool) (*Step, error) {
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
	if err := wantLen(op, "partial sums", part, np); err != nil {
		return nil, err
	}
	data := reduceData{Entry: "partials", N: n, MODE: int(mode), CHUNK: Chunk}
	sl := slots{ro("a", a, "")}
	if mode == SumDot {
		sl = append(sl, ro("b", b, ""))
	}
	bd, err := bindSlots(d, op+".partials", "reduce.wgsl", "partials", &data, append(sl, rw("part", part, "")))
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	if err := s.addGrid(d, bd, np); err != nil {
		bd.Release()
		return nil, err
	}
	f, err := total(d, op, part, np, out, idx, scale, nil, accum)
	if err != nil {
		s.Release()
		return nil, err
	}
	s.then(f)
	return s, nil
}
