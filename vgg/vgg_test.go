package vgg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stylize/stylize/gpu"
	orc "github.com/stylize/stylize/internal/oracle"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/tune"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

func TestLayerNames(t *testing.T) {
	cases := map[string]string{
		"relu1_1": "relu1_1", "block1_conv1": "relu1_1", "conv5_2": "relu5_2", "block5_conv2": "relu5_2",
		"features.0": "relu1_1", "1": "relu1_1", "features.30": "relu5_2", "pool3": "pool3", "block3_pool": "pool3", "18": "pool3",
		" RELU4_2 ": "relu4_2",
	}
	for in, want := range cases {
		got, err := vgg.Canonical(in)
		if err != nil || got != want {
			t.Fatalf("Canonical(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"relu6_1", "block1_conv3", "features.99", "", "fc7"} {
		if _, err := vgg.Canonical(bad); err == nil {
			t.Fatalf("Canonical(%q) accepted", bad)
		}
	}
	if len(vgg.Table) != 21 {
		t.Fatalf("table has %d layers", len(vgg.Table))
	}
}

// meta is a reference case's settings.
type meta = orc.Meta

func f64(t *testing.T, f *weights.File, name string) []float64 {
	t.Helper()
	v, err := f.Tensors[name].Float64s()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func copyOf(t *testing.T, d *gpu.Device, src *gpu.Buffer) *gpu.Buffer {
	dst := testgpu.Upload(t, d, src.Name+".copy", nil, src.Shape...)
	e, err := d.NewEncoder("copy")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Copy(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestTrunkMatchesOracle runs the vgg trunk forward, the seed's losses and
// the trunk's backward at x0 = content, against the PyTorch float64 oracle.
func TestTrunkMatchesOracle(t *testing.T) {
	for _, name := range []string{"tiny_seed", "tiny_blend_tv_avg", "medium_seed"} {
		for _, kname := range []string{"heuristic", "winograd", "winograd4", "tuned"} {
			t.Run(name+"/"+kname, func(t *testing.T) { trunkMatchesOracle(t, name, kname) })
		}
	}
}

// trunkMatchesOracle is TestTrunkMatchesOracle on case name with the
// kernel plans kname names: the heuristic's, each Winograd algorithm on
// every conv pass it supports, or those package tune measures on this
// adapter for the case's trunks.
func trunkMatchesOracle(t *testing.T, name, kname string) {
	d := testgpu.Device(t)
	f, err := weights.ReadSafetensors("../testdata/" + name + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var m meta
	if err := json.Unmarshal([]byte(f.Metadata["oracle"]), &m); err != nil {
		t.Fatal(err)
	}
	w, err := weights.FromSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := ops.ParsePooling(m.Pooling)
	net, err := vgg.New(d, w, pool, ops.Caffe)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Release()
	all := append(append([]string{}, m.ContentLayers...), m.StyleLayers...)
	deepest := all[0]
	for _, l := range all {
		a, _ := vgg.Index(l)
		b, _ := vgg.Index(deepest)
		if a > b {
			deepest = l
		}
	}
	H, W := m.ContentHW[0], m.ContentHW[1]
	content := f64(t, f, "content")
	var k plan.Kernels
	switch kname {
	case "winograd":
		k = plan.Forced{Algo: ops.Winograd2}
	case "winograd4":
		k = plan.Forced{Algo: ops.Winograd4}
	case "tuned":
		sizes := append([][]int{{H, W}}, m.StyleHWs...)
		k = tunedTrunks(t, net, sizes, deepest)
	}

	// content targets
	ct, err := newTrunkWith(net, k, H, W, deepest, false)
	if err != nil {
		t.Fatal(err)
	}
	defer ct.Release()
	if err := ct.X.Write(testgpu.F32(content)); err != nil {
		t.Fatal(err)
	}
	testgpu.Run(t, d, ct.Forward())
	P := map[string]*gpu.Buffer{}
	for _, l := range m.ContentLayers {
		a, _ := ct.Act(l)
		P[l] = copyOf(t, d, a)
		want := f64(t, f, "ref.content_target."+l)
		s := testgpu.Errors(testgpu.F64(testgpu.Read(t, P[l])), want)
		t.Logf("content target %s: norm rel %.3g, max abs %.3g", l, s.NormRel, s.MaxAbs)
		if s.NormRel > 1e-4 {
			t.Fatalf("content target %s: norm rel %.3g > 1e-4", l, s.NormRel)
		}
	}
	// style targets, blended
	A := map[string]*gpu.Buffer{}
	for _, l := range m.StyleLayers {
		a, _ := ct.Act(l)
		A[l] = testgpu.Upload(t, d, "A."+l, nil, a.Shape[0], a.Shape[0])
	}
	for j, hw := range m.StyleHWs {
		st, err := newTrunkWith(net, k, hw[0], hw[1], deepest, false)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Release()
		if err := st.X.Write(testgpu.F32(f64(t, f, fmt.Sprintf("style.%d", j)))); err != nil {
			t.Fatal(err)
		}
		seq := ops.Seq{st.Forward()}
		for _, l := range m.StyleLayers {
			a, _ := st.Act(l)
			g := testgpu.Upload(t, d, "G", nil, a.Shape[0], a.Shape[0])
			gs, err := ops.NewGram(d, a, g)
			if err != nil {
				t.Fatal(err)
			}
			ax, err := ops.NewAxpy(d, m.StyleBlend[j], nil, 0, g, A[l])
			if err != nil {
				t.Fatal(err)
			}
			seq = append(seq, gs, ax)
		}
		testgpu.Run(t, d, seq)
	}
	for _, l := range m.StyleLayers {
		want := f64(t, f, "ref.style_target."+l)
		s := testgpu.Errors(testgpu.F64(testgpu.Read(t, A[l])), want)
		t.Logf("style target %s: norm rel %.3g, max rel %.3g", l, s.NormRel, s.MaxRel)
		if s.NormRel > 1e-4 {
			t.Fatalf("style target %s: norm rel %.3g > 1e-4", l, s.NormRel)
		}
	}

	// loss0 and grad0 at x0 = content
	tr, err := newTrunkWith(net, k, H, W, deepest, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	if err := tr.X.Write(testgpu.F32(content)); err != nil {
		t.Fatal(err)
	}
	forced := map[string]ops.Algo{"winograd": ops.Winograd2, "winograd4": ops.Winograd4}
	algos, convs := map[ops.Algo]int{}, 0
	for i, l := range tr.Plan.Layers {
		if !vgg.Table[i].Pool {
			convs += 2
			algos[l.Forward.Algo]++
			algos[l.Backward.Algo]++
		}
	}
	t.Logf("kernels %s: of the %d conv passes, %v", kname, convs, algos)
	if a, ok := forced[kname]; ok && algos[a] < convs-2 { // the first conv (3 channels) may not fit the workspace limit
		t.Fatalf("%v forced, yet only %d of %d conv passes run it", a, algos[a], convs)
	}
	scal := testgpu.Upload(t, d, "scalars", nil, 4)
	taps := map[string][]ops.Recorder{}
	for _, l := range m.ContentLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		cl, err := ops.NewContentLoss(d, a, P[l], g, scal, 1, m.ContentWeight/float64(len(m.ContentLayers)), true, true)
		if err != nil {
			t.Fatal(err)
		}
		taps[l] = append(taps[l], cl)
	}
	for _, l := range m.StyleLayers {
		a, _ := tr.Act(l)
		g, _ := tr.Grad(l)
		sl, err := ops.NewStyleLoss(d, a, A[l], g, scal, 2, m.StyleWeight/float64(len(m.StyleLayers)), true, true)
		if err != nil {
			t.Fatal(err)
		}
		taps[l] = append(taps[l], sl)
	}
	bw, err := tr.Backward(taps, nil)
	if err != nil {
		t.Fatal(err)
	}
	tvg := testgpu.Upload(t, d, "tvgrad", nil, 3, H, W)
	tv, err := ops.NewTVLoss(d, tr.X, tvg, scal, 3, m.TVWeight, false, false)
	if err != nil {
		t.Fatal(err)
	}
	addTV, _ := ops.NewAxpy(d, 1, nil, 0, tvg, tr.DX)
	zero, _ := ops.NewFill(d, scal, 0)
	total, _ := ops.NewScalar(d, scal, "s[0] = s[1] + s[2] + s[3];")
	before := d.Counters()
	testgpu.Run(t, d, ops.Seq{zero, tr.Forward(), bw, tv, addTV, total})
	after := d.Counters()
	if after.Submits-before.Submits != 1 || after.Readbacks != before.Readbacks {
		t.Fatalf("one iteration took %d submissions and %d readbacks", after.Submits-before.Submits, after.Readbacks-before.Readbacks)
	}
	t.Logf("one iteration: 1 submission, 0 readbacks, %d dispatches", after.Dispatch-before.Dispatch)
	got := testgpu.F64(testgpu.Read(t, scal))
	want := f64(t, f, "ref.loss0")
	for i, n := range []string{"total", "content", "style", "tv"} {
		rel := math.Abs(got[i]-want[i]) / math.Max(math.Abs(want[i]), 1e-30)
		t.Logf("loss0 %-7s %.9g vs %.9g: rel err %.3g", n, got[i], want[i], rel)
		if want[i] != 0 && rel > 1e-4 || want[i] == 0 && math.Abs(got[i]) > 1e-6 {
			t.Fatalf("loss0 %s: rel err %.3g > 1e-4", n, rel)
		}
	}
	s := testgpu.Errors(testgpu.F64(testgpu.Read(t, tr.DX)), f64(t, f, "ref.grad0"))
	t.Logf("grad0: norm-wise rel err %.3g", s.NormRel)
	if s.NormRel > 1e-4 {
		t.Fatalf("grad0: norm-wise rel err %.3g > 1e-4 (ORACLE.md: about 1e-4 is reachable)", s.NormRel)
	}
}

// tunedTrunks measures, with package tune, the conv passes of net's
// trunks to layer deepest at each size (h, w), the first with a backward
// pass, into a cache of the test's own, and returns its kernels.
func tunedTrunks(t *testing.T, net *vgg.Net, sizes [][]int, deepest string) plan.Kernels {
	t.Helper()
	c, err := tune.Load(filepath.Join(t.TempDir(), "tune.json"), tune.AdapterKey(net.D.Info))
	if err != nil {
		t.Fatal(err)
	}
	var shapes []tune.Shape
	for i, hw := range sizes {
		tp, err := plan.Trunk(plan.LimitsOf(net.D), net.Widths(), plan.Size{W: hw[1], H: hw[0]}, deepest, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		shapes = append(shapes, tune.TrunkShapes(tp)...)
	}
	r, err := tune.Tune(context.Background(), net.D, shapes, c, tune.Options{Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tuned == 0 || r.Skipped != 0 {
		t.Fatalf("tuning: %+v", r)
	}
	k, l, differ := tune.Kernels{Cache: c}, plan.LimitsOf(net.D), 0
	for _, s := range shapes {
		if k.Conv(l, *s.Conv) != (plan.Heuristic{}).Conv(l, *s.Conv) {
			differ++
		}
	}
	t.Logf("tuned %d passes; %d plans differ from the heuristic's", r.Tuned, differ)
	if differ == 0 { // else the tuned run would only repeat the heuristic's
		t.Fatalf("the tuned plans are the heuristic's on every pass")
	}
	return k
}

// newTrunkWith builds net's trunk at h×w to layer deepest with k's kernel
// plans (the heuristic's when nil).
func newTrunkWith(net *vgg.Net, k plan.Kernels, h, w int, deepest string, grad bool) (*vgg.Trunk, error) {
	tp, err := plan.TrunkWith(k, plan.LimitsOf(net.D), net.Widths(), plan.Size{W: w, H: h}, deepest, grad)
	if err != nil {
		return nil, err
	}
	return net.NewTrunk(tp)
}

// syntheticNet builds, on the test device, a max-pool, Caffe Net of
// synthetic He weights with the blocks' widths and seed; the test's end
// releases it.
func syntheticNet(t *testing.T, widths []int, seed int64) (*weights.VGG19, *vgg.Net) {
	t.Helper()
	d := testgpu.Device(t)
	w, err := weights.Synthetic(widths, seed)
	if err != nil {
		t.Fatal(err)
	}
	net, err := vgg.New(d, w, ops.MaxPool, ops.Caffe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(net.Release)
	return w, net
}

// newTrunk builds net's trunk at h×w to layer deepest with the heuristic
// plan (plan.Trunk), as the tests before the plan package did.
func newTrunk(net *vgg.Net, h, w int, deepest string, grad bool) (*vgg.Trunk, error) {
	tp, err := plan.Trunk(plan.LimitsOf(net.D), net.Widths(), plan.Size{W: w, H: h}, deepest, grad)
	if err != nil {
		return nil, err
	}
	return net.NewTrunk(tp)
}

func TestTrunkRejectsBadSizes(t *testing.T) {
	_, net := syntheticNet(t, []int{4, 4, 4, 4, 4}, 1)
	if _, err := newTrunk(net, 15, 40, "relu5_1", true); err == nil {
		t.Fatal("a 40x15 image cannot reach relu5_1 (needs 16), but the plan accepted it")
	} else {
		t.Log(err)
	}
	if _, err := newTrunk(net, 16, 16, "relu9_1", true); err == nil {
		t.Fatal("unknown layer accepted")
	}
	tr, err := newTrunk(net, 16, 16, "relu5_1", true)
	if err != nil {
		t.Fatal(err)
	}
	tr.Release()
	// NewTrunk checks a plan against the weights: one made for other
	// widths, or one that fuses loss gradients into a pool's backward,
	// is refused before anything is allocated.
	lim := plan.LimitsOf(net.D)
	wide, err := plan.Trunk(lim, []int{8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8}, plan.Size{W: 16, H: 16}, "relu2_1", true)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := net.D.MemoryBytes()
	if _, err := net.NewTrunk(wide); err == nil {
		t.Error("NewTrunk accepted a plan for 8-channel convs on 4-channel weights")
	} else {
		t.Log(err)
	}
	pool, err := plan.Trunk(lim, net.Widths(), plan.Size{W: 16, H: 16}, "relu2_1", true)
	if err != nil {
		t.Fatal(err)
	}
	small := pool
	small.H, small.W = 1, 1 // the layers' shapes say 16x16
	if _, err := net.NewTrunk(small); err == nil {
		t.Error("NewTrunk accepted a plan for a 1x1 image with pools in it")
	} else {
		t.Log(err)
	}
	pool.Layers = append([]vgg.LayerPlan(nil), pool.Layers...)
	pool.Layers[2].FuseContent = true // pool1 above relu1_2
	if _, err := net.NewTrunk(pool); err == nil {
		t.Error("NewTrunk accepted a plan that fuses loss gradients into pool1")
	}
	if after, _ := net.D.MemoryBytes(); after != before {
		t.Errorf("refused plans allocated %d bytes", after-before)
	}
}
