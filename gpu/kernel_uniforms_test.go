package gpu_test

import (
	"strings"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// Several uniforms are allowed once every storage binding is before them
// (the fused conv backward binds two losses' params); a storage binding
// after a uniform is still refused.
func TestKernelUniformsAfterStorage(t *testing.T) {
	d := testgpu.Device(t)
	const src = `
struct P { v: f32, a: f32, b: f32, c: f32, }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@group(0) @binding(3) var<uniform> q: P;
@compute @workgroup_size(1)
fn main() { y[0] = x[0] * p.v + q.v; }
`
	k, err := d.Kernel(gpu.KernelSpec{Name: "test.two-uniforms", Source: src, Entry: "main", Bindings: []gpu.Access{gpu.In, gpu.Out, gpu.Uniform, gpu.Uniform}})
	if err != nil {
		t.Fatalf("two uniforms after the storage bindings: %v", err)
	}
	x := testgpu.Upload(t, d, "x", []float64{3}, 1)
	y := testgpu.Upload(t, d, "y", []float64{0}, 1)
	p, err := d.NewParams("p", [4]float32{2, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	q, err := d.NewParams("q", [4]float32{0.5, 0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	b, err := d.Bind(k, x, y, p, q)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	e, err := d.NewEncoder("two uniforms")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Dispatch(b, 1, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	if got := testgpu.Read(t, y)[0]; got != 6.5 {
		t.Fatalf("y = %v, want 3*2 + 0.5 = 6.5", got)
	}
	_, err = d.Kernel(gpu.KernelSpec{Name: "test.storage-between-uniforms", Source: src, Entry: "main", Bindings: []gpu.Access{gpu.In, gpu.Uniform, gpu.Out, gpu.Uniform}})
	if err == nil || !strings.Contains(err.Error(), "follows a uniform") {
		t.Fatalf("storage binding after a uniform: err = %v, want a refusal", err)
	}
}
