package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/stylize/stylize/gpu"
)

// Run benchmarks d as o says and returns the report, printing the table
// to o.Log as the rows finish. The startup figure comes first when
// iterations are asked for (the first size that fits, before anything
// else compiles a pipeline), then the roofline, the op rows and the
// iteration rows. A row that fails is skipped with the reason and the
// bench goes on. Rows that would start once ctx is done are skipped.
//
// The error is nil, or o's or the timing's setup error with no report,
// or with the full report: the error of a lost device (the rows after it
// are skipped), else ctx's.
func Run(ctx context.Context, d *gpu.Device, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	b := &runner{ctx: ctx, o: o, d: d, began: time.Now(), start: o.Start, log: o.Log, net: &synthNet{d: d, seed: o.Seed}}
	if b.start.IsZero() {
		b.start = b.began
	}
	if b.log == nil {
		b.log = io.Discard
	}
	var err error
	if b.s, err = NewSampler(d, o); err != nil {
		return nil, err
	}
	defer b.s.Release()
	defer b.net.release()
	b.rep = newReport(d, o, b.s.Timestamps(), b.began)
	var cmp *Comparison
	if o.Compare != nil {
		cmp = &Comparison{File: o.CompareFile, Tool: o.Compare.Tool, Adapter: o.Compare.Adapter.Name, Threshold: o.Threshold}
	}
	writeHeader(b.log, b.rep, o.Timing == "wall", cmp)
	if o.has("iter") {
		b.startup()
	}
	if o.has("peak") {
		b.roofline()
	}
	if o.has("ops") {
		b.ops()
	}
	if o.has("iter") {
		b.iterations()
	}
	b.cold.release()
	_, b.rep.PeakMemBytes = d.MemoryBytes()
	if o.Compare != nil {
		b.rep.Compare = Compare(o.Compare, b.rep, o.CompareFile, o.Threshold)
	}
	writeSummary(b.log, b.rep)
	if b.lost != nil {
		return b.rep, b.lost
	}
	return b.rep, ctx.Err()
}

// runner is one Run in progress.
type runner struct {
	ctx   context.Context
	o     Options
	d     *gpu.Device
	s     *Sampler
	rep   *Report
	log   io.Writer // the table
	start time.Time // the process's start
	began time.Time // Run's start, which -budget counts from
	lost  error     // the device was lost: skip the rest
	net   *synthNet
	cold  *engine // the engine that measured the startup, kept for its row
}

// newReport is the report before any row, saying what runs where.
func newReport(d *gpu.Device, o Options, timestamps bool, began time.Time) *Report {
	l := d.Limits()
	r := &Report{
		Schema: Schema, Tool: "stylize", Timing: "wall-clock",
		Adapter: Adapter{
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
		},
		Weights:          fmt.Sprintf("synthetic VGG19 (He-initialised, widths 64,128,256,512,512, seed %d); not trained, which does not change timing", o.Seed),
		SyntheticWeights: true,
		Config: Settings{Unfused: o.Unfused, Quick: o.Quick, Reps: o.Reps, Warmup: o.Warmup, RowTimeS: o.RowTime.Seconds(), OpSize: o.OpSize,
			Sizes: o.Sizes, Seed: o.Seed, Parts: o.Parts, Preset: "seed: content relu5_2, style relu1_1..relu5_1, weights 1e4/1e-2, Keras Adam lr 0.02 b1 0.99 b2 0.999 eps 0.1, max pool, caffe preprocessing", Precision: "fp32", Kernels: kernelsName(o)},
		Rows:    []Row{},
		Host:    Host{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Started: began.UTC().Format(time.RFC3339),
	}
	if timestamps {
		r.Timing = "gpu-timestamps"
	}
	return r
}

// emit records a finished row and prints it.
func (b *runner) emit(r Row) {
	b.rep.Rows = append(b.rep.Rows, r)
	fmt.Fprintln(b.log, tableLine(r, ratioWith(b.o.Compare, r, b.o.Threshold), b.o.Threshold))
}

// note remembers err if it says the device was lost.
func (b *runner) note(err error) {
	if errors.Is(err, gpu.ErrDeviceLost) && b.lost == nil {
		b.lost = err
	}
}

// skip marks r skipped because of err; a lost device stops the bench.
func (b *runner) skip(r *Row, err error) {
	r.skip(err.Error())
	b.note(err)
}

// notRun marks r skipped, without running it, if the device was lost
// earlier, ctx is done or the bench has run past its budget.
func (b *runner) notRun(r *Row) bool {
	switch {
	case b.lost != nil:
		r.skip("not run: the device was lost earlier")
	case b.ctx.Err() != nil:
		r.skip(fmt.Sprintf("not run: %v", b.ctx.Err()))
	case b.o.Budget > 0 && time.Since(b.began) >= b.o.Budget:
		r.skip(fmt.Sprintf("not run: the bench passed its -budget of %s", b.o.Budget))
	default:
		return false
	}
	return true
}

// stopped is why the roofline's rows are not run: the device was lost
// (they say its error) or ctx is done; nil if neither.
func (b *runner) stopped() error {
	if b.lost != nil {
		return b.lost
	}
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("not run: %w", err)
	}
	return nil
}

// roofline measures the peaks and prints their rows.
func (b *runner) roofline() {
	writeSection(b.log, sectionPeak)
	fma := Row{Name: "peak.fma", Kind: "peak", Bound: "flop"}
	if err := b.stopped(); err != nil {
		fma.skip(err.Error())
	} else {
		fma, err = PeakFMA(b.s, b.o.PeakMS)
		b.note(err)
	}
	b.rep.Peak.FMAGflops = peakOf([]Row{fma}).FMAGflops
	b.emit(fma)
	var bw []Row
	if err := b.stopped(); err != nil {
		bw = skippedBandwidthRows(err)
	} else {
		bw, err = PeakBandwidth(b.s, b.o.BandwidthBytes)
		b.note(err)
	}
	b.rep.Peak.BandwidthGBs = peakOf(bw).BandwidthGBs
	for _, r := range bw {
		b.emit(r)
	}
	writeRidge(b.log, b.rep.Peak)
}

// ops times each op of an iteration at VGG19's layer shapes.
func (b *runner) ops() {
	s := b.o.OpSize
	writeSection(b.log, fmt.Sprintf(sectionOps, s, s))
	specs, err := OpSpecs(b.d, s, b.net.get, b.o.Kernels, b.o.KernelsLabel)
	if err != nil {
		r := Row{Name: fmt.Sprintf("ops/%d", s), Kind: "op", Size: s}
		b.skip(&r, err)
		b.emit(r)
		return
	}
	for _, spec := range specs {
		r := spec.row()
		if !b.notRun(&r) {
			r, err = TimeOp(b.s, spec, b.rep.Peak)
			b.note(err)
		}
		b.emit(r)
	}
}

// kernelsName says where the rows' kernel plans come from.
func kernelsName(o Options) string {
	if o.Kernels == nil {
		return "heuristic"
	}
	return fmt.Sprintf("heuristic; rows labelled .%s: %s", o.KernelsLabel, o.Kernels.Name())
}
