package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// FlowParams are Horn & Schunck's settings for Flow and twin.Flow.
type FlowParams struct {
	Alpha  float64 // smoothness weight, in the images' intensity units
	Levels int     // pyramid levels (each halves the size, down to 8 px)
	Warps  int     // linearisations per level
	Iters  int     // Jacobi iterations per linearisation (EvenIters)
}

// EvenIters is Iters rounded up to an even number, which the GPU's
// ping-pong needs and the twin runs too.
func (p FlowParams) EvenIters() int { return (p.Iters + 1) / 2 * 2 }

// DefaultFlow are the settings stylize video uses.
var DefaultFlow = FlowParams{Alpha: 0.03, Levels: 5, Warps: 5, Iters: 60}

type flowData struct {
	decl
	Entry                string
	H, W, HS, WS, HD, WD int
	A2                   float64
}

// flowLevel is one pyramid level's planes, each (h,w).
type flowLevel struct {
	h, w                 int
	i0, i1               *gpu.Buffer
	u, v, nu, nv, u0, v0 *gpu.Buffer
	i1w, valid           *gpu.Buffer
	g                    *gpu.Buffer // (3,h,w): Ix, Iy, It, in one binding
}

// Flow records the optical flow from I0 to I1 (planes (1,H,W) in
// [0,1]) into U and V, as twin.Flow computes it: Horn & Schunck (1981),
// coarse to fine with warping (Brox et al. 2004), each level's warps
// followed by Jacobi iterations, one dispatch each. All its buffers are
// its own but the frames.
type Flow struct {
	Step
	U, V *gpu.Buffer // (1,H,W): I1(x+U, y+V) ≈ I0(x, y)
	seq  []func(e *gpu.Encoder) error
}

// NewFlow builds the flow between i0 and i1, both (1,h,w), with p.
func NewFlow(d *gpu.Device, i0, i1 *gpu.Buffer, p FlowParams) (*Flow, error) {
	const op = "flow"
	c, h, w, err := chw(op, "i0", i0)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "i1", i1, c, h, w); err != nil {
		return nil, err
	}
	if c != 1 || p.Levels < 1 || p.Warps < 1 || p.Iters < 1 {
		return nil, fmt.Errorf("ops: %s: %d channels, %d levels, %d warps, %d iterations", op, c, p.Levels, p.Warps, p.Iters)
	}
	if err := finite(op, "alpha", p.Alpha); err != nil {
		return nil, err
	}
	f := &Flow{Step: Step{Name: op}}
	plane := func(name string, h, w int) (*gpu.Buffer, error) {
		b, err := d.NewBuffer(name, gpu.F32, 1, h, w)
		if err == nil {
			f.own = append(f.own, b)
		}
		return b, err
	}
	fail := func(err error) (*Flow, error) {
		f.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	// The pyramid.
	levels := []*flowLevel{{h: h, w: w, i0: i0, i1: i1}}
	for len(levels) < p.Levels {
		l := levels[len(levels)-1]
		if l.h/2 < 8 || l.w/2 < 8 {
			break
		}
		n := &flowLevel{h: l.h / 2, w: l.w / 2}
		for _, pr := range []struct{ src, dst **gpu.Buffer }{{&l.i0, &n.i0}, {&l.i1, &n.i1}} {
			if *pr.dst, err = plane("flow.pyramid", n.h, n.w); err != nil {
				return fail(err)
			}
			if err := f.kernel(d, "down", flowData{H: l.h, W: l.w, HD: n.h, WD: n.w}, n.h*n.w,
				slots{ro("src", *pr.src, ""), rw("dst", *pr.dst, "")}); err != nil {
				return fail(err)
			}
		}
		levels = append(levels, n)
	}
	iters := p.EvenIters() // the result ends in u, v
	for k := len(levels) - 1; k >= 0; k-- {
		l := levels[k]
		for _, b := range []**gpu.Buffer{&l.u, &l.v, &l.nu, &l.nv, &l.u0, &l.v0, &l.i1w, &l.valid} {
			if *b, err = plane("flow.level", l.h, l.w); err != nil {
				return fail(err)
			}
		}
		if l.g, err = d.NewBuffer("flow.derivatives", gpu.F32, 3, l.h, l.w); err != nil {
			return fail(err)
		}
		f.own = append(f.own, l.g)
		n := l.h * l.w
		if k == len(levels)-1 { // the coarsest level starts from no motion
			for _, b := range []*gpu.Buffer{l.u, l.v} {
				z, err := NewFill(d, b, 0)
				if err != nil {
					return fail(err)
				}
				f.then(z)
				f.seq = append(f.seq, func(e *gpu.Encoder) error { return z.Record(e) })
			}
		}
		if k < len(levels)-1 { // start from the coarser level's flow
			c := levels[k+1]
			if err := f.kernel(d, "upflow", flowData{H: l.h, W: l.w, HS: c.h, WS: c.w}, n,
				slots{ro("su", c.u, ""), ro("sv", c.v, ""), rw("du", l.u, ""), rw("dv", l.v, "")}); err != nil {
				return fail(err)
			}
		}
		for wp := 0; wp < p.Warps; wp++ {
			f.copy(l.u, l.u0)
			f.copy(l.v, l.v0)
			if err := f.kernel(d, "warp", flowData{H: l.h, W: l.w}, n,
				slots{ro("i1", l.i1, ""), ro("u0", l.u0, ""), ro("v0", l.v0, ""), rw("i1w", l.i1w, ""), rw("valid", l.valid, "")}); err != nil {
				return fail(err)
			}
			if err := f.kernel(d, "deriv", flowData{H: l.h, W: l.w}, n,
				slots{ro("i0", l.i0, ""), ro("i1w", l.i1w, ""), ro("valid", l.valid, ""), rw("g", l.g, "Ix, Iy, It: (3,H,W)")}); err != nil {
				return fail(err)
			}
			for it := 0; it < iters; it++ {
				src, dst := [2]*gpu.Buffer{l.u, l.v}, [2]*gpu.Buffer{l.nu, l.nv}
				if it%2 == 1 {
					src, dst = dst, src
				}
				if err := f.kernel(d, "jacobi", flowData{H: l.h, W: l.w, A2: p.Alpha * p.Alpha}, n,
					slots{ro("u", src[0], ""), ro("v", src[1], ""), ro("u0", l.u0, ""), ro("v0", l.v0, ""),
						ro("g", l.g, "Ix, Iy, It: (3,H,W)"), rw("nu", dst[0], ""), rw("nv", dst[1], "")}); err != nil {
					return fail(err)
				}
			}
		}
	}
	f.U, f.V = levels[0].u, levels[0].v
	return f, nil
}

// kernel appends one dispatch of flow.wgsl's entry over n pixels.
func (f *Flow) kernel(d *gpu.Device, entry string, data flowData, n int, sl slots) error {
	data.Entry = entry
	b, err := bindSlots(d, "flow."+entry, "flow.wgsl", entry, &data, sl)
	if err != nil {
		return err
	}
	i := len(f.parts)
	f.add1D(b, n)
	p := f.parts[i]
	f.seq = append(f.seq, func(e *gpu.Encoder) error { return e.Dispatch1D(p.b, p.n, WG) })
	return nil
}

// copy appends a copy of src into dst.
func (f *Flow) copy(src, dst *gpu.Buffer) {
	f.seq = append(f.seq, func(e *gpu.Encoder) error { return e.Copy(src, dst) })
}

// Record appends the flow's dispatches and copies to e, in order.
func (f *Flow) Record(e *gpu.Encoder) error {
	if f.released {
		return fmt.Errorf("ops: %s: recorded after Release", f.Name)
	}
	for _, s := range f.seq {
		if err := s(e); err != nil {
			return fmt.Errorf("ops: %s: %w", f.Name, err)
		}
	}
	return nil
}

// Dispatches is how many dispatches Record adds.
func (f *Flow) Dispatches() int { return len(f.parts) }

// NewConsistency records Ruder et al.'s forward-backward check of the
// flow (u,v) from frame A to frame B, at A's pixels, against the flow
// (ub,vb) from B to A, as twin.Consistency does: occ and bnd (1,h,w) are
// 1 where a pixel of A is occluded, or on a motion boundary, else 0. For
// the temporal loss of frame t+1, A is frame t+1: (u,v) is its flow back
// to frame t.
func NewConsistency(d *gpu.Device, u, v, ub, vb, occ, bnd *gpu.Buffer) (*Step, error) {
	const op = "flow.check"
	c, h, w, err := chw(op, "u", u)
	if err != nil {
		return nil, err
	}
	for _, b := range []*gpu.Buffer{v, ub, vb, occ, bnd} {
		if err := wantShape(op, "plane", b, c, h, w); err != nil {
			return nil, err
		}
	}
	data := flowData{Entry: "check", H: h, W: w}
	b, err := bindSlots(d, op, "flow.wgsl", "check", &data, slots{ro("u", u, ""), ro("v", v, ""), ro("ub", ub, ""), ro("vb", vb, ""),
		rw("occ", occ, ""), rw("bnd", bnd, "")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, h*w)
	return s, nil
}

// NewGray records g: (1,H,W), the luminance of rgb: (3,H,W), the plane
// the flow compares (twin.Gray).
func NewGray(d *gpu.Device, rgb, g *gpu.Buffer) (*Step, error) {
	const op = "flow.gray"
	_, h, w, err := chw(op, "g", g)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "g", g, 1, h, w); err != nil {
		return nil, err
	}
	if err := wantShape(op, "rgb", rgb, 3, h, w); err != nil {
		return nil, err
	}
	data := flowData{Entry: "gray", H: h, W: w}
	b, err := bindSlots(d, op, "flow.wgsl", "gray", &data, slots{ro("rgb", rgb, "(3,H,W)"), rw("g", g, "(1,H,W)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, h*w)
	return s, nil
}

// NewHold records one earlier frame's share of Ruder et al.'s (2016)
// long-term temporal target (eq. 8): each pixel that no nearer frame
// holds (weights 0) and that the consistency check keeps (occ and bnd
// 0) gets weight 1 and, in target, that frame's result prev warped to
// this frame by the flow (u,v) from this frame to it, so that the weights
// of the frames are disjoint (twin.Warp, then twin.Hold).
//
//	prev, target: (3,H,W)   u, v, occ, bnd, weights: (1,H,W)
func NewHold(d *gpu.Device, prev, u, v, occ, bnd, target, weights *gpu.Buffer) (*Step, error) {
	const op = "flow.hold"
	_, h, w, err := chw(op, "weights", weights)
	if err != nil {
		return nil, err
	}
	for _, b := range []*gpu.Buffer{u, v, occ, bnd, weights} {
		if err := wantShape(op, "plane", b, 1, h, w); err != nil {
			return nil, err
		}
	}
	for _, b := range []*gpu.Buffer{prev, target} {
		if err := wantShape(op, "image", b, 3, h, w); err != nil {
			return nil, err
		}
	}
	data := flowData{Entry: "hold", H: h, W: w}
	b, err := bindSlots(d, op, "flow.wgsl", "hold", &data, slots{ro("prev", prev, "(3,H,W)"), ro("u", u, ""), ro("v", v, ""),
		ro("occ", occ, ""), ro("bnd", bnd, ""), rw("held", target, "the target (3,H,W)"), rw("weights", weights, "(1,H,W)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, h*w)
	return s, nil
}
