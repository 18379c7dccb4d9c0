package ops

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/shaders"
)

// The WGSL params structs are generated from the Go ones: same fields, in
// order, with the names the shaders use, and a size that is a multiple of
// 16 bytes, as WGSL's uniform layout requires.
func TestParamsStructsMirrorGo(t *testing.T) {
	for _, c := range []struct {
		p    any
		want string
	}{
		{adamParams{}, "struct AdamParams {\n  lr: f32,\n  b1: f32,\n  b2: f32,\n  eps: f32,\n  q1: f32,\n  q2: f32,\n  pad0: f32,\n  pad1: f32,\n}\n"},
		{lossParams{}, "struct LossParams {\n  grad: f32,\n  value: f32,\n  pad0: f32,\n  pad1: f32,\n}\n"},
	} {
		name, body, err := gpu.WGSLStruct(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if body != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", name, body, c.want)
		}
		b, err := gpu.ParamBytes(c.p)
		if err != nil {
			t.Fatal(err)
		}
		if fields := strings.Count(body, ": f32"); len(b) != 4*fields || gpu.ParamsSpec("p", c.p).Bytes() != uint64(len(b)) {
			t.Errorf("%s: %d bytes in Go, %d f32 fields in WGSL, spec %d bytes", name, len(b), fields, gpu.ParamsSpec("p", c.p).Bytes())
		}
	}
	if _, _, err := gpu.WGSLStruct(struct{ X float64 }{}); err == nil {
		t.Error("a float64 field has no WGSL scalar, but rendered")
	}
}

// A kernel's slots render its declarations in binding order, one struct
// per params type, and the shader text names exactly those variables.
func TestSlotsRender(t *testing.T) {
	s := slots{ro("src", nil, "(KC,H,W)"), rw("dst", nil, ""), uni("cparams", nil, lossParams{}), uni("sparams", nil, lossParams{})}
	text, err := s.WGSL()
	if err != nil {
		t.Fatal(err)
	}
	want := "struct LossParams {\n  grad: f32,\n  value: f32,\n  pad0: f32,\n  pad1: f32,\n}\n" +
		"@group(0) @binding(0) var<storage, read> src: array<f32>; // (KC,H,W)\n" +
		"@group(0) @binding(1) var<storage, read_write> dst: array<f32>;\n" +
		"@group(0) @binding(2) var<uniform> cparams: LossParams;\n" +
		"@group(0) @binding(3) var<uniform> sparams: LossParams;\n"
	if text != want {
		t.Errorf("rendered\n%s\nwant\n%s", text, want)
	}
	if s.Storage() != 2 {
		t.Errorf("%d storage slots, want 2", s.Storage())
	}
	// The fused conv backward's text uses every variable it declares.
	data := convData{Entry: "backward_input", GM: 8, KC: 16, H: 4, W: 4, MASK: true, CONTENT: true, STYLE: true, S: 1, KCHUNK: 160}
	data.tileData = Tile{TM: 64, TN: 16, TK: 16, TX: 4, TY: 16}.data(true, false)
	sl := convSlots(data, convBufs{}, false)
	decl, err := sl.WGSL()
	if err != nil {
		t.Fatal(err)
	}
	data.setBindings(decl)
	src, err := shaders.Render("conv3x3.wgsl", &data)
	if err != nil {
		t.Fatal(err)
	}
	// The code, without comments and the declarations themselves, uses
	// each declared variable.
	var code strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		if !strings.HasPrefix(line, "@group(0) @binding(") {
			code.WriteString(line + "\n")
		}
	}
	for _, v := range sl {
		if !regexp.MustCompile(`\b` + v.Name + `(\[|\.)`).MatchString(code.String()) {
			t.Errorf("conv3x3 backward_input declares %s but never uses it", v.Name)
		}
	}
}
