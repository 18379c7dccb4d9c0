package gpu_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// manyBindings returns a valid WGSL kernel with nIn read-only storage
// bindings, one read-write one and nUni uniforms, all used.
func manyBindings(name string, nIn, nUni int) gpu.KernelSpec {
	var src strings.Builder
	var acc []gpu.Access
	src.WriteString("struct P { v: f32, a: f32, b: f32, c: f32, }\n")
	sum := "0.0"
	for i := 0; i < nIn; i++ {
		fmt.Fprintf(&src, "@group(0) @binding(%d) var<storage, read> x%d: array<f32>;\n", i, i)
		sum += fmt.Sprintf(" + x%d[0]", i)
		acc = append(acc, gpu.In)
	}
	fmt.Fprintf(&src, "@group(0) @binding(%d) var<storage, read_write> y: array<f32>;\n", nIn)
	acc = append(acc, gpu.Out)
	for i := 0; i < nUni; i++ {
		fmt.Fprintf(&src, "@group(0) @binding(%d) var<uniform> p%d: P;\n", nIn+1+i, i)
		sum += fmt.Sprintf(" + p%d.v", i)
		acc = append(acc, gpu.Uniform)
	}
	fmt.Fprintf(&src, "@compute @workgroup_size(1)\nfn main() { y[0] = %s; }\n", sum)
	return gpu.KernelSpec{Name: name, Source: src.String(), Entry: "main", Bindings: acc}
}

// TestKernelBindingLimits: a kernel that binds more storage buffers or
// uniforms per shader stage than the device allows is refused with a
// *gpu.LimitError naming the pipeline, before wgpu sees it.
func TestKernelBindingLimits(t *testing.T) {
	d := testgpu.Device(t)
	lim := d.Limits()
	st, un := int(lim.MaxStorageBuffersPerShaderStage), int(lim.MaxUniformBuffersPerShaderStage)
	t.Logf("limits: %d storage buffers, %d uniforms per shader stage", st, un)
	for _, tc := range []struct {
		spec gpu.KernelSpec
		what string
		need int
	}{
		{manyBindings("test.too-many-storage", st, 1), "storage", st + 1},
		{manyBindings("test.too-many-uniforms", 1, un+1), "uniform", un + 1},
	} {
		_, err := d.Kernel(tc.spec)
		var le *gpu.LimitError
		if !errors.As(err, &le) {
			t.Fatalf("%s: %v (%T), want a *gpu.LimitError", tc.spec.Name, err, err)
		}
		if le.Need != uint64(tc.need) || !strings.Contains(err.Error(), tc.spec.Name) || !strings.Contains(err.Error(), tc.what) {
			t.Fatalf("%s: %v: want it to name the pipeline, %s buffers and need %d", tc.spec.Name, err, tc.what, tc.need)
		}
		t.Log(err)
	}
	// at the limits it compiles
	for _, spec := range []gpu.KernelSpec{manyBindings("test.max-storage", st-1, 1), manyBindings("test.max-uniforms", 1, un)} {
		if _, err := d.Kernel(spec); err != nil {
			t.Fatalf("%s, at the limits: %v", spec.Name, err)
		}
	}
}
