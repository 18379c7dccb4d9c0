package gpu

import (
	"fmt"
	"sync"
	"testing"
)

// TestKernelCompiledOnce asks for the same new kernel from many goroutines
// at once: they must all get the same *Kernel from a single compilation,
// with no pipeline compiled twice (and leaked).
func TestKernelCompiledOnce(t *testing.T) {
	d := openTest(t)
	for round := 0; round < 3; round++ {
		spec := KernelSpec{
			Name: fmt.Sprintf("test.once%d", round),
			Source: fmt.Sprintf(`
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
	if (g.x < arrayLength(&y)) { y[g.x] = f32(g.x) * %d.0; }
}`, round+2),
			Entry:    "main",
			Bindings: []Access{Out},
		}
		before := d.compiles.Load()
		const n = 16
		var wg sync.WaitGroup
		start := make(chan struct{})
		got := make([]*Kernel, n)
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				got[i], errs[i] = d.Kernel(spec)
			}(i)
		}
		close(start)
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if got[i] != got[0] {
				t.Fatalf("goroutine %d got kernel %p, goroutine 0 got %p", i, got[i], got[0])
			}
		}
		if c := d.compiles.Load() - before; c != 1 {
			t.Fatalf("round %d: %d goroutines asking for one new kernel compiled it %d times", round, n, c)
		}
	}
	// A failed compilation is not cached: asking again compiles again.
	bad := KernelSpec{Name: "test.bad", Source: "not wgsl", Entry: "main", Bindings: []Access{Out}}
	before := d.compiles.Load()
	for i := 0; i < 2; i++ {
		if _, err := d.Kernel(bad); err == nil {
			t.Fatal("a broken kernel compiled")
		}
	}
	if c := d.compiles.Load() - before; c != 2 {
		t.Fatalf("two requests of a broken kernel compiled %d times, want 2 (errors are not cached)", c)
	}
}
