package bench

import (
	"errors"
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/shaders"
)

// The roofline microkernels measure this machine's own ceilings, as vkpeak
// and clpeak do: fp32 FMA throughput and memory bandwidth. Their WGSL is
// shaders/roofline_fma.wgsl, roofline_copy.wgsl and roofline_read.wgsl,
// rendered with every constant a literal (wgpu 0.17's naga accepts no
// constant expressions).

// fmaAcc is the number of independent vec4 accumulators per invocation,
// fmaUnroll the FMAs per accumulator per loop trip, fmaIters the loop
// trips: each invocation does fmaAcc·fmaUnroll·fmaIters vec4 FMAs (8 FLOP
// each). wg is the microkernels' workgroup size.
const (
	fmaAcc    = 8
	fmaUnroll = 4
	fmaIters  = 256
	wg        = 256
)

// bwPer is the vec4 each bandwidth invocation moves.
const bwPer = 8

// fmaSlots declares the FMA kernel's bindings, once: the chains'
// parameters p and the output of the guarded store.
func fmaSlots(p, out *gpu.Buffer) gpu.Slots {
	return gpu.Slots{
		{Name: "p", Access: gpu.In, Buf: p, Elem: "vec4<f32>", Note: "m, c, and a value the sum never equals"},
		{Name: "out", Access: gpu.Out, Buf: out, Elem: "vec4<f32>"},
	}
}

// fmaSource renders the FMA-throughput kernel with the declarations of s.
func fmaSource(s gpu.Slots) (string, error) {
	decl, err := s.WGSL()
	if err != nil {
		return "", err
	}
	off := make([]string, fmaAcc)
	for a := range off {
		off[a] = fmt.Sprintf("%.2f", float64(a)*0.01)
	}
	return shaders.Render("roofline_fma.wgsl", struct {
		WG, Iters, Unroll int
		Offsets           []string
		Bindings          string
	}{wg, fmaIters, fmaUnroll, off, decl})
}

// fmaFlopsPerGroup is the FLOP count of one workgroup of the FMA kernel.
func fmaFlopsPerGroup() float64 {
	return float64(wg) * fmaAcc * fmaUnroll * fmaIters * 8
}

// slots declares the bandwidth kernel's bindings, once: the source it
// reads and the buffer it writes.
func (k *bandwidthKernel) slots(src, out *gpu.Buffer) gpu.Slots {
	return gpu.Slots{
		{Name: "src", Access: gpu.In, Buf: src, Elem: "vec4<f32>"},
		{Name: k.outVar, Access: gpu.Out, Buf: out, Elem: "vec4<f32>"},
	}
}

// bandwidthSource renders roofline_copy.wgsl or roofline_read.wgsl with
// the declarations of s.
func bandwidthSource(file string, s gpu.Slots) (string, error) {
	decl, err := s.WGSL()
	if err != nil {
		return "", err
	}
	at := make([]string, bwPer)
	for k := range at {
		switch k {
		case 0:
			at[k] = "i"
		case 1:
			at[k] = "i + t"
		default:
			at[k] = fmt.Sprintf("i + %du * t", k)
		}
	}
	return shaders.Render(file, struct {
		WG, Per  int
		At       []string
		Bindings string
	}{wg, bwPer, at, decl})
}

// grid2 splits n workgroups (a power of two, or any count up to the
// per-dimension limit) into an x·y grid that covers exactly n when n is a
// power of two.
func grid2(n, lim int) (x, y uint32) {
	gx := min(n, 32768, lim)
	gy := (n + gx - 1) / gx
	return uint32(gx), uint32(gy)
}

// Roofline measures the FMA peak (the grid grown until one dispatch takes
// targetMS) and the memory bandwidth (buffers of up to bandwidthBytes) and
// returns the peak and the three rows. A row that failed is skipped with
// the reason; err is the error that skipped a row, a lost device's first,
// after which the rows not yet measured are skipped with it.
func Roofline(s *Sampler, targetMS float64, bandwidthBytes int) (Peak, []Row, error) {
	fma, err := PeakFMA(s, targetMS)
	var bw []Row
	if errors.Is(err, gpu.ErrDeviceLost) {
		bw = skippedBandwidthRows(err)
	} else {
		var bwErr error
		bw, bwErr = PeakBandwidth(s, bandwidthBytes)
		err = worse(err, bwErr)
	}
	rows := append([]Row{fma}, bw...)
	return peakOf(rows), rows, err
}

// peakOf reads the roofline off its rows: the FMA row's throughput and
// the better bandwidth row's.
func peakOf(rows []Row) Peak {
	var p Peak
	var best float64
	for _, r := range rows {
		switch {
		case r.Name == "peak.fma" && r.TFlops != nil:
			p.FMAGflops = f64p(*r.TFlops * 1e3)
		case r.Kind == "peak" && r.Bound == "memory" && r.GBs != nil:
			best = math.Max(best, *r.GBs)
		}
	}
	if best > 0 {
		p.BandwidthGBs = &best
	}
	return p
}

// worse returns the error to report of two: a lost device's, else the first.
func worse(a, b error) error {
	if a == nil || (b != nil && errors.Is(b, gpu.ErrDeviceLost) && !errors.Is(a, gpu.ErrDeviceLost)) {
		return b
	}
	return a
}

// PeakFMA times the FMA microkernel, growing its grid until one dispatch
// takes targetMS, and returns the peak.fma row (skipped, with err, if it
// failed).
func PeakFMA(s *Sampler, targetMS float64) (Row, error) {
	row := Row{Name: "peak.fma", Kind: "peak", Bound: "flop"}
	fail := func(err error) (Row, error) {
		row.skip(err.Error())
		return row, err
	}
	d := s.d
	p, err := d.NewBuffer("bench.fma.p", gpu.F32, 12)
	if err != nil {
		return fail(err)
	}
	defer p.Release()
	if err := p.Write([]float32{0.9999, 0.9999, 0.9999, 0.9999, 1e-4, 1e-4, 1e-4, 1e-4, -1e-30, 0, 0, 0}); err != nil {
		return fail(err)
	}
	out, err := d.NewBuffer("bench.fma.out", gpu.F32, wg*4)
	if err != nil {
		return fail(err)
	}
	defer out.Release()
	sl := fmaSlots(p, out)
	src, err := fmaSource(sl)
	if err != nil {
		return fail(err)
	}
	bd, err := d.BindSlots("bench.fma", src, "fma_peak", sl)
	if err != nil {
		return fail(err)
	}
	defer bd.Release()
	lim := int(d.Limits().MaxComputeWorkgroupsPerDimension)
	groups := 64
	run := func() (float64, error) {
		x, y := grid2(groups, lim)
		return s.Time(func(e *gpu.Encoder) error { return e.Dispatch(bd, x, y, 1) })
	}
	// Calibrate: grow the grid until one dispatch takes the target time.
	ms, err := run()
	if err != nil {
		return fail(err)
	}
	maxGroups := min(lim, 32768) * min(lim, 32768)
	for ms < targetMS && groups < maxGroups {
		f := math.Ceil(targetMS / math.Max(ms, 1e-3))
		mul := 2
		for mul < int(f) && mul < 64 {
			mul *= 2
		}
		groups = min(groups*mul, maxGroups)
		if ms, err = run(); err != nil {
			return fail(err)
		}
	}
	x, y := grid2(groups, lim)
	flops := float64(int(x)*int(y)) * fmaFlopsPerGroup()
	row.Shape = fmt.Sprintf("%d WG x %d, %dk vec4 FMA", int(x)*int(y), wg, fmaAcc*fmaUnroll*fmaIters/1024)
	samples, err := s.Repeat(run)
	if err != nil {
		return fail(err)
	}
	row.Finish(samples, flops, 0, Peak{})
	if row.TFlops != nil {
		row.PctPeak = f64p(100)
	}
	return row, nil
}

// bandwidthKernel is one bandwidth microkernel and the row it fills.
type bandwidthKernel struct {
	row                       Row
	file, name, entry, output string
	outVar                    string  // the WGSL variable it writes
	outputLen                 int     // f32 in the buffer it writes
	bytes                     float64 // the bytes one dispatch moves
}

// bandwidthKernels are the copy and the read kernels over size bytes.
func bandwidthKernels(size uint64) []bandwidthKernel {
	return []bandwidthKernel{
		{Row{Name: "peak.bandwidth.copy", Kind: "peak", Bound: "memory", Shape: fmt.Sprintf("%d MiB -> %d MiB", size>>20, size>>20)},
			"roofline_copy.wgsl", "bench.copy", "copy", "bench.bw.dst", "dst", int(size / 4), 2 * float64(size)},
		{Row{Name: "peak.bandwidth.read", Kind: "peak", Bound: "memory", Shape: fmt.Sprintf("%d MiB", size>>20)},
			"roofline_read.wgsl", "bench.read", "read_sum", "bench.bw.out", "out", wg * 4, float64(size)},
	}
}

// skippedBandwidthRows are the bandwidth rows, skipped because of err.
func skippedBandwidthRows(err error) []Row {
	var rows []Row
	for _, k := range bandwidthKernels(0) {
		k.row.Shape = ""
		k.row.skip(err.Error())
		rows = append(rows, k.row)
	}
	return rows
}

// PeakBandwidth times the copy and read microkernels over a buffer of up
// to maxBytes (capped by the device's limits) and returns their rows, each
// with its %peak against the better of the two. err is the error that
// skipped a row, a lost device's first.
func PeakBandwidth(s *Sampler, maxBytes int) ([]Row, error) {
	d := s.d
	lim := d.Limits()
	size := min(uint64(maxBytes), lim.MaxStorageBufferBindingSize, lim.MaxBufferSize)
	unit := uint64(16 * wg * bwPer) // whole workgroups of bwPer vec4 per invocation
	size = size / unit * unit
	if size == 0 {
		err := fmt.Errorf("the device's buffer limits leave no room for a bandwidth buffer")
		return skippedBandwidthRows(err), err
	}
	src, err := d.NewBuffer("bench.bw.src", gpu.F32, int(size/4))
	if err != nil {
		return skippedBandwidthRows(err), err
	}
	defer src.Release()
	groups := int(size/16) / bwPer / wg
	var rows []Row
	var firstErr error
	for _, k := range bandwidthKernels(size) {
		if err := k.time(s, src, groups); err != nil {
			k.row.skip(err.Error())
			firstErr = worse(firstErr, err)
		}
		rows = append(rows, k.row)
	}
	if p := peakOf(rows); p.BandwidthGBs != nil {
		for i := range rows {
			if rows[i].GBs != nil {
				rows[i].PctPeak = f64p(100 * *rows[i].GBs / *p.BandwidthGBs)
			}
		}
	}
	return rows, firstErr
}

// time dispatches k over src in groups workgroups and fills k.row.
func (k *bandwidthKernel) time(s *Sampler, src *gpu.Buffer, groups int) error {
	d := s.d
	out, err := d.NewBuffer(k.output, gpu.F32, k.outputLen)
	if err != nil {
		return err
	}
	defer out.Release()
	sl := k.slots(src, out)
	text, err := bandwidthSource(k.file, sl)
	if err != nil {
		return err
	}
	bd, err := d.BindSlots(k.name, text, k.entry, sl)
	if err != nil {
		return err
	}
	defer bd.Release()
	x, y := grid2(groups, int(d.Limits().MaxComputeWorkgroupsPerDimension))
	samples, err := s.Repeat(func() (float64, error) {
		return s.Time(func(e *gpu.Encoder) error { return e.Dispatch(bd, x, y, 1) })
	})
	if err != nil {
		return err
	}
	k.row.Finish(samples, 0, k.bytes, Peak{})
	return nil
}
