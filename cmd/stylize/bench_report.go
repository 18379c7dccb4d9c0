package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// benchSchema names the JSON layout that `stylize bench -json` and
// bench/pytorch_ref.py both print. Fields are only ever added to it; a
// change to the meaning of one bumps the version.
const benchSchema = "stylize-bench/1"

// benchReport is the whole -json output.
type benchReport struct {
	Schema           string             `json:"schema"`
	Tool             string             `json:"tool"` // "stylize" or "pytorch"
	Adapter          benchAdapter       `json:"adapter"`
	Timing           string             `json:"timing"` // "gpu-timestamps" or "wall-clock"
	Weights          string             `json:"weights"`
	SyntheticWeights bool               `json:"synthetic_weights"`
	Config           benchSettings      `json:"config"`
	Peak             benchPeak          `json:"peak"`
	Rows             []benchRow         `json:"rows"`
	StartupMS        *float64           `json:"startup_ms"` // process start to the first iteration done
	StartupParts     map[string]float64 `json:"startup_parts_ms,omitempty"`
	PeakMemBytes     int64              `json:"peak_mem_bytes"` // high-water mark of our GPU buffers
	Host             benchHost          `json:"host"`
	Started          string             `json:"started"` // RFC 3339
	Compare          *benchCompare      `json:"compare,omitempty"`
}

// benchAdapter describes the GPU (for PyTorch: the torch device).
type benchAdapter struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"`
	Backend    string            `json:"backend"`
	Type       string            `json:"type"`
	Vendor     uint32            `json:"vendor"`
	Software   bool              `json:"software"`
	Timestamps bool              `json:"timestamps"`
	Limits     map[string]uint64 `json:"limits"`
}

// benchSettings records what was asked for.
type benchSettings struct {
	Quick     bool     `json:"quick"`
	Reps      int      `json:"reps"`
	Warmup    int      `json:"warmup"`
	RowTimeS  float64  `json:"row_time_s"`
	OpSize    int      `json:"op_size"`
	Sizes     []int    `json:"sizes"`
	Seed      int64    `json:"seed"`
	Parts     []string `json:"parts"`
	Preset    string   `json:"preset"`
	Precision string   `json:"precision"`
	Unfused   bool     `json:"unfused,omitempty"` // -unfused: loss gradients not fused into the conv backward
}

// benchHost is the machine that ran the bench.
type benchHost struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// benchPeak is the measured roofline.
type benchPeak struct {
	FMAGflops    *float64 `json:"fma_gflops"`
	BandwidthGBs *float64 `json:"bandwidth_gbs"`
}

// benchRow is one timed thing. Numbers that do not apply are null.
type benchRow struct {
	Name     string   `json:"name"` // unique and stable: -compare matches on it
	Kind     string   `json:"kind"` // "op", "iteration" or "peak"
	Size     int      `json:"size"` // image side at VGG19's first block (0 for peak rows)
	Shape    string   `json:"shape"`
	MSMedian *float64 `json:"ms_median"`
	MSMin    *float64 `json:"ms_min"`
	MSMax    *float64 `json:"ms_max"`
	GFlop    *float64 `json:"gflop"`
	TFlops   *float64 `json:"tflops"`
	GBs      *float64 `json:"gbs"`
	PctPeak  *float64 `json:"pct_peak"`
	Bound    string   `json:"bound"` // "flop" or "memory": which peak pct_peak is taken against
	Reps     int      `json:"reps"`  // timed samples behind the median
	MemBytes *int64   `json:"mem_bytes"`
	Skipped  bool     `json:"skipped"`
	Reason   string   `json:"reason"`
}

// benchCompare is the result of -compare.
type benchCompare struct {
	File        string       `json:"file"`
	Adapter     string       `json:"adapter"`
	Tool        string       `json:"tool"`
	Threshold   float64      `json:"threshold"` // a ratio above 1+threshold is a regression
	Rows        []benchRatio `json:"rows"`
	Regressions int          `json:"regressions"`
	OnlyOld     []string     `json:"only_old"` // rows the old report has and this one does not
}

// benchRatio compares one row: new time ÷ old time for the same work, so
// above 1 is slower.
type benchRatio struct {
	Name       string  `json:"name"`
	Ratio      float64 `json:"ratio"`
	Regression bool    `json:"regression"`
}

func f64p(v float64) *float64 { return &v }

// benchRatioOf compares row n with the old row o. Peak rows, whose work is
// calibrated per device, compare throughput; others compare the median ms.
func benchRatioOf(o, n benchRow) (float64, bool) {
	if o.Skipped || n.Skipped || o.MSMedian == nil || n.MSMedian == nil || *o.MSMedian <= 0 || *n.MSMedian <= 0 {
		return 0, false
	}
	if n.Kind == "peak" {
		if o.TFlops != nil && n.TFlops != nil && *n.TFlops > 0 {
			return *o.TFlops / *n.TFlops, true
		}
		if o.GBs != nil && n.GBs != nil && *n.GBs > 0 {
			return *o.GBs / *n.GBs, true
		}
	}
	return *n.MSMedian / *o.MSMedian, true
}

// loadBenchReport reads a report written by -json (or by pytorch_ref.py).
func loadBenchReport(path string) (*benchReport, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r benchReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a bench report: %w", path, err)
	}
	if r.Schema != benchSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, benchSchema)
	}
	return &r, nil
}

// benchCompareReports matches rows by name and flags those slower than
// 1+threshold times the old ones.
func benchCompareReports(old, cur *benchReport, file string, threshold float64) *benchCompare {
	c := &benchCompare{File: file, Adapter: old.Adapter.Name, Tool: old.Tool, Threshold: threshold, Rows: []benchRatio{}, OnlyOld: []string{}}
	have := map[string]bool{}
	byName := map[string]benchRow{}
	for _, r := range old.Rows {
		byName[r.Name] = r
	}
	for _, r := range cur.Rows {
		have[r.Name] = true
		o, ok := byName[r.Name]
		if !ok {
			continue
		}
		ratio, ok := benchRatioOf(o, r)
		if !ok {
			continue
		}
		reg := ratio > 1+threshold
		if reg {
			c.Regressions++
		}
		c.Rows = append(c.Rows, benchRatio{Name: r.Name, Ratio: ratio, Regression: reg})
	}
	for _, r := range old.Rows {
		if !have[r.Name] {
			c.OnlyOld = append(c.OnlyOld, r.Name)
		}
	}
	return c
}

// Table layout.
const benchTableHead = "%-35s %-26s %10s %10s %10s %9s %9s %8s %6s"

func benchTableHeader(w io.Writer, compare bool) {
	line := fmt.Sprintf(benchTableHead, "name", "shape", "ms med", "min", "max", "GFLOP", "TFLOP/s", "GB/s", "%peak")
	if compare {
		line += "  vs old"
	}
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, strings.Repeat("-", len(line)))
}

func benchFmt(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	x := *v
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return fmt.Sprint(x)
	case x == 0:
		return "0"
	case math.Abs(x) >= 1e5:
		return fmt.Sprintf("%.0f", x)
	}
	// prec significant digits, never in exponent form.
	digits := prec - 1 - int(math.Floor(math.Log10(math.Abs(x))))
	return fmt.Sprintf("%.*f", max(digits, 0), x)
}

// benchTableLine renders one row; ratio is nil without -compare.
func benchTableLine(r benchRow, ratio *benchRatio, threshold float64) string {
	shape := r.Shape
	if r.Skipped {
		return fmt.Sprintf("%-35s %-26s skipped: %s", r.Name, shape, r.Reason)
	}
	pct := "-"
	if r.PctPeak != nil {
		pct = fmt.Sprintf("%.1f", *r.PctPeak)
	}
	line := fmt.Sprintf(benchTableHead, r.Name, shape, benchFmt(r.MSMedian, 4), benchFmt(r.MSMin, 4), benchFmt(r.MSMax, 4),
		benchFmt(r.GFlop, 4), benchFmt(r.TFlops, 3), benchFmt(r.GBs, 3), pct)
	if ratio != nil {
		line += fmt.Sprintf("  %.2fx", ratio.Ratio)
		if ratio.Regression {
			line += fmt.Sprintf(" REGRESSION (>%.0f%% slower)", threshold*100)
		}
	}
	return line
}

// benchSummary prints the lines after the table.
func benchSummary(w io.Writer, r *benchReport) {
	fmt.Fprintln(w)
	if r.StartupMS != nil {
		fmt.Fprintf(w, "startup: %.0f ms from process start to the first iteration done (device, synthetic weights, pipelines, targets, one iteration)\n", *r.StartupMS)
	}
	fmt.Fprintf(w, "peak GPU memory held by our buffers: %.1f MiB\n", float64(r.PeakMemBytes)/(1<<20))
	if r.Compare == nil {
		return
	}
	c := r.Compare
	fmt.Fprintf(w, "compared with %s (%s on %s): %d rows matched, %d slower by more than %.0f%%",
		c.File, c.Tool, c.Adapter, len(c.Rows), c.Regressions, c.Threshold*100)
	if len(c.Rows) > 0 {
		ratios := make([]float64, len(c.Rows))
		for i, x := range c.Rows {
			ratios[i] = x.Ratio
		}
		sort.Float64s(ratios)
		med := ratios[len(ratios)/2]
		if len(ratios)%2 == 0 {
			med = (ratios[len(ratios)/2-1] + med) / 2
		}
		fmt.Fprintf(w, "; ratio new/old median %.2f (min %.2f, max %.2f)", med, ratios[0], ratios[len(ratios)-1])
	}
	fmt.Fprintln(w)
	if len(c.OnlyOld) > 0 {
		fmt.Fprintf(w, "  %d rows only in the old report (not run now): %s\n", len(c.OnlyOld), strings.Join(benchFirst(c.OnlyOld, 6), ", "))
	}
}

func benchFirst(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string(nil), s[:n]...), fmt.Sprintf("... (%d more)", len(s)-n))
}

// benchRegressionError is returned under -fail-on-regression.
type benchRegressionError struct {
	names     []string
	threshold float64
}

func (e *benchRegressionError) Error() string {
	return fmt.Sprintf("bench: %d rows are more than %.0f%% slower than the compared report: %s",
		len(e.names), e.threshold*100, strings.Join(benchFirst(e.names, 8), ", "))
}
