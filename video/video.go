// Package video is temporally consistent style transfer of a clip, after
// Ruder, Dosovitskiy & Brox ("Artistic style transfer for videos", GCPR
// 2016): each frame after the first is optimised with a temporal loss
// against the previous stylised frame (or, long-term, several earlier
// ones) warped to it by the optical flow (ops.Flow, on the GPU), weighted
// by the forward-backward consistency check's masks, and starts from
// that warped result where the check keeps the flow and from the frame
// itself elsewhere.
package video

import (
	"context"
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
)

// Options are a clip's settings.
type Options struct {
	// Config is the losses and the optimiser; its TemporalWeight weighs
	// the temporal loss (0: independent frames, each from its content).
	transfer.Config
	// Iters are the first frame's iterations, ItersNext each later one's
	// (fewer: they start from the warped previous result).
	Iters, ItersNext int
	// Flow is the optical flow's settings (ops.DefaultFlow when zero).
	Flow ops.FlowParams
	// Back lists the earlier frames, counted back from each frame, whose
	// stylised results the temporal loss holds it to where the flow
	// between the frames is consistent, nearest first: [1] (or nil) is
	// Ruder et al.'s short-term loss, [1 10 20 40] their long-term one.
	Back []int
	// Iteration, when set, is told after each iteration of a frame, so
	// that a progress bar can cover the frame's iterations too.
	Iteration func(Iteration)
	// LossEvery, when above 0, reads the losses every LossEvery
	// iterations for Iteration (a readback that waits for the GPU to
	// finish the iteration); the other iterations' reports carry none.
	LossEvery int
}

// Iteration is what Run tells after each iteration of a frame.
type Iteration struct {
	Frame, Frames int
	Iter, Iters   int        // iterations run of the frame's
	Loss          [5]float32 // total, content, style, tv, temporal, where HasLoss
	HasLoss       bool
}

// Source is the clip's frames, all of one size, planar RGB in [0,1].
type Source interface {
	Len() int
	Frame(i int) (transfer.Image, error)
}

// Sink takes the stylised frames. Done returns frame i's result where an
// earlier run wrote it, so that an interrupted clip continues from the
// last finished frame; Write stores frame i's result (atomically).
type Sink interface {
	Done(i int) (transfer.Image, bool, error)
	Write(i int, img transfer.Image) error
}

// Report is what Run tells about each frame it finishes.
type Report struct {
	Frame, Frames int
	Iters         int
	Loss          [5]float32 // total, content, style, tv, temporal: the last iteration's
	Resumed       bool       // written by an earlier run
	Temporal      bool       // the frame had a temporal loss
	Masked        float64    // the share of pixels the temporal loss leaves out
}

// Run stylises every frame of src into sink with styles (blended by
// blend), calling report after each. It stops between iterations when
// ctx is cancelled, writing nothing for the frame under way, and returns
// ctx's error.
func Run(ctx context.Context, net *vgg.Net, styles []transfer.Image, blend []float64, src Source, sink Sink, o Options, report func(Report)) error {
	if o.Flow == (ops.FlowParams{}) {
		o.Flow = ops.DefaultFlow
	}
	if len(o.Back) == 0 {
		o.Back = []int{1}
	}
	if err := CheckBack(o.Back); err != nil {
		return err
	}
	var prev transfer.Image // the previous frame's result, as written (8-bit)
	var prevFrame transfer.Image
	var fl *flows
	// The engine of the last frame, restarted for the next one
	// (Engine.Restart) where it can be.
	var e *transfer.Engine
	defer func() {
		if fl != nil {
			fl.release()
		}
		if e != nil {
			e.Release()
		}
	}()
	for i := 0; i < src.Len(); i++ {
		frame, err := src.Frame(i)
		if err != nil {
			return err
		}
		if out, ok, err := sink.Done(i); err != nil {
			return err
		} else if ok {
			prev, prevFrame = out, frame
			report(Report{Frame: i, Frames: src.Len(), Resumed: true})
			continue
		}
		cfg, n := o.Config, o.Iters
		if i > 0 {
			n = o.ItersNext
		}
		masked, held := 0.0, false
		if cfg.TemporalWeight > 0 {
			if fl == nil {
				if fl, err = newFlows(net.D, frame.W, frame.H, o.Flow); err != nil {
					return err
				}
			}
			// The first frame has nothing to agree with: its temporal loss
			// holds no pixel (weights 0), which adds exactly 0 to the loss
			// and its gradient, so that one engine serves every frame.
			if masked, err = longTerm(fl, src, sink, o.Back, i, frame, prevFrame, prev); err != nil {
				return err
			}
			held = i > 0 && prev.Pix != nil
		}
		if e != nil && e.CanRestart() {
			err = e.Restart(frame, frame)
		} else {
			if e != nil {
				e.Release()
			}
			e, err = transfer.NewEngine(net, cfg, frame, styles, blend, frame)
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", i+1, err)
		}
		// The temporal target is also the image the iterations start from.
		if fl != nil {
			if err := e.SetTemporal(fl.target, fl.weights, true); err != nil {
				return err
			}
		}
		tell := func(k int) error {
			if o.Iteration == nil {
				return nil
			}
			it := Iteration{Frame: i, Frames: src.Len(), Iter: k, Iters: n}
			if o.LossEvery > 0 && (k%o.LossEvery == 0 || k == n) {
				l, err := e.Losses()
				if err != nil {
					return err
				}
				copy(it.Loss[:], l)
				it.HasLoss = true
			}
			o.Iteration(it)
			return nil
		}
		out, loss, err := iterate(ctx, e, n, tell)
		if err != nil {
			return err
		}
		out = quantize(out)
		if err := sink.Write(i, out); err != nil {
			return err
		}
		prev, prevFrame = out, frame
		report(Report{Frame: i, Frames: src.Len(), Iters: n, Loss: loss, Temporal: held, Masked: masked})
	}
	return nil
}

// CheckBack checks Options.Back: earlier frames, nearest first.
func CheckBack(back []int) error {
	for k, j := range back {
		if j < 1 || k > 0 && j <= back[k-1] {
			return fmt.Errorf("video: the temporal loss's earlier frames %v: want frames back from each frame, 1 or more, nearest first, each once", back)
		}
	}
	return nil
}

// longTerm makes frame i's temporal target and weights, fl.target and
// fl.weights, after Ruder et al. (2016), eq. (8): each pixel is held to
// the result of the nearest of frames i−back[0], i−back[1], ... whose
// flow to frame i is consistent there, warped to frame i (ops.NewHold).
// Their c_long weights are each frame's consistency mask less the nearer
// frames' (clamped at 0), so with 0/1 masks they are disjoint, and the
// sum of the frames' masked losses is one masked loss against this
// combined target. The target is also the image the optimisation starts
// from: each held pixel at its holder's warped result, and every other
// pixel at the frame itself (where the check drops the flow, the warp
// drags in what the flow got wrong, such as a moving object's colours
// onto the background it uncovers). It returns the share of pixels no
// frame holds: all of them where no listed frame is in the clip yet.
// prevFrame and prev are frame i−1 and its result (none before the
// first); others are read from src and sink.
func longTerm(fl *flows, src Source, sink Sink, back []int, i int, frame, prevFrame, prev transfer.Image) (float64, error) {
	if err := fl.setFrame(frame); err != nil {
		return 0, err
	}
	for _, j := range back {
		if i-j < 0 || prev.Pix == nil {
			break
		}
		f, out := prevFrame, prev
		if j > 1 {
			var err error
			if f, err = src.Frame(i - j); err != nil {
				return 0, err
			}
			var ok bool
			if out, ok, err = sink.Done(i - j); err != nil {
				return 0, err
			} else if !ok {
				return 0, fmt.Errorf("video: frame %d's result, which frame %d's temporal loss needs, is missing", i-j+1, i+1)
			}
		}
		if err := fl.hold(f, out); err != nil {
			return 0, err
		}
	}
	weights, err := fl.weights.Read()
	if err != nil {
		return 0, err
	}
	free := 0
	for _, c := range weights {
		if c == 0 {
			free++
		}
	}
	return float64(free) / float64(len(weights)), nil
}

// iterate runs n iterations of e, calling tell after each with the
// number run, and returns the image and the last iteration's losses.
func iterate(ctx context.Context, e *transfer.Engine, n int, tell func(int) error) (transfer.Image, [5]float32, error) {
	var loss [5]float32
	for k := 0; k < n; k++ {
		if err := ctx.Err(); err != nil {
			return transfer.Image{}, loss, err
		}
		if err := e.Step(); err != nil {
			return transfer.Image{}, loss, err
		}
		if err := tell(k + 1); err != nil {
			return transfer.Image{}, loss, err
		}
	}
	l, err := e.Losses()
	if err != nil {
		return transfer.Image{}, loss, err
	}
	copy(loss[:], l)
	px, err := e.X.Read()
	if err != nil {
		return transfer.Image{}, loss, err
	}
	return transfer.Image{W: e.W, H: e.H, Pix: px}, loss, nil
}

// quantize rounds img to 8 bits, as a PNG frame stores it: the next frame
// then starts from what a resumed run reads back.
func quantize(img transfer.Image) transfer.Image {
	out := transfer.Image{W: img.W, H: img.H, Pix: make([]float32, len(img.Pix))}
	for i, v := range img.Pix {
		out.Pix[i] = float32(math.Round(math.Min(math.Max(float64(v), 0), 1)*255) / 255)
	}
	return out
}

// flows makes a frame's temporal target and weights on the GPU: for each
// earlier frame, the flow between it and the frame both ways, the
// consistency masks at the frame, and the hold of that frame's result.
type flows struct {
	d          *gpu.Device
	rgb, prev  *gpu.Buffer // (3,H,W): an earlier frame and its result
	g0, g1     *gpu.Buffer // (1,H,W): the earlier frame and the frame, gray
	fwd, bwd   *ops.Flow
	occ, bnd   *gpu.Buffer
	target     *gpu.Buffer // (3,H,W): the temporal target, and the start
	weights    *gpu.Buffer // (1,H,W): the temporal loss's per-pixel weights
	start, add ops.Seq     // setFrame's and hold's passes
	steps      []*ops.Step
}

func newFlows(d *gpu.Device, w, h int, p ops.FlowParams) (*flows, error) {
	f := &flows{d: d}
	var err error
	fail := func(err error) (*flows, error) {
		f.release()
		return nil, err
	}
	for _, b := range []struct {
		buf **gpu.Buffer
		c   int
	}{{&f.rgb, 3}, {&f.prev, 3}, {&f.target, 3}, {&f.g0, 1}, {&f.g1, 1}, {&f.occ, 1}, {&f.bnd, 1}, {&f.weights, 1}} {
		if *b.buf, err = d.NewBuffer("video.plane", gpu.F32, b.c, h, w); err != nil {
			return fail(err)
		}
	}
	if f.fwd, err = ops.NewFlow(d, f.g0, f.g1, p); err != nil {
		return fail(err)
	}
	if f.bwd, err = ops.NewFlow(d, f.g1, f.g0, p); err != nil {
		return fail(err)
	}
	step := func(s *ops.Step, err error) (*ops.Step, error) {
		if err == nil {
			f.steps = append(f.steps, s)
		}
		return s, err
	}
	gray1, err := step(ops.NewGray(d, f.target, f.g1))
	if err != nil {
		return fail(err)
	}
	zero, err := step(ops.NewFill(d, f.weights, 0))
	if err != nil {
		return fail(err)
	}
	gray0, err := step(ops.NewGray(d, f.rgb, f.g0))
	if err != nil {
		return fail(err)
	}
	// The masks at the frame: its flow back to the earlier one, checked
	// against the earlier frame's flow forward.
	check, err := step(ops.NewConsistency(d, f.bwd.U, f.bwd.V, f.fwd.U, f.fwd.V, f.occ, f.bnd))
	if err != nil {
		return fail(err)
	}
	hold, err := step(ops.NewHold(d, f.prev, f.bwd.U, f.bwd.V, f.occ, f.bnd, f.target, f.weights))
	if err != nil {
		return fail(err)
	}
	f.start = ops.Seq{gray1, zero}
	f.add = ops.Seq{gray0, f.fwd, f.bwd, check, hold}
	return f, nil
}

// setFrame starts the frame's target: the frame itself, held nowhere
// (weights 0), and its gray plane for the flows.
func (f *flows) setFrame(frame transfer.Image) error {
	if err := f.target.Write(frame.Pix); err != nil {
		return err
	}
	return f.d.Record("video frame", f.start.Record)
}

// hold holds the pixels that no nearer frame holds, and where the flow
// from the frame to prevFrame is consistent, to that frame's result
// prev, warped to the frame (ops.NewHold).
func (f *flows) hold(prevFrame, prev transfer.Image) error {
	if err := f.rgb.Write(prevFrame.Pix); err != nil {
		return err
	}
	if err := f.prev.Write(prev.Pix); err != nil {
		return err
	}
	return f.d.Record("video flow", f.add.Record)
}

func (f *flows) release() {
	for _, fl := range []*ops.Flow{f.fwd, f.bwd} {
		if fl != nil {
			fl.Release()
		}
	}
	for _, s := range f.steps {
		s.Release()
	}
	for _, b := range []*gpu.Buffer{f.rgb, f.prev, f.g0, f.g1, f.occ, f.bnd, f.target, f.weights} {
		b.Release()
	}
}
