package ops_test

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConvPlanSweep times conv3x3.forward at VGG shapes under ChooseTile's
// plan (the old choice), ChooseConvPlan's, ChooseConvPlan's for a hardware
// GPU's MinTiles (split-K) and a few forced tiles, in rounds. It prints the
// best wall time and the best CPU time of the process (lavapipe runs the
// kernels on the process's threads). It is a measuring tool, not a check,
// and runs the sweep once whatever b.N is:
//
//	go test ./ops -run '^$' -bench ConvPlanSweep -benchtime 1x -v
//
// On lavapipe, plans timed in one process disturb each other (the second
// plan of a shape reads slow, whichever it is; STYLIZE_PLAN_SWEEP=rev
// reverses the order to show it), so compare plans in separate processes:
// STYLIZE_PLAN_SWEEP=old, then =new.
func BenchmarkConvPlanSweep(b *testing.B) {
	t := b
	d := testgpu.Device(t)
	type c struct {
		cin, cout, h int
		plans        []ops.ConvPlan
	}
	one := func(t ops.Tile) ops.ConvPlan { return ops.ConvPlan{Tile: t, Split: 1} }
	l := ops.LimitsOf(d)
	var cases []c
	for _, s := range []struct{ cin, cout, h int }{{64, 64, 32}, {128, 128, 32}, {128, 128, 16}, {256, 256, 8}, {512, 512, 4}, {512, 512, 2}} {
		n := s.h * s.h
		// ChooseTile's plan (the old choice), then ChooseConvPlan's, then
		// ChooseConvPlan's with a hardware GPU's MinTiles (split-K)
		gl := l
		gl.MinTiles = ops.MinTilesGPU
		cases = append(cases, c{s.cin, s.cout, s.h, []ops.ConvPlan{one(ops.ChooseTile(s.cout, n)), ops.ChooseConvPlan(l, s.cout, n, s.cin), ops.ChooseConvPlan(gl, s.cout, n, s.cin)}})
		if s.cout >= 128 && n >= 1024 {
			cases[len(cases)-1].plans = append(cases[len(cases)-1].plans, one(ops.Tile64x128), one(ops.Tile128x64))
		}
	}
	for _, tc := range cases {
		switch os.Getenv("STYLIZE_PLAN_SWEEP") {
		case "old": // only ChooseTile's plan
			tc.plans = tc.plans[:1]
		case "new": // only ChooseConvPlan's
			tc.plans = tc.plans[1:2]
		}
		if os.Getenv("STYLIZE_PLAN_SWEEP") == "rev" {
			for i, j := 0, len(tc.plans)-1; i < j; i, j = i+1, j-1 {
				tc.plans[i], tc.plans[j] = tc.plans[j], tc.plans[i]
			}
		}
		w := testgpu.F32(testgpu.Rand(1, tc.cout*tc.cin*9, -0.05, 0.05))
		cw, err := ops.NewConvWeights(d, "sweep", w, make([]float32, tc.cout), tc.cout, tc.cin)
		if err != nil {
			t.Fatal(err)
		}
		x := testgpu.Upload(t, d, "x", testgpu.Rand(2, tc.cin*tc.h*tc.h, 0, 1), tc.cin, tc.h, tc.h)
		y := testgpu.Upload(t, d, "y", nil, tc.cout, tc.h, tc.h)
		var steps []*ops.Step
		var plans []ops.ConvPlan
		for _, p := range tc.plans {
			st, err := ops.NewConv3x3ForwardPlan(d, cw, x, y, true, p)
			if err != nil {
				t.Errorf("%v: %v", p, err)
				continue
			}
			testgpu.Run(t, d, st)
			steps, plans = append(steps, st), append(plans, p)
		}
		for _, st := range steps { // a second warm-up round: the first runs of each are slow
			testgpu.Run(t, d, st)
		}
		best := make([]time.Duration, len(steps))
		wall := make([]time.Duration, len(steps))
		for r := 0; r < 5; r++ { // rounds over the plans, so that load spikes hit them all
			for i, st := range steps {
				t0, w0 := cpuTime(), time.Now()
				testgpu.Run(t, d, st)
				if el := cpuTime() - t0; r == 0 || el < best[i] {
					best[i] = el
				}
				if el := time.Since(w0); r == 0 || el < wall[i] {
					wall[i] = el
				}
			}
		}
		for i, st := range steps {
			st.Release()
			gf := ops.Conv3x3FLOPs(tc.cin, tc.cout, tc.h, tc.h) / best[i].Seconds() / 1e9
			fmt.Printf("sweep %d>%d %dx%d  %-30v %8.2f wall-ms %8.2f cpu-ms  %6.2f GFLOP/cpu-s\n", tc.cin, tc.cout, tc.h, tc.h, plans[i], float64(wall[i].Microseconds())/1e3, float64(best[i].Microseconds())/1e3, gf)
		}
		cw.Release()
	}
}
