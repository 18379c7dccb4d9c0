package gpu

import (
	"errors"
	"strings"
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

// TestValidationErrorSayingLostIsNotLoss: a device is lost when wgpu says
// so by the error's type, not when a validation message happens to
// contain the word "lost".
func TestValidationErrorSayingLostIsNotLoss(t *testing.T) {
	d := openTest(t)
	d.onUncaptured(wgpu.ErrorType_Validation, "Buffer (label) lost its mapping: simulated validation error")
	if d.lost.Load() {
		t.Fatal("a validation error whose message says lost marked the device lost")
	}
	if err := d.Poll(); err == nil || errors.Is(err, ErrDeviceLost) {
		t.Fatalf("Poll: %v, want the validation error, not ErrDeviceLost", err)
	} else {
		t.Log(err)
	}
	b, err := d.NewBuffer("after", F32, 4)
	if err != nil {
		t.Fatalf("NewBuffer after a validation error that says lost: %v", err)
	}
	defer b.Release()
	if err := d.Poll(); err != nil {
		t.Fatalf("the device goes on after the validation error: %v", err)
	}
	for _, typ := range []wgpu.ErrorType{wgpu.ErrorType_OutOfMemory, wgpu.ErrorType_DeviceLost} {
		d2 := openTest(t)
		d2.onUncaptured(typ, "simulated")
		if _, err := d2.NewBuffer("after", F32, 4); !errors.Is(err, ErrDeviceLost) {
			t.Errorf("NewBuffer after an uncaptured %s: %v, want ErrDeviceLost", typ, err)
		}
	}
}

// TestDeviceLostCallback runs the device-lost callback's Go side with the
// id Open registered: the device becomes lost and says why.
func TestDeviceLostCallback(t *testing.T) {
	d := openTest(t)
	if v, ok := lostDevices.Load(d.lostID); !ok || v.(*Device) != d {
		t.Fatalf("Open did not register the device for its device-lost callback (id %d)", d.lostID)
	}
	if err := d.Poll(); err != nil {
		t.Fatal(err)
	}
	deviceLostCallback(uint32(wgpu.DeviceLostReason_Undefined), "simulated: driver reset", d.lostID)
	_, err := d.NewBuffer("after", F32, 4)
	if !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "simulated: driver reset") {
		t.Fatalf("NewBuffer after the device-lost callback: %v, want ErrDeviceLost citing the message", err)
	}
	t.Log(err)
	deviceLostCallback(0, "for no device", 1<<60) // an unknown id is ignored
}

// TestOpenRequestsAdapterLimits checks that the device Open requests
// through its own device descriptor gets the adapter's limits (not
// WebGPU's defaults) and the features asked for.
func TestOpenRequestsAdapterLimits(t *testing.T) {
	d := openTest(t)
	got, want := d.Limits(), d.Info.Limits
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"MaxBufferSize", got.MaxBufferSize, want.MaxBufferSize},
		{"MaxStorageBufferBindingSize", got.MaxStorageBufferBindingSize, want.MaxStorageBufferBindingSize},
		{"MaxComputeWorkgroupsPerDimension", uint64(got.MaxComputeWorkgroupsPerDimension), uint64(want.MaxComputeWorkgroupsPerDimension)},
		{"MaxComputeInvocationsPerWorkgroup", uint64(got.MaxComputeInvocationsPerWorkgroup), uint64(want.MaxComputeInvocationsPerWorkgroup)},
		{"MaxStorageBuffersPerShaderStage", uint64(got.MaxStorageBuffersPerShaderStage), uint64(want.MaxStorageBuffersPerShaderStage)},
		{"MaxComputeWorkgroupStorageSize", uint64(got.MaxComputeWorkgroupStorageSize), uint64(want.MaxComputeWorkgroupStorageSize)},
	} {
		if c.got != c.want {
			t.Errorf("device %s = %d, the adapter offers %d", c.name, c.got, c.want)
		}
	}
	if d.HasTimestamps() != d.dev.HasFeature(wgpu.FeatureName_TimestampQuery) {
		t.Errorf("HasTimestamps() = %v but the device's TimestampQuery feature is %v", d.HasTimestamps(), !d.HasTimestamps())
	}
	t.Logf("MaxBufferSize %d, MaxStorageBufferBindingSize %d, timestamps %v", got.MaxBufferSize, got.MaxStorageBufferBindingSize, d.HasTimestamps())
}

// TestOpenRequestsNoPushConstants: nothing uses push constants, so the
// device must not ask for them (Open requests only what it uses).
func TestOpenRequestsNoPushConstants(t *testing.T) {
	d := openTest(t)
	if d.dev.HasFeature(wgpu.NativeFeature_PushConstants) {
		t.Fatal("the device was created with the PushConstants feature, which nothing uses")
	}
}
