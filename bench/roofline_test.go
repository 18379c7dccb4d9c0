package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
)

// TestBenchRooflineKernels checks that the rendered microkernels do the work
// the rows count: fmaAcc·fmaUnroll vec4 FMAs per loop trip and fmaIters
// trips in workgroups of wg, and bwPer vec4 moved per invocation.
func TestBenchRooflineKernels(t *testing.T) {
	fma, err := fmaSource(fmaSlots(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(fma, "= fma("); n != fmaAcc*fmaUnroll {
		t.Errorf("fma kernel: %d FMAs in the loop, want %d\n%s", n, fmaAcc*fmaUnroll, fma)
	}
	for _, want := range []string{"@workgroup_size(256)", "* 256u + lid", "i < 256u", "var a7 = s0 + vec4<f32>(0.07);", "let r = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;"} {
		if !strings.Contains(fma, want) {
			t.Errorf("fma kernel: no %q\n%s", want, fma)
		}
	}
	if got := fmaFlopsPerGroup(); got != 256*8*4*256*8 {
		t.Errorf("FLOP per workgroup %v", got)
	}
	for _, k := range bandwidthKernels(1 << 20) {
		file, reads := k.file, map[string]string{"roofline_copy.wgsl": "dst[i + 7u * t] = src[i + 7u * t];", "roofline_read.wgsl": "+ src[i + 4u * t]"}[k.file]
		src, err := bandwidthSource(file, k.slots(nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(src, "src[i"); n != bwPer {
			t.Errorf("%s: %d reads of src, want %d\n%s", file, n, bwPer, src)
		}
		for _, want := range []string{"@workgroup_size(256)", "arrayLength(&src) / 8u", reads} {
			if !strings.Contains(src, want) {
				t.Errorf("%s: no %q\n%s", file, want, src)
			}
		}
	}
}

// TestBenchGrid2 checks the split of a workgroup count into a 2-D grid.
func TestBenchGrid2(t *testing.T) {
	for _, c := range []struct{ n, lim, x, y int }{{64, 65535, 64, 1}, {1 << 20, 65535, 32768, 32}, {100, 50, 50, 2}} {
		if x, y := grid2(c.n, c.lim); int(x) != c.x || int(y) != c.y {
			t.Errorf("grid2(%d, %d) = %d x %d, want %d x %d", c.n, c.lim, x, y, c.x, c.y)
		}
	}
}

// TestBenchRoofline measures the roofline on its own, as a program other
// than Run would: a Sampler, then Roofline, and nothing left allocated.
func TestBenchRoofline(t *testing.T) {
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	o := QuickOptions()
	s, err := NewSampler(d, o)
	if err != nil {
		t.Fatal(err)
	}
	peak, rows, err := Roofline(s, o.PeakMS, o.BandwidthBytes)
	s.Release()
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := d.MemoryBytes(); after != before {
		t.Errorf("the roofline left %d bytes of GPU buffers allocated", after-before)
	}
	checkRows(t, &Report{Peak: peak, Rows: rows})
	if len(rows) != 3 || rows[0].Name != "peak.fma" || rows[0].Skipped || peak.FMAGflops == nil || peak.BandwidthGBs == nil {
		t.Fatalf("peak %+v, rows %+v", peak, rows)
	}
	if got := *rows[0].TFlops * 1e3; got != *peak.FMAGflops || *rows[0].PctPeak != 100 {
		t.Errorf("FMA row %v GFLOP/s at %v%%, peak %v", got, *rows[0].PctPeak, *peak.FMAGflops)
	}
	best := 0
	for _, r := range rows[1:] {
		if r.Skipped || r.GBs == nil || *r.GBs > *peak.BandwidthGBs || math.Abs(*r.PctPeak-100*(*r.GBs)/(*peak.BandwidthGBs)) > 1e-9 {
			t.Errorf("%s: %+v against bandwidth %v", r.Name, r, *peak.BandwidthGBs)
		}
		if math.Abs(*r.PctPeak-100) < 1e-9 {
			best++
		}
	}
	if best != 1 {
		t.Errorf("%d bandwidth rows at 100%%, want the better one", best)
	}
}
