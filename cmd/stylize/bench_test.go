package main

import (
	"bytes"
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
)

// benchInProcess runs `stylize bench args...` on the tests' shared device
// and returns the parsed JSON report (args must hold -json) and the table.
func benchInProcess(t *testing.T, args ...string) (*benchReport, string, error) {
	t.Helper()
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	var out, log bytes.Buffer
	err := runBench(args, benchEnv{stdout: &out, stderr: &log, start: time.Now(), dev: d})
	t.Logf("stylize bench %s\n%s", strings.Join(args, " "), log.String())
	if after, _ := d.MemoryBytes(); after != before {
		t.Errorf("the bench left %d bytes of GPU buffers allocated", after-before)
	}
	if out.Len() == 0 {
		return nil, log.String(), err
	}
	var r benchReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("bench -json printed something that is not JSON: %v\n%s", jerr, out.String())
	}
	return &r, log.String(), err
}

func finitePos(v float64) bool { return v > 0 && !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkBenchRows checks every non-skipped row's numbers: present where
// they must be, positive and finite everywhere.
func checkBenchRows(t *testing.T, r *benchReport) {
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

// TestBenchQuickJSON runs `stylize bench -quick -json` in-process on the
// test GPU (lavapipe without a hardware one) and checks the report's
// schema and numbers, then -compare against the same report. It asserts
// nothing about speed.
func TestBenchQuickJSON(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "quick.json")
	r, table, err := benchInProcess(t, "-quick", "-json", "-o", file)
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
	checkBenchRows(t, r)
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
	// The -o file holds the same report.
	if data, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if old, err := loadBenchReport(file); err != nil || len(old.Rows) != len(r.Rows) {
		t.Fatalf("-o file: %v (%d bytes)", err, len(data))
	}

	// The report against itself: every timed row matches with ratio 1.
	self := benchCompareReports(r, r, file, 0.10)
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

	// -compare through the command, re-running the op rows: ratios of two
	// runs on the same machine are near 1 (loosely: lavapipe is noisy).
	// Without the roofline, no row has a %peak.
	c, table, err := benchInProcess(t, "-quick", "-only", "ops", "-json", "-compare", file)
	if err != nil {
		t.Fatal(err)
	}
	checkBenchRows(t, c)
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
}

// TestBenchFailOnRegression compares against a report whose peaks are
// impossibly fast: every peak row is a regression, and only
// -fail-on-regression turns that into an error.
func TestBenchFailOnRegression(t *testing.T) {
	fast := &benchReport{Schema: benchSchema, Tool: "stylize", Adapter: benchAdapter{Name: "imaginary"}}
	for _, name := range []string{"peak.fma", "peak.bandwidth.copy", "peak.bandwidth.read", "conv3x3.forward/relu1_1/32"} {
		fast.Rows = append(fast.Rows, benchRow{Name: name, Kind: "peak", MSMedian: f64p(1e-6), MSMin: f64p(1e-6), MSMax: f64p(1e-6),
			TFlops: f64p(1e9), GBs: f64p(1e12)})
	}
	file := filepath.Join(t.TempDir(), "fast.json")
	data, _ := json.Marshal(fast)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, table, err := benchInProcess(t, "-quick", "-only", "peak", "-json", "-compare", file)
	if err != nil {
		t.Fatalf("without -fail-on-regression a regression must not fail: %v", err)
	}
	if r.Compare == nil || r.Compare.Regressions != 3 || !strings.Contains(table, "REGRESSION") {
		t.Fatalf("want 3 regressions flagged, got %+v\n%s", r.Compare, table)
	}
	_, _, err = benchInProcess(t, "-quick", "-only", "peak", "-json", "-compare", file, "-fail-on-regression")
	var reg *benchRegressionError
	if !errors.As(err, &reg) || len(reg.names) != 3 || !strings.Contains(err.Error(), "peak.fma") {
		t.Fatalf("-fail-on-regression: got %v", err)
	}
}

// TestBenchSkipsWhatDoesNotFit asks for an iteration far over any GPU's
// buffer limits: it is skipped with the reason, before anything is
// allocated for it (not even the weights).
func TestBenchSkipsWhatDoesNotFit(t *testing.T) {
	r, table, err := benchInProcess(t, "-only", "iter", "-sizes", "100000", "-json")
	if err != nil {
		t.Fatal(err)
	}
	checkBenchRows(t, r)
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

// TestBenchWallClock forces the fallback timing, for the microkernels
// (one command buffer) and for an iteration (the engine's own).
func TestBenchWallClock(t *testing.T) {
	r, table, err := benchInProcess(t, "-quick", "-timing", "wall", "-only", "peak,iter", "-sizes", "32", "-reps", "1", "-json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Timing != "wall-clock" || !strings.Contains(table, "wall clock") {
		t.Errorf("timing %q", r.Timing)
	}
	checkBenchRows(t, r)
	if n := len(r.Rows); n != 4 || r.Rows[n-1].Name != "iteration/32" || r.Rows[n-1].Skipped {
		t.Errorf("want the 3 peak rows and iteration/32, got %d rows", n)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"-sizes", "8"}, {"-sizes", "x"}, {"-sizes", ","}, {"-only", "gpu"}, {"-reps", "0"}, {"-op-size", "4"},
		{"-timing", "cpu"}, {"-fail-on-regression"}, {"extra"},
	} {
		if _, err := benchFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	c, err := benchFlags([]string{"-quick", "-reps", "5", "-sizes", "48"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.reps != 5 || len(c.sizes) != 1 || c.sizes[0] != 48 || c.opSize != 32 || c.rowTime != 2*time.Second {
		t.Errorf("-quick must set only the defaults the flags leave: %+v", c)
	}
	c, _ = benchFlags(nil, &bytes.Buffer{})
	if len(c.sizes) != 4 || c.sizes[3] != 2048 || c.opSize != 512 || c.reps != 10 {
		t.Errorf("defaults: %+v", c)
	}
}

// TestBenchIterationConvFLOPs checks the helper against the layer list
// written out by hand.
func TestBenchIterationConvFLOPs(t *testing.T) {
	convs := []struct{ cin, cout, side int }{
		{3, 64, 512}, {64, 64, 512}, {64, 128, 256}, {128, 128, 256},
		{128, 256, 128}, {256, 256, 128}, {256, 256, 128}, {256, 256, 128},
		{256, 512, 64}, {512, 512, 64}, {512, 512, 64}, {512, 512, 64},
		{512, 512, 32}, {512, 512, 32}, // relu5_1, relu5_2
	}
	want := 0.0
	for _, c := range convs {
		want += 2 * 2 * 9 * float64(c.cin*c.cout*c.side*c.side)
	}
	got, err := benchIterationConvFLOPs(benchWidths, 512, 512, "relu5_2")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("512x512: %v FLOPs, want %v", got, want)
	}
	if math.Abs(got/1e9-388.4) > 0.1 {
		t.Errorf("512x512: %.1f GFLOP, want about 388.4", got/1e9)
	}
	// Floored pools: 100 -> 50 -> 25 -> 12 -> 6.
	got, _ = benchIterationConvFLOPs(benchWidths, 100, 100, "relu5_2")
	want = 2 * (ops.Conv3x3FLOPs(3, 64, 100, 100) + ops.Conv3x3FLOPs(64, 64, 100, 100) +
		ops.Conv3x3FLOPs(64, 128, 50, 50) + ops.Conv3x3FLOPs(128, 128, 50, 50) +
		ops.Conv3x3FLOPs(128, 256, 25, 25) + 3*ops.Conv3x3FLOPs(256, 256, 25, 25) +
		ops.Conv3x3FLOPs(256, 512, 12, 12) + 3*ops.Conv3x3FLOPs(512, 512, 12, 12) +
		2*ops.Conv3x3FLOPs(512, 512, 6, 6))
	if math.Abs(got-want) > 1 {
		t.Errorf("100x100: %v, want %v", got, want)
	}
	if _, err := benchIterationConvFLOPs(benchWidths, 8, 8, "relu5_2"); err == nil {
		t.Error("an 8x8 image cannot reach relu5_2")
	}
}

// TestBenchCompareRatios checks the matching rules without a GPU.
func TestBenchCompareRatios(t *testing.T) {
	row := func(name, kind string, ms float64) benchRow {
		return benchRow{Name: name, Kind: kind, MSMedian: f64p(ms), MSMin: f64p(ms), MSMax: f64p(ms)}
	}
	old := &benchReport{Rows: []benchRow{row("a", "op", 10), row("b", "op", 10), row("c", "iteration", 10), row("gone", "op", 1),
		{Name: "skipped", Kind: "op", Skipped: true, Reason: "x"}}}
	p := row("peak.fma", "peak", 10)
	p.TFlops = f64p(2)
	old.Rows = append(old.Rows, p)
	cur := &benchReport{Rows: []benchRow{row("a", "op", 10.5), row("b", "op", 12), row("c", "iteration", 5), row("new", "op", 1),
		row("skipped", "op", 1)}}
	p2 := row("peak.fma", "peak", 1) // calibrated to less work: compare throughput, not ms
	p2.TFlops = f64p(1)
	cur.Rows = append(cur.Rows, p2)
	c := benchCompareReports(old, cur, "old.json", 0.10)
	got := map[string]benchRatio{}
	for _, x := range c.Rows {
		got[x.Name] = x
	}
	if len(got) != 4 || c.Regressions != 2 {
		t.Fatalf("matched %v, %d regressions", got, c.Regressions)
	}
	for name, want := range map[string]float64{"a": 1.05, "b": 1.2, "c": 0.5, "peak.fma": 2} {
		if math.Abs(got[name].Ratio-want) > 1e-9 || got[name].Regression != (want > 1.1) {
			t.Errorf("%s: %+v, want ratio %v", name, got[name], want)
		}
	}
	if len(c.OnlyOld) != 1 || c.OnlyOld[0] != "gone" {
		t.Errorf("only-old %v", c.OnlyOld)
	}
	if _, err := loadBenchReport(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"other/2","rows":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadBenchReport(bad); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("wrong schema: %v", err)
	}
}
