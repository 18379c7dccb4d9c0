package gpu

import (
	"errors"
	"testing"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// TestDeviceLostIsAnError simulates the driver reporting a lost device
// through the uncaptured-error callback: every later call returns
// ErrDeviceLost instead of crashing.
func TestDeviceLostIsAnError(t *testing.T) {
	d, err := Open(Options{})
	if err != nil {
		t.Fatalf("no GPU adapter: %v (apt-get install mesa-vulkan-drivers libvulkan1)", err)
	}
	defer d.Close()
	b, err := d.NewBuffer("before", F32, 4)
	if err != nil {
		t.Fatal(err)
	}
	d.onUncaptured(wgpu.ErrorType_DeviceLost, "simulated: GPU reset")
	if _, err := d.NewBuffer("after", F32, 4); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("NewBuffer after loss: %v, want ErrDeviceLost", err)
	}
	if _, err := b.Read(); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("Read after loss: %v, want ErrDeviceLost", err)
	}
	if _, err := d.NewEncoder("x"); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("NewEncoder after loss: %v", err)
	}
	if err := d.Poll(); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("Poll after loss: %v", err)
	} else {
		t.Log(err)
	}
}

// TestUncapturedErrorIsReturned checks that an error no scope caught (a
// validation error in a submission, say) comes back from the next call.
func TestUncapturedErrorIsReturned(t *testing.T) {
	d, err := Open(Options{})
	if err != nil {
		t.Fatalf("no GPU adapter: %v", err)
	}
	defer d.Close()
	d.onUncaptured(wgpu.ErrorType_Validation, "simulated validation error")
	if err := d.Poll(); err == nil || errors.Is(err, ErrDeviceLost) {
		t.Fatalf("Poll: %v, want the validation error", err)
	}
	if err := d.Poll(); err != nil {
		t.Fatalf("the error is reported once, then the device goes on: %v", err)
	}
}
