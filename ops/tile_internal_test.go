package ops

import (
	"strings"
	"testing"

	"github.com/stylize/stylize/shaders"
)

// TestBigTileStaysUnrolled checks that the 8x8 register blocks of the
// 128x128 tile are generated unrolled: 64 scalar accumulators with literal
// names (naga adds no bounds checks to them), no accumulator array.
func TestBigTileStaysUnrolled(t *testing.T) {
	data := convData{tileData: Tile128x128.data(true, false), Entry: "forward", GM: 256, KC: 256, H: 16, W: 16, BIAS: true, S: 1, KCHUNK: 9 * 256}
	src, err := shaders.Render("conv3x3.wgsl", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"var c0_0 = 0.0;", "var c7_7 = 0.0;", "c7_7 = fma(a7, b7, c7_7);", "let a7 = As[", "let b7 = Bs["} {
		if !strings.Contains(src, want) {
			t.Errorf("128x128 conv shader lacks %q", want)
		}
	}
	if strings.Contains(src, "c8_") || strings.Contains(src, "_8 ") || strings.Contains(src, "array<f32, 64>") {
		t.Error("128x128 conv shader's accumulators are not exactly the 8x8 named scalars")
	}
	if n := strings.Count(src, "= fma("); n != 64 {
		t.Errorf("128x128 conv shader has %d FMAs in its inner loop, want 64", n)
	}
}
