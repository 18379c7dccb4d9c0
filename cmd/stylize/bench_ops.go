package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// The seed's settings, which every iteration row uses.
var (
	benchWidths        = []int{64, 128, 256, 512, 512}
	benchContentLayers = []string{"relu5_2"}
	benchStyleLayers   = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	benchDeepest       = "relu5_2"
	benchAdam          = ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
)

const (
	benchContentWeight = 1e4
	benchStyleWeight   = 1e-2
)

// benchLayer is one layer of the trunk at one image size.
type benchLayer struct {
	vgg.Layer
	Cin, Cout int // for a pool, both are its channels
	H, W      int // the layer's input size (a pool outputs H/2 x W/2)
}

// benchLayers walks VGG19 from the image to deepest (inclusive) for an
// h x w image with the given block widths.
func benchLayers(widths []int, h, w int, deepest string) ([]benchLayer, error) {
	p, err := vgg.Index(deepest)
	if err != nil {
		return nil, err
	}
	if len(widths) != 5 {
		return nil, fmt.Errorf("need 5 block widths, got %d", len(widths))
	}
	var out []benchLayer
	c := 3
	for i := 0; i <= p; i++ {
		l := vgg.Table[i]
		if h < 1 || w < 1 {
			return nil, fmt.Errorf("a %dx%d image is too small to reach %s", w, h, deepest)
		}
		if l.Pool {
			out = append(out, benchLayer{Layer: l, Cin: c, Cout: c, H: h, W: w})
			h, w = h/2, w/2
			continue
		}
		cout := widths[l.Block-1]
		out = append(out, benchLayer{Layer: l, Cin: c, Cout: cout, H: h, W: w})
		c = cout
	}
	return out, nil
}

// benchIterationConvFLOPs is the conv FLOPs of one iteration at h x w:
// every 3x3 conv from relu1_1 to deepest, forward and backward_input
// (the trunk's backward includes the first conv's, down to the image).
// The losses, pools and Adam add a few per cent, not counted here.
func benchIterationConvFLOPs(widths []int, h, w int, deepest string) (float64, error) {
	ls, err := benchLayers(widths, h, w, deepest)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, l := range ls {
		if !l.Pool {
			total += 2 * ops.Conv3x3FLOPs(l.Cin, l.Cout, l.H, l.W)
		}
	}
	return total, nil
}

// setupNet makes the synthetic VGG19 and uploads it once.
func (b *benchRun) setupNet() error {
	if b.net != nil {
		return nil
	}
	w, err := weights.Synthetic(benchWidths, b.cfg.seed)
	if err != nil {
		return err
	}
	before, _ := b.d.MemoryBytes()
	if b.net, err = vgg.New(b.d, w, ops.MaxPool, ops.Caffe); err != nil {
		return err
	}
	after, _ := b.d.MemoryBytes()
	b.netBytes = after - before
	return nil
}

// benchRandImage is a deterministic uniform image.
func benchRandImage(h, w int, seed int64) transfer.Image {
	r := rand.New(rand.NewSource(seed))
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = r.Float32()
	}
	return transfer.Image{H: h, W: w, Pix: pix}
}

// benchEngine is one iteration size's engine.
type benchEngine struct {
	size     int
	e        *transfer.Engine
	memBytes int64 // the net's and the engine's buffers
	warm     float64
}

func (e *benchEngine) release() {
	if e != nil && e.e != nil {
		e.e.Release()
		e.e = nil
	}
}

// benchFits estimates, before allocating anything, whether an s x s
// iteration can run: its largest buffer is block 1's activation.
func (b *benchRun) benchFits(s int) error {
	need := uint64(benchWidths[0]) * uint64(s) * uint64(s) * 4
	l := b.d.Limits()
	if need > l.MaxStorageBufferBindingSize {
		return fmt.Errorf("does not fit: block 1's activation (%dx%dx%d f32) is %d MiB, over this device's max storage binding of %d MiB",
			benchWidths[0], s, s, need>>20, l.MaxStorageBufferBindingSize>>20)
	}
	if need > l.MaxBufferSize {
		return fmt.Errorf("does not fit: block 1's activation is %d MiB, over this device's max buffer size of %d MiB", need>>20, l.MaxBufferSize>>20)
	}
	return nil
}

// newEngine builds the seed's engine at s x s: random content, one random
// style image of the same size, starting from the content.
func (b *benchRun) newEngine(s int) (*benchEngine, error) {
	if err := b.setupNet(); err != nil {
		return nil, err
	}
	before, _ := b.d.MemoryBytes()
	content := benchRandImage(s, s, b.cfg.seed+1)
	style := benchRandImage(s, s, b.cfg.seed+2)
	cfg := transfer.Config{
		ContentLayers: benchContentLayers, StyleLayers: benchStyleLayers,
		ContentWeight: benchContentWeight, StyleWeight: benchStyleWeight,
		Optimizer: "adam", Adam: benchAdam, Unfused: b.cfg.unfused,
	}
	e, err := transfer.NewEngine(b.net, cfg, content, []transfer.Image{style}, []float64{1}, content)
	if err != nil {
		return nil, err
	}
	after, _ := b.d.MemoryBytes()
	return &benchEngine{size: s, e: e, memBytes: after - before + b.netBytes}, nil
}

// startup builds the first iteration size that fits and runs one
// iteration to completion: the time from process start to then is the
// startup figure. The engine is kept for that size's row.
func (b *benchRun) startup() {
	for _, s := range b.cfg.sizes {
		if b.benchFits(s) != nil {
			continue
		}
		t0 := time.Now()
		if err := b.setupNet(); err != nil {
			if errors.Is(err, gpu.ErrDeviceLost) {
				b.lost = err
			}
			return // each row that needs the weights will say why
		}
		t1 := time.Now()
		eng, err := b.newEngine(s)
		if err != nil {
			if errors.Is(err, gpu.ErrDeviceLost) {
				b.lost = err
				return
			}
			continue
		}
		t2 := time.Now()
		if err := eng.e.Step(); err == nil {
			err = b.d.Poll()
		}
		if err != nil {
			eng.release()
			if errors.Is(err, gpu.ErrDeviceLost) {
				b.lost = err
				return
			}
			continue
		}
		eng.warm = float64(time.Since(t2).Nanoseconds()) / 1e6
		ms := float64(time.Since(b.start).Nanoseconds()) / 1e6
		b.rep.StartupMS = &ms
		msOf := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
		b.rep.StartupParts = map[string]float64{
			"device":          msOf(b.opened.Sub(b.start)),
			"weights":         msOf(t1.Sub(t0)),
			"engine":          msOf(t2.Sub(t1)),
			"first_iteration": eng.warm,
		}
		b.cold = eng
		b.logf("# startup: %.0f ms from process start to the first %dx%d iteration done: device %.0f ms, synthetic weights and upload %.0f ms,\n#   engine (pipelines, targets) %.0f ms, the iteration %.0f ms\n",
			ms, s, s, msOf(b.opened.Sub(b.start)), msOf(t1.Sub(t0)), msOf(t2.Sub(t1)), eng.warm)
		return
	}
}

// benchOpSpec is one op row to build and time.
type benchOpSpec struct {
	name, shape  string
	flops, bytes float64
	// build allocates the op's buffers and returns what to record and
	// how to free it.
	build func() (ops.Recorder, func(), error)
}

// ops times each op of an iteration at VGG19's layer shapes.
func (b *benchRun) ops() {
	s := b.cfg.opSize
	b.section(fmt.Sprintf("ops at VGG19's layer shapes for a %dx%d image, one command buffer each", s, s))
	ls, err := benchLayers(benchWidths, s, s, benchDeepest)
	if err != nil {
		r := benchRow{Name: fmt.Sprintf("ops/%d", s), Kind: "op", Size: s}
		b.skip(&r, err)
		b.emit(r)
		return
	}
	for _, spec := range b.opSpecs(ls) {
		r := benchRow{Name: spec.name, Kind: "op", Size: s, Shape: spec.shape}
		if !b.skipLost(&r) && !b.overBudget(&r) {
			b.runOp(&r, spec)
		}
		b.emit(r)
	}
}

func (b *benchRun) runOp(r *benchRow, spec benchOpSpec) {
	rec, free, err := spec.build()
	if err != nil {
		b.skip(r, err)
		return
	}
	defer free()
	samples, err := b.repeat(func() (float64, error) { return b.timeRecord(rec.Record) })
	if err != nil {
		b.skip(r, err)
		return
	}
	b.finish(r, samples, spec.flops, spec.bytes)
}

// benchBufs allocates f32 buffers and frees them together.
type benchBufs struct {
	d    *gpu.Device
	bufs []*gpu.Buffer
	err  error
}

func (a *benchBufs) get(name string, shape ...int) *gpu.Buffer {
	if a.err != nil {
		return nil
	}
	buf, err := a.d.NewBuffer(name, gpu.F32, shape...)
	if err != nil {
		a.err = err
		return nil
	}
	a.bufs = append(a.bufs, buf)
	return buf
}

func (a *benchBufs) free() {
	for _, x := range a.bufs {
		x.Release()
	}
	a.bufs = nil
}

// benchStep adapts a constructor returning a step to build's signature.
func benchStep[T interface {
	ops.Recorder
	Release()
}](a *benchBufs, mk func() (T, error)) (ops.Recorder, func(), error) {
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

func (b *benchRun) opSpecs(ls []benchLayer) []benchOpSpec {
	d := b.d
	s := b.cfg.opSize
	const f4 = 4.0 // bytes per f32
	var specs []benchOpSpec
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
			l := l
			shape := fmt.Sprintf("%d>%d %dx%d", l.Cin, l.Cout, l.H, l.W)
			if n := count[k]; n > 1 {
				shape += fmt.Sprintf(" (x%d)", n)
			}
			hw := float64(l.H * l.W)
			bytes := (float64(l.Cin)*hw + float64(l.Cout)*hw + 9*float64(l.Cin*l.Cout)) * f4
			if pass == "backward_input" {
				bytes += float64(l.Cout) * hw * f4 // the ReLU mask
			}
			specs = append(specs, benchOpSpec{
				name: fmt.Sprintf("conv3x3.%s/%s/%d", pass, l.Name, s), shape: shape,
				flops: ops.Conv3x3FLOPs(l.Cin, l.Cout, l.H, l.W), bytes: bytes,
				build: func() (ops.Recorder, func(), error) {
					if err := b.setupNet(); err != nil {
						return nil, nil, err
					}
					a := &benchBufs{d: d}
					x := a.get("bench.x", l.Cin, l.H, l.W)
					y := a.get("bench.y", l.Cout, l.H, l.W)
					cw := b.net.Convs[l.Conv]
					return benchStep(a, func() (*ops.Step, error) {
						if pass == "forward" {
							return ops.NewConv3x3Forward(d, cw, x, y, true)
						}
						return ops.NewConv3x3BackwardInput(d, cw, y, y, x, false)
					})
				},
			})
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
			bytes := (n + n/4) * f4
			if pass == "backward" {
				bytes = (n/4 + 2*n) * f4
			}
			specs = append(specs, benchOpSpec{
				name: fmt.Sprintf("pool.max.%s/%s/%d", pass, l.Name, s), shape: fmt.Sprintf("%d %dx%d>%dx%d", l.Cin, l.H, l.W, l.H/2, l.W/2),
				bytes: bytes,
				build: func() (ops.Recorder, func(), error) {
					a := &benchBufs{d: d}
					x := a.get("bench.x", l.Cin, l.H, l.W)
					y := a.get("bench.y", l.Cin, l.H/2, l.W/2)
					return benchStep(a, func() (*ops.Step, error) {
						if pass == "forward" {
							return ops.NewPoolForward(d, ops.MaxPool, x, y)
						}
						dx := a.get("bench.dx", l.Cin, l.H, l.W)
						if a.err != nil {
							return nil, a.err
						}
						return ops.NewPoolBackward(d, ops.MaxPool, y, x, dx)
					})
				},
			})
		}
	}
	byName := map[string]benchLayer{}
	for _, l := range ls {
		byName[l.Name] = l
	}
	// Gram and the whole style loss (Gram, value, gradient) at the style layers.
	for _, kind := range []string{"gram", "style_loss"} {
		for _, name := range benchStyleLayers {
			l := byName[name]
			c, m := float64(l.Cout), float64(l.H*l.W)
			flops := 2 * c * c * m
			bytes := (c*m + c*c) * f4
			if kind == "style_loss" {
				flops = 4 * c * c * m        // Gram, then (G-A)F
				bytes = (3*c*m + 2*c*c) * f4 // F; the gradient read and written; A and G
			}
			specs = append(specs, benchOpSpec{
				name: fmt.Sprintf("%s/%s/%d", kind, name, s), shape: fmt.Sprintf("%d %dx%d", l.Cout, l.H, l.W),
				flops: flops, bytes: bytes,
				build: func() (ops.Recorder, func(), error) {
					a := &benchBufs{d: d}
					f := a.get("bench.f", l.Cout, l.H, l.W)
					g := a.get("bench.g", l.Cout, l.Cout)
					if kind == "gram" {
						return benchStep(a, func() (*ops.Step, error) { return ops.NewGram(d, f, g) })
					}
					grad := a.get("bench.grad", l.Cout, l.H, l.W)
					out := a.get("bench.scalars", 4)
					return benchStep(a, func() (*ops.StyleLoss, error) {
						return ops.NewStyleLoss(d, f, g, grad, out, 2, benchStyleWeight/5, true, true)
					})
				},
			})
		}
	}
	// Content loss at relu5_2.
	{
		l := byName[benchContentLayers[0]]
		n := float64(l.Cout * l.H * l.W)
		specs = append(specs, benchOpSpec{
			name: fmt.Sprintf("content_loss/%s/%d", l.Name, s), shape: fmt.Sprintf("%d %dx%d", l.Cout, l.H, l.W),
			bytes: 4 * n * f4, // F, P, the gradient read and written
			build: func() (ops.Recorder, func(), error) {
				a := &benchBufs{d: d}
				f := a.get("bench.f", l.Cout, l.H, l.W)
				p := a.get("bench.p", l.Cout, l.H, l.W)
				grad := a.get("bench.grad", l.Cout, l.H, l.W)
				out := a.get("bench.scalars", 4)
				return benchStep(a, func() (*ops.Loss, error) {
					return ops.NewContentLoss(d, f, p, grad, out, 1, benchContentWeight, true, true)
				})
			},
		})
	}
	// Keras Adam with the clip, over the image.
	n := float64(3 * s * s)
	specs = append(specs, benchOpSpec{
		name: fmt.Sprintf("adam.keras/image/%d", s), shape: fmt.Sprintf("3x%dx%d", s, s),
		bytes: 7 * n * f4, // g, x, m, v read; x, m, v written
		build: func() (ops.Recorder, func(), error) {
			a := &benchBufs{d: d}
			x := a.get("bench.x", 3, s, s)
			g := a.get("bench.g", 3, s, s)
			return benchStep(a, func() (*ops.Adam, error) { return ops.NewAdam(d, benchAdam, x, g) })
		},
	})
	// TV loss: not in the seed's iteration, timed for the presets that use it.
	specs = append(specs, benchOpSpec{
		name: fmt.Sprintf("tv_loss/image/%d", s), shape: fmt.Sprintf("3x%dx%d (not in seed)", s, s),
		bytes: 2 * n * f4,
		build: func() (ops.Recorder, func(), error) {
			a := &benchBufs{d: d}
			x := a.get("bench.x", 3, s, s)
			g := a.get("bench.g", 3, s, s)
			out := a.get("bench.scalars", 4)
			return benchStep(a, func() (*ops.Loss, error) { return ops.NewTVLoss(d, x, g, out, 3, 1e-3, false, false) })
		},
	})
	return specs
}

// iterations times a full iteration at each size.
func (b *benchRun) iterations() {
	b.section("full iterations: forward to relu5_2, the seed's losses, backward, Keras Adam + clip; one command buffer each")
	rate := b.convRate()
	for _, s := range b.cfg.sizes {
		r := benchRow{Name: fmt.Sprintf("iteration/%d", s), Kind: "iteration", Size: s,
			Shape: fmt.Sprintf("3x%dx%d", s, s)}
		flops, err := benchIterationConvFLOPs(benchWidths, s, s, benchDeepest)
		switch {
		case b.skipLost(&r), b.overBudget(&r):
		case err != nil:
			b.skip(&r, err)
		default:
			if err := b.benchFits(s); err != nil {
				b.skip(&r, err)
				break
			}
			if b.cfg.budget > 0 && rate > 0 {
				runs := float64(b.cfg.warmup + 1)
				if b.cold != nil && b.cold.size == s {
					runs = 1
				}
				est := time.Duration(runs * flops / rate * 1.3 * float64(time.Second)) // + targets
				if left := b.cfg.budget - time.Since(b.began); est > left {
					r.Skipped = true
					r.Reason = fmt.Sprintf("over the -budget: about %s at %.3g GFLOP/s, %s left", est.Round(time.Second), rate/1e9, left.Round(time.Second))
					break
				}
			}
			b.runIteration(&r, s, flops)
			if r.TFlops != nil {
				rate = *r.TFlops * 1e12
			}
		}
		b.emit(r)
	}
}

// overBudget skips r once the bench has run past -budget.
func (b *benchRun) overBudget(r *benchRow) bool {
	if b.cfg.budget <= 0 || time.Since(b.began) < b.cfg.budget {
		return false
	}
	r.Skipped = true
	r.Reason = fmt.Sprintf("not run: the bench passed its -budget of %s", b.cfg.budget)
	return true
}

// convRate is the conv throughput the op rows measured (FLOP/s), for estimates.
func (b *benchRun) convRate() float64 {
	var fl, sec float64
	for _, r := range b.rep.Rows {
		if r.Kind == "op" && !r.Skipped && r.GFlop != nil && r.MSMedian != nil && len(r.Name) > 7 && r.Name[:7] == "conv3x3" {
			fl += *r.GFlop * 1e9
			sec += *r.MSMedian / 1e3
		}
	}
	if sec > 0 {
		return fl / sec
	}
	if b.rep.Peak.FMAGflops != nil {
		return *b.rep.Peak.FMAGflops * 1e9 * 0.1
	}
	return 0
}

func (b *benchRun) runIteration(r *benchRow, s int, flops float64) {
	eng := b.cold
	if eng != nil && eng.size == s {
		b.cold = nil
	} else {
		var err error
		if eng, err = b.newEngine(s); err != nil {
			b.skip(r, fmt.Errorf("could not build the engine: %w", err))
			return
		}
		for i := 0; i < b.cfg.warmup; i++ {
			t0 := time.Now()
			if err := eng.e.Step(); err == nil {
				err = b.d.Poll()
			}
			if err != nil {
				eng.release()
				b.skip(r, err)
				return
			}
			eng.warm = float64(time.Since(t0).Nanoseconds()) / 1e6
		}
	}
	defer eng.release()
	// Batch back-to-back iterations into one sample when they are short,
	// so the CPU's recording of the next overlaps the GPU's work as in a run.
	batch := 1
	if eng.warm > 0 {
		batch = int(math.Min(16, math.Max(1, math.Ceil(25/eng.warm))))
	}
	if batch > 1 {
		r.Shape += fmt.Sprintf(" (%d/sample)", batch)
	}
	samples, err := b.sample(func() (float64, error) { return b.timeIterations(eng.e, batch) })
	if err != nil {
		b.skip(r, err)
		return
	}
	mem := eng.memBytes
	r.MemBytes = &mem
	b.finish(r, samples, flops, 0)
}

// timeIterations runs n iterations back to back and returns ms per iteration.
func (b *benchRun) timeIterations(e *transfer.Engine, n int) (float64, error) {
	if b.brk != nil {
		if err := b.brk.mark(0, false); err != nil {
			return 0, err
		}
		for i := 0; i < n; i++ {
			if err := e.Step(); err != nil {
				return 0, err
			}
		}
		if err := b.brk.mark(1, true); err != nil {
			return 0, err
		}
		ns, err := b.brk.read()
		if err != nil {
			return 0, err
		}
		return ns / 1e6 / float64(n), nil
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if err := e.Step(); err != nil {
			return 0, err
		}
	}
	if err := b.d.Poll(); err != nil {
		return 0, err
	}
	return float64(time.Since(t0).Nanoseconds()) / 1e6 / float64(n), nil
}

// benchBracket writes GPU timestamps in command buffers of their own,
// before and after work submitted by others (the engine's iterations,
// whose encoder the bench cannot mark). Queue order makes the two
// timestamps bracket the work.
type benchBracket struct {
	d       *gpu.Device
	qs      *wgpu.QuerySet
	resolve *wgpu.Buffer
	out     *gpu.Buffer
}

func newBenchBracket(d *gpu.Device) (*benchBracket, error) {
	qs, err := d.Raw().CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "bench.bracket", Type: wgpu.QueryType_Timestamp, Count: 2})
	if err != nil {
		return nil, fmt.Errorf("bench: timestamp query set: %w", err)
	}
	res, err := d.Raw().CreateBuffer(&wgpu.BufferDescriptor{Label: "bench.bracket.resolve", Size: 16, Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	if err != nil {
		qs.Release()
		return nil, fmt.Errorf("bench: timestamp resolve buffer: %w", err)
	}
	out, err := d.NewBuffer("bench.bracket.out", gpu.U32, 4)
	if err != nil {
		qs.Release()
		res.Release()
		return nil, err
	}
	return &benchBracket{d: d, qs: qs, resolve: res, out: out}, nil
}

// mark submits a command buffer that writes timestamp i (and, when last,
// resolves both into out).
func (k *benchBracket) mark(i uint32, last bool) error {
	enc, err := k.d.Raw().CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "bench.bracket"})
	if err != nil {
		return err
	}
	defer enc.Release()
	if err := enc.WriteTimestamp(k.qs, i); err != nil {
		return fmt.Errorf("bench: timestamp: %w", err)
	}
	if last {
		if err := enc.ResolveQuerySet(k.qs, 0, 2, k.resolve, 0); err != nil {
			return fmt.Errorf("bench: resolve timestamps: %w", err)
		}
		if err := enc.CopyBufferToBuffer(k.resolve, 0, k.out.Raw(), 0, 16); err != nil {
			return fmt.Errorf("bench: copy timestamps: %w", err)
		}
	}
	cb, err := enc.Finish(&wgpu.CommandBufferDescriptor{Label: "bench.bracket"})
	if err != nil {
		return fmt.Errorf("bench: timestamps: %w", err)
	}
	k.d.Queue().Submit(cb)
	cb.Release()
	return nil
}

// read waits for the last bracket and returns its span in ns (ticks taken
// as ns, as gpu.Timer does).
func (k *benchBracket) read() (float64, error) {
	v, err := k.out.ReadU32()
	if err != nil {
		return 0, err
	}
	var raw [16]byte
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], x)
	}
	a := binary.LittleEndian.Uint64(raw[0:])
	c := binary.LittleEndian.Uint64(raw[8:])
	return float64(int64(c - a)), nil
}

func (k *benchBracket) release() {
	if k == nil {
		return
	}
	k.qs.Release()
	k.resolve.Destroy()
	k.resolve.Release()
	k.out.Release()
}
