package gpu_test

import (
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// TestSubmitOfReleasedBuffer records work over buffers and releases one
// before Submit. wgpu-native 0.17 treats a submission that uses a
// destroyed buffer as fatal (it aborts the process), so Submit must refuse
// it, naming the submission and the buffer, and leave the device usable
// for unrelated calls.
func TestSubmitOfReleasedBuffer(t *testing.T) {
	d := testgpu.Device(t)
	for _, how := range []string{"dispatch", "copy", "readback"} {
		t.Run(how, func(t *testing.T) {
			r := newScaleRig(t, d, 64, 2)
			dst := testgpu.Upload(t, d, "dst", nil, 64)
			rb, err := d.NewReadback("rb", 64*4)
			if err != nil {
				t.Fatal(err)
			}
			e := newEncoder(t, d, "culprit-"+how)
			var gone string
			switch how {
			case "dispatch":
				if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
					t.Fatal(err)
				}
				r.y.Release()
				gone = "y"
				rb.Release()
			case "copy":
				if err := e.Copy(r.x, dst); err != nil {
					t.Fatal(err)
				}
				dst.Release()
				gone = "dst"
				rb.Release()
			case "readback":
				if err := e.Read(rb, r.x); err != nil {
					t.Fatal(err)
				}
				rb.Release()
				gone = "rb"
			}
			open := d.OpenEncoders()
			err = e.Submit()
			wantErrNaming(t, "Submit", err, "culprit-"+how, gone, "released")
			if d.OpenEncoders() != open-1 {
				t.Errorf("the refused encoder is still counted open")
			}
			b, err := d.NewBuffer("after", gpu.F32, 4)
			if err != nil {
				t.Fatalf("an unrelated NewBuffer after the refused Submit: %v", err)
			}
			b.Release()
			if err := d.Poll(); err != nil {
				t.Fatalf("Poll after the refused Submit: %v", err)
			}
		})
	}
}
