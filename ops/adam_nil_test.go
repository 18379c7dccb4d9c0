package ops_test

import (
	"errors"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
)

// TestAdamNilBuffers: NewAdam with a nil parameter or gradient buffer
// returns a *gpu.ShapeError naming it instead of panicking, and leaves no
// GPU memory behind.
func TestAdamNilBuffers(t *testing.T) {
	d := testgpu.Device(t)
	cfg := ops.AdamConfig{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	x := testgpu.Upload(t, d, "x", nil, 8)
	g := testgpu.Upload(t, d, "g", nil, 8)
	before, _ := d.MemoryBytes()
	for _, tc := range []struct {
		name string
		x, g *gpu.Buffer
		what string
	}{
		{"nil-x", nil, g, "x"},
		{"nil-g", x, nil, "gradient"},
		{"both-nil", nil, nil, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a *ops.Adam
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("NewAdam panicked: %v", r)
					}
				}()
				a, err = ops.NewAdam(d, cfg, tc.x, tc.g)
			}()
			var se *gpu.ShapeError
			if !errors.As(err, &se) {
				if a != nil {
					a.Release()
				}
				t.Fatalf("NewAdam: %v (%T), want a *gpu.ShapeError", err, err)
			}
			if se.What != tc.what || se.Got != "nil buffer" {
				t.Errorf("NewAdam: %+v, want What %q and Got \"nil buffer\"", se, tc.what)
			}
			t.Log(err)
		})
	}
	if after, _ := d.MemoryBytes(); after != before {
		t.Fatalf("refused NewAdam calls left %d bytes allocated", after-before)
	}
}
