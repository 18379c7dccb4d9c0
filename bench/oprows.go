package bench

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// OpSpec is one op row to build and time.
type OpSpec struct {
	Name, Shape string
	Size        int     // the image side whose layer shapes it has
	FLOPs       float64 // its work (0: not counted)
	Bytes       float64 // its compulsory traffic, each tensor read or written once
	// Build allocates the op's buffers and returns what to record and
	// how to free it.
	Build func() (ops.Recorder, func(), error)
}

// TimeOp builds spec, times it as one command buffer (see Sampler) and
// frees it, returning its row with %peak against peak. If it fails the
// row is skipped with the reason and err says why.
func TimeOp(s *Sampler, spec OpSpec, peak Peak) (Row, error) {
	r := spec.row()
	rec, free, err := spec.Build()
	if err != nil {
		r.skip(err.Error())
		return r, err
	}
	defer free()
	samples, err := s.Repeat(func() (float64, error) { return s.Time(rec.Record) })
	if err != nil {
		r.skip(err.Error())
		return r, err
	}
	r.Finish(samples, spec.FLOPs, spec.Bytes, peak)
	return r, nil
}

// row is spec's row before it is timed.
func (spec OpSpec) row() Row {
	return Row{Name: spec.Name, Kind: "op", Size: spec.Size, Shape: spec.Shape}
}

// bufs allocates f32 buffers and frees them together.
type bufs struct {
	d    *gpu.Device
	bufs []*gpu.Buffer
	err  error
}

// get allocates a buffer of the shape; after a failure it returns nil and
// a.err says why.
func (a *bufs) get(name string, shape ...int) *gpu.Buffer {
	return a.alloc(gpu.F32Spec(name, shape...))
}

// alloc is get for any storage spec.
func (a *bufs) alloc(s gpu.Spec) *gpu.Buffer {
	if a.err != nil {
		return nil
	}
	buf, err := a.d.Alloc(s)
	if err != nil {
		a.err = err
		return nil
	}
	a.bufs = append(a.bufs, buf)
	return buf
}

// free releases every buffer allocated.
func (a *bufs) free() {
	for _, x := range a.bufs {
		x.Release()
	}
	a.bufs = nil
}

// step adapts a constructor returning a step to Build's signature.
func step[T interface {
	ops.Recorder
	Release()
}](a *bufs, mk func() (T, error)) (ops.Recorder, func(), error) {
	if a.err != nil {
		a.free()
		return nil, nil, a.err
	}
	st, err := mk()
	if err != nil {
		a.free()
		return nil, nil, err
	}
	return st, func() { st.Release(); a.free() }, nil
}

// OpSpecs lists the ops of the seed's iteration at VGG19's layer shapes
// for an s x s image: conv3x3 forward and backward_input once per distinct
// shape, max-pool forward and backward, Gram and the style loss at the
// style layers, the content loss, Keras Adam and the TV loss (not in the
// seed). net returns the VGG19 whose conv weights the conv rows use; it
// is called only when a conv row is built.
func OpSpecs(d *gpu.Device, s int, net func() (*vgg.Net, error), other plan.Kernels, kernelsLabel string) ([]OpSpec, error) {
	lim := plan.LimitsOf(d)
	kernels := []plan.Kernels{plan.Heuristic{}}
	if other != nil {
		kernels = append(kernels, other)
	}
	ls, err := Layers(widths, s, s, deepest)
	if err != nil {
		return nil, err
	}
	const f4 = 4.0 // bytes per f32
	var specs []OpSpec
	// conv3x3: one row per distinct shape, named after its first layer.
	type convKey struct{ cin, cout, h, w int }
	count := map[convKey]int{}
	for _, l := range ls {
		if !l.Pool {
			count[convKey{l.Cin, l.Cout, l.H, l.W}]++
		}
	}
	for _, pass := range []string{"forward", "backward_input"} {
		seen := map[convKey]bool{}
		for _, l := range ls {
			if l.Pool {
				continue
			}
			k := convKey{l.Cin, l.Cout, l.H, l.W}
			if seen[k] {
				continue
			}
			seen[k] = true
			shape := fmt.Sprintf("%d>%d %dx%d", l.Cin, l.Cout, l.H, l.W)
			if n := count[k]; n > 1 {
				shape += fmt.Sprintf(" (x%d)", n)
			}
			hw := float64(l.H * l.W)
			bytes := (float64(l.Cin)*hw + float64(l.Cout)*hw + 9*float64(l.Cin*l.Cout)) * f4
			if pass == "backward_input" {
				bytes += float64(l.Cout) * hw * f4 // the ReLU mask
			}
			c := plan.ConvPass{Cin: l.Cin, Cout: l.Cout, H: l.H, W: l.W, Backward: pass == "backward_input"}
			var last ops.ConvPlan
			for i, kern := range kernels {
				p := kern.Conv(lim, c)
				if i > 0 && p == last {
					continue // the same kernel as the row above
				}
				last = p
				suffix := ""
				if i > 0 {
					suffix = "." + kernelsLabel
				}
				specs = append(specs, OpSpec{
					Name: fmt.Sprintf("conv3x3.%s%s/%s/%d", pass, suffix, l.Name, s), Shape: shape + ", " + p.String(),
					FLOPs: ops.Conv3x3FLOPs(l.Cin, l.Cout, l.H, l.W), Bytes: bytes,
					Build: convBuild(d, net, l, c.Backward, p),
				})
			}
		}
	}
	// Max pooling below relu5_2 (pool1..pool4).
	for _, pass := range []string{"forward", "backward"} {
		for _, l := range ls {
			if !l.Pool {
				continue
			}
			l := l
			n := float64(l.Cin * l.H * l.W)
			// As a trunk with gradients runs them: the forward writes the
			// route (4 bits per output), which the backward reads instead
			// of x.
			bytes := (n+n/4)*f4 + n/8
			if pass == "backward" {
				bytes = (n/4+n)*f4 + n/8
			}
			specs = append(specs, OpSpec{
				Name: fmt.Sprintf("pool.max.%s/%s/%d", pass, l.Name, s), Shape: fmt.Sprintf("%d %dx%d>%dx%d", l.Cin, l.H, l.W, l.H/2, l.W/2),
				Bytes: bytes,
				Build: func() (ops.Recorder, func(), error) {
					a := &bufs{d: d}
					x := a.get("bench.x", l.Cin, l.H, l.W)
					y := a.get("bench.y", l.Cin, l.H/2, l.W/2)
					route := a.alloc(ops.PoolRouteSpec("bench.route", l.Cin, l.H, l.W))
					return step(a, func() (*ops.Step, error) {
						if pass == "forward" {
							return ops.NewPoolForward(d, ops.MaxPool, x, y, route, true)
						}
						if a.err != nil {
							return nil, a.err
						}
						return ops.NewPoolBackward(d, ops.MaxPool, y, route, x)
					})
				},
			})
		}
	}
	byName := map[string]Layer{}
	for _, l := range ls {
		byName[l.Name] = l
	}
	// Gram and the whole style loss (Gram, value, gradient) at the style layers.
	for _, kind := range []string{"gram", "style_loss"} {
		for _, name := range styleLayers {
			l := byName[name]
			c, m := float64(l.Cout), float64(l.H*l.W)
			flops := 2 * c * c * m
			bytes := (c*m + c*c) * f4
			if kind == "style_loss" {
				flops = 4 * c * c * m        // Gram, then (G-A)F
				bytes = (3*c*m + 2*c*c) * f4 // F; the gradient read and written; A and G
			}
			specs = append(specs, OpSpec{
				Name: fmt.Sprintf("%s/%s/%d", kind, name, s), Shape: fmt.Sprintf("%d %dx%d", l.Cout, l.H, l.W),
				FLOPs: flops, Bytes: bytes,
				Build: func() (ops.Recorder, func(), error) {
					a := &bufs{d: d}
					f := a.get("bench.f", l.Cout, l.H, l.W)
					g := a.get("bench.g", l.Cout, l.Cout)
					if kind == "gram" {
						return step(a, func() (*ops.Step, error) { return ops.NewGram(d, f, g) })
					}
					grad := a.get("bench.grad", l.Cout, l.H, l.W)
					out := a.get("bench.scalars", 4)
					return step(a, func() (*ops.StyleLoss, error) {
						return ops.NewStyleLoss(d, f, g, grad, out, 2, styleWeight/5, true, true)
					})
				},
			})
		}
	}
	// Content loss at relu5_2.
	{
		l := byName[contentLayers[0]]
		n := float64(l.Cout * l.H * l.W)
		specs = append(specs, OpSpec{
			Name: fmt.Sprintf("content_loss/%s/%d", l.Name, s), Shape: fmt.Sprintf("%d %dx%d", l.Cout, l.H, l.W),
			Bytes: 4 * n * f4, // F, P, the gradient read and written
			Build: func() (ops.Recorder, func(), error) {
				a := &bufs{d: d}
				f := a.get("bench.f", l.Cout, l.H, l.W)
				p := a.get("bench.p", l.Cout, l.H, l.W)
				grad := a.get("bench.grad", l.Cout, l.H, l.W)
				out := a.get("bench.scalars", 4)
				return step(a, func() (*ops.Loss, error) {
					return ops.NewContentLoss(d, f, p, grad, out, 1, contentWeight, true, true)
				})
			},
		})
	}
	// Keras Adam with the clip, over the image.
	n := float64(3 * s * s)
	specs = append(specs, OpSpec{
		Name: fmt.Sprintf("adam.keras/image/%d", s), Shape: fmt.Sprintf("3x%dx%d", s, s),
		Bytes: 7 * n * f4, // g, x, m, v read; x, m, v written
		Build: func() (ops.Recorder, func(), error) {
			a := &bufs{d: d}
			x := a.get("bench.x", 3, s, s)
			g := a.get("bench.g", 3, s, s)
			return step(a, func() (*ops.Adam, error) { return ops.NewAdam(d, adam, x, g) })
		},
	})
	// TV loss: not in the seed's iteration, timed for the presets that use it.
	specs = append(specs, OpSpec{
		Name: fmt.Sprintf("tv_loss/image/%d", s), Shape: fmt.Sprintf("3x%dx%d (not in seed)", s, s),
		Bytes: 2 * n * f4,
		Build: func() (ops.Recorder, func(), error) {
			a := &bufs{d: d}
			x := a.get("bench.x", 3, s, s)
			g := a.get("bench.g", 3, s, s)
			out := a.get("bench.scalars", 4)
			return step(a, func() (*ops.Loss, error) { return ops.NewTVLoss(d, x, g, out, 3, 1e-3, false, false) })
		},
	})
	for i := range specs {
		specs[i].Size = s
	}
	return specs, nil
}

// convBuild builds layer l's conv pass, forward or backward_input, with
// kernel plan p: the forward with its ReLU, the backward with the ReLU
// mask of its dy, as an iteration runs them (a Winograd plan with its own
// workspace, and the weight layout p reads uploaded on first use).
func convBuild(d *gpu.Device, net func() (*vgg.Net, error), l Layer, backward bool, p ops.ConvPlan) func() (ops.Recorder, func(), error) {
	return func() (ops.Recorder, func(), error) {
		n, err := net()
		if err != nil {
			return nil, nil, err
		}
		// The layout is held while the row runs, as an engine holds its
		// plan's, so that the iteration rows' memory counts only theirs.
		layout := vgg.Layouts{l.Conv: {{Layout: p.Layout()}: true}}
		if err := n.Acquire(layout); err != nil {
			return nil, nil, err
		}
		a := &bufs{d: d}
		x := a.get("bench.x", l.Cin, l.H, l.W)
		y := a.get("bench.y", l.Cout, l.H, l.W)
		cw := n.Convs[l.Conv]
		rec, free, err := step(a, func() (*ops.Step, error) {
			if !backward {
				return ops.NewConv3x3ForwardWith(d, cw, ops.ConvForward{X: x, Y: y, ReLU: true}, p)
			}
			return ops.NewConv3x3Backward(d, cw, ops.ConvBackward{DY: y, Mask: y, DX: x}, p)
		})
		if err != nil {
			n.Unacquire(layout)
			return nil, nil, err
		}
		return rec, func() { free(); n.Unacquire(layout) }, nil
	}
}
