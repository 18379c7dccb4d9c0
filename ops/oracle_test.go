package ops_test

// The whole Gatys chain built by hand from the ops, checked against the
// PyTorch float64 oracle (testdata/*.safetensors, copied from
// ../shared/oracle; see testdata/ORACLE.md).

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stylize/stylize/gpu"
	orc "github.com/stylize/stylize/internal/oracle"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/weights"
)

// oracleMeta is a reference case's settings.
type oracleMeta = orc.Meta

var blockConvs = []int{2, 2, 4, 4, 4}

// handNet is VGG19's trunk at one image size, assembled op by op.
type handNet struct {
	d      *gpu.Device
	x, pre *gpu.Buffer
	acts   map[string]*gpu.Buffer // "relu{b}_{k}" and "pool{b}" outputs
	routes map[string]*gpu.Buffer // "pool{b}": the routes its backward reads
	order  []string               // layer outputs in forward order
	steps  []*ops.Step
}

func (n *handNet) Record(e *gpu.Encoder) error {
	for _, s := range n.steps {
		if err := s.Record(e); err != nil {
			return err
		}
	}
	return nil
}

func upload(t *testing.T, d *gpu.Device, name string, v []float64, shape ...int) *gpu.Buffer {
	return testgpu.Upload(t, d, name, v, shape...)
}

func tensor(t *testing.T, f *weights.File, name string) []float64 {
	t.Helper()
	tn, ok := f.Tensors[name]
	if !ok {
		t.Fatalf("oracle has no tensor %q", name)
	}
	v, err := tn.Float64s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loadConvs uploads the 16 convs, named relu{b}_{k}, in forward order.
func loadConvs(t *testing.T, d *gpu.Device, f *weights.File, widths []int) (map[string]*ops.ConvWeights, []string) {
	cws := map[string]*ops.ConvWeights{}
	var names []string
	idx, cin := 0, 3
	for b, n := range blockConvs {
		for k := 1; k <= n; k++ {
			name := fmt.Sprintf("relu%d_%d", b+1, k)
			w := tensor(t, f, fmt.Sprintf("features.%d.weight", idx))
			bias := tensor(t, f, fmt.Sprintf("features.%d.bias", idx))
			cw, err := ops.NewConvWeights(d, name, testgpu.F32(w), testgpu.F32(bias), widths[b], cin)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cw.Release)
			cws[name] = cw
			names = append(names, name)
			cin = widths[b]
			idx += 2
		}
		idx++ // the pool
	}
	return cws, names
}

// buildNet records preprocess → conv+ReLU … → pool … up to the deepest layer.
func buildNet(t *testing.T, d *gpu.Device, cws map[string]*ops.ConvWeights, pool ops.Pooling, h, w int, deepest string) *handNet {
	n := &handNet{d: d, acts: map[string]*gpu.Buffer{}, routes: map[string]*gpu.Buffer{}}
	n.x = upload(t, d, "x", nil, 3, h, w)
	n.pre = upload(t, d, "pre", nil, 3, h, w)
	st, err := ops.NewPreprocess(d, ops.Caffe, n.x, n.pre)
	if err != nil {
		t.Fatal(err)
	}
	n.steps = append(n.steps, st)
	in := n.pre
	for b, nc := range blockConvs {
		for k := 1; k <= nc; k++ {
			name := fmt.Sprintf("relu%d_%d", b+1, k)
			cw := cws[name]
			y := upload(t, d, name, nil, cw.Cout, h, w)
			st, err := ops.NewConv3x3Forward(d, cw, in, y, true)
			if err != nil {
				t.Fatal(err)
			}
			n.steps = append(n.steps, st)
			n.acts[name] = y
			n.order = append(n.order, name)
			in = y
			if name == deepest {
				return n
			}
		}
		pname := fmt.Sprintf("pool%d", b+1)
		h, w = h/2, w/2
		y := upload(t, d, pname, nil, in.Shape[0], h, w)
		route, err := d.Alloc(ops.PoolRouteSpec(pname+".route", in.Shape[0], in.Shape[1], in.Shape[2]))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(route.Release)
		st, err := ops.NewPoolForward(d, pool, in, y, route, false)
		if err != nil {
			t.Fatal(err)
		}
		n.steps = append(n.steps, st)
		n.acts[pname], n.routes[pname] = y, route
		n.order = append(n.order, pname)
		in = y
	}
	return n
}

func deepestOf(order []string, layers ...[]string) string {
	best := -1
	for _, ls := range layers {
		for _, l := range ls {
			for i, o := range order {
				if o == l && i > best {
					best = i
				}
			}
		}
	}
	return order[best]
}

func TestOracleTinySeedByHand(t *testing.T) {
	for _, file := range []string{"tiny_seed", "tiny_blend_tv_avg"} {
		t.Run(file, func(t *testing.T) { runOracleByHand(t, file) })
	}
}

func runOracleByHand(t *testing.T, file string) {
	d := testgpu.Device(t)
	f, err := weights.ReadSafetensors("../testdata/" + file + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	var meta oracleMeta
	if err := json.Unmarshal([]byte(f.Metadata["oracle"]), &meta); err != nil {
		t.Fatal(err)
	}
	pool, err := ops.ParsePooling(meta.Pooling)
	if err != nil {
		t.Fatal(err)
	}
	cws, convOrder := loadConvs(t, d, f, meta.Widths)
	deepest := deepestOf(convOrder, meta.ContentLayers, meta.StyleLayers)
	H, W := meta.ContentHW[0], meta.ContentHW[1]

	// Targets: content features P, and A = Σ blend_j G(style_j).
	scalars := upload(t, d, "scalars", make([]float64, 4), 4)
	content := tensor(t, f, "content")
	cnet := buildNet(t, d, cws, pool, H, W, deepest)
	if err := cnet.x.Write(testgpu.F32(content)); err != nil {
		t.Fatal(err)
	}
	testgpu.Run(t, d, cnet)
	targets := map[string]*gpu.Buffer{}
	for _, l := range meta.ContentLayers {
		src := cnet.acts[l]
		p := upload(t, d, "P."+l, nil, src.Shape...)
		e, _ := d.NewEncoder("copy")
		if err := e.Copy(src, p); err != nil {
			t.Fatal(err)
		}
		if err := e.Submit(); err != nil {
			t.Fatal(err)
		}
		targets[l] = p
		want := tensor(t, f, "ref.content_target."+l)
		s := testgpu.Close(t, "content target "+l, testgpu.Read(t, p), want, 1e-4*peakAbs(want), 1e-3)
		if s.NormRel > 1e-4 {
			t.Fatalf("content target %s: norm rel err %.3g > 1e-4", l, s.NormRel)
		}
	}
	styleA := map[string]*gpu.Buffer{}
	for _, l := range meta.StyleLayers {
		c := cws[l].Cout
		styleA[l] = upload(t, d, "A."+l, nil, c, c)
	}
	for j, hw := range meta.StyleHWs {
		snet := buildNet(t, d, cws, pool, hw[0], hw[1], deepest)
		if err := snet.x.Write(testgpu.F32(tensor(t, f, fmt.Sprintf("style.%d", j)))); err != nil {
			t.Fatal(err)
		}
		steps := []interface{ Record(*gpu.Encoder) error }{snet}
		for _, l := range meta.StyleLayers {
			c := cws[l].Cout
			g := upload(t, d, "G."+l, nil, c, c)
			gs, err := ops.NewGram(d, snet.acts[l], g)
			if err != nil {
				t.Fatal(err)
			}
			ax, err := ops.NewAxpy(d, meta.StyleBlend[j], nil, 0, g, styleA[l])
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, gs, ax)
		}
		testgpu.Run(t, d, steps...)
	}
	for _, l := range meta.StyleLayers {
		want := tensor(t, f, "ref.style_target."+l)
		s := testgpu.Close(t, "style target "+l, testgpu.Read(t, styleA[l]), want, 1e-4*peakAbs(want), 1e-3)
		if s.NormRel > 1e-4 {
			t.Fatalf("style target %s: norm rel err %.3g > 1e-4", l, s.NormRel)
		}
	}

	// One forward + losses + backward at x0 = content, in one command buffer.
	net := buildNet(t, d, cws, pool, H, W, deepest)
	if err := net.x.Write(testgpu.F32(content)); err != nil {
		t.Fatal(err)
	}
	grads := map[string]*gpu.Buffer{}
	for _, l := range net.order {
		grads[l] = upload(t, d, "d"+l, nil, net.acts[l].Shape...)
	}
	wc := meta.ContentWeight / float64(len(meta.ContentLayers))
	ws := meta.StyleWeight / float64(len(meta.StyleLayers))
	// The loss values accumulate (+=) into zeroed scalars, since the
	// backward records the losses deepest layer first.
	zero, err := ops.NewFill(d, scalars, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []interface{ Record(*gpu.Encoder) error }{zero, net}
	var lossAt = map[string][]*ops.Step{}
	for _, l := range meta.ContentLayers {
		st, err := ops.NewContentLoss(d, net.acts[l], targets[l], grads[l], scalars, 1, wc, true, true)
		if err != nil {
			t.Fatal(err)
		}
		lossAt[l] = append(lossAt[l], &st.Step)
	}
	for _, l := range meta.StyleLayers {
		st, err := ops.NewStyleLoss(d, net.acts[l], styleA[l], grads[l], scalars, 2, ws, true, true)
		if err != nil {
			t.Fatal(err)
		}
		lossAt[l] = append(lossAt[l], &st.Step)
	}
	dpre := upload(t, d, "dpre", nil, 3, H, W)
	dx := upload(t, d, "dx", nil, 3, H, W)
	tvOut := upload(t, d, "tv", nil, 3, H, W)
	// Backward, deepest first. Each layer's gradient is first written (=)
	// by the layer above (or zeroed at the deepest), then the losses tapped
	// there add (+=) into it, then it flows down.
	for i := len(net.order) - 1; i >= 0; i-- {
		l := net.order[i]
		if i == len(net.order)-1 {
			z, err := ops.NewFill(d, grads[l], 0)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, z)
		}
		for _, st := range lossAt[l] {
			steps = append(steps, st)
		}
		dIn := dpre
		if i > 0 {
			dIn = grads[net.order[i-1]]
		}
		if cw, ok := cws[l]; ok {
			st, err := ops.NewConv3x3BackwardInput(d, cw, grads[l], net.acts[l], dIn, false)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, st)
		} else {
			st, err := ops.NewPoolBackward(d, pool, grads[l], net.routes[l], dIn)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, st)
		}
	}
	pb, err := ops.NewPreprocessBackward(d, ops.Caffe, dpre, dx)
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, pb)
	tvs, err := ops.NewTVLoss(d, net.x, tvOut, scalars, 3, meta.TVWeight, false, false)
	if err != nil {
		t.Fatal(err)
	}
	add, err := ops.NewAxpy(d, 1, nil, 0, tvOut, dx)
	if err != nil {
		t.Fatal(err)
	}
	total, err := ops.NewScalar(d, scalars, "s[0] = s[1] + s[2] + s[3];")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, tvs, add, total)
	before := d.Counters()
	testgpu.Run(t, d, steps...)
	after := d.Counters()
	t.Logf("one iteration: %d submission, %d dispatches", after.Submits-before.Submits, after.Dispatch-before.Dispatch)

	loss := testgpu.F64(testgpu.Read(t, scalars))
	wantLoss := tensor(t, f, "ref.loss0")
	for i, name := range []string{"total", "content", "style", "tv"} {
		rel := math.Abs(loss[i]-wantLoss[i]) / math.Max(math.Abs(wantLoss[i]), 1e-300)
		if wantLoss[i] == 0 {
			rel = math.Abs(loss[i])
		}
		t.Logf("loss0 %-7s got %.9g want %.9g rel err %.3g", name, loss[i], wantLoss[i], rel)
		if rel > 1e-4 && !(wantLoss[i] == 0 && math.Abs(loss[i]) < 1e-6) {
			t.Fatalf("loss0 %s: rel err %.3g > 1e-4", name, rel)
		}
	}
	g := testgpu.F64(testgpu.Read(t, dx))
	s := testgpu.Errors(g, tensor(t, f, "ref.grad0"))
	t.Logf("grad0: norm-wise rel err %.3g (bound 1e-3), max abs %.3g", s.NormRel, s.MaxAbs)
	if s.NormRel > 1e-3 {
		t.Fatalf("grad0: norm-wise rel err %.3g > 1e-3", s.NormRel)
	}
}

func peakAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}
