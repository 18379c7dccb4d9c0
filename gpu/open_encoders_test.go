package gpu_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
)

// TestOpenEncoders counts the encoders made and neither submitted nor
// discarded, whichever way they end.
func TestOpenEncoders(t *testing.T) {
	d := testgpu.Device(t)
	n0 := d.OpenEncoders()
	want := func(what string, n int) {
		t.Helper()
		if got := d.OpenEncoders(); got != n0+n {
			t.Fatalf("%s: %d open encoders, want %d", what, got, n0+n)
		}
	}
	a := newEncoder(t, d, "a")
	b := newEncoder(t, d, "b")
	c := newEncoder(t, d, "c")
	want("three new encoders", 3)
	if err := a.Submit(); err != nil {
		t.Fatal(err)
	}
	want("one submitted", 2)
	if err := a.Submit(); err == nil {
		t.Fatal("a second Submit succeeded")
	}
	want("submitted twice", 2)
	b.Discard()
	b.Discard()
	want("one discarded (twice)", 1)
	r := newScaleRig(t, d, 64, 1)
	if err := c.Dispatch(r.b, d.Limits().MaxComputeWorkgroupsPerDimension+1, 1, 1); err == nil {
		t.Fatal("an over-limit dispatch was accepted")
	}
	if err := c.Submit(); err == nil {
		t.Fatal("Submit of a failed recording succeeded")
	}
	want("a failed Submit", 0)
	e := newEncoder(t, d, "released")
	if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
		t.Fatal(err)
	}
	gone := testgpu.Upload(t, d, "gone", nil, 4)
	dst := testgpu.Upload(t, d, "dst", nil, 4)
	if err := e.Copy(gone, dst); err != nil {
		t.Fatal(err)
	}
	gone.Release()
	if err := e.Submit(); err == nil {
		t.Fatal("Submit of work over a released buffer succeeded")
	}
	want("a refused Submit", 0)
}
