package main

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
)

// The roofline microkernels measure this machine's own ceilings, as vkpeak
// and clpeak do: fp32 FMA throughput and memory bandwidth. Their WGSL is
// written here, with every constant a literal (wgpu 0.17's naga accepts no
// constant expressions).

// benchFMAAcc is the number of independent vec4 accumulators per invocation,
// benchFMAUnroll the FMAs per accumulator per loop trip, benchFMAIters the
// loop trips: each invocation does Acc·Unroll·Iters vec4 FMAs (8 FLOP each).
const (
	benchFMAAcc    = 8
	benchFMAUnroll = 4
	benchFMAIters  = 256
	benchWG        = 256
)

// benchFMASource returns the FMA-throughput kernel: long chains of
// independent vec4 fma on registers, no memory traffic but one guarded
// store that the compiler cannot prove dead.
func benchFMASource() string {
	s := "// bench.fma: peak fp32 FMA throughput (written by cmd/stylize/bench_roofline.go)\n"
	s += "@group(0) @binding(0) var<storage, read> p: array<vec4<f32>>;\n"
	s += "@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;\n\n"
	s += fmt.Sprintf("@compute @workgroup_size(%d)\n", benchWG)
	s += "fn fma_peak(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {\n"
	s += fmt.Sprintf("  let g = (wid.x + wid.y * nwg.x) * %du + lid;\n", benchWG)
	s += "  let m = p[0];\n  let c = p[1];\n"
	s += "  let s0 = vec4<f32>(f32(g & 1023u) * 0.0001, 0.1, 0.2, 0.3);\n"
	for a := 0; a < benchFMAAcc; a++ {
		s += fmt.Sprintf("  var a%d = s0 + vec4<f32>(%.2f);\n", a, float64(a)*0.01)
	}
	s += fmt.Sprintf("  for (var i = 0u; i < %du; i = i + 1u) {\n", benchFMAIters)
	for u := 0; u < benchFMAUnroll; u++ {
		s += "   "
		for a := 0; a < benchFMAAcc; a++ {
			s += fmt.Sprintf(" a%d = fma(a%d, m, c);", a, a)
		}
		s += "\n"
	}
	s += "  }\n  let r = a0"
	for a := 1; a < benchFMAAcc; a++ {
		s += fmt.Sprintf(" + a%d", a)
	}
	s += ";\n  if (r.x == p[2].x) { out[lid] = r; }\n}\n"
	return s
}

// benchFMAFlopsPerGroup is the FLOP count of one workgroup of the FMA kernel.
func benchFMAFlopsPerGroup() float64 {
	return float64(benchWG) * benchFMAAcc * benchFMAUnroll * benchFMAIters * 8
}

// benchCopySource copies a vec4 array, benchBWPer vec4 per invocation,
// each strided by the number of invocations (coalesced on a GPU, and few
// enough invocations that a CPU's per-invocation cost does not dominate).
const benchCopySource = `// bench.copy: memory bandwidth, dst = src (written by cmd/stylize/bench_roofline.go)
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = arrayLength(&src) / 8u;
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= t) {
    return;
  }
  dst[i] = src[i];
  dst[i + t] = src[i + t];
  dst[i + 2u * t] = src[i + 2u * t];
  dst[i + 3u * t] = src[i + 3u * t];
  dst[i + 4u * t] = src[i + 4u * t];
  dst[i + 5u * t] = src[i + 5u * t];
  dst[i + 6u * t] = src[i + 6u * t];
  dst[i + 7u * t] = src[i + 7u * t];
}
`

// benchReadSource sums a vec4 array, benchBWPer vec4 per invocation
// strided like the copy, with a guarded store of the sum.
const benchReadSource = `// bench.read: memory bandwidth, read and sum (written by cmd/stylize/bench_roofline.go)
@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn read_sum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = arrayLength(&src) / 8u;
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= t) {
    return;
  }
  let r = src[i] + src[i + t] + src[i + 2u * t] + src[i + 3u * t]
        + src[i + 4u * t] + src[i + 5u * t] + src[i + 6u * t] + src[i + 7u * t];
  if (r.x == -1.0e-30) {
    out[lid] = r;
  }
}
`

// benchBWPer is the vec4 each bandwidth invocation moves: the 8 written
// into both kernels above.
const benchBWPer = 8

// benchGrid2 splits n workgroups (a power of two, or any count up to the
// per-dimension limit) into an x·y grid that covers exactly n when n is a
// power of two.
func benchGrid2(n, lim int) (x, y uint32) {
	gx := min(n, 32768, lim)
	gy := (n + gx - 1) / gx
	return uint32(gx), uint32(gy)
}

// peak measures the roofline and appends its rows.
func (b *benchRun) peak() {
	b.section("roofline (microkernels, like vkpeak/clpeak)")
	b.peakFMA()
	b.peakBandwidth()
	if b.rep.Peak.FMAGflops != nil && b.rep.Peak.BandwidthGBs != nil {
		b.logf("  ridge point: %.1f FLOP/byte (rows above it are FLOP-bound, below memory-bound)\n", *b.rep.Peak.FMAGflops / *b.rep.Peak.BandwidthGBs)
	}
}

func (b *benchRun) peakFMA() {
	row := benchRow{Name: "peak.fma", Kind: "peak", Bound: "flop"}
	d := b.d
	fail := func(err error) {
		b.skip(&row, err)
		b.emit(row)
	}
	if b.lost != nil {
		fail(b.lost)
		return
	}
	k, err := d.Kernel(gpu.KernelSpec{Name: "bench.fma", Source: benchFMASource(), Entry: "fma_peak", Bindings: []gpu.Access{gpu.In, gpu.Out}})
	if err != nil {
		fail(err)
		return
	}
	p, err := d.NewBuffer("bench.fma.p", gpu.F32, 12)
	if err != nil {
		fail(err)
		return
	}
	defer p.Release()
	if err := p.Write([]float32{0.9999, 0.9999, 0.9999, 0.9999, 1e-4, 1e-4, 1e-4, 1e-4, -1e-30, 0, 0, 0}); err != nil {
		fail(err)
		return
	}
	out, err := d.NewBuffer("bench.fma.out", gpu.F32, benchWG*4)
	if err != nil {
		fail(err)
		return
	}
	defer out.Release()
	bd, err := d.Bind(k, p, out)
	if err != nil {
		fail(err)
		return
	}
	defer bd.Release()
	lim := int(d.Limits().MaxComputeWorkgroupsPerDimension)
	groups := 64
	run := func() (float64, error) {
		x, y := benchGrid2(groups, lim)
		return b.timeRecord(func(e *gpu.Encoder) error { return e.Dispatch(bd, x, y, 1) })
	}
	// Calibrate: grow the grid until one dispatch takes the target time.
	ms, err := run()
	if err != nil {
		fail(err)
		return
	}
	maxGroups := min(lim, 32768) * min(lim, 32768)
	for ms < b.cfg.peakMS && groups < maxGroups {
		f := math.Ceil(b.cfg.peakMS / math.Max(ms, 1e-3))
		mul := 2
		for mul < int(f) && mul < 64 {
			mul *= 2
		}
		groups = min(groups*mul, maxGroups)
		if ms, err = run(); err != nil {
			fail(err)
			return
		}
	}
	x, y := benchGrid2(groups, lim)
	flops := float64(int(x)*int(y)) * benchFMAFlopsPerGroup()
	row.Shape = fmt.Sprintf("%d WG x %d, %dk vec4 FMA", int(x)*int(y), benchWG, benchFMAAcc*benchFMAUnroll*benchFMAIters/1024)
	samples, err := b.repeat(run)
	if err != nil {
		fail(err)
		return
	}
	b.finish(&row, samples, flops, 0)
	if row.TFlops != nil {
		v := *row.TFlops * 1e3
		b.rep.Peak.FMAGflops = &v
		pct := 100.0
		row.PctPeak = &pct
	}
	b.emit(row)
}

func (b *benchRun) peakBandwidth() {
	d := b.d
	lim := d.Limits()
	size := min(uint64(b.cfg.bwBytes), lim.MaxStorageBufferBindingSize, lim.MaxBufferSize)
	unit := uint64(16 * benchWG * benchBWPer) // whole workgroups of benchBWPer vec4 per invocation
	size = size / unit * unit
	rows := []benchRow{
		{Name: "peak.bandwidth.copy", Kind: "peak", Bound: "memory"},
		{Name: "peak.bandwidth.read", Kind: "peak", Bound: "memory"},
	}
	skipAll := func(err error) {
		for i := range rows {
			b.skip(&rows[i], err)
			b.emit(rows[i])
		}
	}
	if b.lost != nil {
		skipAll(b.lost)
		return
	}
	if size == 0 {
		skipAll(fmt.Errorf("the device's buffer limits leave no room for a bandwidth buffer"))
		return
	}
	n := int(size / 4)
	src, err := d.NewBuffer("bench.bw.src", gpu.F32, n)
	if err != nil {
		skipAll(err)
		return
	}
	defer src.Release()
	var best float64
	for i := range rows {
		row := &rows[i]
		row.Shape = fmt.Sprintf("%d MiB", size>>20)
		var dst *gpu.Buffer
		var k *gpu.Kernel
		groups := int(size/16) / benchBWPer / benchWG
		bytes := float64(size)
		if i == 0 {
			row.Shape = fmt.Sprintf("%d MiB -> %d MiB", size>>20, size>>20)
			bytes = 2 * float64(size)
			if dst, err = d.NewBuffer("bench.bw.dst", gpu.F32, n); err == nil {
				k, err = d.Kernel(gpu.KernelSpec{Name: "bench.copy", Source: benchCopySource, Entry: "copy", Bindings: []gpu.Access{gpu.In, gpu.Out}})
			}
		} else {
			if dst, err = d.NewBuffer("bench.bw.out", gpu.F32, benchWG*4); err == nil {
				k, err = d.Kernel(gpu.KernelSpec{Name: "bench.read", Source: benchReadSource, Entry: "read_sum", Bindings: []gpu.Access{gpu.In, gpu.Out}})
			}
		}
		if err != nil {
			dst.Release()
			b.skip(row, err)
			continue
		}
		bd, err := d.Bind(k, src, dst)
		if err != nil {
			dst.Release()
			b.skip(row, err)
			continue
		}
		x, y := benchGrid2(groups, int(lim.MaxComputeWorkgroupsPerDimension))
		samples, err := b.repeat(func() (float64, error) {
			return b.timeRecord(func(e *gpu.Encoder) error { return e.Dispatch(bd, x, y, 1) })
		})
		bd.Release()
		dst.Release()
		if err != nil {
			b.skip(row, err)
			continue
		}
		b.finish(row, samples, 0, bytes)
		if row.GBs != nil {
			best = math.Max(best, *row.GBs)
		}
	}
	if best > 0 {
		b.rep.Peak.BandwidthGBs = &best
	}
	for i := range rows {
		if rows[i].GBs != nil && best > 0 {
			pct := 100 * *rows[i].GBs / best
			rows[i].PctPeak = &pct
		}
		b.emit(rows[i])
	}
}
