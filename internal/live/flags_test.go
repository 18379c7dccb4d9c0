package live

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"c.png", "s.png", "t.png"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	c, s, s2 := filepath.Join(dir, "c.png"), filepath.Join(dir, "s.png"), filepath.Join(dir, "t.png")
	parse := func(args ...string) (*Config, error) {
		fs := flag.NewFlagSet("stylize-live", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return f.Resolve(fs)
	}
	o, err := parse("-content", c, "-style", s, "-style", s2)
	if err != nil {
		t.Fatal(err)
	}
	if o.Size != 512 || o.Config.ContentWeight != 1e4 || o.Config.Adam.LR != 0.02 || o.Iters != 0 || len(o.Blend) != 2 || o.Blend[0] != 0.5 {
		t.Errorf("seed preset: %+v", o)
	}
	o, err = parse("-preset", "neural-style", "-content", c, "-style", s, "-style-weight", "7", "-size", "64")
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Config; c.Optimizer != "lbfgs" || c.StyleWeight != 7 || c.TVWeight != 1e-3 || o.Size != 64 || o.Init != "random" {
		t.Errorf("neural-style preset with overrides: %+v", c)
	}
	if o, err = parse("-content", c, "-style", s, "-kernels", "winograd"); err != nil || o.Kernels != "winograd" {
		t.Errorf("-kernels winograd: %v, %+v", err, o)
	}
	for _, bad := range [][]string{
		{"-style", s},
		{"-content", c},
		{"-content", c, "-style", s, "-preset", "nope"},
		{"-content", c, "-style", s, "-style-blend", "1,2"},
		{"-content", c, "-style", s, "-iters", "-1"},
		{"-content", c, "-style", s, "-out", "x.gif"},
		{"-content", c, "-style", s, "-window", "10x10"},
		{"-content", c, "-style", s, "-widths", "4,4,4,4,4"},
		{"-content", c, "-style", s, "-lr", "-1"},
		{"-content", filepath.Join(dir, "missing.png"), "-style", s},
		{"-content", c, "-style", s, "-kernels", "fastest"},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestUsageHidesTestFlags(t *testing.T) {
	fs := flag.NewFlagSet("stylize-live", flag.ContinueOnError)
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"-h"}); err != flag.ErrHelp {
		t.Fatal(err)
	}
	out := buf.String()
	for _, f := range []string{"-content", "-script", "-capture-dir", "-iters", "Space", "Esc / Q"} {
		if !strings.Contains(out, f) {
			t.Errorf("usage lacks %q", f)
		}
	}
	for _, f := range Hidden {
		if strings.Contains(out, "-"+f+" ") || strings.Contains(out, "-"+f+"\n") {
			t.Errorf("usage shows the hidden flag -%s", f)
		}
	}
}
