package transfer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/tune"
	"github.com/stylize/stylize/vgg"
)

// tuneDir holds the tuning cache of this test binary, made and removed
// by TestMain, so that each shape is measured once for all the tests
// (which do not run in parallel).
var (
	tuneDir string
	tuned   *tune.Cache
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stylize-transfer-tune-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tuneDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kernelsCase is one set of kernel plans an oracle test runs with.
type kernelsCase struct {
	name    string
	kernels plan.Kernels
}

// oracleKernels are the kernel plans each transfer oracle test runs
// with: the heuristic's, Winograd F(2×2,3×3) and F(4×4,3×3) on every conv
// pass they support, and the
// plans package tune measures on this adapter for cfg's iteration on
// these images (into this binary's cache; stylize run -tune does the
// same).
func oracleKernels(t *testing.T, net *vgg.Net, cfg transfer.Config, content transfer.Image, styles []transfer.Image) []kernelsCase {
	return []kernelsCase{
		{"heuristic", nil},
		{"winograd", plan.Forced{Algo: ops.Winograd2}},
		{"winograd4", plan.Forced{Algo: ops.Winograd4}},
		{"tuned", tunedFor(t, net, cfg, content, styles)},
	}
}

// tunedFor tunes the passes of cfg's iteration that the cache lacks and
// returns the cache's kernels. It is called while the subtests are
// listed, so the time it takes falls on the test, not on a subtest.
func tunedFor(t *testing.T, net *vgg.Net, cfg transfer.Config, content transfer.Image, styles []transfer.Image) plan.Kernels {
	t.Helper()
	if tuned == nil {
		c, err := tune.Load(filepath.Join(tuneDir, "tune.json"), tune.AdapterKey(net.D.Info))
		if err != nil {
			t.Fatal(err)
		}
		tuned = c
	}
	var sizes []plan.Size
	for _, s := range styles {
		sizes = append(sizes, transfer.SizeOf(s))
	}
	p, err := plan.Make(cfg.Request(net.Widths(), transfer.SizeOf(content), sizes), plan.LimitsOf(net.D))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tune.Tune(context.Background(), net.D, tune.Shapes(p), tuned, tune.Options{Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped != 0 || len(tuned.Choices) == 0 {
		t.Fatalf("tuning left %d passes, holds %d", r.Skipped, len(tuned.Choices))
	}
	k := tune.Kernels{Cache: tuned}
	cfg.Kernels = k
	tp, err := plan.Make(cfg.Request(net.Widths(), transfer.SizeOf(content), sizes), plan.LimitsOf(net.D))
	if err != nil {
		t.Fatal(err)
	}
	// Else the tuned runs would only repeat the heuristic's.
	if p.SameKernels(tp) {
		t.Fatalf("the tuned plans are the heuristic's on every pass")
	}
	t.Logf("tuned %d passes, %d cached; the plan differs from the heuristic's", r.Tuned, r.Cached)
	return k
}
