package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// LBFGS is limited-memory BFGS (Nocedal & Wright 2006, Alg. 7.4, the
// two-loop recursion) with torch.optim.LBFGS's semantics and no line
// search: the first step is min(1, 1/|g|₁)·lr along -g, later steps lr
// along the two-loop direction, with H₀ = yᵀs/yᵀy from the newest pair.
// Everything, the dot products and every scalar of the recursion
// included, stays on the GPU: the host only chooses, from the iteration
// count, the order in which the prebuilt per-slot steps are recorded.
//
// One deviation from PyTorch, which never arises on these problems in
// practice: a pair failing the curvature test yᵀs > 1e-10 still takes a
// history slot, made inert (ρ = 0), because the host does not read yᵀs.
type LBFGS struct {
	M  int
	LR float64

	d       *gpu.Device
	x, g    *gpu.Buffer
	dir     *gpu.Buffer
	prevG   *gpu.Buffer
	y, s    []*gpu.Buffer
	sc      *gpu.Buffer
	part    *gpu.Buffer // the dot products' partial sums, shared: they run one after another
	bufs    []*gpu.Buffer
	steps   []*Step
	first   Seq
	push    []Seq
	loopA   []Seq
	loopB   []Seq
	negG    Seq
	scaleH  Recorder
	setLR   Recorder
	advance Seq
}

// Scalar slots of the L-BFGS scalar buffer.
const (
	lbT = iota
	lbH
	lbYS
	lbYY
	lbNG1
	lbDot
	lbC
	lbRO // then m ρ's, then m α's
)

// copyRec records a whole-buffer copy.
type copyRec struct{ src, dst *gpu.Buffer }

func (c copyRec) Record(e *gpu.Encoder) error { return e.Copy(c.src, c.dst) }

// LBFGSBuffers are the buffers L-BFGS with history m allocates over an
// image x of the given shape: the direction, the previous gradient, m
// pairs (y, s), its scalars, and the partial sums its dot products share.
func LBFGSBuffers(m int, shape ...int) []gpu.Spec {
	s := []gpu.Spec{gpu.F32Spec("lbfgs.d", shape...), gpu.F32Spec("lbfgs.prev_g", shape...)}
	for i := 0; i < m; i++ {
		s = append(s, gpu.F32Spec(fmt.Sprintf("lbfgs.y%d", i), shape...), gpu.F32Spec(fmt.Sprintf("lbfgs.s%d", i), shape...))
	}
	return append(s, gpu.F32Spec("lbfgs.scalars", lbRO+2*m), SumScratch(gpu.Numel(shape))[0])
}

// NewLBFGS prepares L-BFGS with history m over x, reading the gradient g.
func NewLBFGS(d *gpu.Device, x, g *gpu.Buffer, m int, lr float64) (*LBFGS, error) {
	if m < 1 || m > 1000 {
		return nil, fmt.Errorf("ops: L-BFGS history %d out of range 1..1000", m)
	}
	if !(lr > 0) {
		return nil, fmt.Errorf("ops: L-BFGS learning rate must be > 0, got %v", lr)
	}
	if x == nil || g == nil {
		return nil, fmt.Errorf("ops: L-BFGS: nil image or gradient")
	}
	if err := wantLen("lbfgs", "gradient", g, x.Len()); err != nil {
		return nil, err
	}
	o := &LBFGS{M: m, LR: lr, d: d, x: x, g: g}
	fail := func(err error) (*LBFGS, error) {
		o.Release()
		return nil, fmt.Errorf("ops: L-BFGS: %w", err)
	}
	for _, s := range LBFGSBuffers(m, x.Shape...) {
		b, err := d.Alloc(s)
		if err != nil {
			return fail(err)
		}
		o.bufs = append(o.bufs, b)
	}
	o.dir, o.prevG = o.bufs[0], o.bufs[1]
	for i := 0; i < m; i++ {
		o.y, o.s = append(o.y, o.bufs[2+2*i]), append(o.s, o.bufs[3+2*i])
	}
	o.sc, o.part = o.bufs[2+2*m], o.bufs[3+2*m]
	rho := func(i int) int { return lbRO + i }
	alpha := func(i int) int { return lbRO + m + i }
	var errs []error
	mk := func(s *Step, e error) Recorder {
		if e != nil {
			errs = append(errs, e)
			return nil
		}
		o.steps = append(o.steps, s)
		return s
	}
	scalar := func(body string, a ...any) Recorder {
		return mk(NewScalar(d, o.sc, fmt.Sprintf(body, a...)))
	}
	lit := func(v float64) string { return fmt.Sprintf("%#.9g", float32(v)) }

	// d = -g
	o.negG = Seq{copyRec{g, o.dir}, mk(NewScale(d, -1, nil, 0, o.dir))}
	// First iteration: t = min(1, 1/|g|₁)·lr, H = 1, d = -g.
	o.first = append(Seq{
		mk(NewSum(d, SumAbs, g, nil, o.part, o.sc, lbNG1, 1, false)),
		scalar("s[%d] = min(1.0, 1.0 / s[%d]) * %s; s[%d] = 1.0;", lbT, lbNG1, lit(lr), lbH),
	}, o.negG...)
	for j := 0; j < m; j++ {
		// Pair j: y = g - prev_g, s = t·d (the previous step), ρ, H.
		o.push = append(o.push, Seq{
			copyRec{g, o.y[j]},
			mk(NewAxpy(d, -1, nil, 0, o.prevG, o.y[j])),
			copyRec{o.dir, o.s[j]},
			mk(NewScale(d, 1, o.sc, lbT, o.s[j])),
			mk(NewSum(d, SumDot, o.y[j], o.s[j], o.part, o.sc, lbYS, 1, false)),
			mk(NewSum(d, SumDot, o.y[j], o.y[j], o.part, o.sc, lbYY, 1, false)),
			scalar("let ok = s[%d] > 1e-10; s[%d] = select(0.0, 1.0 / s[%d], ok); s[%d] = select(s[%d], s[%d] / s[%d], ok);",
				lbYS, rho(j), lbYS, lbH, lbH, lbYS, lbYY),
		})
		// First loop, newest to oldest: α = ρ sᵀq, q -= α y.
		o.loopA = append(o.loopA, Seq{
			mk(NewSum(d, SumDot, o.s[j], o.dir, o.part, o.sc, lbDot, 1, false)),
			scalar("s[%d] = s[%d] * s[%d];", alpha(j), lbDot, rho(j)),
			mk(NewAxpy(d, -1, o.sc, alpha(j), o.y[j], o.dir)),
		})
		// Second loop, oldest to newest: β = ρ yᵀr, r += (α - β) s.
		o.loopB = append(o.loopB, Seq{
			mk(NewSum(d, SumDot, o.y[j], o.dir, o.part, o.sc, lbDot, 1, false)),
			scalar("s[%d] = s[%d] - s[%d] * s[%d];", lbC, alpha(j), lbDot, rho(j)),
			mk(NewAxpy(d, 1, o.sc, lbC, o.s[j], o.dir)),
		})
	}
	o.scaleH = mk(NewScale(d, 1, o.sc, lbH, o.dir))
	o.setLR = scalar("s[%d] = %s;", lbT, lit(lr))
	// prev_g = g; x += t·d
	o.advance = Seq{copyRec{g, o.prevG}, mk(NewAxpy(d, 1, o.sc, lbT, o.dir, x))}
	if len(errs) > 0 {
		return fail(errs[0])
	}
	return o, nil
}

// Record appends iteration k's update (k = 1, 2, ...), given that the
// gradient g at the current x has already been recorded.
func (o *LBFGS) Record(e *gpu.Encoder, k int) error {
	if k <= 1 {
		if err := o.first.Record(e); err != nil {
			return err
		}
		return o.advance.Record(e)
	}
	newest := (k - 2) % o.M
	n := min(k-1, o.M)
	seq := Seq{o.push[newest], o.negG}
	for i := 0; i < n; i++ {
		seq = append(seq, o.loopA[(newest-i+o.M)%o.M])
	}
	seq = append(seq, o.scaleH)
	for i := n - 1; i >= 0; i-- {
		seq = append(seq, o.loopB[(newest-i+o.M)%o.M])
	}
	seq = append(seq, o.setLR, o.advance)
	return seq.Record(e)
}

// Release frees the optimiser's buffers and bindings.
func (o *LBFGS) Release() {
	for _, s := range o.steps {
		s.Release()
	}
	for _, b := range o.bufs {
		b.Release()
	}
	o.steps, o.bufs = nil, nil
}
