package gpu

import (
	"errors"
	"testing"
)

// TestReadbackAfterFailedWait: a Wait that fails (here because the device
// is lost while the mapping is pending) must not leave the readback busy
// for ever; it is clearly failed instead, and says so.
func TestReadbackAfterFailedWait(t *testing.T) {
	for _, how := range []string{"Wait", "Ready"} {
		t.Run(how, func(t *testing.T) {
			d := openTest(t)
			src, rb := newReadRig(t, d)
			submitRead(t, d, rb, src, "read")
			d.markLost("simulated: lost while a readback was mapping")
			var err error
			if how == "Wait" {
				_, err = rb.Wait()
			} else {
				_, _, err = rb.Ready()
			}
			if !errors.Is(err, ErrDeviceLost) {
				t.Fatalf("%s on a lost device: %v, want ErrDeviceLost", how, err)
			}
			if rb.Busy() {
				t.Fatalf("the readback is still busy after its %s failed", how)
			}
			if _, err := rb.Wait(); err == nil {
				t.Fatal("a second Wait succeeded")
			} else {
				t.Log(err)
			}
			// it refuses a new copy rather than pretending to work
			e2 := &Encoder{d: d, label: "retry"}
			if err := rb.Copy(e2, src); err == nil {
				t.Fatal("Copy into a failed readback was accepted")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestReadbackCollectedBeforeSubmit asks for a readback's data between
// recording its copy and submitting it. Mapping the staging buffer then
// would hand back stale bytes and make the submission, which copies into
// a buffer being mapped, fatal in wgpu-native 0.17: each call must refuse
// instead, and the read must work once submitted.
func TestReadbackCollectedBeforeSubmit(t *testing.T) {
	d := openTest(t)
	src, err := d.NewBuffer("src", F32, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Release()
	if err := src.Write([]float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	rb, err := d.NewReadback("rb", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()
	e, err := d.NewEncoder("read")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Read(rb, src); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rb.Ready(); err == nil {
		t.Fatal("Ready before Submit: no error")
	}
	if _, _, err := rb.Collect(); err == nil {
		t.Fatal("Collect before Submit: no error")
	}
	if _, err := rb.Wait(); err == nil {
		t.Fatal("Wait before Submit: no error")
	} else {
		t.Log(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	raw, err := rb.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 16 || raw[12] != 0 || raw[15] != 0x40 { // 4.0f = 0x40800000, little-endian
		t.Fatalf("read back % x, want 1, 2, 3, 4 as f32", raw)
	}
}

// newReadRig makes a 4-value source buffer and a 16-byte readback,
// released when the test ends.
func newReadRig(t *testing.T, d *Device) (*Buffer, *Readback) {
	t.Helper()
	src, err := d.NewBuffer("src", F32, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Release)
	rb, err := d.NewReadback("rb", 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Release)
	return src, rb
}

// submitRead records and submits a copy of src into rb.
func submitRead(t *testing.T, d *Device, rb *Readback, src *Buffer, label string) {
	t.Helper()
	if err := d.Record(label, func(e *Encoder) error { return e.Read(rb, src) }); err != nil {
		t.Fatal(err)
	}
}
