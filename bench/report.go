package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// Schema names the JSON layout that `stylize bench -json` and
// bench/pytorch_ref.py both print. Fields are only ever added to it; a
// change to the meaning of one bumps the version.
const Schema = "stylize-bench/1"

// Report is a whole bench: what ran where, the roofline and every row.
type Report struct {
	Schema           string             `json:"schema"`
	Tool             string             `json:"tool"` // "stylize" or "pytorch"
	Adapter          Adapter            `json:"adapter"`
	Timing           string             `json:"timing"` // "gpu-timestamps" or "wall-clock"
	Weights          string             `json:"weights"`
	SyntheticWeights bool               `json:"synthetic_weights"`
	Config           Settings           `json:"config"`
	Peak             Peak               `json:"peak"`
	Rows             []Row              `json:"rows"`
	StartupMS        *float64           `json:"startup_ms"` // process start to the first iteration done
	StartupParts     map[string]float64 `json:"startup_parts_ms,omitempty"`
	PeakMemBytes     int64              `json:"peak_mem_bytes"` // high-water mark of our GPU buffers
	Host             Host               `json:"host"`
	Started          string             `json:"started"` // RFC 3339
	Compare          *Comparison        `json:"compare,omitempty"`
}

// Adapter describes the GPU (for PyTorch: the torch device).
type Adapter struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"`
	Backend    string            `json:"backend"`
	Type       string            `json:"type"`
	Vendor     uint32            `json:"vendor"`
	Software   bool              `json:"software"`
	Timestamps bool              `json:"timestamps"`
	Limits     map[string]uint64 `json:"limits"`
}

// Settings records what was asked for.
type Settings struct {
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
	// Kernels says where the rows' kernel plans come from: the unlabelled
	// rows' always the heuristic's, the labelled ones' the other Kernels.
	Kernels string `json:"kernels,omitempty"`
}

// Host is the machine that ran the bench.
type Host struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// Peak is the measured roofline; a ceiling not measured is nil.
type Peak struct {
	FMAGflops    *float64 `json:"fma_gflops"`
	BandwidthGBs *float64 `json:"bandwidth_gbs"`
}

// Row is one timed thing. Numbers that do not apply are nil (null).
type Row struct {
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

// f64p returns a pointer to a copy of v, for the numbers that may be null.
func f64p(v float64) *float64 { return &v }

// LoadReport reads a report written by `stylize bench -json` (or by
// pytorch_ref.py), refusing any other schema.
func LoadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a bench report: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}

// JSON returns the report as indented JSON ending in a newline, as
// `stylize bench -json` prints it.
func (r *Report) JSON() ([]byte, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// skip marks r skipped, with the reason.
func (r *Row) skip(reason string) {
	r.Skipped = true
	r.Reason = reason
}

// Finish fills r's numbers from its samples (ms), the work it did (FLOPs
// and compulsory bytes, 0 when they do not apply) and the roofline peak:
// the median, min and max, the rates, and for rows other than peak rows
// the %peak against the ceiling that bounds the work. Without a usable
// sample r is marked skipped.
func (r *Row) Finish(samples []float64, flops, bytes float64, peak Peak) {
	if len(samples) == 0 {
		r.skip("no samples")
		return
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	if s[0] <= 0 || math.IsNaN(s[0]) || math.IsInf(s[len(s)-1], 0) {
		r.skip(fmt.Sprintf("the timer returned a non-positive or non-finite time (%v ms); try -timing wall", s[0]))
		return
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r.MSMedian, r.MSMin, r.MSMax = f64p(med), f64p(s[0]), f64p(s[len(s)-1])
	r.Reps = len(s)
	sec := med / 1e3
	if flops > 0 {
		r.GFlop = f64p(flops / 1e9)
		r.TFlops = f64p(flops / 1e12 / sec)
	}
	if bytes > 0 {
		r.GBs = f64p(bytes / 1e9 / sec)
	}
	if r.Kind == "peak" {
		return
	}
	// Roofline: the time the better of the two ceilings allows, over the time taken.
	var ideal float64
	tFlop, tMem := 0.0, 0.0
	if flops > 0 && peak.FMAGflops != nil {
		tFlop = flops / (*peak.FMAGflops * 1e9)
	}
	if bytes > 0 && peak.BandwidthGBs != nil {
		tMem = bytes / (*peak.BandwidthGBs * 1e9)
	}
	switch {
	case flops > 0 && bytes > 0 && peak.FMAGflops != nil && peak.BandwidthGBs != nil:
		r.Bound = "flop"
		if tMem > tFlop {
			r.Bound = "memory"
		}
		ideal = math.Max(tFlop, tMem)
	case flops > 0:
		r.Bound, ideal = "flop", tFlop
	case bytes > 0:
		r.Bound, ideal = "memory", tMem
	}
	if ideal > 0 {
		r.PctPeak = f64p(100 * ideal / sec)
	}
}
