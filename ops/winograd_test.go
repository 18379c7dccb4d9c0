package ops_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// TestConv3x3WinogradMatchesTwin runs the Winograd F(2×2,3×3) and
// F(4×4,3×3) passes, forward (with and without ReLU) and backward_input
// (with the input mask, the output mask, the fused content and style
// gradients and +=), against the float64 twins: odd sizes whose last
// tiles are cut by the edge (13×11, 5×3), one channel, channel counts that
// are not tile multiples, and VGG19's widths. The bound is the direct
// conv's, 1e-6 per summed product plus 1e-4 relative, for both: F(2,3)'s
// transforms only add and halve; F(4,3)'s scale by up to 8, and its
// errors are larger (measured on lavapipe over these cases: norm-wise
// 3.2e-6 against 4.9e-7, max abs 2.1e-4 against 1.1e-5), still inside.
func TestConv3x3WinogradMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	gemm := ops.RegTile(16, 16, 8, 2)
	cases := []struct {
		name            string
		cin, cout, h, w int
	}{
		{"odd-13x11", 7, 19, 13, 11},
		{"odd-5x3", 3, 64, 5, 3},
		{"one-channel", 1, 1, 6, 4},
		{"1x1", 4, 5, 1, 1},
		{"vgg-64-64-16x16", 64, 64, 16, 16},
		{"vgg-128-256-9x9", 128, 256, 9, 9},
	}
	for _, algo := range []ops.Algo{ops.Winograd2, ops.Winograd4} {
		for i, tc := range cases {
			t.Run(fmt.Sprintf("F%d/%s", map[ops.Algo]int{ops.Winograd2: 2, ops.Winograd4: 4}[algo], tc.name), func(t *testing.T) {
				testWinogradCase(t, d, algo, gemm, int64(700+10*i), tc.cin, tc.cout, tc.h, tc.w)
			})
		}
	}
}

// testWinogradCase is one case of TestConv3x3WinogradMatchesTwin.
func testWinogradCase(t *testing.T, d *gpu.Device, algo ops.Algo, gemm ops.Tile, seed int64, cin, cout, h, w int) {
	tc := struct {
		name            string
		cin, cout, h, w int
	}{fmt.Sprintf("%dx%dx%dx%d", cin, cout, h, w), cin, cout, h, w}
	n := tc.cin * tc.h * tc.w
	x := testgpu.Round(testgpu.Rand(seed, n, -1, 1))
	wt := testgpu.Round(testgpu.Rand(seed+1, tc.cout*tc.cin*9, -0.3, 0.3))
	bias := testgpu.Round(testgpu.Rand(seed+2, tc.cout, -0.1, 0.1))
	cw, err := ops.NewConvWeights(d, tc.name, testgpu.F32(wt), testgpu.F32(bias), tc.cout, tc.cin)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Release()
	p := ops.ConvPlan{Algo: algo, Tile: gemm}
	xb := testgpu.Upload(t, d, "x", x, tc.cin, tc.h, tc.w)
	for _, relu := range []bool{false, true} {
		yb := testgpu.Upload(t, d, "y", testgpu.Rand(9, tc.cout*tc.h*tc.w, 5, 6), tc.cout, tc.h, tc.w)
		st, err := ops.NewConv3x3ForwardPlan(d, cw, xb, yb, relu, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Dispatches() != 3 {
			t.Errorf("forward: %d dispatches, want 3 (input transform, GEMMs, output transform)", st.Dispatches())
		}
		testgpu.Run(t, d, st)
		st.Release()
		testgpu.Close(t, fmt.Sprintf("%v forward relu=%v", algo, relu), testgpu.Read(t, yb),
			twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, bias, tc.cout, relu), 1e-6*float64(tc.cin*9), 1e-4)
	}
	m := tc.cout * tc.h * tc.w
	dy := testgpu.Round(testgpu.Rand(seed+3, m, -1, 1))
	mask := testgpu.Round(testgpu.Rand(seed+4, m, -1, 1))
	omask := testgpu.Round(testgpu.Rand(seed+5, n, -1, 1))
	prev := testgpu.Round(testgpu.Rand(seed+6, n, -1, 1))
	f := testgpu.Round(testgpu.Rand(seed+7, n, 0, 1))
	pt := testgpu.Round(testgpu.Rand(seed+8, n, 0, 1))
	dyb := testgpu.Upload(t, d, "dy", dy, tc.cout, tc.h, tc.w)
	mb := testgpu.Upload(t, d, "mask", mask, tc.cout, tc.h, tc.w)
	omb := testgpu.Upload(t, d, "omask", omask, tc.cin, tc.h, tc.w)
	fb := testgpu.Upload(t, d, "f", f, tc.cin, tc.h, tc.w)
	pb := testgpu.Upload(t, d, "p", pt, tc.cin, tc.h, tc.w)
	out := testgpu.Upload(t, d, "out", nil, 4)
	wc := 0.5 * float64(n)
	cl, err := ops.NewContentLoss(d, fb, pb, nil, out, 1, wc, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Release()
	grads, err := ops.FuseLosses(cl, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := testgpu.Round(twin.Gram(testgpu.Rand(seed+9, n, 0, 1), tc.cin, tc.h*tc.w))
	ab := testgpu.Upload(t, d, "a", a, tc.cin, tc.cin)
	ws := 2 * float64(tc.cin*tc.h*tc.w)
	sl, err := ops.NewStyleLoss(d, fb, ab, nil, out, 2, ws, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release()
	testgpu.Run(t, d, sl) // the Gram the fused pass reads
	both, err := ops.FuseLosses(cl, sl)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name                          string
		mask, outMask, content, style bool
		accum                         bool
	}{{"plain", false, false, false, false, false}, {"mask", true, false, false, false, false}, {"accum", true, false, false, false, true},
		{"masks and content", true, true, true, false, false}, {"style", false, false, false, true, false},
		{"masks, content and style", true, true, true, true, false}} {
		dxb := testgpu.Upload(t, d, "dx", prev, tc.cin, tc.h, tc.w)
		b := ops.ConvBackward{DY: dyb, DX: dxb, Accum: v.accum}
		var m64 []float64
		if v.mask {
			b.Mask, m64 = mb, mask
		}
		if v.outMask {
			b.OutMask = omb
		}
		if v.content {
			b.Grads = grads
		}
		if v.style {
			b.Grads = both
			if !v.content {
				b.Grads, err = ops.FuseLosses(nil, sl)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		st, err := ops.NewConv3x3Backward(d, cw, b, p)
		if err != nil {
			t.Fatal(err)
		}
		testgpu.Run(t, d, st)
		st.Release()
		want := twin.Conv3x3Backward(dy, m64, tc.cout, tc.h, tc.w, wt, tc.cin)
		_, cg := twin.ContentLoss(f, pt, wc)
		_, sg := twin.StyleLoss(f, a, tc.cin, tc.h*tc.w, ws)
		for j := range want {
			if v.content {
				want[j] += cg[j]
			}
			if v.style {
				want[j] += sg[j]
			}
			if v.outMask && omask[j] <= 0 {
				want[j] = 0
			}
			if v.accum {
				want[j] += prev[j]
			}
		}
		testgpu.Close(t, algo.String()+" backward_input "+v.name, testgpu.Read(t, dxb), want, 1e-6*float64(tc.cout*9+tc.cin), 1e-4)
	}
}
