package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/bench"
	"github.com/stylize/stylize/internal/testgpu"
)

// benchInProcess runs `stylize bench args...` on the tests' shared device
// and returns the parsed JSON report (args must hold -json) and the table.
// The bench package's own tests check the report's content; these check
// the command around it.
func benchInProcess(t *testing.T, args ...string) (*bench.Report, string, error) {
	t.Helper()
	d := testgpu.Device(t)
	before, _ := d.MemoryBytes()
	var out, log bytes.Buffer
	err := runBench(args, benchEnv{stdout: &out, stderr: &log, start: time.Now(), dev: d})
	t.Logf("stylize bench %s\n%s", strings.Join(args, " "), log.String())
	if after, _ := d.MemoryBytes(); after != before {
		t.Errorf("the bench left %d bytes of GPU buffers allocated", after-before)
	}
	if out.Len() == 0 {
		return nil, log.String(), err
	}
	var r bench.Report
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("bench -json printed something that is not JSON: %v\n%s", jerr, out.String())
	}
	return &r, log.String(), err
}

// TestBenchQuickJSON runs `stylize bench -quick -only peak -json -o FILE`:
// the report on stdout, the table on stderr, the same report in the file.
func TestBenchQuickJSON(t *testing.T) {
	file := filepath.Join(t.TempDir(), "quick.json")
	r, table, err := benchInProcess(t, "-quick", "-only", "peak", "-json", "-o", file)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil || r.Schema != "stylize-bench/1" || r.Tool != "stylize" || !r.Config.Quick || len(r.Rows) != 3 {
		t.Fatalf("stdout holds no -quick report: %+v", r)
	}
	// The table follows the line saying which kernels were loaded.
	if !strings.HasPrefix(table, "kernels: heuristic") || !strings.Contains(table, "\nstylize bench\n") || !strings.Contains(table, "SYNTHETIC") || !strings.Contains(table, "peak.fma") {
		t.Errorf("the table did not go to stderr:\n%s", table)
	}
	if data, err := os.ReadFile(file); err != nil {
		t.Fatal(err)
	} else if old, err := bench.LoadReport(file); err != nil || len(old.Rows) != len(r.Rows) {
		t.Fatalf("-o file: %v (%d bytes)", err, len(data))
	}
}

// TestBenchFailOnRegression compares against a report whose peaks are
// impossibly fast: every peak row is a regression, and only
// -fail-on-regression turns that into an error.
func TestBenchFailOnRegression(t *testing.T) {
	fast := &bench.Report{Schema: bench.Schema, Tool: "stylize", Adapter: bench.Adapter{Name: "imaginary"}}
	ms := func(v float64) *float64 { return &v }
	for _, name := range []string{"peak.fma", "peak.bandwidth.copy", "peak.bandwidth.read", "conv3x3.forward/relu1_1/32"} {
		fast.Rows = append(fast.Rows, bench.Row{Name: name, Kind: "peak", MSMedian: ms(1e-6), MSMin: ms(1e-6), MSMax: ms(1e-6),
			TFlops: ms(1e9), GBs: ms(1e12)})
	}
	file := filepath.Join(t.TempDir(), "fast.json")
	data, _ := json.Marshal(fast)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, table, err := benchInProcess(t, "-quick", "-only", "peak", "-json", "-compare", file)
	if err != nil {
		t.Fatalf("without -fail-on-regression a regression must not fail: %v", err)
	}
	if r.Compare == nil || r.Compare.Regressions != 3 || !strings.Contains(table, "REGRESSION") {
		t.Fatalf("want 3 regressions flagged, got %+v\n%s", r.Compare, table)
	}
	_, _, err = benchInProcess(t, "-quick", "-only", "peak", "-json", "-compare", file, "-fail-on-regression")
	var reg *bench.RegressionError
	if !errors.As(err, &reg) || len(reg.Names) != 3 || !strings.Contains(err.Error(), "peak.fma") {
		t.Fatalf("-fail-on-regression: got %v", err)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"-sizes", "8"}, {"-sizes", "x"}, {"-sizes", ","}, {"-only", "gpu"}, {"-reps", "0"}, {"-op-size", "4"},
		{"-timing", "cpu"}, {"-fail-on-regression"}, {"extra"}, {"-kernels", "fastest"},
	} {
		if _, err := benchFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	c, err := benchFlags([]string{"-quick", "-reps", "5", "-sizes", "48"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.opts; o.Reps != 5 || len(o.Sizes) != 1 || o.Sizes[0] != 48 || o.OpSize != 32 || o.RowTime != 2*time.Second {
		t.Errorf("-quick must set only the defaults the flags leave: %+v", o)
	}
	if o := c.opts; o.PeakMS != 10 || o.BandwidthBytes != 32<<20 || !o.Quick {
		t.Errorf("-quick must shrink the roofline's kernels: %+v", o)
	}
	c, _ = benchFlags(nil, &bytes.Buffer{})
	if o := c.opts; len(o.Sizes) != 4 || o.Sizes[3] != 2048 || o.OpSize != 512 || o.Reps != 10 {
		t.Errorf("defaults: %+v", o)
	}
	if o := c.opts; o.PeakMS != 50 || o.BandwidthBytes != 256<<20 || o.Quick || len(o.Parts) != 3 {
		t.Errorf("defaults: %+v", o)
	}
	c, _ = benchFlags([]string{"-quick", "-size", "64", "-only", "ops"}, &bytes.Buffer{})
	if o := c.opts; o.OpSize != 64 || o.Reps != 2 || len(o.Parts) != 1 || o.Parts[0] != "ops" {
		t.Errorf("-quick -size 64 -only ops: %+v", o)
	}
	var help bytes.Buffer
	_, err = benchFlags([]string{"-quick", "-h"}, &help)
	for _, want := range []string{"Usage: stylize bench [flags]", "-fail-on-regression", `(default "256,512,1024,2048")`, `(default "peak,ops,iter")`, "(default 10)"} {
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), want) {
			t.Errorf("-h: %v, no %q in\n%s", err, want, help.String())
		}
	}
}

// stylize bench -quick -only peak,ops -plot r.png draws the roofline: a
// PNG of the plot's size that is not blank, and more than two colours
// (the roof's line and the points' labels on white).
func TestBenchPlot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.png")
	if _, _, err := benchInProcess(t, "-quick", "-only", "peak,ops", "-json", "-plot", file); err != nil {
		t.Fatal(err)
	}
	w, h, colours, dark := pngStats(t, file)
	if w < 500 || h < 300 || colours < 3 || dark < 2000 {
		t.Errorf("the plot looks blank: %dx%d, %d colours, %d dark pixels", w, h, colours, dark)
	}
	for _, bad := range [][]string{{"-plot", "r.gif"}, {"-only", "iter", "-plot", "r.png"}} {
		if _, err := benchFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// pngStats decodes the PNG at path and returns its size, its number of
// distinct colours and of dark pixels (what a drawn plot has and a blank
// one has not), logging them.
func pngStats(t *testing.T, path string) (w, h, colours, dark int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	seen := map[color.RGBA]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}] = true
			if r+g+bl < 3*0x8000 {
				dark++
			}
		}
	}
	t.Logf("%s: %dx%d, %d colours, %d dark pixels", path, b.Dx(), b.Dy(), len(seen), dark)
	return b.Dx(), b.Dy(), len(seen), dark
}
