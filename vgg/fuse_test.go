package vgg_test

import (
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// Backward executes the plan's fusions and nothing else: it refuses fused
// gradients at a layer the plan does not fuse, or with other terms, a
// plan's fusion with no gradients given, and losses that do not read the
// trunk's own activation. (Which layers fuse is decided, and tested, in
// package plan.)
func TestTrunkBackwardExecutesThePlansFusion(t *testing.T) {
	_, net := syntheticNet(t, []int{4, 4, 4, 4, 4}, 1)
	d := net.D
	tp, err := plan.Trunk(plan.LimitsOf(d), net.Widths(), plan.Size{W: 32, H: 32}, "relu3_1", true)
	if err != nil {
		t.Fatal(err)
	}
	tp.Layers[1].FuseContent = true // relu1_1's content gradient, added by conv1_2's backward
	tr, err := net.NewTrunk(tp)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	act, err := tr.Act("relu1_1")
	if err != nil {
		t.Fatal(err)
	}
	other := testgpu.Upload(t, d, "other", nil, act.Shape...)
	p := testgpu.Upload(t, d, "p", nil, act.Shape...)
	out := testgpu.Upload(t, d, "out", nil, 4)
	content := func(f *gpu.Buffer) *ops.Loss {
		cl, err := ops.NewContentLoss(d, f, p, nil, out, 1, 1, false, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Release)
		return cl
	}
	own, foreign := content(act), content(other)
	style, err := ops.NewStyleLoss(d, act, testgpu.Upload(t, d, "a", nil, 4, 4), nil, out, 2, 1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer style.Release()
	fuse := func(c *ops.Loss, s *ops.StyleLoss) ops.FusedGrads {
		g, err := ops.FuseLosses(c, s)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, c := range []struct {
		name  string
		fused map[string]ops.FusedGrads
		ok    bool
	}{
		{"the plan's fusion", map[string]ops.FusedGrads{"relu1_1": fuse(own, nil)}, true},
		{"by another of its names", map[string]ops.FusedGrads{"conv1_1": fuse(own, nil)}, true},
		{"none given", nil, false},
		{"another term than the plan's", map[string]ops.FusedGrads{"relu1_1": fuse(own, style)}, false},
		{"a layer the plan does not fuse", map[string]ops.FusedGrads{"relu1_1": fuse(own, nil), "relu2_1": fuse(own, nil)}, false},
		{"at the deepest layer", map[string]ops.FusedGrads{"relu1_1": fuse(own, nil), "relu3_1": fuse(own, nil)}, false},
		{"over another buffer", map[string]ops.FusedGrads{"relu1_1": fuse(foreign, nil)}, false},
	} {
		_, err := tr.Backward(nil, c.fused)
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want success %v", c.name, err, c.ok)
		} else if err != nil {
			t.Logf("%s: %v", c.name, err)
		}
	}
}
