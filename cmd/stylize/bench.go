package main

import (
	"flag"
	"fmt"
	"math/rand"
	"sort"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
)

// convShapes are VGG19's distinct conv shapes up to relu5_2: (cin, cout, block).
var convShapes = []struct{ cin, cout, block int }{
	{3, 64, 0}, {64, 64, 0}, {64, 128, 1}, {128, 128, 1}, {128, 256, 2},
	{256, 256, 2}, {256, 512, 3}, {512, 512, 3}, {512, 512, 4},
}

func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	size := fs.Int("size", 512, "image side at VGG19's first block (deeper blocks halve it)")
	reps := fs.Int("reps", 10, "timed repetitions per pass, after one warm-up")
	quick := fs.Bool("quick", false, "small and fast: -size 64 -reps 3 (for software GPUs and CI)")
	device := fs.String("device", "", "adapter index or name substring (default: the fastest)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: stylize bench [flags]\n\nTimes conv3x3 forward (bias+ReLU fused) and backward_input (ReLU mask fused)\nat VGG19's layer shapes and prints ms and GFLOP/s per pass, using GPU\ntimestamps when the adapter has them.\n\nExample:\n  stylize bench -size 512\n  stylize bench -quick\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quick {
		*size, *reps = 64, 3
	}
	if *size < 16 || *reps < 1 {
		return fmt.Errorf("bench: need -size >= 16 and -reps >= 1")
	}
	d, err := gpu.Open(gpu.Options{Adapter: *device})
	if err != nil {
		return err
	}
	defer d.Close()
	var timer *gpu.Timer
	if d.HasTimestamps() {
		if timer, err = d.NewTimer(1); err != nil {
			return err
		}
		defer timer.Release()
	}
	clock := "wall clock (no timestamp queries)"
	if timer != nil {
		clock = "GPU timestamps"
	}
	fmt.Printf("adapter: %s\ntiming: %s, median of %d after a warm-up\n\n", d.Info, clock, *reps)
	fmt.Printf("%-15s %-12s %10s %10s %10s\n", "pass", "shape", "ms", "GFLOP", "GFLOP/s")
	var total, flopsTotal float64
	rng := rand.New(rand.NewSource(1))
	for _, s := range convShapes {
		h := *size >> s.block
		w := make([]float32, s.cout*s.cin*9)
		for i := range w {
			w[i] = float32(rng.NormFloat64() * 0.05)
		}
		cw, err := ops.NewConvWeights(d, "bench", w, make([]float32, s.cout), s.cout, s.cin)
		if err != nil {
			return err
		}
		x, err := d.NewBuffer("x", gpu.F32, s.cin, h, h)
		if err != nil {
			return err
		}
		y, err := d.NewBuffer("y", gpu.F32, s.cout, h, h)
		if err != nil {
			return err
		}
		for _, pass := range []string{"forward", "backward_input"} {
			var st *ops.Step
			if pass == "forward" {
				st, err = ops.NewConv3x3Forward(d, cw, x, y, true)
			} else {
				st, err = ops.NewConv3x3BackwardInput(d, cw, y, y, x, false)
			}
			if err != nil {
				return err
			}
			var times []float64
			for r := 0; r <= *reps; r++ {
				ms, err := timeStep(d, timer, st)
				if err != nil {
					return err
				}
				if r > 0 {
					times = append(times, ms)
				}
			}
			st.Release()
			sort.Float64s(times)
			med := times[len(times)/2]
			fl := ops.Conv3x3FLOPs(s.cin, s.cout, h, h)
			total += med
			flopsTotal += fl
			fmt.Printf("%-15s %-12s %10.3f %10.3f %10.1f\n", pass, fmt.Sprintf("%dx%d %d>%d", h, h, s.cin, s.cout), med, fl/1e9, fl/1e9/(med/1e3))
		}
		x.Release()
		y.Release()
		cw.Release()
	}
	fmt.Printf("\nall shapes: %.3f ms, %.1f GFLOP/s\n", total, flopsTotal/1e9/(total/1e3))
	return nil
}

// timeStep runs one command buffer holding st and returns its time in ms.
func timeStep(d *gpu.Device, timer *gpu.Timer, st *ops.Step) (float64, error) {
	e, err := d.NewEncoder("bench")
	if err != nil {
		return 0, err
	}
	if timer != nil {
		if err := e.Mark(timer, "pass"); err != nil {
			return 0, err
		}
	}
	if err := st.Record(e); err != nil {
		e.Discard()
		return 0, err
	}
	start := time.Now()
	if err := e.Submit(); err != nil {
		return 0, err
	}
	if timer != nil {
		spans, err := timer.Spans()
		if err != nil {
			return 0, err
		}
		return spans[0].Ns / 1e6, nil
	}
	if err := d.Poll(); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Nanoseconds()) / 1e6, nil
}
