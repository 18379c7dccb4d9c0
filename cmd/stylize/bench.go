package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/vgg"
)

// benchProcessStart is taken when the package initialises, as close to the
// process's start as Go lets us: the startup figure counts from here.
var benchProcessStart = time.Now()

const benchUsage = `Usage: stylize bench [flags]

Benchmarks this GPU on the style-transfer workload, to compare GPUs:
  1. the adapter (name, driver, backend, type, limits);
  2. its own roofline, measured with microkernels: peak fp32 FMA throughput
     and memory bandwidth (copy and read);
  3. each op of an iteration at VGG19's layer shapes for an -op-size image:
     conv3x3 forward and backward_input, max-pool forward and backward,
     Gram, style loss, content loss, Adam (and the TV loss);
  4. full iterations (forward to relu5_2, the seed's losses, backward,
     Keras Adam) at each of -sizes; sizes that cannot fit are skipped.
Weights are SYNTHETIC (He-initialised VGG19 shapes): timing does not depend
on their values. Times are GPU timestamps where the adapter has them (else
wall clock around submit and wait), the median, min and max of -reps
samples after -warmup; a row stops repeating once its samples pass -row-time.
%peak is against the measured roofline: FLOP-bound rows against the FMA
peak, memory-bound rows against the bandwidth.

Examples:
  stylize bench                          all of it, iterations at 256..2048
  stylize bench -quick                   small sizes, for software GPUs and CI
  stylize bench -sizes 512 -only iter    one iteration size
  stylize bench -json > gpu.json         machine-readable (schema stylize-bench/1)
  stylize bench -compare old.json -fail-on-regression

Flags:
`

// benchConfig is the parsed flags.
type benchConfig struct {
	quick            bool
	reps, warmup     int
	rowTime          time.Duration
	budget           time.Duration
	opSize           int
	sizes            []int
	seed             int64
	parts            []string
	timing           string
	device           string
	jsonOut          bool
	outFile          string
	compare          string
	failOnRegression bool
	threshold        float64
	peakMS           float64 // target time of one FMA dispatch
	unfused          bool    // transfer.Config.Unfused for the iteration rows
	bwBytes          int     // bandwidth buffer size
}

func (c *benchConfig) has(part string) bool {
	for _, p := range c.parts {
		if p == part {
			return true
		}
	}
	return false
}

// benchParseSizes parses a comma list of image sides.
func benchParseSizes(s string) ([]int, error) {
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
		if v < 16 {
			return nil, fmt.Errorf("-sizes: %d is below 16, the smallest side that reaches relu5_2", v)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-sizes: no sizes in %q", s)
	}
	return out, nil
}

func benchParseParts(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "":
			continue
		case "peak", "ops", "iter":
			out = append(out, f)
		default:
			return nil, fmt.Errorf("-only: unknown part %q (want peak, ops, iter)", f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-only: nothing to run")
	}
	return out, nil
}

func benchFlags(args []string, stderr io.Writer) (*benchConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &benchConfig{}
	fs.BoolVar(&c.quick, "quick", false, "small and fast (ops at 32 px, iterations at 32 and 64, 2 reps, 2s a row): for software GPUs and CI")
	fs.IntVar(&c.reps, "reps", 10, "timed samples per row, at most (see -row-time)")
	fs.IntVar(&c.warmup, "warmup", 1, "untimed runs before a row's samples")
	fs.DurationVar(&c.rowTime, "row-time", 10*time.Second, "stop sampling a row once its samples add up to this (at least one sample)")
	fs.DurationVar(&c.budget, "budget", 0, "time limit: rows that would start after it, or iterations estimated to end after it, are skipped (0: none)")
	fs.IntVar(&c.opSize, "op-size", 512, "image side whose VGG19 layer shapes the op rows use")
	fs.IntVar(&c.opSize, "size", 512, "the same as -op-size (the flag's earlier name)")
	sizes := fs.String("sizes", "256,512,1024,2048", "iteration image sides, comma-separated")
	only := fs.String("only", "peak,ops,iter", "parts to run: peak (roofline), ops, iter (full iterations)")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the synthetic weights and images")
	fs.StringVar(&c.timing, "timing", "auto", "auto (GPU timestamps if available), gpu, or wall")
	fs.StringVar(&c.device, "device", "", "adapter index or name substring (default: STYLIZE_DEVICE, else the fastest)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON on stdout (schema stylize-bench/1); the table goes to stderr")
	fs.StringVar(&c.outFile, "o", "", "also write the JSON report to this file")
	fs.StringVar(&c.compare, "compare", "", "compare with an earlier -json report (or pytorch_ref.py's): ratio per row, matched by name")
	fs.BoolVar(&c.failOnRegression, "fail-on-regression", false, "with -compare, exit non-zero if a row is slower than the threshold")
	fs.BoolVar(&c.unfused, "unfused", false, "iterations with the loss gradients in passes of their own, not fused into the conv backward (to compare)")
	fs.Float64Var(&c.threshold, "threshold", 0.10, "with -compare, the slowdown that counts as a regression (0.10 = 10%)")
	fs.Usage = func() {
		io.WriteString(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench: unexpected argument %q (see stylize bench -h)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.peakMS, c.bwBytes = 50, 256<<20
	if c.quick {
		// -quick changes the defaults; flags given explicitly still win.
		if !set["reps"] {
			c.reps = 2
		}
		if !set["row-time"] {
			c.rowTime = 2 * time.Second
		}
		if !set["op-size"] && !set["size"] {
			c.opSize = 32
		}
		if !set["sizes"] {
			*sizes = "32,64"
		}
		c.peakMS, c.bwBytes = 10, 32<<20
	}
	var err error
	if c.sizes, err = benchParseSizes(*sizes); err != nil {
		return nil, err
	}
	if c.parts, err = benchParseParts(*only); err != nil {
		return nil, err
	}
	if c.reps < 1 || c.warmup < 0 {
		return nil, fmt.Errorf("bench: need -reps >= 1 and -warmup >= 0")
	}
	if c.opSize < 16 {
		return nil, fmt.Errorf("bench: -op-size %d is below 16, the smallest side that reaches relu5_2", c.opSize)
	}
	if c.timing != "auto" && c.timing != "gpu" && c.timing != "wall" {
		return nil, fmt.Errorf("bench: -timing %q: want auto, gpu or wall", c.timing)
	}
	if !(c.threshold >= 0) {
		return nil, fmt.Errorf("bench: -threshold must be >= 0")
	}
	if c.failOnRegression && c.compare == "" {
		return nil, fmt.Errorf("bench: -fail-on-regression needs -compare OLD.json")
	}
	return c, nil
}

// benchEnv is what the caller provides: where to write, when the process
// started, and optionally a device already open (tests share theirs).
type benchEnv struct {
	stdout, stderr io.Writer
	start          time.Time
	dev            *gpu.Device
}

// bench is `stylize bench`.
func bench(args []string) error {
	return runBench(args, benchEnv{stdout: os.Stdout, stderr: os.Stderr, start: benchProcessStart})
}

// benchRun is one bench in progress.
type benchRun struct {
	cfg    *benchConfig
	d      *gpu.Device
	timer  *gpu.Timer    // per-op GPU timing; nil: wall clock
	brk    *benchBracket // per-iteration GPU timing; nil: wall clock
	rep    *benchReport
	log    io.Writer // the table
	start  time.Time
	began  time.Time
	old    *benchReport
	ratios map[string]*benchRatio
	lost   error // the device was lost: skip the rest

	net      *vgg.Net
	netBytes int64
	opened   time.Time    // when the device was open
	cold     *benchEngine // the engine that measured the startup, kept for its row
}

func runBench(args []string, env benchEnv) error {
	cfg, err := benchFlags(args, env.stderr)
	if err != nil {
		return err
	}
	b := &benchRun{cfg: cfg, start: env.start, began: time.Now(), log: env.stdout}
	if cfg.jsonOut {
		b.log = env.stderr
	}
	if cfg.compare != "" {
		if b.old, err = loadBenchReport(cfg.compare); err != nil {
			return fmt.Errorf("bench: -compare: %w", err)
		}
	}
	d := env.dev
	if d == nil {
		if d, err = gpu.Open(gpu.Options{Adapter: cfg.device}); err != nil {
			return err
		}
		defer d.Close()
	}
	b.d = d
	b.opened = time.Now()
	if err := b.setupTiming(); err != nil {
		return err
	}
	defer b.releaseTiming()
	b.rep = &benchReport{
		Schema: benchSchema, Tool: "stylize", Adapter: benchAdapterOf(d), Timing: "wall-clock",
		Weights:          fmt.Sprintf("synthetic VGG19 (He-initialised, widths 64,128,256,512,512, seed %d); not trained, which does not change timing", cfg.seed),
		SyntheticWeights: true,
		Config: benchSettings{Unfused: cfg.unfused, Quick: cfg.quick, Reps: cfg.reps, Warmup: cfg.warmup, RowTimeS: cfg.rowTime.Seconds(), OpSize: cfg.opSize,
			Sizes: cfg.sizes, Seed: cfg.seed, Parts: cfg.parts, Preset: "seed: content relu5_2, style relu1_1..relu5_1, weights 1e4/1e-2, Keras Adam lr 0.02 b1 0.99 b2 0.999 eps 0.1, max pool, caffe preprocessing", Precision: "fp32"},
		Rows:    []benchRow{},
		Host:    benchHost{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Started: b.began.UTC().Format(time.RFC3339),
	}
	if b.timer != nil {
		b.rep.Timing = "gpu-timestamps"
	}
	b.header()
	defer func() {
		if b.net != nil {
			b.net.Release()
		}
	}()
	if cfg.has("iter") {
		b.startup()
	}
	if cfg.has("peak") {
		b.peak()
	}
	if cfg.has("ops") {
		b.ops()
	}
	if cfg.has("iter") {
		b.iterations()
	}
	b.cold.release()
	_, peakMem := d.MemoryBytes()
	b.rep.PeakMemBytes = peakMem
	if b.old != nil {
		b.rep.Compare = benchCompareReports(b.old, b.rep, cfg.compare, cfg.threshold)
	}
	benchSummary(b.log, b.rep)
	if cfg.jsonOut || cfg.outFile != "" {
		data, err := json.MarshalIndent(b.rep, "", "  ")
		if err != nil {
			return err
		}
		data = append(data, '\n')
		if cfg.jsonOut {
			if _, err := env.stdout.Write(data); err != nil {
				return err
			}
		}
		if cfg.outFile != "" {
			if err := os.WriteFile(cfg.outFile, data, 0o644); err != nil {
				return err
			}
		}
	}
	if b.lost != nil {
		return b.lost
	}
	if cfg.failOnRegression && b.rep.Compare != nil && b.rep.Compare.Regressions > 0 {
		e := &benchRegressionError{threshold: cfg.threshold}
		for _, r := range b.rep.Compare.Rows {
			if r.Regression {
				e.names = append(e.names, r.Name)
			}
		}
		return e
	}
	return nil
}

func benchAdapterOf(d *gpu.Device) benchAdapter {
	l := d.Limits()
	return benchAdapter{
		Name: d.Info.Name, Driver: d.Info.Driver, Backend: d.Info.Backend, Type: d.Info.Type, Vendor: d.Info.Vendor,
		Software: d.Info.Software, Timestamps: d.HasTimestamps(),
		Limits: map[string]uint64{
			"max_storage_buffer_binding_size":       l.MaxStorageBufferBindingSize,
			"max_buffer_size":                       l.MaxBufferSize,
			"max_compute_workgroup_storage_size":    uint64(l.MaxComputeWorkgroupStorageSize),
			"max_compute_invocations_per_workgroup": uint64(l.MaxComputeInvocationsPerWorkgroup),
			"max_compute_workgroup_size_x":          uint64(l.MaxComputeWorkgroupSizeX),
			"max_compute_workgroups_per_dimension":  uint64(l.MaxComputeWorkgroupsPerDimension),
			"max_storage_buffers_per_shader_stage":  uint64(l.MaxStorageBuffersPerShaderStage),
		},
	}
}

func (b *benchRun) setupTiming() error {
	switch {
	case b.cfg.timing == "wall":
		return nil
	case !b.d.HasTimestamps():
		if b.cfg.timing == "gpu" {
			return fmt.Errorf("bench: -timing gpu: %s offers no timestamp queries (use -timing wall)", b.d.Info.Name)
		}
		return nil
	}
	var err error
	if b.timer, err = b.d.NewTimer(1); err != nil {
		return err
	}
	if b.brk, err = newBenchBracket(b.d); err != nil {
		b.timer.Release()
		b.timer = nil
		return err
	}
	return nil
}

func (b *benchRun) releaseTiming() {
	if b.timer != nil {
		b.timer.Release()
	}
	b.brk.release()
}

func (b *benchRun) header() {
	d, w := b.d, b.log
	info := d.Info
	l := d.Limits()
	soft := ""
	if info.Software {
		soft = " (software: expect CPU speeds)"
	}
	fmt.Fprintf(w, "stylize bench\n")
	fmt.Fprintf(w, "adapter:  %s\n", info.Name)
	fmt.Fprintf(w, "  driver  %s\n", benchOr(info.Driver, "?"))
	fmt.Fprintf(w, "  backend %s, type %s%s, vendor 0x%04x\n", info.Backend, info.Type, soft, info.Vendor)
	fmt.Fprintf(w, "  limits  max storage binding %d MiB, max buffer %d MiB, workgroup storage %d KiB, %d invocations/workgroup, %d workgroups/dimension\n",
		l.MaxStorageBufferBindingSize>>20, l.MaxBufferSize>>20, l.MaxComputeWorkgroupStorageSize>>10, l.MaxComputeInvocationsPerWorkgroup, l.MaxComputeWorkgroupsPerDimension)
	clock := "wall clock around submit and wait (no GPU timestamps"
	if b.timer != nil {
		clock = "GPU timestamps (ticks taken as ns"
	}
	if b.cfg.timing == "wall" {
		clock = "wall clock around submit and wait (-timing wall"
	}
	fmt.Fprintf(w, "timing:   %s); median, min, max of up to %d samples after %d warm-up, a row stops sampling after %s\n", clock, b.cfg.reps, b.cfg.warmup, b.cfg.rowTime)
	fmt.Fprintf(w, "weights:  SYNTHETIC VGG19 (He-initialised, seed %d) - not trained; timing does not depend on weight values\n", b.cfg.seed)
	fmt.Fprintf(w, "settings: the seed's: content relu5_2, style relu1_1..relu5_1, Keras Adam, max pool, fp32\n")
	if b.old != nil {
		fmt.Fprintf(w, "compare:  %s (%s on %s); ratio = new time / old time for the same work, >%.2f flagged\n", b.cfg.compare, b.old.Tool, b.old.Adapter.Name, 1+b.cfg.threshold)
	}
	fmt.Fprintln(w)
	benchTableHeader(w, b.old != nil)
}

func benchOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (b *benchRun) section(title string) {
	fmt.Fprintf(b.log, "# %s\n", title)
}

func (b *benchRun) logf(format string, a ...any) {
	fmt.Fprintf(b.log, format, a...)
}

// emit records a finished row and prints it.
func (b *benchRun) emit(r benchRow) {
	b.rep.Rows = append(b.rep.Rows, r)
	var ratio *benchRatio
	if b.old != nil {
		for _, o := range b.old.Rows {
			if o.Name == r.Name {
				if v, ok := benchRatioOf(o, r); ok {
					ratio = &benchRatio{Name: r.Name, Ratio: v, Regression: v > 1+b.cfg.threshold}
				}
				break
			}
		}
	}
	fmt.Fprintln(b.log, benchTableLine(r, ratio, b.cfg.threshold))
}

// skip marks r skipped because of err; a lost device stops the bench.
func (b *benchRun) skip(r *benchRow, err error) {
	r.Skipped = true
	r.Reason = err.Error()
	if errors.Is(err, gpu.ErrDeviceLost) && b.lost == nil {
		b.lost = err
	}
}

// skipLost marks r skipped if the device was lost earlier.
func (b *benchRun) skipLost(r *benchRow) bool {
	if b.lost == nil {
		return false
	}
	r.Skipped = true
	r.Reason = "not run: the device was lost earlier"
	return true
}

// timeRecord runs what rec records as one command buffer and returns its
// time in ms: GPU timestamps around it, or wall clock from submit to idle.
func (b *benchRun) timeRecord(rec func(e *gpu.Encoder) error) (float64, error) {
	e, err := b.d.NewEncoder("bench")
	if err != nil {
		return 0, err
	}
	if b.timer != nil {
		if err := e.Mark(b.timer, "bench"); err != nil {
			e.Discard()
			return 0, err
		}
	}
	if err := rec(e); err != nil {
		e.Discard()
		return 0, err
	}
	start := time.Now()
	if err := e.Submit(); err != nil {
		return 0, err
	}
	if b.timer != nil {
		spans, err := b.timer.Spans()
		if err != nil {
			return 0, err
		}
		return spans[0].Ns / 1e6, nil
	}
	if err := b.d.Poll(); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Nanoseconds()) / 1e6, nil
}

// repeat runs fn -warmup times untimed, then up to -reps times, stopping
// once the samples add up to -row-time.
func (b *benchRun) repeat(fn func() (float64, error)) ([]float64, error) {
	for i := 0; i < b.cfg.warmup; i++ {
		if _, err := fn(); err != nil {
			return nil, err
		}
	}
	return b.sample(fn)
}

func (b *benchRun) sample(fn func() (float64, error)) ([]float64, error) {
	var out []float64
	total := 0.0
	for r := 0; r < b.cfg.reps; r++ {
		ms, err := fn()
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
		total += ms
		if total >= float64(b.cfg.rowTime.Milliseconds()) {
			break
		}
	}
	return out, nil
}

// finish fills r's numbers from its samples, the work (FLOPs, compulsory
// bytes; 0 when they do not apply) and the measured roofline.
func (b *benchRun) finish(r *benchRow, samples []float64, flops, bytes float64) {
	if len(samples) == 0 {
		r.Skipped, r.Reason = true, "no samples"
		return
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	if s[0] <= 0 || math.IsNaN(s[0]) || math.IsInf(s[len(s)-1], 0) {
		r.Skipped = true
		r.Reason = fmt.Sprintf("the timer returned a non-positive or non-finite time (%v ms); try -timing wall", s[0])
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
	p := b.rep.Peak
	var ideal float64
	tFlop, tMem := 0.0, 0.0
	if flops > 0 && p.FMAGflops != nil {
		tFlop = flops / (*p.FMAGflops * 1e9)
	}
	if bytes > 0 && p.BandwidthGBs != nil {
		tMem = bytes / (*p.BandwidthGBs * 1e9)
	}
	switch {
	case flops > 0 && bytes > 0 && p.FMAGflops != nil && p.BandwidthGBs != nil:
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
