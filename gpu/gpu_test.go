package gpu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// scaleSource computes y[i] = x[i] * p.scale for i < p.n.
const scaleSource = `
struct Params {
	n: u32,
	scale: f32,
	pad0: u32,
	pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	if (g.x < p.n) {
		y[g.x] = x[g.x] * p.scale;
	}
}
`

// scaleParams mirrors the WGSL Params struct, padded to 16 bytes.
type scaleParams struct {
	N     uint32
	Scale float32
	_     [2]uint32
}

func scaleSpec() gpu.KernelSpec {
	return gpu.KernelSpec{
		Name:     "test.scale",
		Source:   scaleSource,
		Entry:    "main",
		Bindings: []gpu.Access{gpu.In, gpu.Out, gpu.Uniform},
	}
}

// scaleRig is the scale kernel bound over x (filled with 0,1,2,...), y and
// its params.
type scaleRig struct {
	k       *gpu.Kernel
	x, y, p *gpu.Buffer
	b       *gpu.Binding
	n       int
}

func newScaleRig(t *testing.T, d *gpu.Device, n int, scale float32) *scaleRig {
	t.Helper()
	k, err := d.Kernel(scaleSpec())
	if err != nil {
		t.Fatal(err)
	}
	xv := make([]float64, n)
	for i := range xv {
		xv[i] = float64(i)
	}
	r := &scaleRig{k: k, n: n}
	r.x = testgpu.Upload(t, d, "x", xv, n)
	r.y = testgpu.Upload(t, d, "y", nil, n)
	r.p, err = d.NewParams("scale.params", scaleParams{N: uint32(n), Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.p.Release)
	r.b, err = d.Bind(k, r.x, r.y, r.p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.b.Release)
	return r
}

// checkScaled asserts y[i] == i*scale.
func (r *scaleRig) checkScaled(t *testing.T, scale float32) {
	t.Helper()
	got := testgpu.Read(t, r.y)
	for i, v := range got {
		if want := float32(i) * scale; v != want {
			t.Fatalf("y[%d] = %g, want %g", i, v, want)
		}
	}
}

func newEncoder(t *testing.T, d *gpu.Device, label string) *gpu.Encoder {
	t.Helper()
	e, err := d.NewEncoder(label)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// wantErrNaming fails unless err is non-nil and its message contains every
// one of the given substrings.
func wantErrNaming(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got nil error", what)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%s: error %q does not contain %q", what, err, s)
		}
	}
	t.Logf("%s: %v", what, err)
}

func TestAdapters(t *testing.T) {
	as, err := gpu.Adapters("")
	if err != nil {
		t.Fatal(err)
	}
	if len(as) == 0 {
		t.Fatalf("gpu.Adapters(\"\") found no adapter; %s", gpu.NoAdapterHint())
	}
	for i, a := range as {
		if a.Index != i {
			t.Errorf("adapter %d has Index %d", i, a.Index)
		}
		if a.Name == "" || a.Backend == "" || a.Type == "" {
			t.Errorf("adapter %d is not fully described: %+v", i, a)
		}
		if a.Limits.MaxComputeWorkgroupsPerDimension == 0 || a.Limits.MaxStorageBufferBindingSize == 0 {
			t.Errorf("adapter %s reports zero limits", a)
		}
		t.Logf("%s software=%v features=%v maxWorkgroupsPerDim=%d maxStorageBinding=%d maxBuffer=%d",
			a, a.Software, a.Features, a.Limits.MaxComputeWorkgroupsPerDimension, a.Limits.MaxStorageBufferBindingSize, a.Limits.MaxBufferSize)
	}
	if _, err := gpu.Adapters("banana"); err == nil {
		t.Error("Adapters(\"banana\"): want an unknown-backend error")
	}
}

func TestOpenBadOptions(t *testing.T) {
	backend := os.Getenv("STYLIZE_BACKEND") // Open falls back to it; list the same adapters
	as, err := gpu.Adapters(backend)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) == 0 {
		t.Fatalf("no adapter on backend %q; %s", backend, gpu.NoAdapterHint())
	}
	for _, tc := range []struct {
		name    string
		opts    gpu.Options
		noAdapt bool     // must wrap gpu.ErrNoAdapter and list the adapters found
		subs    []string // the message must contain these
	}{
		{"unknown-name", gpu.Options{Adapter: "no-such-gpu-xyz"}, true, []string{"no-such-gpu-xyz"}},
		{"index-out-of-range", gpu.Options{Adapter: "99"}, true, []string{"99", "out of range"}},
		{"negative-index", gpu.Options{Adapter: "-1"}, true, []string{"-1"}},
		{"unknown-backend", gpu.Options{Backend: "banana"}, false, []string{"banana"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := gpu.Open(tc.opts)
			if err == nil {
				d.Close()
				t.Fatalf("Open(%+v) succeeded on %s", tc.opts, d.Info)
			}
			wantErrNaming(t, "Open", err, tc.subs...)
			if !tc.noAdapt {
				return
			}
			if !errors.Is(err, gpu.ErrNoAdapter) {
				t.Errorf("error does not wrap gpu.ErrNoAdapter: %v", err)
			}
			for _, a := range as {
				if !strings.Contains(err.Error(), a.Name) {
					t.Errorf("error does not list adapter %q: %v", a.Name, err)
				}
			}
		})
	}
}

func TestParamBytes(t *testing.T) {
	type four struct{ A, B, C, D float32 }
	type three struct{ A, B, C float32 }
	type threePadded struct {
		A, B, C float32
		_       float32
	}
	type mixed struct {
		N uint32
		I int32
		S float32
		_ uint32
	}
	type withInt struct{ A, B, C, D int } // int has no fixed size

	le := binary.LittleEndian
	t.Run("four-f32", func(t *testing.T) {
		b, err := gpu.ParamBytes(four{1, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 16 {
			t.Fatalf("len %d, want 16", len(b))
		}
		for i, want := range []float32{1, 2, 3, 4} {
			if got := math.Float32frombits(le.Uint32(b[4*i:])); got != want {
				t.Errorf("field %d = %g, want %g", i, got, want)
			}
		}
	})
	t.Run("three-f32-padded", func(t *testing.T) {
		b, err := gpu.ParamBytes(threePadded{A: 1, B: 2, C: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 16 || le.Uint32(b[12:]) != 0 || math.Float32frombits(le.Uint32(b[8:])) != 3 {
			t.Fatalf("bytes %v: want 1,2,3 then 4 zero bytes of padding", b)
		}
	})
	t.Run("mixed", func(t *testing.T) {
		b, err := gpu.ParamBytes(mixed{N: 7, I: -2, S: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 16 || le.Uint32(b) != 7 || int32(le.Uint32(b[4:])) != -2 || math.Float32frombits(le.Uint32(b[8:])) != 0.5 {
			t.Fatalf("bytes %v do not encode {7, -2, 0.5, pad}", b)
		}
	})
	for _, tc := range []struct {
		name string
		p    any
	}{
		{"three-f32", three{1, 2, 3}},
		{"empty", struct{}{}},
		{"int-fields", withInt{}},
		{"five-u32", struct{ A, B, C, D, E uint32 }{}},
	} {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			b, err := gpu.ParamBytes(tc.p)
			if err == nil {
				t.Fatalf("ParamBytes(%T) = %d bytes, want an error", tc.p, len(b))
			}
			t.Logf("%T: %v", tc.p, err)
		})
	}
	t.Run("NewParams", func(t *testing.T) {
		d := testgpu.Device(t)
		if _, err := d.NewParams("p3", three{1, 2, 3}); err == nil {
			t.Fatal("NewParams with a 12-byte struct: want an error")
		} else {
			wantErrNaming(t, "NewParams", err, "p3", "16")
		}
		p, err := d.NewParams("p4", four{1, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Release()
		if p.DType != gpu.Params || p.Bytes() != 16 {
			t.Fatalf("params buffer %s of %d bytes", p, p.Bytes())
		}
		if err := p.SetParams(threePadded{A: 5}); err != nil {
			t.Fatal(err)
		}
		if err := p.SetParams(struct{ A [8]float32 }{}); err == nil {
			t.Fatal("SetParams with a 32-byte struct on a 16-byte buffer: want an error")
		}
		x := testgpu.Upload(t, d, "x", nil, 4)
		if err := x.SetParams(four{}); err == nil {
			t.Fatal("SetParams on a storage buffer: want an error")
		}
	})
}

func TestNewBufferOverBindingLimit(t *testing.T) {
	d := testgpu.Device(t)
	lim := d.Limits().MaxStorageBufferBindingSize
	before, _ := d.MemoryBytes()
	for _, shape := range [][]int{
		{int(lim/4 + 1)},
		{2, int(lim/8 + 1)},
		{1 << 30, 1 << 30}, // overflows the size arithmetic if unchecked
	} {
		b, err := d.NewBuffer("huge", gpu.F32, shape...)
		if err == nil {
			b.Release()
			t.Fatalf("NewBuffer%s over the %d-byte binding limit succeeded", gpu.ShapeString(shape), lim)
		}
		var le *gpu.LimitError
		if !errors.As(err, &le) {
			t.Fatalf("NewBuffer%s: error %v (%T) is not a *gpu.LimitError", gpu.ShapeString(shape), err, err)
		}
		if le.Need <= le.Limit {
			t.Errorf("LimitError needs %d <= limit %d", le.Need, le.Limit)
		}
		t.Logf("NewBuffer%s: %v", gpu.ShapeString(shape), err)
	}
	if err := d.CheckFits("x", lim+1); err == nil {
		t.Error("CheckFits(limit+1): want an error")
	}
	if err := d.CheckFits("x", lim); err != nil {
		t.Errorf("CheckFits(limit): %v", err)
	}
	if after, _ := d.MemoryBytes(); after != before {
		t.Fatalf("MemoryBytes went from %d to %d: a refused buffer was allocated", before, after)
	}
}

func TestNewBufferBadShape(t *testing.T) {
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	for _, shape := range [][]int{{}, {0}, {3, 0, 2}, {-1}, {2, -5}, {4, 4, 0}} {
		b, err := d.NewBuffer("bad", gpu.F32, shape...)
		if err == nil {
			b.Release()
			t.Fatalf("NewBuffer%s succeeded", gpu.ShapeString(shape))
		}
		var se *gpu.ShapeError
		if !errors.As(err, &se) {
			t.Fatalf("NewBuffer%s: error %v (%T) is not a *gpu.ShapeError", gpu.ShapeString(shape), err, err)
		}
		wantErrNaming(t, "NewBuffer"+gpu.ShapeString(shape), err, "bad")
	}
	if b, err := d.NewBuffer("p", gpu.Params, 4); err == nil {
		b.Release()
		t.Fatal("NewBuffer of dtype params: want an error")
	}
	if after, _ := d.MemoryBytes(); after != before {
		t.Fatalf("MemoryBytes went from %d to %d", before, after)
	}
	b, err := d.NewBuffer("ok", gpu.F32, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := d.MemoryBytes(); now != before+24 || b.Bytes() != 24 || b.Len() != 6 {
		t.Errorf("a (2,3) f32 buffer: %d bytes, %d values, memory %d -> %d", b.Bytes(), b.Len(), before, now)
	}
	b.Release()
	b.Release() // twice is harmless
	if after, _ := d.MemoryBytes(); after != before {
		t.Fatalf("after Release MemoryBytes is %d, want %d", after, before)
	}
}

func TestBufferWriteErrors(t *testing.T) {
	d := testgpu.Device(t)
	f := testgpu.Upload(t, d, "f", nil, 2, 3)
	u, err := d.NewBuffer("u", gpu.U32, 6)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()
	var se *gpu.ShapeError
	for _, n := range []int{0, 5, 7} {
		if err := f.Write(make([]float32, n)); !errors.As(err, &se) {
			t.Fatalf("Write of %d values into %s: error %v, want a *gpu.ShapeError", n, f, err)
		} else {
			t.Logf("Write(%d values): %v", n, err)
		}
	}
	if err := u.Write(make([]float32, 6)); err == nil {
		t.Fatal("Write on a u32 buffer succeeded")
	} else {
		t.Logf("Write on u32: %v", err)
	}
	// and the right calls round-trip
	want := []float32{1.5, -2, 3, 0, 1e-30, 7}
	if err := f.Write(want); err != nil {
		t.Fatal(err)
	}
	for i, v := range testgpu.Read(t, f) {
		if v != want[i] {
			t.Fatalf("f[%d] = %g, want %g", i, v, want[i])
		}
	}
	// u32 buffers are written by kernels and read back with ReadU32
	k, err := d.Kernel(gpu.KernelSpec{
		Name: "test.write-u32",
		Source: `
@group(0) @binding(0) var<storage, read_write> u: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	var w = array<u32, 6>(0u, 1u, 0x80000000u, 0xffffffffu, 42u, 7u);
	if (g.x < 6u) { u[g.x] = w[g.x]; }
}`,
		Entry:    "main",
		Bindings: []gpu.Access{gpu.Out},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Bind(k, u)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	e := newEncoder(t, d, "write u32")
	if err := e.Dispatch1D(b, 6, 64); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	wantU := []uint32{0, 1, 1 << 31, 0xffffffff, 42, 7}
	gotU, err := u.ReadU32()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range gotU {
		if v != wantU[i] {
			t.Fatalf("u[%d] = %d, want %d", i, v, wantU[i])
		}
	}
}

func TestBindErrors(t *testing.T) {
	d := testgpu.Device(t)
	k, err := d.Kernel(scaleSpec())
	if err != nil {
		t.Fatal(err)
	}
	x := testgpu.Upload(t, d, "x", nil, 8)
	y := testgpu.Upload(t, d, "y", nil, 8)
	gone := testgpu.Upload(t, d, "gone", nil, 8)
	gone.Release()
	p, err := d.NewParams("params", scaleParams{N: 8, Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()

	for _, tc := range []struct {
		name string
		bufs []*gpu.Buffer
		subs []string
	}{
		{"too-few", []*gpu.Buffer{x, y}, []string{"2 buffers", "3"}},
		{"too-many", []*gpu.Buffer{x, y, p, p}, []string{"4 buffers"}},
		{"none", nil, []string{"0 buffers"}},
		{"params-as-storage", []*gpu.Buffer{p, y, p}, []string{"binding 0", "params"}},
		{"storage-as-params", []*gpu.Buffer{x, y, x}, []string{"binding 2", "uniform"}},
		{"same-buffer-read-and-write", []*gpu.Buffer{y, y, p}, []string{"bound twice"}},
		{"nil-buffer", []*gpu.Buffer{x, nil, p}, []string{"binding 1"}},
		{"released-buffer", []*gpu.Buffer{gone, y, p}, []string{"binding 0", "released"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := d.Bind(k, tc.bufs...)
			if err == nil {
				b.Release()
				t.Fatal("Bind succeeded")
			}
			wantErrNaming(t, "Bind", err, append([]string{k.Name}, tc.subs...)...)
		})
	}
	if _, err := d.Bind(nil, x, y, p); err == nil {
		t.Fatal("Bind(nil kernel) succeeded")
	}

	// The same buffer twice is fine when neither binding writes it.
	k2, err := d.Kernel(gpu.KernelSpec{
		Name: "test.add",
		Source: `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	if (g.x < arrayLength(&c)) { c[g.x] = a[g.x] + b[g.x]; }
}`,
		Entry:    "main",
		Bindings: []gpu.Access{gpu.In, gpu.In, gpu.Out},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Write([]float32{0, 1, 2, 3, 4, 5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	b2, err := d.Bind(k2, x, x, y)
	if err != nil {
		t.Fatalf("binding one buffer to two read-only bindings: %v", err)
	}
	defer b2.Release()
	e := newEncoder(t, d, "add")
	if err := e.Dispatch1D(b2, 8, 64); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	for i, v := range testgpu.Read(t, y) {
		if v != float32(2*i) {
			t.Fatalf("c[%d] = %g, want %d", i, v, 2*i)
		}
	}
}

func TestKernelErrorsNamePipeline(t *testing.T) {
	d := testgpu.Device(t)
	for _, tc := range []struct {
		name string
		spec gpu.KernelSpec
		subs []string
	}{
		{"syntax-error", gpu.KernelSpec{
			Name:     "test.broken-wgsl",
			Source:   "@compute @workgroup_size(64)\nfn main( { this is not wgsl }\n",
			Entry:    "main",
			Bindings: []gpu.Access{gpu.Out},
		}, nil},
		{"type-error", gpu.KernelSpec{
			Name: "test.type-error",
			Source: `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) { y[g.x] = g.x; }`,
			Entry:    "main",
			Bindings: []gpu.Access{gpu.Out},
		}, nil},
		{"missing-entry", func() gpu.KernelSpec {
			s := scaleSpec()
			s.Name, s.Entry = "test.missing-entry", "no_such_entry"
			return s
		}(), nil},
		{"empty-entry", func() gpu.KernelSpec {
			s := scaleSpec()
			s.Name, s.Entry = "test.empty-entry", ""
			return s
		}(), []string{"entry point"}},
		{"layout-mismatch", func() gpu.KernelSpec {
			s := scaleSpec()
			s.Name, s.Bindings = "test.layout-mismatch", []gpu.Access{gpu.In, gpu.In, gpu.Uniform}
			return s
		}(), nil},
		{"uniform-not-last", func() gpu.KernelSpec {
			s := scaleSpec()
			s.Name, s.Bindings = "test.uniform-first", []gpu.Access{gpu.Uniform, gpu.In, gpu.Out}
			return s
		}(), []string{"last"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := d.Kernel(tc.spec)
			if err == nil {
				t.Fatalf("Kernel(%s) compiled: %+v", tc.spec.Name, k)
			}
			wantErrNaming(t, "Kernel", err, append([]string{tc.spec.Name}, tc.subs...)...)
		})
	}
	// the device is still usable afterwards
	if _, err := d.Kernel(scaleSpec()); err != nil {
		t.Fatalf("a good kernel after the bad ones: %v", err)
	}
	if err := d.Poll(); err != nil {
		t.Fatalf("Poll after the bad kernels: %v", err)
	}
}

func TestKernelCache(t *testing.T) {
	d := testgpu.Device(t)
	k1, err := d.Kernel(scaleSpec())
	if err != nil {
		t.Fatal(err)
	}
	k2, err := d.Kernel(scaleSpec())
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 {
		t.Fatalf("the same KernelSpec compiled twice gave two kernels %p and %p", k1, k2)
	}
	other := scaleSpec()
	other.Source += "\n// a different source text\n"
	k3, err := d.Kernel(other)
	if err != nil {
		t.Fatal(err)
	}
	if k3 == k1 {
		t.Fatal("a different source text returned the cached kernel")
	}
}

func TestReadback(t *testing.T) {
	d := testgpu.Device(t)
	const n = 1000
	vals := testgpu.Round(testgpu.Rand(3, n, -10, 10))
	src := testgpu.Upload(t, d, "src", vals, 10, 100)
	rb, err := d.NewReadback("rb", n*4)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()

	decode := func(raw []byte) []float32 {
		if len(raw) < n*4 {
			t.Fatalf("readback returned %d bytes, want %d", len(raw), n*4)
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out
	}
	check := func(got []float32, want []float64) {
		t.Helper()
		for i := range want {
			if float64(got[i]) != want[i] {
				t.Fatalf("element %d: got %g want %g", i, got[i], want[i])
			}
		}
	}

	// Read, Submit, Wait
	e := newEncoder(t, d, "read")
	if err := e.Read(rb, src); err != nil {
		t.Fatal(err)
	}
	if !rb.Busy() {
		t.Fatal("Busy() is false with a copy recorded")
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	raw, err := rb.Wait()
	if err != nil {
		t.Fatal(err)
	}
	check(decode(raw), vals)
	if rb.Busy() {
		t.Fatal("Busy() after Wait consumed the data")
	}
	if _, err := rb.Wait(); err == nil {
		t.Fatal("Wait with no copy recorded: want an error")
	}

	// reuse, collected by polling Ready
	vals2 := testgpu.Round(testgpu.Rand(4, n, -1, 1))
	if err := src.Write(testgpu.F32(vals2)); err != nil {
		t.Fatal(err)
	}
	e = newEncoder(t, d, "read again")
	if err := e.Read(rb, src); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, ok, err := rb.Ready()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			check(decode(raw), vals2)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Ready never reported the data")
		}
		time.Sleep(time.Millisecond)
	}

	// a second Copy before the first is consumed
	e = newEncoder(t, d, "double read")
	if err := e.Read(rb, src); err != nil {
		t.Fatal(err)
	}
	err = e.Read(rb, src)
	wantErrNaming(t, "second Read before consuming", err, "not been consumed")
	if serr := e.Submit(); serr == nil {
		t.Fatal("Submit after a failed Read succeeded")
	}

	// too small a readback
	small, err := d.NewReadback("small", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	e = newEncoder(t, d, "small")
	var se *gpu.ShapeError
	if err := e.Read(small, src); !errors.As(err, &se) {
		t.Fatalf("Read of %d bytes into a 16-byte readback: %v, want a *gpu.ShapeError", n*4, err)
	}
	e.Discard()
	if _, err := d.NewReadback("zero", 0); err == nil {
		t.Fatal("NewReadback of 0 bytes succeeded")
	}
}

// A readback recorded into an encoder that is discarded, or whose Submit
// fails, must not stay busy, nor hand back the bytes of an earlier read as
// if they were new.
func TestReadbackOfAbandonedEncoder(t *testing.T) {
	d := testgpu.Device(t)
	r := newScaleRig(t, d, 64, 1)
	rb, err := d.NewReadback("rb", 64*4)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()
	// a good read leaves the staging buffer holding 0..63
	e := newEncoder(t, d, "good")
	if err := e.Read(rb, r.x); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := r.x.Fill(5); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"failed-submit", "discard", "discard-after-Readback.Copy"} {
		t.Run(how, func(t *testing.T) {
			e := newEncoder(t, d, how)
			record := e.Read
			if how == "discard-after-Readback.Copy" {
				record = func(rb *gpu.Readback, src *gpu.Buffer) error { return rb.Copy(e, src) }
			}
			if err := record(rb, r.x); err != nil {
				t.Fatal(err)
			}
			if how != "failed-submit" {
				e.Discard()
			} else {
				if err := e.Dispatch(r.b, d.Limits().MaxComputeWorkgroupsPerDimension+1, 1, 1); err == nil {
					t.Fatal("over-limit dispatch accepted")
				}
				if err := e.Submit(); err == nil {
					t.Fatal("Submit of a failed encoder succeeded")
				}
			}
			if rb.Busy() {
				t.Error("the readback is still busy after its encoder was abandoned")
			}
			if raw, err := rb.Wait(); err == nil {
				t.Fatalf("Wait returned %d bytes (first value %g) from a copy that never ran", len(raw), math.Float32frombits(binary.LittleEndian.Uint32(raw)))
			}
			// and it can be used again
			e = newEncoder(t, d, how+" retry")
			if err := e.Read(rb, r.x); err != nil {
				t.Fatal(err)
			}
			if err := e.Submit(); err != nil {
				t.Fatal(err)
			}
			raw, err := rb.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*63:])); v != 5 {
				t.Fatalf("after reuse x[63] = %g, want 5", v)
			}
		})
	}
}

func TestCopy(t *testing.T) {
	d := testgpu.Device(t)
	vals := testgpu.Round(testgpu.Rand(5, 6, -1, 1))
	a := testgpu.Upload(t, d, "a", vals, 2, 3)
	flat := testgpu.Upload(t, d, "flat", nil, 6)
	seven := testgpu.Upload(t, d, "seven", nil, 7)
	u, err := d.NewBuffer("u", gpu.U32, 6)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Release()

	var se *gpu.ShapeError
	for _, dst := range []*gpu.Buffer{seven, u} {
		e := newEncoder(t, d, "copy")
		err := e.Copy(a, dst)
		if !errors.As(err, &se) {
			t.Fatalf("Copy %s -> %s: %v, want a *gpu.ShapeError", a, dst, err)
		}
		t.Logf("Copy %s -> %s: %v", a, dst, err)
		if serr := e.Submit(); serr == nil {
			t.Fatal("Submit after a failed Copy succeeded")
		}
	}
	// same bytes, other shape: fine
	e := newEncoder(t, d, "copy ok")
	if err := e.Copy(a, flat); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	for i, v := range testgpu.Read(t, flat) {
		if float64(v) != vals[i] {
			t.Fatalf("flat[%d] = %g, want %g", i, v, vals[i])
		}
	}
}

func TestTimestamps(t *testing.T) {
	d := testgpu.Device(t)
	if !d.HasTimestamps() {
		t.Logf("branch: %s has no timestamp queries; checking that NewTimer refuses", d.Info)
		tm, err := d.NewTimer(4)
		if err == nil {
			tm.Release()
			t.Fatal("NewTimer succeeded on a device without timestamp queries")
		}
		t.Logf("NewTimer: %v", err)
		return
	}
	t.Logf("branch: %s has timestamp queries", d.Info)
	for _, c := range []int{0, -1, 4096} {
		if tm, err := d.NewTimer(c); err == nil {
			tm.Release()
			t.Fatalf("NewTimer(%d) succeeded", c)
		}
	}
	r := newScaleRig(t, d, 1<<16, 3)
	tm, err := d.NewTimer(4)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Release()
	for round := 0; round < 2; round++ { // the timer is reusable
		e := newEncoder(t, d, "timed")
		if err := e.Mark(tm, "first"); err != nil {
			t.Fatal(err)
		}
		if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
			t.Fatal(err)
		}
		if err := e.Mark(tm, "second"); err != nil {
			t.Fatal(err)
		}
		if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
			t.Fatal(err)
		}
		if err := e.Submit(); err != nil {
			t.Fatal(err)
		}
		spans, err := tm.Spans()
		if err != nil {
			t.Fatal(err)
		}
		if len(spans) != 2 || spans[0].Label != "first" || spans[1].Label != "second" {
			t.Fatalf("round %d: spans %+v, want first and second", round, spans)
		}
		for _, s := range spans {
			if s.Ns < 0 || math.IsNaN(s.Ns) {
				t.Fatalf("round %d: span %q has %g ns", round, s.Label, s.Ns)
			}
		}
		t.Logf("round %d: spans %q %.0f ns, %q %.0f ns", round, spans[0].Label, spans[0].Ns, spans[1].Label, spans[1].Ns)
	}
	r.checkScaled(t, 3)

	// more marks than the capacity
	small, err := d.NewTimer(1)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	e := newEncoder(t, d, "over capacity")
	if err := e.Mark(small, "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.Mark(small, "b"); err == nil {
		t.Fatal("a second Mark on a timer of capacity 1 succeeded")
	}
	if err := e.Submit(); err == nil {
		t.Fatal("Submit after a failed Mark succeeded")
	}
	// Mark after Submit must fail, not touch the released command encoder
	e = newEncoder(t, d, "mark after submit")
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	if err := e.Mark(tm, "late"); err == nil {
		t.Fatal("Mark after Submit succeeded")
	}
}

func TestCounters(t *testing.T) {
	d := testgpu.Device(t)
	r := newScaleRig(t, d, 200, 2)
	c0 := d.Counters()
	e := newEncoder(t, d, "counters")
	const dispatches = 3
	for i := 0; i < dispatches; i++ {
		if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Dispatch(r.b, 0, 1, 1); err != nil { // empty: records nothing
		t.Fatal(err)
	}
	if c := d.Counters(); c != c0 {
		t.Fatalf("counters moved before Submit: %+v -> %+v", c0, c)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	c1 := d.Counters()
	if c1.Submits != c0.Submits+1 || c1.Dispatch != c0.Dispatch+dispatches || c1.Readbacks != c0.Readbacks || c1.Uploads != c0.Uploads {
		t.Fatalf("one Submit of %d dispatches: counters %+v -> %+v", dispatches, c0, c1)
	}
	r.checkScaled(t, 2) // Buffer.Read: one readback, one submission of its copy
	c2 := d.Counters()
	if c2.Readbacks != c1.Readbacks+1 || c2.Submits != c1.Submits+1 || c2.Dispatch != c1.Dispatch {
		t.Fatalf("Buffer.Read: counters %+v -> %+v, want one more readback and submit", c1, c2)
	}
	if err := r.x.Fill(1); err != nil {
		t.Fatal(err)
	}
	if c3 := d.Counters(); c3.Uploads != c2.Uploads+1 {
		t.Fatalf("Buffer.Write: uploads %d -> %d", c2.Uploads, c3.Uploads)
	}
	t.Logf("counters %+v -> %+v", c0, d.Counters())
}
