package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// runOn runs the bench with o on the tests' shared device and returns the
// report as its JSON reads back (what -json prints) and the table.
func runOn(t *testing.T, ctx context.Context, o Options) (*Report, string, error) {
	t.Helper()
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	var log bytes.Buffer
	o.Log, o.Start = &log, time.Now()
	rep, err := Run(ctx, d, o)
	t.Logf("bench %+v\n%s", o.Parts, log.String())
	if after, _ := d.MemoryBytes(); after != before {
		t.Errorf("the bench left %d bytes of GPU buffers allocated", after-before)
	}
	if rep == nil {
		return nil, log.String(), err
	}
	data, jerr := rep.JSON()
	if jerr != nil {
		t.Fatalf("the report does not marshal: %v", jerr)
	}
	var r Report
	if jerr := json.Unmarshal(data, &r); jerr != nil {
		t.Fatalf("the report's JSON does not read back: %v\n%s", jerr, data)
	}
	return &r, log.String(), err
}

// runQuick runs QuickOptions as edit changes them.
func runQuick(t *testing.T, edit func(o *Options)) (*Report, string, error) {
	t.Helper()
	o := QuickOptions()
	if edit != nil {
		edit(&o)
	}
	return runOn(t, context.Background(), o)
}

func finitePos(v float64) bool { return v > 0 && !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkRows checks every non-skipped row's numbers: present where they
// must be, positive and finite everywhere.
func checkRows(t *testing.T, r *Report) {
	t.Helper()
	seen := map[string]bool{}
	roofline := r.Peak.FMAGflops != nil && r.Peak.BandwidthGBs != nil
	for _, row := range r.Rows {
		if seen[row.Name] {
			t.Errorf("row name %q appears twice (-compare matches on names)", row.Name)
		}
		seen[row.Name] = true
		switch row.Kind {
		case "op", "iteration", "peak":
		default:
			t.Errorf("%s: kind %q", row.Name, row.Kind)
		}
		if row.Skipped {
			if row.Reason == "" {
				t.Errorf("%s: skipped without a reason", row.Name)
			}
			continue
		}
		if row.Reason != "" {
			t.Errorf("%s: not skipped but has reason %q", row.Name, row.Reason)
		}
		for _, f := range []struct {
			name string
			v    *float64
			must bool
		}{
			{"ms_median", row.MSMedian, true}, {"ms_min", row.MSMin, true}, {"ms_max", row.MSMax, true},
			{"gflop", row.GFlop, false}, {"tflops", row.TFlops, false}, {"gbs", row.GBs, false},
			{"pct_peak", row.PctPeak, (row.Kind != "peak" && roofline) || row.Name == "peak.fma"},
		} {
			if f.v == nil {
				if f.must {
					t.Errorf("%s: %s is null", row.Name, f.name)
				}
				continue
			}
			if !finitePos(*f.v) {
				t.Errorf("%s: %s = %v, want positive and finite", row.Name, f.name, *f.v)
			}
		}
		if row.MSMin != nil && row.MSMedian != nil && row.MSMax != nil && !(*row.MSMin <= *row.MSMedian && *row.MSMedian <= *row.MSMax) {
			t.Errorf("%s: min %v, median %v, max %v out of order", row.Name, *row.MSMin, *row.MSMedian, *row.MSMax)
		}
		if (row.GFlop == nil) != (row.TFlops == nil) {
			t.Errorf("%s: gflop and tflops must both be set or both null", row.Name)
		}
		if row.GFlop == nil && row.GBs == nil {
			t.Errorf("%s: neither FLOPs nor bytes", row.Name)
		}
		if row.Reps < 1 {
			t.Errorf("%s: %d reps", row.Name, row.Reps)
		}
		if row.Kind != "peak" && row.Bound != "flop" && row.Bound != "memory" {
			t.Errorf("%s: bound %q", row.Name, row.Bound)
		}
		if row.Kind == "iteration" && (row.MemBytes == nil || *row.MemBytes <= 0) {
			t.Errorf("%s: no memory figure", row.Name)
		}
	}
}

// withoutStartupLines drops the two progress lines about the startup,
// which Report.WriteText does not print.
func withoutStartupLines(table string) string {
	var keep []string
	for _, l := range strings.SplitAfter(table, "\n") {
		if !strings.HasPrefix(l, "# startup:") && !strings.HasPrefix(l, "#   engine") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// checkWriteText checks that WriteText of r reprints the table Run printed.
func checkWriteText(t *testing.T, r *Report, table string) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := withoutStartupLines(table); b.String() != want {
		t.Errorf("WriteText differs from the table Run printed:\n--- WriteText\n%s\n--- Run\n%s", b.String(), want)
	}
}

// TestBenchQuick runs QuickOptions (`stylize bench -quick`) on the test GPU
// (lavapipe without a hardware one) and checks the report's schema and
// numbers, its JSON file, then a comparison with the same report. It
// asserts nothing about speed.
func TestBenchQuick(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quick.json")
	r, table, err := runQuick(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Schema != "stylize-bench/1" || r.Tool != "stylize" {
		t.Fatalf("schema %q tool %q", r.Schema, r.Tool)
	}
	if r.Timing != "gpu-timestamps" && r.Timing != "wall-clock" {
		t.Errorf("timing %q", r.Timing)
	}
	if (r.Timing == "gpu-timestamps") != r.Adapter.Timestamps {
		t.Errorf("timing %q but the adapter's timestamps = %v", r.Timing, r.Adapter.Timestamps)
	}
	if r.Adapter.Name == "" || r.Adapter.Backend == "" || r.Adapter.Limits["max_storage_buffer_binding_size"] == 0 {
		t.Errorf("adapter incomplete: %+v", r.Adapter)
	}
	if !r.SyntheticWeights || !strings.Contains(r.Weights, "synthetic") || !strings.Contains(table, "SYNTHETIC") {
		t.Errorf("the report must say the weights are synthetic: %q", r.Weights)
	}
	if r.Peak.FMAGflops == nil || !finitePos(*r.Peak.FMAGflops) || r.Peak.BandwidthGBs == nil || !finitePos(*r.Peak.BandwidthGBs) {
		t.Errorf("peak: %+v", r.Peak)
	}
	if r.StartupMS == nil || !finitePos(*r.StartupMS) {
		t.Errorf("startup_ms %v", r.StartupMS)
	}
	if r.PeakMemBytes <= 0 {
		t.Errorf("peak_mem_bytes %d", r.PeakMemBytes)
	}
	if !r.Config.Quick || r.Config.OpSize != 32 || len(r.Config.Sizes) != 2 {
		t.Errorf("config %+v", r.Config)
	}
	checkRows(t, r)
	need := map[string]bool{"conv3x3.forward/": false, "conv3x3.backward_input/": false, "pool.max.forward/": false,
		"pool.max.backward/": false, "gram/": false, "style_loss/": false, "content_loss/": false, "adam.keras/": false,
		"peak.fma": false, "peak.bandwidth.copy": false}
	iterations := 0
	for _, row := range r.Rows {
		if row.Skipped {
			continue
		}
		for p := range need {
			if strings.HasPrefix(row.Name, p) {
				need[p] = true
			}
		}
		if row.Kind == "iteration" {
			iterations++
		}
	}
	for p, ok := range need {
		if !ok {
			t.Errorf("no timed row named %s...", p)
		}
	}
	if iterations == 0 {
		t.Error("no full iteration was timed")
	}
	checkWriteText(t, r, table)
	// A file of the report's JSON holds the same report.
	data, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := LoadReport(file)
	if err != nil || len(old.Rows) != len(r.Rows) {
		t.Fatalf("report file: %v (%d bytes)", err, len(data))
	}

	// The report against itself: every timed row matches with ratio 1.
	self := Compare(r, r, file, 0.10)
	timed := 0
	for _, row := range r.Rows {
		if !row.Skipped {
			timed++
		}
	}
	if len(self.Rows) != timed || self.Regressions != 0 || len(self.OnlyOld) != 0 {
		t.Errorf("self-compare: %d rows matched of %d, %d regressions, only-old %v", len(self.Rows), timed, self.Regressions, self.OnlyOld)
	}
	for _, x := range self.Rows {
		if math.Abs(x.Ratio-1) > 1e-12 {
			t.Errorf("self-compare %s: ratio %v", x.Name, x.Ratio)
		}
	}

	// Comparing while re-running the op rows: ratios of two runs on the
	// same machine are near 1 (loosely: lavapipe is noisy). Without the
	// roofline, no row has a %peak.
	c, table, err := runQuick(t, func(o *Options) { o.Parts, o.Compare, o.CompareFile = []string{"ops"}, old, file })
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, c)
	if c.StartupMS != nil {
		t.Errorf("startup measured without an iteration: %v", *c.StartupMS)
	}
	for _, row := range c.Rows {
		if row.PctPeak != nil {
			t.Errorf("%s: pct_peak %v without a measured peak", row.Name, *row.PctPeak)
		}
	}
	if c.Compare == nil || c.Compare.File != file {
		t.Fatalf("no compare section: %+v", c.Compare)
	}
	if len(c.Compare.Rows) < 10 {
		t.Errorf("-compare matched only %d rows", len(c.Compare.Rows))
	}
	for _, x := range c.Compare.Rows {
		if !(x.Ratio > 0.02 && x.Ratio < 50) {
			t.Errorf("-compare %s: ratio %v is not sane", x.Name, x.Ratio)
		}
		if x.Regression != (x.Ratio > 1.10) {
			t.Errorf("-compare %s: ratio %v but regression = %v", x.Name, x.Ratio, x.Regression)
		}
	}
	if len(c.Compare.OnlyOld) != len(r.Rows)-len(c.Rows) || !strings.HasPrefix(c.Compare.OnlyOld[0], "peak.") {
		t.Errorf("the peak and iteration rows were not re-run, so they should be listed as only in the old report: %v", c.Compare.OnlyOld)
	}
	if !strings.Contains(table, "vs old") || !strings.Contains(table, "compared with") {
		t.Errorf("the table shows no comparison:\n%s", table)
	}
	checkWriteText(t, c, table)
}

// TestBenchRegressions compares with a report whose peaks are impossibly fast:
// every peak row is a regression, which the Comparison's Err names.
func TestBenchRegressions(t *testing.T) {
	fast := &Report{Schema: Schema, Tool: "stylize", Adapter: Adapter{Name: "imaginary"}}
	for _, name := range []string{"peak.fma", "peak.bandwidth.copy", "peak.bandwidth.read", "conv3x3.forward/relu1_1/32"} {
		fast.Rows = append(fast.Rows, Row{Name: name, Kind: "peak", MSMedian: f64p(1e-6), MSMin: f64p(1e-6), MSMax: f64p(1e-6),
			TFlops: f64p(1e9), GBs: f64p(1e12)})
	}
	r, table, err := runQuick(t, func(o *Options) { o.Parts, o.Compare, o.CompareFile = []string{"peak"}, fast, "fast.json" })
	if err != nil {
		t.Fatalf("a regression must not fail the run: %v", err)
	}
	if r.Compare == nil || r.Compare.Regressions != 3 || !strings.Contains(table, "REGRESSION") {
		t.Fatalf("want 3 regressions flagged, got %+v\n%s", r.Compare, table)
	}
	err = r.Compare.Err()
	var reg *RegressionError
	if !errors.As(err, &reg) || len(reg.Names) != 3 || !strings.Contains(err.Error(), "peak.fma") {
		t.Fatalf("Err: got %v", err)
	}
	if err := Compare(r, r, "self", 0.10).Err(); err != nil {
		t.Errorf("no regression against itself, got %v", err)
	}
}

// TestBenchSkipsWhatDoesNotFit asks for an iteration far over any GPU's buffer
// limits: it is skipped with the reason, before anything is allocated for
// it (not even the weights).
func TestBenchSkipsWhatDoesNotFit(t *testing.T) {
	o := DefaultOptions()
	o.Parts, o.Sizes = []string{"iter"}, []int{100000}
	r, table, err := runOn(t, context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, r)
	if len(r.Rows) != 1 {
		t.Fatalf("want 1 row, got %d", len(r.Rows))
	}
	big := r.Rows[0]
	if !big.Skipped || !strings.Contains(big.Reason, "does not fit") || !strings.Contains(table, "skipped: does not fit") {
		t.Errorf("iteration/100000: skipped=%v reason %q", big.Skipped, big.Reason)
	}
	if r.StartupMS != nil {
		t.Errorf("startup measured with no iteration run: %v", *r.StartupMS)
	}
}

// TestBenchWallClock forces the fallback timing, for the microkernels (one
// command buffer) and for an iteration (the engine's own).
func TestBenchWallClock(t *testing.T) {
	r, table, err := runQuick(t, func(o *Options) {
		o.Timing, o.Parts, o.Sizes, o.Reps = "wall", []string{"peak", "iter"}, []int{32}, 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing != "wall-clock" || !strings.Contains(table, "wall clock") {
		t.Errorf("timing %q", r.Timing)
	}
	checkRows(t, r)
	if n := len(r.Rows); n != 4 || r.Rows[n-1].Name != "iteration/32" || r.Rows[n-1].Skipped {
		t.Errorf("want the 3 peak rows and iteration/32, got %d rows", n)
	}
}

// TestBenchCanceled runs with a context already done: every row is skipped
// with the reason, nothing is left allocated, and Run returns the
// context's error with the report.
func TestBenchCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _, err := runOn(t, ctx, QuickOptions())
	if !errors.Is(err, context.Canceled) || r == nil {
		t.Fatalf("got report %v, error %v; want the report and context.Canceled", r != nil, err)
	}
	if len(r.Rows) == 0 || r.StartupMS != nil {
		t.Errorf("%d rows, startup %v", len(r.Rows), r.StartupMS)
	}
	for _, row := range r.Rows {
		if !row.Skipped || !strings.Contains(row.Reason, "context canceled") {
			t.Errorf("%s: skipped=%v reason %q", row.Name, row.Skipped, row.Reason)
		}
	}
}

// TestBenchKernelsRows benchmarks Winograd forced against the heuristic:
// every iteration and every conv row whose plan differs appears twice,
// the second labelled, and the report says which kernels the labels are.
func TestBenchKernelsRows(t *testing.T) {
	r, table, err := runQuick(t, func(o *Options) {
		o.Parts, o.Sizes = []string{"ops", "iter"}, []int{32}
		o.Kernels, o.KernelsLabel = plan.Forced{Algo: ops.Winograd2}, "winograd"
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, r)
	names := map[string]bool{}
	for _, row := range r.Rows {
		if !row.Skipped {
			names[row.Name] = true
		}
	}
	for _, n := range []string{"iteration/32", "iteration.winograd/32"} {
		if !names[n] {
			t.Errorf("no timed row %s", n)
		}
	}
	labelled := 0
	for n := range names {
		if strings.HasPrefix(n, "conv3x3.forward.winograd/") || strings.HasPrefix(n, "conv3x3.backward_input.winograd/") {
			labelled++
			if !names[strings.Replace(n, ".winograd/", "/", 1)] {
				t.Errorf("%s has no heuristic row beside it", n)
			}
		}
	}
	if labelled == 0 {
		t.Errorf("no conv row with Winograd forced:\n%s", table)
	}
	if !strings.Contains(r.Config.Kernels, "winograd") {
		t.Errorf("the report's kernels say %q", r.Config.Kernels)
	}
}
