package vgg_test

import (
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
)

// CanFuse says yes only where a conv above the layer writes its gradient
// in one K slice, and BackwardFused refuses the layers it says no to.
func TestTrunkCanFuse(t *testing.T) {
	_, net := syntheticNet(t, []int{4, 4, 4, 4, 4}, 1)
	d := net.D
	tr, err := net.NewTrunk(32, 32, "relu3_1", true)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	for _, c := range []struct {
		layer string
		want  bool
		why   string
	}{
		{"relu1_1", true, "conv1_2 above, 4 channels at 32x32: no split"},
		{"conv1_1", true, "another name of the same position"},
		{"relu1_2", false, "pool1 above"},
		{"relu3_1", false, "the trunk's deepest layer"},
		{"relu4_1", false, "deeper than the trunk"},
		{"nope", false, "not a layer"},
	} {
		if got := tr.CanFuse(c.layer); got != c.want {
			t.Errorf("CanFuse(%s) = %v, want %v (%s)", c.layer, got, c.want, c.why)
		}
	}
	if _, err := tr.BackwardFused(nil, map[string]ops.GradTaps{"relu1_2": {Content: &ops.Loss{}}}); err == nil {
		t.Error("BackwardFused accepted a fused tap under a pool")
	}
	if _, err := tr.BackwardFused(nil, map[string]ops.GradTaps{"relu3_1": {Content: &ops.Loss{}}}); err == nil {
		t.Error("BackwardFused accepted a fused tap at the deepest layer")
	}
	// A fused loss must read the trunk's own activation at the layer.
	act, err := tr.Act("relu1_1")
	if err != nil {
		t.Fatal(err)
	}
	other := testgpu.Upload(t, d, "other", nil, act.Shape...)
	p := testgpu.Upload(t, d, "p", nil, act.Shape...)
	out := testgpu.Upload(t, d, "out", nil, 4)
	for _, c := range []struct {
		f    *gpu.Buffer
		want bool
	}{{other, false}, {act, true}} {
		cl, err := ops.NewContentLoss(d, c.f, p, nil, out, 1, 1, false, false)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release()
		_, err = tr.BackwardFused(map[string][]ops.Recorder{"relu1_1": {cl}}, map[string]ops.GradTaps{"relu1_1": {Content: cl}})
		if (err == nil) != c.want {
			t.Errorf("BackwardFused with a content loss over %s: err = %v, want success %v", c.f.Name, err, c.want)
		}
	}
}
