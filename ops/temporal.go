package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// TemporalLoss is the short-term temporal loss of Ruder, Dosovitskiy &
// Brox (GCPR 2016), eq. (7), of a video frame x against ω, the previous
// stylised frame warped to it by the optical flow, with per-pixel weights
// c (1 where the flow is consistent, 0 at occlusions and motion
// boundaries; twin.TemporalLoss):
//
//	L = w/D · Σ_k c_k (x_k − ω_k)²,  dL/dx = 2w/D · c (x − ω),  D = 3·H·W
//
// As c is 0 or 1, it is the content loss's mean of squares over the
// masked image c⊙x against the masked target c⊙ω, whose gradient is zero
// where c is: the op masks both, then runs the content loss's kernels.
type TemporalLoss struct {
	*Loss
	mask [2]*Step // c⊙x and c⊙ω
	xm   *gpu.Buffer
}

// NewTemporalLoss records the loss of x: (3,H,W) against target: (3,H,W)
// with weights c: (1,H,W) into out[idx] (+= when accumOut), and its
// gradient into grad (+= when accumGrad).
func NewTemporalLoss(d *gpu.Device, x, target, c, grad, out *gpu.Buffer, idx int, w float64, accumGrad, accumOut bool) (*TemporalLoss, error) {
	const op = "temporal_loss"
	ch, h, wd, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "target", target, ch, h, wd); err != nil {
		return nil, err
	}
	t := &TemporalLoss{}
	fail := func(err error) (*TemporalLoss, error) {
		t.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if t.xm, err = d.NewBuffer(op+".x", gpu.F32, ch, h, wd); err != nil {
		return fail(err)
	}
	tm, err := d.NewBuffer(op+".target", gpu.F32, ch, h, wd)
	if err != nil {
		return fail(err)
	}
	t.Loss = &Loss{Step: Step{Name: op}}
	t.own = append(t.own, t.xm, tm)
	if t.mask[0], err = NewMaskMul(d, x, c, t.xm); err != nil {
		return fail(err)
	}
	if t.mask[1], err = NewMaskMul(d, target, c, tm); err != nil {
		return fail(err)
	}
	l, err := NewContentLoss(d, t.xm, tm, grad, out, idx, w, accumGrad, accumOut)
	if err != nil {
		return fail(err)
	}
	own := t.own
	t.Loss = l
	t.own = append(t.own, own...)
	t.Name = op
	return t, nil
}

// Record appends the masking and the loss to e.
func (t *TemporalLoss) Record(e *gpu.Encoder) error {
	for _, m := range t.mask {
		if err := m.Record(e); err != nil {
			return err
		}
	}
	return t.Loss.Record(e)
}

// Dispatches is how many dispatches Record adds.
func (t *TemporalLoss) Dispatches() int { return 2 + t.Loss.Dispatches() }

// Release frees the loss, its masks and its masked copies.
func (t *TemporalLoss) Release() {
	for _, m := range t.mask {
		if m != nil {
			m.Release()
		}
	}
	if t.Loss != nil {
		t.Loss.Release()
	}
}
