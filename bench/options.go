// Package bench benchmarks a GPU on the style-transfer workload, so that
// GPUs can be compared with each other and with PyTorch: the machine's own
// roofline (peak fp32 FMA throughput and memory bandwidth, measured with
// microkernels), each op of an iteration at VGG19's layer shapes, and whole
// iterations built by transfer.NewEngine with the seed's settings.
//
// Run does all of it and returns a Report, whose JSON layout (schema
// stylize-bench/1) is the one bench/pytorch_ref.py prints too. The pieces
// are exported for programs that time only part of it: a Sampler times GPU
// work, Roofline measures the ceilings, OpSpecs and TimeOp time single ops,
// and Compare matches two reports row by row.
//
// Weights are synthetic (He-initialised VGG19 shapes): timing does not
// depend on their values. Error messages name the options by the
// `stylize bench` flags that set them.
package bench

import (
	"fmt"

	"github.com/stylize/stylize/plan"
	"io"
	"strconv"
	"strings"
	"time"
)

// Options says what Run measures and how. Start from DefaultOptions or
// QuickOptions: the zero value does not validate.
type Options struct {
	// Parts are the parts to run: "peak" (the roofline), "ops" (each op
	// at VGG19's layer shapes) and "iter" (whole iterations). They always
	// run in that order.
	Parts []string
	// Reps is the most timed samples a row takes, Warmup the untimed runs
	// before them, and RowTime the total after which a row stops
	// sampling (it always takes at least one sample).
	Reps, Warmup int
	RowTime      time.Duration
	// Budget is a time limit: rows that would start after it, or
	// iterations estimated to end after it, are skipped (0: none).
	Budget time.Duration
	// OpSize is the image side whose VGG19 layer shapes the op rows use.
	OpSize int
	// Sizes are the image sides of the iteration rows.
	Sizes []int
	// Seed seeds the synthetic weights and images.
	Seed int64
	// Timing is "auto" (GPU timestamps if the adapter has them, else the
	// wall clock), "gpu" or "wall".
	Timing string
	// Unfused builds the iterations with the loss gradients in passes of
	// their own, not fused into the conv backward (to compare).
	Unfused bool
	// Kernels, when set, are other kernel plans than the heuristic's
	// (measured by stylize tune, or one algorithm forced): each conv op
	// and iteration row is timed again with them, in a row named with
	// KernelsLabel (".tuned": "iteration.tuned/256"), wherever they
	// choose differently.
	Kernels      plan.Kernels
	KernelsLabel string
	// Tile, when above 0, also times each iteration row on tiles of this
	// core side (iteration.tileN/S) and logs its time over the untiled's.
	Tile int
	// Quick is recorded in the report; QuickOptions sets what it means.
	Quick bool
	// PeakMS is the time one dispatch of the FMA microkernel is grown to,
	// and BandwidthBytes the size of the bandwidth buffers (capped by the
	// device's limits).
	PeakMS         float64
	BandwidthBytes int
	// Compare, when set, is an earlier report to compare each row with;
	// CompareFile is the name the comparison gives it, and a ratio above
	// 1+Threshold is a regression.
	Compare     *Report
	CompareFile string
	Threshold   float64
	// Log receives the table as the rows finish (nil: it is discarded).
	Log io.Writer
	// Start is when the process started, which the startup figure counts
	// from (zero: when Run is called).
	Start time.Time
}

// DefaultOptions are the settings of a plain `stylize bench`: the whole
// bench, iterations at 256, 512, 1024 and 2048.
func DefaultOptions() Options {
	return Options{
		Parts: []string{"peak", "ops", "iter"}, Reps: 10, Warmup: 1, RowTime: 10 * time.Second,
		OpSize: 512, Sizes: []int{256, 512, 1024, 2048}, Seed: 1, Timing: "auto",
		PeakMS: 50, BandwidthBytes: 256 << 20, Threshold: 0.10,
	}
}

// QuickOptions are the settings of `stylize bench -quick`, small and fast
// for software GPUs and CI: ops at 32 px, iterations at 32 and 64, 2 reps
// and 2 s a row, a 10 ms FMA dispatch and 32 MiB bandwidth buffers.
func QuickOptions() Options {
	o := DefaultOptions()
	o.Quick = true
	o.Reps, o.RowTime, o.OpSize, o.Sizes = 2, 2*time.Second, 32, []int{32, 64}
	o.PeakMS, o.BandwidthBytes = 10, 32<<20
	return o
}

// has reports whether part is one of the parts to run.
func (o *Options) has(part string) bool {
	for _, p := range o.Parts {
		if p == part {
			return true
		}
	}
	return false
}

// Validate reports the first option that Run cannot work with.
func (o *Options) Validate() error {
	for _, s := range o.Sizes {
		if err := checkSize(s); err != nil {
			return err
		}
	}
	if len(o.Parts) == 0 {
		return fmt.Errorf("-only: nothing to run")
	}
	for _, p := range o.Parts {
		if err := checkPart(p); err != nil {
			return err
		}
	}
	if o.Reps < 1 || o.Warmup < 0 {
		return fmt.Errorf("bench: need -reps >= 1 and -warmup >= 0")
	}
	if o.OpSize < 16 {
		return fmt.Errorf("bench: -op-size %d is below 16, the smallest side that reaches relu5_2", o.OpSize)
	}
	if o.Timing != "auto" && o.Timing != "gpu" && o.Timing != "wall" {
		return fmt.Errorf("bench: -timing %q: want auto, gpu or wall", o.Timing)
	}
	if !(o.Threshold >= 0) {
		return fmt.Errorf("bench: -threshold must be >= 0")
	}
	return nil
}

// checkSize refuses an image side too small to reach relu5_2.
func checkSize(v int) error {
	if v < 16 {
		return fmt.Errorf("-sizes: %d is below 16, the smallest side that reaches relu5_2", v)
	}
	return nil
}

// checkPart refuses an unknown part.
func checkPart(p string) error {
	switch p {
	case "peak", "ops", "iter":
		return nil
	}
	return fmt.Errorf("-only: unknown part %q (want peak, ops, iter)", p)
}

// ParseSizes parses a comma list of image sides, each at least 16.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("-sizes: %q is not a number", f)
		}
		if err := checkSize(v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-sizes: no sizes in %q", s)
	}
	return out, nil
}

// ParseParts parses a comma list of parts (peak, ops, iter).
func ParseParts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if err := checkPart(f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only: nothing to run")
	}
	return out, nil
}
