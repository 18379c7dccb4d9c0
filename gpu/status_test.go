package gpu

import (
	"errors"
	"strings"
	"testing"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// openTest opens a private device for a test that changes its state
// (marks it lost, closes it) and closes it at the end.
func openTest(t *testing.T) *Device {
	t.Helper()
	d, err := Open(Options{})
	if err != nil {
		t.Fatalf("no GPU adapter: %v\nInstall the software Vulkan driver: apt-get install -y mesa-vulkan-drivers libvulkan1", err)
	}
	t.Cleanup(d.Close)
	return d
}

// TestWorkDoneStatus decodes every WGPUQueueWorkDoneStatus of webgpu.h
// (wgpu-native 0.17) and one value outside it.
func TestWorkDoneStatus(t *testing.T) {
	for _, tc := range []struct {
		status uint32
		name   string // "" for success
		lost   bool
	}{
		{uint32(wgpu.QueueWorkDoneStatus_Success), "", false},
		{uint32(wgpu.QueueWorkDoneStatus_Error), "Error", false},
		{uint32(wgpu.QueueWorkDoneStatus_Unknown), "Unknown", false},
		{uint32(wgpu.QueueWorkDoneStatus_DeviceLost), "DeviceLost", true},
		{99, "0x63", false},
	} {
		err := workDoneErr(tc.status)
		if tc.name == "" {
			if err != nil {
				t.Errorf("status %d: %v, want success", tc.status, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("status %d (%s) decoded as success", tc.status, tc.name)
			continue
		}
		// The buffer-map enum names 1 ValidationError: that is not what a
		// work-done callback means.
		if !strings.Contains(err.Error(), "status "+tc.name) || strings.Contains(err.Error(), "Validation") {
			t.Errorf("status %d: %q does not name %s", tc.status, err, tc.name)
		}
		if errors.Is(err, ErrDeviceLost) != tc.lost {
			t.Errorf("status %d: errors.Is(ErrDeviceLost) = %v, want %v", tc.status, !tc.lost, tc.lost)
		}
		t.Logf("%d: %v", tc.status, err)
	}
}

// TestMapStatus decodes every WGPUBufferMapAsyncStatus of webgpu.h
// (wgpu-native 0.17) and one value outside it.
func TestMapStatus(t *testing.T) {
	names := []string{"", "ValidationError", "Unknown", "DeviceLost", "DestroyedBeforeCallback",
		"UnmappedBeforeCallback", "MappingAlreadyPending", "OffsetOutOfRange", "SizeOutOfRange"}
	for status, name := range names {
		err := mapStatusErr(uint32(status))
		if name == "" {
			if err != nil {
				t.Errorf("status %d: %v, want success", status, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "status "+name) {
			t.Errorf("status %d: %v, want an error naming %s", status, err, name)
			continue
		}
		if errors.Is(err, ErrDeviceLost) != (name == "DeviceLost") {
			t.Errorf("status %d: errors.Is(ErrDeviceLost) = %v", status, errors.Is(err, ErrDeviceLost))
		}
	}
	if err := mapStatusErr(99); err == nil || !strings.Contains(err.Error(), "0x63") {
		t.Errorf("status 99: %v", err)
	}
}

// TestMarkerReportsFailedWorkDone delivers a failed work-done status the
// way the cgo callback does: Wait must report it, not succeed.
func TestMarkerReportsFailedWorkDone(t *testing.T) {
	d := openTest(t)
	for _, tc := range []struct {
		status wgpu.QueueWorkDoneStatus
		lost   bool
	}{
		{wgpu.QueueWorkDoneStatus_Error, false},
		{wgpu.QueueWorkDoneStatus_Unknown, false},
		{wgpu.QueueWorkDoneStatus_DeviceLost, true},
	} {
		m := &Marker{d: d}
		workDoneCallback(uint32(tc.status), addWaiter(m.finish))
		err := m.Wait()
		if err == nil {
			t.Fatalf("Marker.Wait after work-done status %s: nil error", tc.status)
		}
		if !strings.Contains(err.Error(), "status "+tc.status.String()) || strings.Contains(err.Error(), "Validation") || strings.Contains(err.Error(), "mapping") {
			t.Errorf("Marker.Wait after %s: %v does not name the work-done status", tc.status, err)
		}
		if errors.Is(err, ErrDeviceLost) != tc.lost {
			t.Errorf("Marker.Wait after %s: errors.Is(ErrDeviceLost) = %v", tc.status, !tc.lost)
		}
		t.Logf("%s: %v", tc.status, err)
	}
	if _, err := d.NewBuffer("after", F32, 4); !errors.Is(err, ErrDeviceLost) {
		t.Fatalf("NewBuffer after a DeviceLost work-done: %v, want ErrDeviceLost", err)
	}
	// and a real marker on a healthy device succeeds
	d2 := openTest(t)
	if err := d2.Mark().Wait(); err != nil {
		t.Fatalf("a marker over no work: %v", err)
	}
}
