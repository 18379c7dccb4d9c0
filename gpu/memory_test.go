package gpu_test

import (
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
)

// TestMemoryCoversReadbacksAndTimers: MemoryBytes counts every GPU buffer
// the package makes, readback staging buffers and a timer's buffers
// included, until they are released.
func TestMemoryCoversReadbacksAndTimers(t *testing.T) {
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	rb, err := d.NewReadback("rb", 1001)
	if err != nil {
		t.Fatal(err)
	}
	if now, peak := d.MemoryBytes(); now != before+1004 || peak < now {
		t.Fatalf("a 1001-byte readback (1004 allocated): memory %d -> %d, peak %d", before, now, peak)
	}
	rb.Release()
	rb.Release() // twice is harmless
	if now, _ := d.MemoryBytes(); now != before {
		t.Fatalf("after releasing the readback, memory is %d, want %d", now, before)
	}

	// Buffer.Read's temporary readback comes and goes.
	x := testgpu.Upload(t, d, "x", []float64{1, 2, 3}, 3)
	mid, _ := d.MemoryBytes()
	testgpu.Read(t, x)
	if now, peak := d.MemoryBytes(); now != mid || peak < mid+12 {
		t.Fatalf("Buffer.Read: memory %d -> %d, peak %d (want the 12-byte staging buffer in the peak only)", mid, now, peak)
	}

	if !d.HasTimestamps() {
		t.Logf("branch: %s has no timestamp queries; no timer to count", d.Info)
		return
	}
	tm, err := d.NewTimer(3) // 4 timestamps: a 32-byte resolve buffer and a 32-byte readback
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := d.MemoryBytes(); now != mid+64 {
		t.Fatalf("a timer of 3 marks: memory %d -> %d, want +64", mid, now)
	}
	tm.Release()
	tm.Release()
	if now, _ := d.MemoryBytes(); now != mid {
		t.Fatalf("after releasing the timer, memory is %d, want %d", now, mid)
	}
}

// TestResetPeak: ResetPeak brings the peak down to the bytes held now, and
// the peak then follows new allocations from there.
func TestResetPeak(t *testing.T) {
	d := testgpu.Device(t)
	base, _ := d.MemoryBytes()
	big, err := d.NewBuffer("big", gpu.F32, 4096)
	if err != nil {
		t.Fatal(err)
	}
	big.Release()
	if now, peak := d.MemoryBytes(); now != base || peak < base+4*4096 {
		t.Fatalf("after a 16 KiB buffer came and went: now %d, peak %d (base %d)", now, peak, base)
	}
	d.ResetPeak()
	if now, peak := d.MemoryBytes(); now != base || peak != base {
		t.Fatalf("after ResetPeak: now %d, peak %d, want both %d", now, peak, base)
	}
	small := testgpu.Upload(t, d, "small", nil, 16)
	if now, peak := d.MemoryBytes(); now != base+64 || peak != base+64 {
		t.Fatalf("a 64-byte buffer after ResetPeak: now %d, peak %d, want both %d", now, peak, base+64)
	}
	small.Release()
	if now, peak := d.MemoryBytes(); now != base || peak != base+64 {
		t.Fatalf("after releasing it: now %d, peak %d, want %d and %d", now, peak, base, base+64)
	}
}
