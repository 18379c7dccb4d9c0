package ops_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// The fused backward (conv backward_input with the content and/or style
// loss gradients of its input added in the same pass) against the float64
// twins: twin.Conv3x3Backward + twin.ContentLoss + twin.StyleLoss.
func TestConv3x3BackwardFusedMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	cases := []convCase{
		{"odd-5x3", 7, 19, 5, 3},
		{"one-channel-5x3", 1, 1, 5, 3},
		{"vgg-64-64-8x8", 64, 64, 8, 8},
		{"vgg-128in-64out-8x8", 128, 64, 8, 8},
	}
	kinds := []struct {
		name           string
		content, style bool
	}{{"content", true, false}, {"style", false, true}, {"both", true, true}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := int64(500 + 10*i)
			n, m := tc.cin*tc.h*tc.w, tc.h*tc.w
			wt := testgpu.Round(testgpu.Rand(seed, tc.cout*tc.cin*9, -0.3, 0.3))
			b := make([]float32, tc.cout)
			cw, err := ops.NewConvWeights(d, tc.name, testgpu.F32(wt), b, tc.cout, tc.cin)
			if err != nil {
				t.Fatal(err)
			}
			defer cw.Release()
			dy := testgpu.Round(testgpu.Rand(seed+1, tc.cout*m, -1, 1))
			mask := testgpu.Round(testgpu.Rand(seed+2, tc.cout*m, -1, 1))
			f := testgpu.Round(testgpu.Rand(seed+3, n, 0, 1))
			p := testgpu.Round(testgpu.Rand(seed+4, n, 0, 1))
			a := testgpu.Round(twin.Gram(testgpu.Rand(seed+5, n, 0, 1), tc.cin, m))
			dyb := testgpu.Upload(t, d, "dy", dy, tc.cout, tc.h, tc.w)
			mb := testgpu.Upload(t, d, "mask", mask, tc.cout, tc.h, tc.w)
			fb := testgpu.Upload(t, d, "f", f, tc.cin, tc.h, tc.w)
			pb := testgpu.Upload(t, d, "p", p, tc.cin, tc.h, tc.w)
			ab := testgpu.Upload(t, d, "a", a, tc.cin, tc.cin)
			omask := testgpu.Round(testgpu.Rand(seed+7, n, -1, 1))
			omb := testgpu.Upload(t, d, "omask", omask, tc.cin, tc.h, tc.w)
			out := testgpu.Upload(t, d, "out", make([]float64, 4), 4)
			// Weights that make the loss gradients as large as the conv's
			// (content: (F-P); style: about (G-A)F summed over C), so that
			// a fused term left out or wrong cannot pass.
			wc := 0.5 * float64(n)
			ws := 2 * float64(tc.cin*m)
			for _, k := range kinds {
				for _, useMask := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/mask=%v", k.name, useMask), func(t *testing.T) {
						var cl *ops.Loss
						var sl *ops.StyleLoss
						if k.content {
							if cl, err = ops.NewContentLoss(d, fb, pb, nil, out, 1, wc, false, false); err != nil {
								t.Fatal(err)
							}
							defer cl.Release()
						}
						if k.style {
							if sl, err = ops.NewStyleLoss(d, fb, ab, nil, out, 2, ws, false, false); err != nil {
								t.Fatal(err)
							}
							defer sl.Release()
						}
						var m64 []float64
						mbuf := mb
						if useMask {
							m64 = mask
						} else {
							mbuf = nil
						}
						dxb := testgpu.Upload(t, d, "dx", testgpu.Rand(seed+6, n, -9, 9), tc.cin, tc.h, tc.w)
						// The adapter's own plan (which splits K at the
						// small sizes here, even on lavapipe), the same tile
						// unsplit, and K split in three: with a split the
						// style term's K is sliced with the conv's and the
						// combine pass adds the content term once.
						taps, err := ops.FuseLosses(cl, sl)
						if err != nil {
							t.Fatal(err)
						}
						k9 := 9*tc.cout + map[bool]int{true: tc.cin}[k.style] // the style term lengthens K
						tile := ops.ChooseTileFor(ops.LimitsOf(d), tc.cin, m)
						plans := []struct {
							name string
							p    ops.ConvPlan
						}{{"adapter's plan", ops.ChooseConvPlan(ops.LimitsOf(d), tc.cin, m, tc.cout).ForK(k9)},
							{"unsplit", ops.ConvPlan{Tile: tile, Split: 1}}}
						if sp := ops.SplitConvPlan(tile, tc.cout, 3).ForK(k9); sp.Split > 1 {
							plans = append(plans, struct {
								name string
								p    ops.ConvPlan
							}{"split " + fmt.Sprint(sp.Split), sp})
						}
						conv := twin.Conv3x3Backward(dy, m64, tc.cout, tc.h, tc.w, wt, tc.cin)
						for _, pl := range plans {
							// With the input mask, the output mask too: the ReLU
							// mask of the layer below, over the sum.
							b := ops.ConvBackward{DY: dyb, Mask: mbuf, DX: dxb, Grads: taps}
							if useMask {
								b.OutMask = omb
							}
							st, err := ops.NewConv3x3Backward(d, cw, b, pl.p)
							if err != nil {
								t.Fatal(err)
							}
							defer st.Release()
							want := 1
							if pl.p.Split > 1 {
								want = 2
							}
							if st.Dispatches() != want {
								t.Errorf("%s: fused backward: %d dispatches, want %d", pl.name, st.Dispatches(), want)
							}
							check := func(what string, wc, ws float64) {
								what = pl.name + ", " + what
								t.Helper()
								if cl != nil {
									testgpu.Run(t, d, cl)
								}
								if sl != nil {
									testgpu.Run(t, d, sl) // the Gram the fused pass reads
								}
								testgpu.Run(t, d, st)
								want := append([]float64(nil), conv...)
								extra := make([]float64, n)
								if cl != nil {
									_, g := twin.ContentLoss(f, p, wc)
									for j := range extra {
										extra[j] += g[j]
									}
								}
								if sl != nil {
									_, g := twin.StyleLoss(f, a, tc.cin, m, ws)
									for j := range extra {
										extra[j] += g[j]
									}
								}
								big := 0.0
								for j := range want {
									want[j] += extra[j]
									big = math.Max(big, math.Abs(extra[j]))
									if useMask && omask[j] <= 0 {
										want[j] = 0
									}
								}
								tol := 1e-6 * float64(tc.cout*9+tc.cin)
								if big < 100*tol {
									t.Fatalf("%s: the fused loss gradients (max %.3g) are too small to test at tolerance %.3g", what, big, tol)
								}
								testgpu.Close(t, what+": fused backward", testgpu.Read(t, dxb), want, tol, 1e-4)
								vals := testgpu.Read(t, out)
								if cl != nil {
									lc, _ := twin.ContentLoss(f, p, wc)
									testgpu.Close(t, what+": content value", vals[1:2], []float64{lc}, 1e-7, 2e-5)
								}
								if sl != nil {
									ls, _ := twin.StyleLoss(f, a, tc.cin, m, ws)
									testgpu.Close(t, what+": style value", vals[2:3], []float64{ls}, 1e-7, 2e-5)
								}
							}
							check("built", wc, ws)
							// The fused pass reads the losses' uniforms: new
							// weights take effect without a rebuild.
							wc2, ws2 := 0.5*wc, 3*ws
							if cl != nil {
								if err := cl.SetWeight(wc2); err != nil {
									t.Fatal(err)
								}
							}
							if sl != nil {
								if err := sl.SetWeight(ws2); err != nil {
									t.Fatal(err)
								}
							}
							check("after SetWeight", wc2, ws2)
							for _, l := range []*ops.Loss{cl, styleOf(sl)} {
								if l != nil {
									if err := l.SetWeight(map[bool]float64{true: wc, false: ws}[l == cl]); err != nil {
										t.Fatal(err)
									}
								}
							}
						}
					})
				}
			}
		})
	}
}

// Features that are not dx's shape are refused.
func TestConv3x3BackwardFusedRefusesBadFeatures(t *testing.T) {
	d := testgpu.Device(t)
	const cin, cout, h, w = 8, 64, 4, 4
	cw, err := ops.NewConvWeights(d, "split", make([]float32, cout*cin*9), make([]float32, cout), cout, cin)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Release()
	dy := testgpu.Upload(t, d, "dy", nil, cout, h, w)
	dx := testgpu.Upload(t, d, "dx", nil, cin, h, w)
	out := testgpu.Upload(t, d, "out", nil, 4)
	// A features buffer of the wrong shape is refused too.
	g := testgpu.Upload(t, d, "g", nil, cin+1, h, w)
	pg := testgpu.Upload(t, d, "pg", nil, cin+1, h, w)
	bad, err := ops.NewContentLoss(d, g, pg, nil, out, 1, 1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Release()
	p := ops.ChooseConvPlan(ops.LimitsOf(d), cin, h*w, cout)
	if st, err := ops.NewConv3x3Backward(d, cw, ops.ConvBackward{DY: dy, DX: dx, Grads: fuse(t, bad, nil)}, p); err == nil {
		st.Release()
		t.Fatal("fused backward accepted features that are not dx's shape")
	}
	// So are a content term without its params, and a plan that does not
	// cover the style term's longer K.
	pc := testgpu.Upload(t, d, "p", nil, cin, h, w)
	fc := testgpu.Upload(t, d, "f", nil, cin, h, w)
	if st, err := ops.NewConv3x3Backward(d, cw, ops.ConvBackward{DY: dy, DX: dx, Grads: ops.FusedGrads{F: fc, P: pc}}, p); err == nil {
		st.Release()
		t.Error("fused backward accepted a content term without params")
	}
	a := testgpu.Upload(t, d, "a", nil, cin, cin)
	sl, err := ops.NewStyleLoss(d, fc, a, nil, out, 2, 1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Release()
	split := ops.SplitConvPlan(ops.ChooseTileFor(ops.LimitsOf(d), cin, h*w), cout, 3)
	if st, err := ops.NewConv3x3Backward(d, cw, ops.ConvBackward{DY: dy, DX: dx, Grads: fuse(t, nil, sl)}, split); err == nil {
		st.Release()
		t.Error("fused backward accepted a split plan for the conv's K alone with a style term")
	}
	// A content and a style loss over different features do not fuse.
	other, err := ops.NewContentLoss(d, testgpu.Upload(t, d, "other", nil, cin, h, w), pc, nil, out, 1, 1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if _, err := ops.FuseLosses(other, sl); err == nil {
		t.Error("FuseLosses accepted a content and a style loss over different features")
	}
}

func styleOf(s *ops.StyleLoss) *ops.Loss {
	if s == nil {
		return nil
	}
	return &s.Loss
}

// fuse is ops.FuseLosses, failing the test on an error.
func fuse(t *testing.T, c *ops.Loss, s *ops.StyleLoss) ops.FusedGrads {
	t.Helper()
	g, err := ops.FuseLosses(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
