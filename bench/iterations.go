package bench

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/plan"
)

// startup builds the first iteration size that fits and runs one
// iteration to completion: the time from process start to then is the
// startup figure. The engine is kept for that size's row.
func (b *runner) startup() {
	for _, s := range b.o.Sizes {
		if fits(b.d, s) != nil {
			continue
		}
		if b.ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		if _, err := b.net.get(); err != nil {
			b.note(err)
			return // each row that needs the weights will say why
		}
		t1 := time.Now()
		eng, err := b.net.engine(s, b.o.Unfused, nil, 0)
		if err != nil {
			if errors.Is(err, gpu.ErrDeviceLost) {
				b.note(err)
				return
			}
			continue
		}
		t2 := time.Now()
		if err := eng.step(); err == nil {
			err = b.d.Poll()
		}
		if err != nil {
			eng.release()
			if errors.Is(err, gpu.ErrDeviceLost) {
				b.note(err)
				return
			}
			continue
		}
		eng.warm = float64(time.Since(t2).Nanoseconds()) / 1e6
		ms := float64(time.Since(b.start).Nanoseconds()) / 1e6
		b.rep.StartupMS = &ms
		msOf := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
		b.rep.StartupParts = map[string]float64{
			"device":          msOf(b.began.Sub(b.start)),
			"weights":         msOf(t1.Sub(t0)),
			"engine":          msOf(t2.Sub(t1)),
			"first_iteration": eng.warm,
		}
		b.cold = eng
		fmt.Fprintf(b.log, "# startup: %.0f ms from process start to the first %dx%d iteration done: device %.0f ms, synthetic weights and upload %.0f ms,\n#   engine (pipelines, targets) %.0f ms, the iteration %.0f ms\n",
			ms, s, s, msOf(b.began.Sub(b.start)), msOf(t1.Sub(t0)), msOf(t2.Sub(t1)), eng.warm)
		return
	}
}

// iterations times a full iteration at each size.
func (b *runner) iterations() {
	writeSection(b.log, sectionIter)
	rate := b.convRate()
	for _, s := range b.o.Sizes {
		var untiled *float64
		for _, k := range b.kernelsAt(s) {
			r := Row{Name: fmt.Sprintf("iteration%s/%d", b.label(k), s), Kind: "iteration", Size: s,
				Shape: fmt.Sprintf("3x%dx%d", s, s)}
			rate = b.iteration(&r, s, k, 0, rate)
			if k == nil && !r.Skipped {
				untiled = r.MSMedian
			}
			b.emit(r)
		}
		if t := b.o.Tile; t > 0 {
			// The same iteration on tiles, exactly (transfer's tiled
			// engine): its time over the untiled one's is tiling's cost.
			r := Row{Name: fmt.Sprintf("iteration.tile%d/%d", t, s), Kind: "iteration", Size: s, Shape: fmt.Sprintf("3x%dx%d", s, s)}
			sz := plan.Size{W: s, H: s}
			if p, err := plan.Make(seedConfig(b.o.Unfused, nil, t).Request(convWidths(), sz, []plan.Size{sz}), plan.LimitsOf(b.d)); err == nil {
				r.Shape += fmt.Sprintf(" (%d tiles, crops %dx%d)", len(p.Tiles), p.Tiles[0].Crop.W(), p.Tiles[0].Crop.H())
			}
			rate = b.iteration(&r, s, nil, t, rate)
			if untiled != nil && r.MSMedian != nil && !r.Skipped {
				fmt.Fprintf(b.log, "# tiling at %dx%d on %d px cores: %.2fx the untiled iteration's time\n", s, s, t, *r.MSMedian / *untiled)
			}
			b.emit(r)
		}
	}
}

// kernelsAt lists the kernel plans the rows of an s x s iteration run
// with: the heuristic's (nil), then Options.Kernels where it plans the
// iteration differently.
func (b *runner) kernelsAt(s int) []plan.Kernels {
	ks := []plan.Kernels{nil}
	if b.o.Kernels == nil {
		return ks
	}
	l := plan.LimitsOf(b.d)
	h, err1 := IterationPlan(l, s, nil)
	t, err2 := IterationPlan(l, s, b.o.Kernels)
	if err1 == nil && err2 == nil && h.SameKernels(t) {
		fmt.Fprintf(b.log, "# iteration %dx%d: %s plans it as the heuristic does\n", s, s, b.o.KernelsLabel)
		return ks
	}
	return append(ks, b.o.Kernels)
}

// label is the row-name suffix of kernels k: "" for the heuristic's,
// Options.KernelsLabel for the others.
func (b *runner) label(k plan.Kernels) string {
	if k == nil {
		return ""
	}
	return "." + b.o.KernelsLabel
}

// iteration times the s x s iteration with kernels k into r, given the
// conv rate seen so far (FLOP/s, for the -budget estimate), and returns
// the rate to estimate the next size with.
func (b *runner) iteration(r *Row, s int, k plan.Kernels, tile int, rate float64) float64 {
	flops, err := IterationConvFLOPs(widths, s, s, deepest)
	switch {
	case b.notRun(r):
		return rate
	case err != nil:
		b.skip(r, err)
		return rate
	}
	if err := fits(b.d, s); err != nil && tile == 0 {
		b.skip(r, err)
		return rate
	}
	if b.o.Budget > 0 && rate > 0 {
		runs := float64(b.o.Warmup + 1)
		if b.cold != nil && b.cold.size == s && k == nil && tile == 0 {
			runs = 1
		}
		if tile > 0 {
			runs *= 3 // two forwards and a backward over crops with halos
		}
		est := time.Duration(runs * flops / rate * 1.3 * float64(time.Second)) // + targets
		if left := b.o.Budget - time.Since(b.began); est > left {
			r.skip(fmt.Sprintf("over the -budget: about %s at %.3g GFLOP/s, %s left", est.Round(time.Second), rate/1e9, left.Round(time.Second)))
			return rate
		}
	}
	b.runIteration(r, s, flops, k, tile)
	if r.TFlops != nil {
		rate = *r.TFlops * 1e12
	}
	return rate
}

// convRate is the conv throughput the op rows measured (FLOP/s), for estimates.
func (b *runner) convRate() float64 {
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

// runIteration times iterations at s x s with kernels k into r, with the
// startup's engine if it has that size and the heuristic's kernels, else
// a new one warmed up.
func (b *runner) runIteration(r *Row, s int, flops float64, k plan.Kernels, tile int) {
	eng := b.cold
	if eng != nil && eng.size == s && k == nil && tile == 0 {
		b.cold = nil
	} else {
		var err error
		if eng, err = b.net.engine(s, b.o.Unfused, k, tile); err != nil {
			b.skip(r, fmt.Errorf("could not build the engine: %w", err))
			return
		}
		for i := 0; i < b.o.Warmup; i++ {
			t0 := time.Now()
			if err := eng.step(); err == nil {
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
	samples, err := b.s.Sample(func() (float64, error) {
		ms, err := b.s.TimeQueue(func() error {
			for i := 0; i < batch; i++ {
				if err := eng.step(); err != nil {
					return err
				}
			}
			return nil
		})
		return ms / float64(batch), err
	})
	if err != nil {
		b.skip(r, err)
		return
	}
	mem := eng.memBytes
	r.MemBytes = &mem
	r.Finish(samples, flops, 0, b.rep.Peak)
}
