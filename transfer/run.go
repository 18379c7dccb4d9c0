package transfer

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// NonFiniteError says that a run stopped because its loss became NaN or
// infinite: the optimisation diverged (too large a learning rate, a
// weight past float32's range), and its image is no longer worth writing.
type NonFiniteError struct {
	Iter int // the iteration (over all scales) whose loss it was
	Loss [plan.NumScalars]float32
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("transfer: the loss became non-finite at iteration %d (total, content, style, tv = %v): the optimisation diverged, or a loss weight is too large: try a smaller -lr or weights", e.Iter, e.Loss)
}

// Progress is what a run reports every PrintEvery iterations. The losses
// are those of the image at iteration Iter, read back asynchronously, so
// they may arrive an iteration or two after it. They are computed by the
// forward pass of the step that follows that image, so when they are
// reported Finished = Done+1 iterations have run: the last report of an
// n-iteration run has Iter n-1 and Finished n.
type Progress struct {
	Scale, Scales int
	Iter, Iters   int // within the scale
	Done, Total   int // over all scales
	Finished      int // iterations run over all scales when the losses were read
	W, H          int
	Loss          [plan.NumScalars]float32 // total, content, style, tv, temporal
	ItPerSec      float64
	Elapsed       time.Duration
}

// Options is a whole run: the losses and optimiser, the schedule, and the
// callbacks. Images are planar RGB in [0,1].
type Options struct {
	Config
	// Sizes is the long side of each scale, smallest first; the last is the
	// output size. Iters holds the iterations of each scale.
	Sizes []int
	Iters []int
	// StyleScale multiplies each style image's size at the final scale
	// (1 keeps it); smaller scales shrink the styles in proportion.
	StyleScale float64
	// Init is the first scale's starting image: "content", "random"
	// (seeded by Seed), "style" (the first style image resized) or "file"
	// (InitImage).
	Init      string
	InitImage *Image
	Seed      int64
	// EMA, when in (0,1), returns the exponential moving average of the
	// iterates with this decay instead of the last iterate.
	EMA float64
	// PrintEvery > 0 reports progress every that many iterations.
	PrintEvery int
	OnProgress func(Progress)
	// SaveEvery > 0 calls OnSave with the current image every that many iterations.
	SaveEvery int
	OnSave    func(done int, img Image) error
	// OnEstimate, when set, is called once, after the second iteration,
	// with the run's predicted duration (a run of under 3 iterations
	// makes none).
	OnEstimate func(Estimate)
	// Resize resamples an image (planar RGB) to w×h.
	Resize func(img Image, w, h int) Image
}

// Scales returns n sizes growing by about √2 up to final, as crowsonkb's
// style-transfer-pytorch does, never below min.
func Scales(final, n, minSide int) []int {
	if n < 1 {
		n = 1
	}
	out := make([]int, n)
	for i := range out {
		s := int(math.Round(float64(final) / math.Pow(math.Sqrt2, float64(n-1-i))))
		out[i] = max(s, min(minSide, final))
	}
	out[n-1] = final
	return out
}

// FitLong returns w×h scaled so that the long side is long (aspect kept).
func FitLong(w, h, long int) (int, int) {
	if long <= 0 {
		return w, h
	}
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}

// scaleSizes returns, for each of o's scales, the size of the content
// image (its long side o.Sizes[i], aspect kept) and of each style image
// (resized in proportion to the scale, times StyleScale at the last).
func scaleSizes(content plan.Size, styles []plan.Size, o Options) (cs []plan.Size, ss [][]plan.Size) {
	for _, long := range o.Sizes {
		w, h := FitLong(content.W, content.H, long)
		scale := float64(long) / float64(max(content.W, content.H))
		if o.Sizes[len(o.Sizes)-1] > 0 {
			scale = float64(long) / float64(o.Sizes[len(o.Sizes)-1])
		}
		var st []plan.Size
		for _, s := range styles {
			f := scale * o.StyleScale
			if f <= 0 {
				f = scale
			}
			st = append(st, plan.Size{W: max(1, int(math.Round(float64(s.W)*f))), H: max(1, int(math.Round(float64(s.H)*f)))})
		}
		cs, ss = append(cs, plan.Size{W: w, H: h}), append(ss, st)
	}
	return cs, ss
}

// PlanRun plans each scale of a run of o with weights of these conv
// widths on an adapter with limits l, without touching the GPU: what Run
// executes and `stylize run -dry-run` prints.
func PlanRun(widths []int, l plan.Limits, content plan.Size, styles []plan.Size, o Options) ([]*plan.Plan, error) {
	if len(o.Sizes) == 0 || len(o.Sizes) != len(o.Iters) {
		return nil, fmt.Errorf("transfer: %d scales but %d iteration counts", len(o.Sizes), len(o.Iters))
	}
	cs, ss := scaleSizes(content, styles, o)
	var out []*plan.Plan
	for i := range cs {
		r := o.Config.Request(widths, cs[i], ss[i])
		r.EMA = o.EMA > 0 && o.EMA < 1
		r.LossReadback = o.PrintEvery > 0
		r.ImageReadback = true
		p, err := plan.Make(r, l)
		if err != nil {
			return nil, fmt.Errorf("scale %d (%s): %w", i+1, cs[i], err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Run performs the whole style transfer and returns the result at the last
// scale's size. Cancelling ctx (Ctrl-C) stops after the current iteration
// and returns the image so far together with ctx's error.
func Run(ctx context.Context, net *vgg.Net, content Image, styles []Image, blend []float64, o Options) (Image, error) {
	if len(o.Sizes) == 0 || len(o.Sizes) != len(o.Iters) {
		return Image{}, fmt.Errorf("transfer: %d scales but %d iteration counts", len(o.Sizes), len(o.Iters))
	}
	if o.Resize == nil {
		return Image{}, fmt.Errorf("transfer: no resize function")
	}
	total := 0
	for _, n := range o.Iters {
		total += n
	}
	var (
		cur     Image // the image carried between scales
		m, v    Image // Adam's moments, carried too
		adamT   []float32
		done    int
		start   = time.Now()
		lastErr error
	)
	plans, err := PlanRun(net.Widths(), plan.LimitsOf(net.D), SizeOf(content), sizesOf(styles), o)
	if err != nil {
		return Image{}, err
	}
	for si, p := range plans {
		w, h := p.Content.W, p.Content.H
		c := o.Resize(content, w, h)
		var ss []Image
		for j, s := range styles {
			ss = append(ss, o.Resize(s, p.Styles[j].W, p.Styles[j].H))
		}
		var x0 Image
		switch {
		case si > 0:
			x0 = o.Resize(cur, w, h)
		case o.Init == "" || o.Init == "content":
			x0 = c
		case o.Init == "random":
			x0 = randomImage(w, h, o.Seed)
		case o.Init == "style":
			if len(styles) == 0 {
				return Image{}, fmt.Errorf("transfer: -init style needs a style image")
			}
			x0 = o.Resize(styles[0], w, h)
		case o.Init == "file":
			if o.InitImage == nil {
				return Image{}, fmt.Errorf("transfer: -init file needs an image")
			}
			x0 = o.Resize(*o.InitImage, w, h)
		default:
			return Image{}, fmt.Errorf("transfer: unknown init %q (want content, random, style or file)", o.Init)
		}
		e, err := Build(net, p, o.Config, c, ss, blend, x0)
		if err != nil {
			return Image{}, fmt.Errorf("scale %d (%dx%d): %w", si+1, w, h, err)
		}
		if e.Adam != nil && si > 0 && m.Pix != nil {
			// Carry Adam's moments and step count to the new size.
			if err := e.Adam.M.Write(o.Resize(m, w, h).Pix); err != nil {
				e.Release()
				return Image{}, err
			}
			if err := e.Adam.V.Write(nonNegative(o.Resize(v, w, h)).Pix); err != nil {
				e.Release()
				return Image{}, err
			}
			if err := e.Adam.State.Write(adamT); err != nil {
				e.Release()
				return Image{}, err
			}
		}
		res, err := e.run(ctx, &o, si, done, total, start, work(plans, o.Iters))
		done += res.iters
		if err != nil && ctx.Err() == nil {
			e.Release()
			return Image{}, err
		}
		lastErr = err
		cur = res.out
		if e.Adam != nil {
			m, v = res.m, res.v
			adamT = res.t
		}
		e.Release()
		if lastErr != nil {
			break
		}
	}
	return cur, lastErr
}

type scaleResult struct {
	out, m, v Image
	t         []float32
	iters     int
}

func nonNegative(img Image) Image {
	for i, x := range img.Pix {
		if x < 0 {
			img.Pix[i] = 0
		}
	}
	return img
}

func randomImage(w, h int, seed int64) Image {
	r := rand.New(rand.NewSource(seed))
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	for i := range img.Pix {
		img.Pix[i] = r.Float32()
	}
	return img
}

func readImage(rb *gpu.Readback, b *gpu.Buffer, w, h int) (Image, error) {
	p, err := b.ReadVia(rb)
	if err != nil {
		return Image{}, err
	}
	return Image{H: h, W: w, Pix: p}, nil
}

// run iterates one scale.
// work is the whole run's cost in iterations of the first scale, for
// Options.OnEstimate.
func (e *Engine) run(ctx context.Context, o *Options, si, done, total int, start time.Time, work float64) (scaleResult, error) {
	d := e.D
	w, h := e.W, e.H
	var res scaleResult
	out := e.X
	var ema ops.Seq
	if e.Plan.EMA {
		b, err := e.take(plan.OwnEMA, 0, -1)
		if err != nil {
			return res, err
		}
		avg := b[0]
		if err := d.Record("ema init", func(enc *gpu.Encoder) error { return enc.Copy(e.X, avg) }); err != nil {
			return res, err
		}
		sc, err := ops.NewScale(d, o.EMA, nil, 0, avg)
		if err != nil {
			return res, err
		}
		ax, err := ops.NewAxpy(d, 1-o.EMA, nil, 0, e.X, avg)
		if err != nil {
			return res, err
		}
		e.steps = append(e.steps, sc, ax)
		ema = ops.Seq{sc, ax}
		out = avg
	}
	// The staging buffers of the loss values (a ring: plan.LossReadbacks)
	// and of the images read back.
	var ring []*gpu.Readback
	if e.Plan.LossReadback {
		var err error
		if ring, err = e.readbacks(plan.OwnLossReadback); err != nil {
			return res, err
		}
		defer releaseAll(ring)
	}
	img, err := e.readback(plan.OwnImageReadback)
	if err != nil {
		return res, err
	}
	defer img.Release()
	// The reads in flight, oldest first, each with the iteration whose
	// losses it holds; they are reported in that order.
	type read struct {
		rb   *gpu.Readback
		iter int
	}
	var queue []read
	var diverged error
	report := func(raw []byte, iter int) {
		var p Progress
		for i := range p.Loss {
			p.Loss[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			if v := float64(p.Loss[i]); (math.IsNaN(v) || math.IsInf(v, 0)) && diverged == nil {
				diverged = &NonFiniteError{Iter: done + iter, Loss: p.Loss}
			}
		}
		if o.OnProgress == nil {
			return
		}
		p.Scale, p.Scales = si+1, len(o.Sizes)
		p.Iter, p.Iters = iter, o.Iters[si]
		p.Done, p.Total = done+iter, total
		p.Finished = done + iter + 1
		p.W, p.H = w, h
		p.Elapsed = time.Since(start)
		if s := p.Elapsed.Seconds(); s > 0 {
			p.ItPerSec = float64(p.Finished) / s
		}
		o.OnProgress(p)
	}
	n := o.Iters[si]
	var runErr error
	// collect reports the reads that have arrived, oldest first; with
	// wait, it waits for every one.
	collect := func(wait bool) error {
		for len(queue) > 0 {
			q := queue[0]
			var raw []byte
			if wait {
				var err error
				if raw, err = q.rb.Wait(); err != nil {
					return err
				}
			} else {
				var ok bool
				var err error
				if raw, ok, err = q.rb.Collect(); err != nil {
					return err
				} else if !ok {
					return nil
				}
			}
			report(raw, q.iter)
			queue = queue[1:]
		}
		return nil
	}
	// slot is a staging buffer free for the next read: one no read holds,
	// else the oldest's, once its data is reported (a wait only when the
	// ring's reads are all still in flight).
	slot := func() (*gpu.Readback, error) {
		for _, rb := range ring {
			if !rb.Busy() {
				return rb, nil
			}
		}
		q := queue[0]
		raw, err := q.rb.Wait()
		if err != nil {
			return nil, err
		}
		report(raw, q.iter)
		queue = queue[1:]
		return q.rb, nil
	}

	var t1 time.Time // when iteration 1 finished
	for k := 1; k <= n; k++ {
		if err := ctx.Err(); err != nil {
			runErr = err
			break
		}
		if diverged != nil {
			return res, diverged
		}
		var rb *gpu.Readback
		if len(ring) > 0 && (k%o.PrintEvery == 0 || k == 1 || k == n) {
			var err error
			if rb, err = slot(); err != nil {
				return res, err
			}
		}
		// Keep one iteration queued behind the running one, no more.
		prev := d.Mark()
		err := d.Record(fmt.Sprintf("iteration %d", e.Iter+1), func(enc *gpu.Encoder) error {
			if err := e.record(enc); err != nil {
				return err
			}
			if err := ema.Record(enc); err != nil {
				return err
			}
			if rb != nil {
				return enc.Read(rb, e.Scalars)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		if err := prev.Wait(); err != nil {
			return res, err
		}
		// Iteration k-1 has finished: time the second one for the estimate.
		if si == 0 && o.OnEstimate != nil && n >= 3 {
			switch k {
			case 2:
				t1 = time.Now()
			case 3:
				per := time.Since(t1)
				o.OnEstimate(Estimate{PerIter: per, W: w, H: h, Iters: total,
					Remaining: time.Duration(float64(per) * (work - 2))})
			}
		}
		e.Iter++
		res.iters++
		if rb != nil {
			queue = append(queue, read{rb, k - 1}) // the losses of the image before step k
		}
		if err := collect(false); err != nil {
			return res, err
		}
		if o.SaveEvery > 0 && o.OnSave != nil && k%o.SaveEvery == 0 && k != n {
			img, err := readImage(img, out, w, h)
			if err != nil {
				return res, err
			}
			if err := o.OnSave(done+k, img); err != nil {
				return res, err
			}
		}
	}
	if err := collect(true); err != nil {
		return res, err
	}
	if diverged != nil {
		return res, diverged
	}
	if res.out, err = readImage(img, out, w, h); err != nil {
		return res, err
	}
	if e.Adam != nil {
		if res.m, err = readImage(img, e.Adam.M, w, h); err != nil {
			return res, err
		}
		if res.v, err = readImage(img, e.Adam.V, w, h); err != nil {
			return res, err
		}
		if res.t, err = e.Adam.State.ReadVia(img); err != nil {
			return res, err
		}
	}
	return res, runErr
}
