package gpu

import (
	"strings"
	"testing"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// TestSubmitValidationErrorNamesSubmission makes a submission raise a real
// wgpu validation error (it asks to map a staging buffer that is already
// mapped) and checks that the error comes back from that Submit, naming
// its label, while unrelated calls before and after get none of it, and an
// unrelated error raised earlier is not blamed on it.
func TestSubmitValidationErrorNamesSubmission(t *testing.T) {
	d := openTest(t)
	src, rb := newReadRig(t, d)
	submitRead(t, d, rb, src, "good read")
	for deadline := time.Now().Add(10 * time.Second); rb.state.Load() != 3; time.Sleep(time.Millisecond) {
		if _, err := d.pollOnce(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the good read never mapped")
		}
	}

	// An error that no call's scope caught, raised before the culprit.
	d.onUncaptured(wgpu.ErrorType_Validation, "an unrelated earlier error")
	before, err := d.NewBuffer("before", F32, 4)
	if err != nil {
		t.Fatalf("an unrelated NewBuffer before the culprit got an error: %v", err)
	}
	defer before.Release()

	// The culprit: its submission maps rb again while rb is still mapped.
	culprit, err := d.NewEncoder("culprit")
	if err != nil {
		t.Fatal(err)
	}
	rb.state.Store(1)
	culprit.readbacks = append(culprit.readbacks, rb)
	err = culprit.Submit()
	if err == nil {
		t.Fatal("the culprit's Submit returned no error")
	}
	if !strings.Contains(err.Error(), `"culprit"`) {
		t.Errorf("the culprit's Submit error does not name its label: %v", err)
	}
	if strings.Contains(err.Error(), "unrelated earlier error") {
		t.Errorf("the culprit's Submit was blamed for an earlier error: %v", err)
	}
	t.Logf("culprit: %v", err)

	after, err := d.NewBuffer("after", F32, 4)
	if err != nil {
		t.Fatalf("an unrelated NewBuffer after the culprit got an error: %v", err)
	}
	defer after.Release()
	// The earlier unscoped error comes back at the next Poll, once.
	if err := d.Poll(); err == nil || !strings.Contains(err.Error(), "unrelated earlier error") {
		t.Fatalf("Poll: %v, want the earlier unscoped error", err)
	} else {
		t.Logf("Poll: %v", err)
	}
	if err := d.Poll(); err != nil {
		t.Fatalf("a second Poll: %v", err)
	}
}

// TestWriteErrorStaysWithTheWrite: a queue write that wgpu refuses (6
// bytes: not a multiple of 4) fails itself, naming the buffer, and leaves
// nothing behind for unrelated calls.
func TestWriteErrorStaysWithTheWrite(t *testing.T) {
	d := openTest(t)
	rb, err := d.NewReadback("staging", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Release()
	odd := &Buffer{Name: "odd", Shape: []int{4}, DType: F32, d: d, buf: rb.staging, bytes: 16}
	err = d.upload(odd, make([]byte, 6))
	if err == nil || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("a 6-byte write: %v, want an error naming the buffer", err)
	}
	t.Log(err)
	b, err := d.NewBuffer("after", F32, 4)
	if err != nil {
		t.Fatalf("an unrelated NewBuffer after the failed write: %v", err)
	}
	b.Release()
	if err := d.Poll(); err != nil {
		t.Fatalf("Poll after the failed write: %v", err)
	}
}
