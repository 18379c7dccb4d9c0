package vgg_test

import (
	"strings"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// A trunk that sheds what nothing reads after its forward pass
// (TrunkPlan.Shed: transient activations in the gradients' buffers, pool
// routes instead of the pools' inputs) computes exactly what the trunk
// that keeps every activation does: the same tapped activations and the
// same dL/dX, bit for bit, with max and avg pooling, at 37×45, where the
// pools floor odd sizes; and it holds less memory.
func TestShedTrunkEqualsKept(t *testing.T) {
	d := testgpu.Device(t)
	w, err := weights.Synthetic([]int{6, 8, 10, 12, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	const H, W = 45, 37
	taps := []string{"relu1_1", "relu3_1", "relu4_2", "relu5_1"} // relu5_1 the deepest
	pos := map[int]bool{}
	var qs []int
	for _, l := range taps {
		q, _ := vgg.Index(l)
		pos[q], qs = true, append(qs, q)
	}
	x := testgpu.Rand(5, 3*H*W, 0, 1)
	for _, pool := range []ops.Pooling{ops.MaxPool, ops.AvgPool} {
		t.Run(pool.String(), func(t *testing.T) {
			net, err := vgg.New(d, w, pool, ops.Caffe)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Release()
			for _, grad := range []bool{true, false} {
				kept, err := plan.Trunk(plan.LimitsOf(d), net.Widths(), plan.Size{W: W, H: H}, "relu5_1", grad)
				if err != nil {
					t.Fatal(err)
				}
				if grad { // as the plan decides it: masked on write where no loss adds
					for i := 0; i+1 < kept.Depth(); i++ {
						kept.Layers[i].MaskedGrad = !vgg.Table[i].Pool && !pos[i]
					}
				}
				shed := kept
				shed.Layers = append([]vgg.LayerPlan(nil), kept.Layers...)
				shed.Shed(qs)
				var transient []string
				for i, l := range shed.Layers {
					if l.Transient {
						transient = append(transient, vgg.Table[i].Name)
					}
				}
				bytes := func(tp vgg.TrunkPlan) (n uint64) {
					for _, s := range tp.Buffers() {
						n += s.Bytes()
					}
					return n
				}
				t.Logf("gradients %v: transient %s; %d bytes instead of %d", grad, strings.Join(transient, ", "), bytes(shed), bytes(kept))
				if len(transient) == 0 || bytes(shed) >= bytes(kept) {
					t.Fatalf("the shed trunk sheds nothing")
				}
				a := runTrunk(t, net, kept, x, taps)
				b := runTrunk(t, net, shed, x, taps)
				for k := range a {
					for j := range a[k] {
						if a[k][j] != b[k][j] {
							t.Fatalf("gradients %v: output %d differs at %d: %g kept, %g shed", grad, k, j, a[k][j], b[k][j])
						}
					}
				}
			}
		})
	}
}

// runTrunk runs net's trunk tp on image x with a content loss against a
// fixed target at each tap, and returns the tapped activations and, with
// gradients, dL/dX. It also checks that a transient layer cannot be
// tapped.
func runTrunk(t *testing.T, net *vgg.Net, tp vgg.TrunkPlan, x []float64, taps []string) [][]float32 {
	t.Helper()
	d := net.D
	tr, err := net.NewTrunk(tp)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Release()
	if err := tr.X.Write(testgpu.F32(x)); err != nil {
		t.Fatal(err)
	}
	for i, l := range tp.Layers {
		if _, err := tr.Act(vgg.Table[i].Name); l.Transient && err == nil {
			t.Fatalf("transient layer %s can be tapped", vgg.Table[i].Name)
		}
	}
	steps := []interface{ Record(*gpu.Encoder) error }{tr.Forward()}
	var outs []*gpu.Buffer
	scal := testgpu.Upload(t, d, "scalars", nil, 4)
	losses := map[string][]ops.Recorder{}
	for k, l := range taps {
		a, err := tr.Act(l)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, a) // kept: the backward does not write it
		if !tp.Grad {
			continue
		}
		g, _ := tr.Grad(l)
		p := testgpu.Upload(t, d, "p."+l, testgpu.Rand(int64(10+k), a.Len(), 0, 1), a.Shape...)
		cl, err := ops.NewContentLoss(d, a, p, g, scal, 1, 1, true, true)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release()
		losses[l] = append(losses[l], cl)
	}
	var got [][]float32
	if tp.Grad {
		bw, err := tr.Backward(losses, nil)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, bw)
	}
	testgpu.Run(t, d, steps...)
	for _, o := range outs {
		got = append(got, testgpu.Read(t, o))
	}
	if tp.Grad {
		got = append(got, testgpu.Read(t, tr.DX))
	}
	return got
}
