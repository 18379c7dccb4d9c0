package tune

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// fakeTrial is a shape's candidates with set outputs and times: the
// injected timer of the tuner's tests.
type fakeTrial struct {
	cands []Choice
	outs  [][]float32
	ms    []float64
	runs  *int
}

func (f *fakeTrial) candidates() []Choice { return f.cands[:f.stage1()] }

// refine offers the candidates after the first stage1 ones.
func (f *fakeTrial) refine(Choice) []Choice { return f.cands[f.stage1():] }

func (f *fakeTrial) stage1() int { return min(len(f.cands), 3) }

func (f *fakeTrial) run(c Choice) ([]float32, float64, error) {
	*f.runs++
	for i, k := range f.cands {
		if choiceString(k) == choiceString(c) {
			return f.outs[i], f.ms[i], nil
		}
	}
	return nil, 0, errors.New("unknown candidate")
}

func conv(split int) Choice {
	return convChoice(ops.ConvPlan{Tile: ops.RegTile(16, 16, 8, 2), Split: split, Chunk: 64 * 9 / split})
}

var shape = Shape{Conv: &plan.ConvPass{Cin: 64, Cout: 64, H: 16, W: 16}}

func newCache(t *testing.T) *Cache {
	t.Helper()
	c, err := Load(filepath.Join(t.TempDir(), "tune.json"), "test adapter")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With an injected timer the tuner keeps the fastest candidate, and never
// one whose output disagrees with the heuristic's, however fast.
func TestTunePicksFastestAccurate(t *testing.T) {
	good := []float32{1, 2, 3, 4}
	bad := []float32{1, 2, 3, 5} // 0.18 away
	runs := 0
	ft := &fakeTrial{
		cands: []Choice{conv(1), conv(2), conv(3), conv(4)},
		outs:  [][]float32{good, good, bad, good},
		ms:    []float64{10, 5, 1, 7},
		runs:  &runs,
	}
	c := newCache(t)
	var log strings.Builder
	r, err := tuneWith(context.Background(), []Shape{shape}, c, Options{Log: &log}, func(Shape) (trial, error) { return ft, nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Log(log.String())
	ch := c.Choices[shape.Key()]
	if r.Tuned != 1 || ch.Conv == nil || *ch.Conv != *conv(2).Conv {
		t.Fatalf("chose %s (result %+v), want the 5 ms candidate %s", choiceString(ch), r, choiceString(conv(2)))
	}
	if ch.MS != 5 || ch.HeuristicMS != 10 || ch.Candidates != 4 {
		t.Errorf("choice %+v, want 5 ms against the heuristic's 10 over 4 candidates", ch)
	}
	if !strings.Contains(log.String(), "refused") {
		t.Errorf("the inaccurate candidate was not reported refused:\n%s", log.String())
	}
	// A second run finds the shape in the cache, on disk too, and times
	// nothing.
	again, err := Load(c.Path, c.Adapter)
	if err != nil {
		t.Fatal(err)
	}
	runs = 0
	r, err = tuneWith(context.Background(), []Shape{shape}, again, Options{}, func(Shape) (trial, error) {
		t.Error("a cached shape was tried again")
		return ft, nil
	})
	if err != nil || r.Cached != 1 || r.Tuned != 0 || runs != 0 {
		t.Fatalf("second run: %+v, %d runs, %v; want 1 cached, nothing run", r, runs, err)
	}
	if got := again.Choices[shape.Key()]; got.Conv == nil || *got.Conv != *conv(2).Conv {
		t.Errorf("the reloaded cache holds %s", choiceString(got))
	}
}

// The second stage refines the first stage's fastest: it is handed that
// candidate, and a faster one it offers wins.
func TestTuneRefinesFastest(t *testing.T) {
	out := []float32{1, 2, 3, 4}
	runs := 0
	ft := &refiningTrial{fakeTrial: fakeTrial{
		cands: []Choice{conv(1), conv(2), conv(3), conv(4), conv(6)},
		outs:  [][]float32{out, out, out, out, out},
		ms:    []float64{10, 4, 6, 8, 2},
		runs:  &runs,
	}}
	c := newCache(t)
	if _, err := tuneWith(context.Background(), []Shape{shape}, c, Options{}, func(Shape) (trial, error) { return ft, nil }); err != nil {
		t.Fatal(err)
	}
	if ft.got == nil || *ft.got.Conv != *conv(2).Conv {
		t.Errorf("refine was handed %v, want the first stage's fastest %s", ft.got, choiceString(conv(2)))
	}
	if ch := c.Choices[shape.Key()]; ch.Conv == nil || *ch.Conv != *conv(6).Conv || ch.MS != 2 || ch.Candidates != 5 || runs != 5 {
		t.Errorf("chose %s at %g ms over %d candidates (%d runs), want %s at 2 over 5", choiceString(ch), ch.MS, ch.Candidates, runs, choiceString(conv(6)))
	}
}

// refiningTrial records what refine was handed.
type refiningTrial struct {
	fakeTrial
	got *Choice
}

func (r *refiningTrial) refine(best Choice) []Choice {
	r.got = &best
	return r.fakeTrial.refine(best)
}

// A damaged cache file, or one measured with other kernels, is ignored
// with an error to warn about, and the next Save rewrites it.
func TestTuneCacheDamagedOrStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tune.json")
	for _, content := range []string{"{not json", `{"schema":"other/1","adapters":{}}`,
		`{"schema":"stylize-tune/1","adapters":{"a":{"kernels":"` + ops.KernelVersion + `","choices":{"x":{"ms":1}}}}}`,
		`{"schema":"stylize-tune/1","adapters":{"a":{"kernels":"` + ops.KernelVersion + `","choices":{"x":{"conv":{"Algo":1,"Tile":{"TM":16,"TN":16,"TK":8,"TX":8,"TY":2,"Reg":true},"Split":4,"Chunk":16}}}}}}`,
		`{"schema":"stylize-tune/1","adapters":{"a":{"kernels":"` + ops.KernelVersion + `","choices":{"x":{"conv":{"Algo":7,"Tile":{"TM":16,"TN":16,"TK":8,"TX":8,"TY":2,"Reg":true},"Split":1,"Chunk":16}}}}}}`,
		`{"schema":"stylize-tune/1","adapters":{"a":{"kernels":"` + ops.KernelVersion + `","choices":{"x":{"gram":{"Tile":{"TM":16,"TN":32,"TK":8,"TX":8,"TY":2,"Reg":true},"Split":1,"Chunk":16}}}}}}`} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, "a")
		if !errors.Is(err, ErrStale) || len(c.Choices) != 0 {
			t.Fatalf("%q: %v, %d choices; want ErrStale and none", content, err, len(c.Choices))
		}
		t.Log(err)
	}
	stale := `{"schema":"stylize-tune/1","adapters":{"a":{"kernels":"old","choices":{"x":{"ms":1,"conv":{"Algo":0,"Tile":{"TM":64,"TN":64,"TK":16,"TX":16,"TY":16,"Reg":false},"Split":1,"Chunk":16}}}},"b":{"kernels":"` + ops.KernelVersion + `","choices":{"z":{"ms":1,"conv":{"Algo":0,"Tile":{"TM":64,"TN":64,"TK":16,"TX":16,"TY":16,"Reg":false},"Split":1,"Chunk":16}}}}}}`
	if err := os.WriteFile(path, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, "a")
	if !errors.Is(err, ErrStale) || len(c.Choices) != 0 || !strings.Contains(err.Error(), "retune") {
		t.Fatalf("stale: %v, %d choices", err, len(c.Choices))
	}
	c.Choices["y"] = conv(1)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	if c2, err := Load(path, "a"); err != nil || len(c2.Choices) != 1 {
		t.Fatalf("after Save: %v, %d choices", err, len(c2.Choices))
	}
	if b, err := Load(path, "b"); err != nil || len(b.Choices) != 1 {
		t.Fatalf("the other adapter's entry was lost: %v", err)
	}
}

// On the GPU: tuning a conv pass and a Gram fills the cache with plans
// that agree with the heuristic's, and plans made with the cache's
// Kernels use them.
func TestTuneOnGPU(t *testing.T) {
	d := testgpu.Device(t)
	c := newCache(t)
	shapes := []Shape{
		{Conv: &plan.ConvPass{Cin: 16, Cout: 32, H: 16, W: 12}},
		{Conv: &plan.ConvPass{Cin: 16, Cout: 32, H: 16, W: 12, Backward: true, Style: true}},
		{Gram: &GramShape{C: 32, K: 192}},
	}
	var log strings.Builder
	r, err := Tune(context.Background(), d, shapes, c, Options{Reps: 1, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + log.String())
	if r.Tuned != 3 || len(c.Choices) != 3 {
		t.Fatalf("tuned %+v, %d choices", r, len(c.Choices))
	}
	k := Kernels{Cache: c}
	l := plan.LimitsOf(d)
	for _, s := range shapes[:2] {
		want := c.Choices[s.Key()].Conv
		if got := k.Conv(l, *s.Conv); got != *want {
			t.Errorf("%s: Kernels gives %v, the cache %v", s.Key(), got, *want)
		}
	}
	if got, want := k.Gram(l.Tile, 32, 192), c.Choices[shapes[2].Key()].Gram; got != *want {
		t.Errorf("gram: Kernels gives %v, the cache %v", got, *want)
	}
	// A shape not in the cache gets the heuristic's plan.
	other := plan.ConvPass{Cin: 8, Cout: 8, H: 9, W: 9}
	if got, want := k.Conv(l, other), (plan.Heuristic{}).Conv(l, other); got != want {
		t.Errorf("an uncached pass: %v, want the heuristic's %v", got, want)
	}
}

// The budget and a cancel stop the run between candidates: a shape
// measured in part gets no choice and counts as skipped, as do the shapes
// after it, and what was measured before is kept.
func TestTuneStopsBetweenCandidates(t *testing.T) {
	out := []float32{1, 2, 3, 4}
	shapes := []Shape{shape, {Conv: &plan.ConvPass{Cin: 8, Cout: 8, H: 4, W: 4}}, {Gram: &GramShape{C: 8, K: 16}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := 0
	newTrial := func(s Shape) (trial, error) {
		return &cancellingTrial{fakeTrial: fakeTrial{
			cands: []Choice{conv(1), conv(2), conv(3), conv(4)},
			outs:  [][]float32{out, out, out, out},
			ms:    []float64{4, 3, 2, 1},
			runs:  &runs,
		}, cancelAt: map[bool]int{true: 2}[s.Key() == shapes[1].Key()], cancel: cancel}, nil
	}
	c := newCache(t)
	r, err := tuneWith(ctx, shapes, c, Options{}, newTrial)
	if err != nil {
		t.Fatal(err)
	}
	// Shape 0 in full (4 runs), shape 1 until the cancel after its second
	// run, shape 2 not started.
	if r.Tuned != 1 || r.Skipped != 2 || runs != 6 || len(c.Choices) != 1 {
		t.Fatalf("result %+v after %d runs, %d choices; want 1 tuned, 2 skipped, 6 runs, 1 choice", r, runs, len(c.Choices))
	}
	if _, ok := c.Choices[shapes[0].Key()]; !ok {
		t.Errorf("the finished shape's choice was not kept")
	}
	// A budget already spent starts nothing.
	runs = 0
	r, err = tuneWith(context.Background(), shapes[1:], c, Options{Budget: time.Nanosecond}, func(Shape) (trial, error) {
		time.Sleep(time.Millisecond)
		return &fakeTrial{cands: []Choice{conv(1), conv(2)}, outs: [][]float32{out, out}, ms: []float64{2, 1}, runs: &runs}, nil
	})
	if err != nil || r.Tuned != 0 || r.Skipped != 2 || runs > 1 {
		t.Fatalf("spent budget: %+v, %d runs, %v; want both skipped, at most the heuristic run", r, runs, err)
	}
	// -force measures a cached shape again and replaces its choice.
	runs = 0
	before := c.Choices[shapes[0].Key()]
	r, err = tuneWith(context.Background(), shapes[:1], c, Options{Force: true}, func(Shape) (trial, error) {
		return &fakeTrial{cands: []Choice{conv(1), conv(8)}, outs: [][]float32{out, out}, ms: []float64{2, 1}, runs: &runs}, nil
	})
	if err != nil || r.Tuned != 1 || r.Cached != 0 || runs != 2 {
		t.Fatalf("-force: %+v, %d runs, %v", r, runs, err)
	}
	if got := c.Choices[shapes[0].Key()]; got.Conv == nil || *got.Conv != *conv(8).Conv || *before.Conv == *got.Conv {
		t.Errorf("-force kept %s, want %s", choiceString(got), choiceString(conv(8)))
	}
}

// cancellingTrial cancels its context after cancelAt runs (0: never).
type cancellingTrial struct {
	fakeTrial
	cancelAt, n int
	cancel      context.CancelFunc
}

func (c *cancellingTrial) run(ch Choice) ([]float32, float64, error) {
	c.n++
	if c.n == c.cancelAt {
		defer c.cancel()
	}
	return c.fakeTrial.run(ch)
}
