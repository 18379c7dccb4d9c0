package gpu_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// checkGrid asserts what Grid promises for a valid (n, wg, max): every
// dimension within max, enough invocations to cover n, and no gross waste.
// A grid of one or two dimensions (z == 1) holds at most one partial row
// of x workgroups: x*y*z < groups+x. A grid that needs z fills whole x*y
// planes first, so it holds at most one partial plane: x*y*z < groups+x*y.
// (The one-partial-row bound cannot hold for 3-D grids in general: when the
// row count ceil(groups/x) is a prime larger than max, no y*z equals it.)
func checkGrid(t *testing.T, n, wg, max int, x, y, z uint32) {
	t.Helper()
	if n == 0 {
		if x != 0 || y != 0 || z != 0 {
			t.Fatalf("Grid(0, %d, %d) = %dx%dx%d, want 0x0x0", wg, max, x, y, z)
		}
		return
	}
	m := uint64(max)
	if x == 0 || y == 0 || z == 0 || uint64(x) > m || uint64(y) > m || uint64(z) > m {
		t.Fatalf("Grid(%d, %d, %d) = %dx%dx%d: a dimension is 0 or over %d", n, wg, max, x, y, z, max)
	}
	groups := (uint64(n) + uint64(wg) - 1) / uint64(wg)
	total := uint64(x) * uint64(y) * uint64(z)
	if total*uint64(wg) < uint64(n) {
		t.Fatalf("Grid(%d, %d, %d) = %dx%dx%d covers %d invocations, fewer than n", n, wg, max, x, y, z, total*uint64(wg))
	}
	slack := uint64(x)
	if z > 1 {
		slack = uint64(x) * uint64(y)
	}
	if total >= groups+slack {
		t.Fatalf("Grid(%d, %d, %d) = %dx%dx%d = %d workgroups for %d needed: more than one partial %s",
			n, wg, max, x, y, z, total, groups, map[bool]string{false: "row", true: "plane"}[z > 1])
	}
}

func TestGrid(t *testing.T) {
	const mx = 65535
	for _, tc := range []struct {
		name      string
		n, wg, mx int
		want      [3]uint32 // checked when not zero
		err       bool
	}{
		{name: "n=0", n: 0, wg: 64, mx: mx, want: [3]uint32{0, 0, 0}},
		{name: "n=1", n: 1, wg: 64, mx: mx, want: [3]uint32{1, 1, 1}},
		{name: "n=wg", n: 64, wg: 64, mx: mx, want: [3]uint32{1, 1, 1}},
		{name: "n=wg+1", n: 65, wg: 64, mx: mx, want: [3]uint32{2, 1, 1}},
		{name: "n=wg*max", n: 64 * mx, wg: 64, mx: mx, want: [3]uint32{mx, 1, 1}},
		{name: "n=wg*max+1 spills into y", n: 64*mx + 1, wg: 64, mx: mx, want: [3]uint32{mx, 2, 1}},
		{name: "the GPU test's n", n: 64*70000 + 3, wg: 64, mx: mx, want: [3]uint32{mx, 2, 1}},
		{name: "n=wg*max^2", n: 64 * mx * mx, wg: 64, mx: mx, want: [3]uint32{mx, mx, 1}},
		{name: "n=wg*max^2+1 needs z", n: 64*mx*mx + 1, wg: 64, mx: mx, want: [3]uint32{mx, mx, 2}},
		{name: "very large, needs z", n: 1 << 50, wg: 256, mx: mx},
		{name: "n=wg*max^3", n: 64 * mx * mx * mx, wg: 64, mx: mx, want: [3]uint32{mx, mx, mx}},
		{name: "n=wg*max^3+1 too large", n: 64*mx*mx*mx + 1, wg: 64, mx: mx, err: true},
		{name: "wg=1", n: 1000, wg: 1, mx: mx, want: [3]uint32{1000, 1, 1}},
		{name: "small max", n: 1000, wg: 1, mx: 10, want: [3]uint32{10, 10, 10}},
		{name: "small max too large", n: 1001, wg: 1, mx: 10, err: true},
		{name: "wg=0", n: 10, wg: 0, mx: mx, err: true},
		{name: "wg<0", n: 10, wg: -64, mx: mx, err: true},
		{name: "n<0", n: -1, wg: 64, mx: mx, err: true},
		{name: "max=0", n: 10, wg: 64, mx: 0, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, y, z, err := gpu.Grid(tc.n, tc.wg, tc.mx)
			if tc.err {
				if err == nil {
					t.Fatalf("Grid(%d, %d, %d) = %dx%dx%d, want an error", tc.n, tc.wg, tc.mx, x, y, z)
				}
				t.Logf("Grid(%d, %d, %d): %v", tc.n, tc.wg, tc.mx, err)
				return
			}
			if err != nil {
				t.Fatalf("Grid(%d, %d, %d): %v", tc.n, tc.wg, tc.mx, err)
			}
			if tc.want != [3]uint32{} || tc.n == 0 {
				if got := [3]uint32{x, y, z}; got != tc.want {
					t.Fatalf("Grid(%d, %d, %d) = %v, want %v", tc.n, tc.wg, tc.mx, got, tc.want)
				}
			}
			checkGrid(t, tc.n, tc.wg, tc.mx, x, y, z)
			t.Logf("Grid(%d, %d, %d) = %dx%dx%d", tc.n, tc.wg, tc.mx, x, y, z)
		})
	}
}

// TestGridExhaustive checks every n up to just past the 3-D capacity for
// small limits, where every boundary is reachable.
func TestGridExhaustive(t *testing.T) {
	for mx := 1; mx <= 6; mx++ {
		for wg := 1; wg <= 3; wg++ {
			capacity := wg * mx * mx * mx
			for n := 0; n <= capacity+2*wg; n++ {
				x, y, z, err := gpu.Grid(n, wg, mx)
				if n > capacity {
					if err == nil {
						t.Fatalf("Grid(%d, %d, %d) = %dx%dx%d past the capacity %d, want an error", n, wg, mx, x, y, z, capacity)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Grid(%d, %d, %d): %v", n, wg, mx, err)
				}
				checkGrid(t, n, wg, mx, x, y, z)
			}
		}
	}
}

// iotaSpec writes out[i] = f32(i) for i < n, recovering the flat index from
// a grid that Grid split over several dimensions. naga in wgpu 0.17 takes
// only literals in const declarations, hence the Sprintf.
func iotaSpec(n, wg int) gpu.KernelSpec {
	return gpu.KernelSpec{
		Name: fmt.Sprintf("test.iota%d", n),
		Source: fmt.Sprintf(`
const N: u32 = %du;
const WG: u32 = %du;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(%d)
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
	let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * WG + lid;
	if (i < N) {
		out[i] = f32(i);
	}
}
`, n, wg, wg),
		Entry:    "main",
		Bindings: []gpu.Access{gpu.Out},
	}
}

// TestDispatch1DOver65535Workgroups runs a 1-D kernel that needs more
// workgroups than one dimension allows, so Dispatch1D must use y as well,
// and checks that every element was written once and nothing past n.
func TestDispatch1DOver65535Workgroups(t *testing.T) {
	d := testgpu.Device(t)
	const wg = 64
	const n = 64*70000 + 3 // 70001 workgroups
	const pad = 1000       // past n: must stay untouched
	lim := int(d.Limits().MaxComputeWorkgroupsPerDimension)
	x, y, z, err := gpu.Grid(n, wg, lim)
	if err != nil {
		t.Fatal(err)
	}
	if y < 2 {
		t.Fatalf("the device allows %d workgroups per dimension, so %d invocations fit in x: the test would not exercise y", lim, n)
	}
	t.Logf("limit %d workgroups per dimension; grid %dx%dx%d for %d workgroups", lim, x, y, z, (n+wg-1)/wg)

	k, err := d.Kernel(iotaSpec(n, wg))
	if err != nil {
		t.Fatal(err)
	}
	out := testgpu.Upload(t, d, "out", nil, n+pad)
	if err := out.Fill(-1); err != nil {
		t.Fatal(err)
	}
	b, err := d.Bind(k, out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	c0 := d.Counters()
	e := newEncoder(t, d, "iota")
	if err := e.Dispatch1D(b, n, wg); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	if c := d.Counters(); c.Dispatch != c0.Dispatch+1 || c.Submits != c0.Submits+1 {
		t.Fatalf("counters %+v -> %+v", c0, c)
	}
	got := testgpu.Read(t, out)
	for i := 0; i < n; i++ {
		if got[i] != float32(i) {
			t.Fatalf("out[%d] = %g, want %d (element not written or written by the wrong invocation)", i, got[i], i)
		}
	}
	for i := n; i < n+pad; i++ {
		if got[i] != -1 {
			t.Fatalf("out[%d] = %g past n=%d: the kernel wrote out of range", i, got[i], n)
		}
	}
}

func TestDispatchOverLimit(t *testing.T) {
	d := testgpu.Device(t)
	lim := d.Limits().MaxComputeWorkgroupsPerDimension
	r := newScaleRig(t, d, 64, 2)
	for _, g := range [][3]uint32{{lim + 1, 1, 1}, {1, lim + 1, 1}, {1, 1, lim + 1}} {
		t.Run(fmt.Sprintf("%dx%dx%d", g[0], g[1], g[2]), func(t *testing.T) {
			c0 := d.Counters()
			e := newEncoder(t, d, "over limit")
			if err := e.Dispatch1D(r.b, r.n, 64); err != nil { // a good one first
				t.Fatal(err)
			}
			derr := e.Dispatch(r.b, g[0], g[1], g[2])
			wantErrNaming(t, "Dispatch", derr, r.k.Name, fmt.Sprint(lim))
			if e.Err() != derr {
				t.Fatalf("Err() = %v, want the dispatch error", e.Err())
			}
			if err := e.Dispatch(r.b, 1, 1, 1); err != derr {
				t.Fatalf("a later Dispatch returned %v, want the first error", err)
			}
			serr := e.Submit()
			if serr != derr {
				t.Fatalf("Submit returned %v, want the dispatch error %v", serr, derr)
			}
			if c := d.Counters(); c.Submits != c0.Submits || c.Dispatch != c0.Dispatch {
				t.Fatalf("a failed encoder was submitted: counters %+v -> %+v", c0, c)
			}
			// nothing ran: y is still zero
			for i, v := range testgpu.Read(t, r.y) {
				if v != 0 {
					t.Fatalf("y[%d] = %g: the good dispatch of the failed encoder ran", i, v)
				}
			}
		})
	}
	t.Run("Dispatch1D past max^3", func(t *testing.T) {
		c0 := d.Counters()
		e := newEncoder(t, d, "too large")
		m := int(lim)
		err := e.Dispatch1D(r.b, 64*m*m*m+1, 64)
		wantErrNaming(t, "Dispatch1D", err, r.k.Name)
		if serr := e.Submit(); serr != err {
			t.Fatalf("Submit returned %v, want %v", serr, err)
		}
		if c := d.Counters(); c.Submits != c0.Submits {
			t.Fatalf("submitted: %+v -> %+v", c0, c)
		}
	})
	t.Run("Dispatch1D bad workgroup size", func(t *testing.T) {
		e := newEncoder(t, d, "wg 0")
		wantErrNaming(t, "Dispatch1D", e.Dispatch1D(r.b, 64, 0), r.k.Name)
		e.Discard()
	})
}

func TestDispatchReleasedOrSubmitted(t *testing.T) {
	d := testgpu.Device(t)
	r := newScaleRig(t, d, 64, 2)

	t.Run("released binding", func(t *testing.T) {
		b, err := d.Bind(r.k, r.x, r.y, r.p)
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		b.Release() // twice is harmless
		e := newEncoder(t, d, "released")
		wantErrNaming(t, "Dispatch", e.Dispatch(b, 1, 1, 1), "released")
		wantErrNaming(t, "Dispatch1D", e.Dispatch1D(b, 64, 64), "released")
		if err := e.Submit(); err == nil {
			t.Fatal("Submit after a failed Dispatch succeeded")
		}
	})
	t.Run("nil binding", func(t *testing.T) {
		e := newEncoder(t, d, "nil")
		wantErrNaming(t, "Dispatch", e.Dispatch(nil, 1, 1, 1), "nil")
		e.Discard()
		e = newEncoder(t, d, "nil 1d")
		if err := e.Dispatch1D(nil, 64, 64); err == nil {
			t.Fatal("Dispatch1D(nil) succeeded")
		}
		e.Discard()
		e = newEncoder(t, d, "nil 1d bad n")
		if err := e.Dispatch1D(nil, -1, 64); err == nil {
			t.Fatal("Dispatch1D(nil, -1) succeeded")
		}
		e.Discard()
	})
	t.Run("released buffer", func(t *testing.T) {
		tmp := testgpu.Upload(t, d, "tmp", nil, 64)
		b, err := d.Bind(r.k, r.x, tmp, r.p)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		tmp.Release()
		e := newEncoder(t, d, "released buffer")
		wantErrNaming(t, "Dispatch", e.Dispatch(b, 1, 1, 1), r.k.Name, "tmp", "released")
		e.Discard()
	})
	// Each late call gets an encoder of its own, so that none of them is
	// answered by the error an earlier late call recorded.
	for _, end := range []string{"Submit", "Discard"} {
		finished := func(t *testing.T) *gpu.Encoder {
			e := newEncoder(t, d, "finished by "+end)
			if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
				t.Fatal(err)
			}
			if end == "Discard" {
				e.Discard()
			} else if err := e.Submit(); err != nil {
				t.Fatal(err)
			}
			return e
		}
		rb, err := d.NewReadback("late", 64*4)
		if err != nil {
			t.Fatal(err)
		}
		defer rb.Release()
		tm, err := d.NewTimer(2)
		if d.HasTimestamps() && err != nil {
			t.Fatal(err)
		}
		type lateCall struct {
			name string
			call func(e *gpu.Encoder) error
		}
		lates := []lateCall{
			{"Dispatch", func(e *gpu.Encoder) error { return e.Dispatch(r.b, 1, 1, 1) }},
			{"Dispatch1D", func(e *gpu.Encoder) error { return e.Dispatch1D(r.b, r.n, 64) }},
			{"Copy", func(e *gpu.Encoder) error { return e.Copy(r.x, r.y) }},
			{"Read", func(e *gpu.Encoder) error { return e.Read(rb, r.y) }},
			{"Submit", func(e *gpu.Encoder) error { return e.Submit() }},
		}
		if tm != nil { // Mark needs a timer, which needs timestamp queries
			lates = append(lates, lateCall{"Mark", func(e *gpu.Encoder) error { return e.Mark(tm, "late") }})
		}
		for _, late := range lates {
			t.Run(late.name+" after "+end, func(t *testing.T) {
				e := finished(t)
				c0 := d.Counters()
				err := late.call(e)
				if err == nil {
					t.Fatalf("%s after %s succeeded", late.name, end)
				}
				t.Logf("%s after %s: %v", late.name, end, err)
				if rb.Busy() {
					t.Fatal("a refused Read left the readback busy")
				}
				if c := d.Counters(); c != c0 {
					t.Fatalf("counters moved: %+v -> %+v", c0, c)
				}
				e.Discard() // harmless now
			})
		}
		if tm != nil {
			tm.Release()
		}
	}
	r.checkScaled(t, 2) // the submitted encoders ran
}
