package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFillKeepsGivenFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := Register(fs, Command{Name: "t"})
	if err := fs.Parse([]string{"-optimizer", "adam", "-lr", "0.5"}); err != nil {
		t.Fatal(err)
	}
	p := Presets["neural-style"]
	if err := f.fill(fs, p); err != nil {
		t.Fatal(err)
	}
	got := []any{f.StyleLayers, f.ContentLayers, f.Optimizer, f.ContentWeight, f.TVWeight, f.LR, f.Size, f.Init}
	want := []any{p.StyleLayers, "relu4_2", "adam", 5.0, 1e-3, 0.5, 512, "random"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after fill: %v, want %v", got, want)
	}
}

// The help shows what each preset sets a flag to, never a placeholder.
func TestPrintDefaultsShowsPresetValues(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	f := Register(fs, Command{Name: "t", PrintEvery: 50})
	fs.Bool("hidden-one", false, "not shown")
	f.PrintDefaults(fs, "hidden-one")
	out := buf.String()
	for _, want := range []string{
		"learning rate (Adam) or step length (L-BFGS) (seed: 0.02, neural-style: 1)",
		"content loss weight (seed: 10000, neural-style: 5)",
		"total-variation loss weight (seed: 0, neural-style: 0.001)",
		`or by torchvision index (features.22 or 22) (seed: "relu5_2", neural-style: "relu4_2")`,
		"0 keeps the content's size (default 512)",
		"Adam beta2 (default 0.999)",
		`(default "keras")`, "(default 50)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, bad := range []string{"NaN", "(default -1)", "hidden-one"} {
		if strings.Contains(out, bad) {
			t.Errorf("help shows %q:\n%s", bad, out)
		}
	}
}

func TestListFlag(t *testing.T) {
	var l ListFlag
	for _, s := range []string{"a.png, b.png", "c.png", ""} {
		if err := l.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if want := (ListFlag{"a.png", "b.png", "c.png"}); !reflect.DeepEqual(l, want) || l.String() != "a.png,b.png,c.png" {
		t.Errorf("%q (%s), want %q", l, l.String(), want)
	}
}

// -style-blend is normalised, as jcjohnson/neural-style does: "1,3" is
// "0.25,0.75".
func TestBlendNormalised(t *testing.T) {
	f := &RunFlags{Styles: []string{"a.png", "b.png"}, Blend: "1,3"}
	b, err := f.blend()
	if err != nil || len(b) != 2 || b[0] != 0.25 || b[1] != 0.75 {
		t.Fatalf("blend 1,3: %v, %v; want [0.25 0.75]", b, err)
	}
}

// -overwrite-input lets -out name an input, which the check refuses
// otherwise.
func TestOverwriteInput(t *testing.T) {
	in := filepath.Join(t.TempDir(), "c.png")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &RunFlags{Content: in, Out: in, OutDepth: 8}
	if err := f.checkOut(); err == nil || !strings.Contains(err.Error(), "is the input") {
		t.Fatalf("-out = -content: %v", err)
	}
	f.OverwriteInput = true
	if err := f.checkOut(); err != nil {
		t.Fatalf("with -overwrite-input: %v", err)
	}
}
