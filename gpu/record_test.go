package gpu_test

import (
	"errors"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// Record submits what its function records, and when the function fails
// it discards the encoder (none stays open) and submits nothing; ReadVia
// reads through a staging buffer made once.
func TestRecordDiscardsOnError(t *testing.T) {
	d := testgpu.Device(t)
	open0, sub0 := d.OpenEncoders(), d.Counters().Submits
	src := testgpu.Upload(t, d, "src", []float64{1, 2, 3, 4}, 4)
	dst := testgpu.Upload(t, d, "dst", nil, 4)
	boom := errors.New("recording failed")
	if err := d.Record("fails", func(e *gpu.Encoder) error {
		if err := e.Copy(src, dst); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Record returned %v, want the recording's error", err)
	}
	if n := d.OpenEncoders(); n != open0 {
		t.Errorf("%d encoders open after a failed recording, want %d", n, open0)
	}
	if s := d.Counters().Submits; s != sub0 {
		t.Errorf("a failed recording was submitted (%d submissions)", s-sub0)
	}
	if err := d.Record("copies", func(e *gpu.Encoder) error { return e.Copy(src, dst) }); err != nil {
		t.Fatal(err)
	}
	rb, err := d.NewReadback("staging", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()
	for i := 0; i < 2; i++ { // the staging buffer is reused
		got, err := dst.ReadVia(rb)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0] != 1 || got[3] != 4 {
			t.Fatalf("read %v, want [1 2 3 4]", got)
		}
	}
	if n := d.OpenEncoders(); n != open0 {
		t.Errorf("%d encoders open at the end, want %d", n, open0)
	}
	small, err := d.NewReadback("small", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer small.Release()
	if _, err := dst.ReadVia(small); err == nil {
		t.Error("ReadVia read 16 bytes through an 8-byte staging buffer")
	}
	if n := d.OpenEncoders(); n != open0 {
		t.Errorf("%d encoders open after a refused read, want %d", n, open0)
	}
}
