package bench

import (
	"math"
	"testing"

	"github.com/stylize/stylize/ops"
)

// TestBenchIterationConvFLOPs checks the count against the layer list written
// out by hand.
func TestBenchIterationConvFLOPs(t *testing.T) {
	convs := []struct{ cin, cout, side int }{
		{3, 64, 512}, {64, 64, 512}, {64, 128, 256}, {128, 128, 256},
		{128, 256, 128}, {256, 256, 128}, {256, 256, 128}, {256, 256, 128},
		{256, 512, 64}, {512, 512, 64}, {512, 512, 64}, {512, 512, 64},
		{512, 512, 32}, {512, 512, 32}, // relu5_1, relu5_2
	}
	want := 0.0
	for _, c := range convs {
		want += 2 * 2 * 9 * float64(c.cin*c.cout*c.side*c.side)
	}
	got, err := IterationConvFLOPs(widths, 512, 512, "relu5_2")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("512x512: %v FLOPs, want %v", got, want)
	}
	if math.Abs(got/1e9-388.4) > 0.1 {
		t.Errorf("512x512: %.1f GFLOP, want about 388.4", got/1e9)
	}
	// Floored pools: 100 -> 50 -> 25 -> 12 -> 6.
	got, _ = IterationConvFLOPs(widths, 100, 100, "relu5_2")
	want = 2 * (ops.Conv3x3FLOPs(3, 64, 100, 100) + ops.Conv3x3FLOPs(64, 64, 100, 100) +
		ops.Conv3x3FLOPs(64, 128, 50, 50) + ops.Conv3x3FLOPs(128, 128, 50, 50) +
		ops.Conv3x3FLOPs(128, 256, 25, 25) + 3*ops.Conv3x3FLOPs(256, 256, 25, 25) +
		ops.Conv3x3FLOPs(256, 512, 12, 12) + 3*ops.Conv3x3FLOPs(512, 512, 12, 12) +
		2*ops.Conv3x3FLOPs(512, 512, 6, 6))
	if math.Abs(got-want) > 1 {
		t.Errorf("100x100: %v, want %v", got, want)
	}
	if _, err := IterationConvFLOPs(widths, 8, 8, "relu5_2"); err == nil {
		t.Error("an 8x8 image cannot reach relu5_2")
	}
}
