package ops

import (
	"strings"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/shaders"
)

// TestAdamParamsMirrorWGSL checks that the host params struct has the size
// of adam.wgsl's Params (8 × f32 = 32 bytes), a multiple of 16.
func TestAdamParamsMirrorWGSL(t *testing.T) {
	b, err := gpu.ParamBytes(adamParams{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := shaders.Render("adam.wgsl", adamData{Entry: "keras", N: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(src, "struct Params {")
	end := strings.Index(src[start:], "}")
	fields := strings.Count(src[start:start+end], ": f32")
	if len(b) != 4*fields || len(b)%16 != 0 {
		t.Fatalf("adamParams is %d bytes; WGSL Params has %d f32 fields (%d bytes)", len(b), fields, 4*fields)
	}
	t.Logf("adamParams: %d bytes, %d WGSL fields", len(b), fields)
}
