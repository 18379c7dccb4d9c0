package cli

import (
	"flag"
	"reflect"
	"testing"
)

func TestFillKeepsGivenFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var layers, opt string
	var cw, lr float64
	var size int
	fs.StringVar(&layers, "style-layers", "", "")
	fs.StringVar(&opt, "optimizer", "", "")
	fs.Float64Var(&cw, "content-weight", 0, "")
	fs.Float64Var(&lr, "lr", 0, "")
	fs.IntVar(&size, "size", 0, "")
	if err := fs.Parse([]string{"-optimizer", "lbfgs", "-lr", "0.5"}); err != nil {
		t.Fatal(err)
	}
	p := Presets["seed"]
	p.Fill(fs, Targets{StyleLayers: &layers, Optimizer: &opt, ContentWeight: &cw, LR: &lr, Size: &size})
	got := []any{layers, opt, cw, lr, size}
	want := []any{p.StyleLayers, "lbfgs", 1e4, 0.5, 512}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after Fill: %v, want %v", got, want)
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
