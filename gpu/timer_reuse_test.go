package gpu_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
)

// TestTimerReusedBeforeSpans marks a second encoder with a timer whose
// spans from the first submission were not collected. Its staging buffer
// is still being mapped, and a submission that copies into a buffer
// being mapped is fatal in wgpu-native 0.17: Mark must refuse instead.
func TestTimerReusedBeforeSpans(t *testing.T) {
	d := testgpu.Device(t)
	if !d.HasTimestamps() {
		t.Logf("branch: %s has no timestamp queries; NewTimer must refuse", d.Info)
		if tm, err := d.NewTimer(2); err == nil {
			tm.Release()
			t.Fatal("NewTimer succeeded without timestamp queries")
		}
		return
	}
	tm, err := d.NewTimer(2)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Release()
	r := newScaleRig(t, d, 64, 2)
	e := newEncoder(t, d, "first")
	if err := e.Mark(tm, "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.Dispatch1D(r.b, r.n, 64); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	e = newEncoder(t, d, "second")
	err = e.Mark(tm, "b")
	wantErrNaming(t, "Mark before the previous spans were collected", err, "second", "Spans")
	if err := e.Submit(); err == nil {
		t.Fatal("Submit after the refused Mark succeeded")
	}
	spans, err := tm.Spans()
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].Label != "a" {
		t.Fatalf("spans %+v, want the first submission's one span a", spans)
	}
	// collected: the timer works again
	e = newEncoder(t, d, "third")
	if err := e.Mark(tm, "c"); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	if spans, err := tm.Spans(); err != nil || len(spans) != 1 || spans[0].Label != "c" {
		t.Fatalf("spans %+v, %v, want one span c", spans, err)
	}
}
