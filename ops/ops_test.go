package ops_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

type hw struct {
	name    string
	c, h, w int
}

var spatialCases = []hw{
	{"13x11", 3, 13, 11},
	{"5x3", 2, 5, 3},
	{"2x2", 1, 2, 2},
	{"1-channel-7x9", 1, 7, 9},
	{"vgg-64ch", 64, 8, 6},
	{"vgg-512ch", 512, 3, 5},
}

func TestPreprocessMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	for _, mode := range []ops.Preprocess{ops.Caffe, ops.Torch} {
		for _, tc := range []hw{{"13x11", 3, 13, 11}, {"1x1", 3, 1, 1}, {"5x3", 3, 5, 3}} {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				n := 3 * tc.h * tc.w
				x := testgpu.Round(testgpu.Rand(1, n, 0, 1))
				xb := testgpu.Upload(t, d, "x", x, 3, tc.h, tc.w)
				yb := testgpu.Upload(t, d, "y", nil, 3, tc.h, tc.w)
				fw, err := ops.NewPreprocess(d, mode, xb, yb)
				if err != nil {
					t.Fatal(err)
				}
				dy := testgpu.Round(testgpu.Rand(2, n, -1, 1))
				dyb := testgpu.Upload(t, d, "dy", dy, 3, tc.h, tc.w)
				dxb := testgpu.Upload(t, d, "dx", nil, 3, tc.h, tc.w)
				bw, err := ops.NewPreprocessBackward(d, mode, dyb, dxb)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, fw, bw)
				testgpu.Close(t, "preprocess.forward", testgpu.Read(t, yb), twin.Preprocess(mode, x, tc.h*tc.w), 1e-4, 1e-6)
				testgpu.Close(t, "preprocess.backward", testgpu.Read(t, dxb), twin.PreprocessBackward(mode, dy, tc.h*tc.w), 1e-5, 1e-6)
			})
		}
	}
}

func TestPoolMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	for _, kind := range []ops.Pooling{ops.MaxPool, ops.AvgPool} {
		for i, tc := range spatialCases {
			t.Run(kind.String()+"/"+tc.name, func(t *testing.T) {
				n := tc.c * tc.h * tc.w
				x := testgpu.Round(testgpu.Rand(int64(i), n, -1, 1))
				// a few exact ties, which must go to the first maximum
				for k := 0; k+1 < n; k += 7 {
					x[k+1] = x[k]
				}
				oh, ow := tc.h/2, tc.w/2
				xb := testgpu.Upload(t, d, "x", x, tc.c, tc.h, tc.w)
				yb := testgpu.Upload(t, d, "y", nil, tc.c, oh, ow)
				dy := testgpu.Round(testgpu.Rand(int64(i+50), tc.c*oh*ow, -1, 1))
				dyb := testgpu.Upload(t, d, "dy", dy, tc.c, oh, ow)
				dxb := testgpu.Upload(t, d, "dx", testgpu.Rand(9, n, 5, 6), tc.c, tc.h, tc.w) // garbage: backward must write every element
				want := twin.PoolBackward(kind, dy, x, tc.c, tc.h, tc.w)
				// With relu, dx also carries x's ReLU mask (x > 0).
				masked := append([]float64(nil), want...)
				nmasked := 0
				for j := range masked {
					if x[j] <= 0 {
						masked[j], nmasked = 0, nmasked+1
					}
				}
				if nmasked == 0 {
					t.Fatal("no x <= 0 to mask")
				}
				// Without a route, the forward only pools.
				plain, err := ops.NewPoolForward(d, kind, xb, yb, nil, false)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, plain)
				testgpu.Close(t, "pool.forward", testgpu.Read(t, yb), twin.Pool(kind, x, tc.c, tc.h, tc.w), 1e-7, 1e-6)
				for _, relu := range []bool{false, true} {
					route, err := d.Alloc(ops.PoolRouteSpec("route", tc.c, tc.h, tc.w))
					if err != nil {
						t.Fatal(err)
					}
					defer route.Release()
					yr := testgpu.Upload(t, d, "y", nil, tc.c, oh, ow)
					fw, err := ops.NewPoolForward(d, kind, xb, yr, route, relu)
					if err != nil {
						t.Fatal(err)
					}
					// The backward reads only dy and the route: x is overwritten
					// first, as a trunk reuses its memory.
					spoil, err := ops.NewFill(d, xb, 7)
					if err != nil {
						t.Fatal(err)
					}
					bw, err := ops.NewPoolBackward(d, kind, dyb, route, dxb)
					if err != nil {
						t.Fatal(err)
					}
					testgpu.Run(t, d, fw, spoil, bw)
					what, w := "pool.backward", want
					if relu {
						what, w = "pool.backward relu", masked
					}
					testgpu.Close(t, what+" forward", testgpu.Read(t, yr), twin.Pool(kind, x, tc.c, tc.h, tc.w), 1e-7, 1e-6)
					testgpu.Close(t, what, testgpu.Read(t, dxb), w, 1e-7, 1e-6)
					xb = testgpu.Upload(t, d, "x", x, tc.c, tc.h, tc.w)
				}
			})
		}
	}
}

func TestGramMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	cases := []hw{
		{"1ch-1x1", 1, 1, 1},
		{"3ch-13x11", 3, 13, 11},
		{"19ch-odd", 19, 7, 5},
		{"64ch-32x32-splitK", 64, 32, 32},
		{"70ch-over-tile", 70, 9, 9},
		{"128ch-64x40-splitK", 128, 64, 40},
		{"512ch-4x4", 512, 4, 4},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.h * tc.w
			f := testgpu.Round(testgpu.Rand(int64(i), tc.c*m, 0, 2))
			fb := testgpu.Upload(t, d, "f", f, tc.c, tc.h, tc.w)
			// The adapter's plan, and both kinds of tile forced: the
			// workgroup-memory GEMM and the register triangle.
			l := ops.LimitsOf(d)
			shared, reg := l, l
			shared.Registers, reg.Registers = false, true
			for _, gp := range []ops.GramPlan{ops.ChooseGramPlan(l, tc.c, m), ops.ChooseGramPlan(shared, tc.c, m), ops.ChooseGramPlan(reg, tc.c, m)} {
				gb := testgpu.Upload(t, d, "g", nil, tc.c, tc.c)
				st, err := ops.NewGramPlan(d, fb, gb, gp)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, st)
				st.Release()
				testgpu.Close(t, fmt.Sprintf("gram (%v)", gp), testgpu.Read(t, gb), twin.Gram(f, tc.c, m), 1e-6, 1e-5)
			}
		})
	}
}

func TestSumMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	if st, err := ops.NewSum(d, ops.SumAbs, testgpu.Upload(t, d, "a", nil, 5000), nil, testgpu.Upload(t, d, "part", nil, 1), testgpu.Upload(t, d, "out", nil, 1), 0, 1, false); err == nil {
		st.Release()
		t.Error("NewSum accepted partial sums of 1 value for 5000 (2 chunks)")
	}
	for _, mode := range []ops.SumMode{0, 4, -1} {
		a := testgpu.Upload(t, d, "a", nil, 8)
		out := testgpu.Upload(t, d, "out", nil, 1)
		if st, err := ops.NewSum(d, mode, a, a, testgpu.Upload(t, d, "part", nil, 1), out, 0, 1, false); err == nil {
			st.Release()
			t.Errorf("NewSum accepted mode %d", mode)
		}
	}
	for _, n := range []int{1, 5, 255, 256, 257, ops.Chunk, ops.Chunk + 1, 3*ops.Chunk + 17, 300000} {
		for _, mode := range []ops.SumMode{ops.SumDot, ops.SumSquares, ops.SumAbs} {
			t.Run(fmt.Sprintf("n=%d/mode=%d", n, mode), func(t *testing.T) {
				a := testgpu.Round(testgpu.Rand(int64(n), n, -1, 1))
				b := testgpu.Round(testgpu.Rand(int64(n+1), n, -1, 1))
				ab := testgpu.Upload(t, d, "a", a, n)
				bb := testgpu.Upload(t, d, "b", b, n)
				out := testgpu.Upload(t, d, "out", []float64{7, 7, 7}, 3)
				// The two sums share their partial sums, as L-BFGS's do.
				part := testgpu.Upload(t, d, "part", nil, ops.SumScratch(n)[0].Shape...)
				st, err := ops.NewSum(d, mode, ab, bb, part, out, 1, 0.5, false)
				if err != nil {
					t.Fatal(err)
				}
				acc, err := ops.NewSum(d, mode, ab, bb, part, out, 2, 2, true)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, st, acc)
				want := twin.Sum(mode, a, b)
				testgpu.Close(t, "reduce.sum", testgpu.Read(t, out), []float64{7, 0.5 * want, 7 + 2*want}, 1e-6*math.Sqrt(float64(n)), 1e-5)
			})
		}
	}
}

func TestLossesMatchTwins(t *testing.T) {
	d := testgpu.Device(t)
	for i, tc := range spatialCases {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.c * tc.h * tc.w
			m := tc.h * tc.w
			f := testgpu.Round(testgpu.Rand(int64(i), n, 0, 1))
			p := testgpu.Round(testgpu.Rand(int64(i+10), n, 0, 1))
			a := testgpu.Round(twin.Gram(testgpu.Rand(int64(i+20), n, 0, 1), tc.c, m))
			prior := testgpu.Round(testgpu.Rand(int64(i+30), n, -1, 1))
			fb := testgpu.Upload(t, d, "f", f, tc.c, tc.h, tc.w)
			pb := testgpu.Upload(t, d, "p", p, tc.c, tc.h, tc.w)
			ab := testgpu.Upload(t, d, "a", a, tc.c, tc.c)
			grad := testgpu.Upload(t, d, "grad", prior, tc.c, tc.h, tc.w)
			out := testgpu.Upload(t, d, "out", make([]float64, 4), 4)
			const wc, ws, wt = 3.5, 7.25, 0.75
			cl, err := ops.NewContentLoss(d, fb, pb, grad, out, 1, wc, true, false)
			if err != nil {
				t.Fatal(err)
			}
			sl, err := ops.NewStyleLoss(d, fb, ab, grad, out, 2, ws, true, false)
			if err != nil {
				t.Fatal(err)
			}
			tv, err := ops.NewTVLoss(d, fb, grad, out, 3, wt, true, false)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, wc, ws, wt float64) {
				t.Helper()
				testgpu.Run(t, d, cl, sl, tv)
				lc, gc := twin.ContentLoss(f, p, wc)
				ls, gs := twin.StyleLoss(f, a, tc.c, m, ws)
				lt, gt := twin.TVLoss(f, tc.c, tc.h, tc.w, wt)
				want := make([]float64, n)
				for k := range want {
					want[k] = prior[k] + gc[k] + gs[k] + gt[k]
				}
				testgpu.Close(t, what+": losses.value [content style tv]", testgpu.Read(t, out)[1:], []float64{lc, ls, lt}, 1e-7, 2e-5)
				testgpu.Close(t, what+": losses.grad (+= into one buffer)", testgpu.Read(t, grad), want, 1e-5, 1e-4)
			}
			check("built", wc, ws, wt)
			// New weights between runs: the same pipelines read them from
			// their uniforms (the live window's weight keys rely on it).
			const wc2, ws2, wt2 = 0.5, 40, 3
			for _, c := range []struct {
				l *ops.Loss
				w float64
			}{{cl, wc2}, {&sl.Loss, ws2}, {tv, wt2}} {
				if err := c.l.SetWeight(c.w); err != nil {
					t.Fatal(err)
				}
				if c.l.Weight() != c.w {
					t.Fatalf("%s: Weight() = %v after SetWeight(%v)", c.l.Name, c.l.Weight(), c.w)
				}
			}
			if err := grad.Write(testgpu.F32(prior)); err != nil {
				t.Fatal(err)
			}
			check("after SetWeight", wc2, ws2, wt2)
			if err := cl.SetWeight(math.NaN()); err == nil {
				t.Error("SetWeight(NaN) accepted")
			}
		})
	}
}

func TestElementwiseMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	for _, n := range []int{1, 300, 70000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := testgpu.Round(testgpu.Rand(1, n, -2, 2))
			y := testgpu.Round(testgpu.Rand(2, n, -2, 2))
			xb := testgpu.Upload(t, d, "x", x, n)
			yb := testgpu.Upload(t, d, "y", y, n)
			s := testgpu.Upload(t, d, "s", []float64{0.5, -3}, 2)
			filled := testgpu.Upload(t, d, "filled", nil, n)
			var steps []interface{ Record(*gpu.Encoder) error }
			mk := func(st *ops.Step, err error) {
				if err != nil {
					t.Fatal(err)
				}
				steps = append(steps, st)
			}
			mk(ops.NewFill(d, filled, 1.25))
			mk(ops.NewAxpy(d, 2, s, 1, xb, yb))      // y += 2*(-3)*x
			mk(ops.NewAxpy(d, 0.25, nil, 0, xb, yb)) // y += 0.25*x
			mk(ops.NewScale(d, 3, s, 0, yb))         // y *= 3*0.5
			mk(ops.NewScale(d, -1, nil, 0, yb))      // y *= -1
			mk(ops.NewScalar(d, s, "s[0] = s[0] * 4.0 + s[1];"))
			testgpu.Run(t, d, steps...)
			want := make([]float64, n)
			for i := range want {
				want[i] = 1.25
			}
			testgpu.Close(t, "fill", testgpu.Read(t, filled), want, 0, 0)
			for i := range want {
				v := y[i] + 2*(-3)*x[i] + 0.25*x[i]
				want[i] = -1 * (3 * 0.5 * v)
			}
			testgpu.Close(t, "axpy+scale", testgpu.Read(t, yb), want, 1e-5, 1e-6)
			testgpu.Close(t, "scalar", testgpu.Read(t, s), []float64{0.5*4 - 3, -3}, 0, 0)
		})
	}
}

func TestAdamMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	cases := []struct {
		name string
		cfg  ops.AdamConfig
	}{
		{"keras-seed", ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}},
		{"torch", ops.AdamConfig{Form: ops.AdamTorch, LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		{"keras-noclip", ops.AdamConfig{Form: ops.AdamKeras, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-7}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n, steps = 1000, 7
			x := testgpu.Round(testgpu.Rand(1, n, 0, 1))
			xb := testgpu.Upload(t, d, "x", x, n)
			gb := testgpu.Upload(t, d, "g", nil, n)
			opt, err := ops.NewAdam(d, tc.cfg, xb, gb)
			if err != nil {
				t.Fatal(err)
			}
			defer opt.Release()
			m, v := make([]float64, n), make([]float64, n)
			for k := 1; k <= steps; k++ {
				g := testgpu.Round(testgpu.Rand(int64(10+k), n, -3, 3))
				if err := gb.Write(testgpu.F32(g)); err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, opt)
				twin.Adam(tc.cfg, k, x, g, m, v)
			}
			testgpu.Close(t, fmt.Sprintf("adam.%s x after %d steps", tc.name, steps), testgpu.Read(t, xb), x, 1e-6, 1e-5)
			testgpu.Close(t, "adam m", testgpu.Read(t, opt.M), m, 1e-6, 1e-5)
			testgpu.Close(t, "adam v", testgpu.Read(t, opt.V), v, 1e-6, 1e-5)
			st := testgpu.Read(t, opt.State)
			if st[0] != steps {
				t.Fatalf("adam step count %v, want %d", st[0], steps)
			}
		})
	}
}

// A released step refuses to record instead of recording nothing.
func TestReleasedStepRefusesToRecord(t *testing.T) {
	d := testgpu.Device(t)
	y := testgpu.Upload(t, d, "y", nil, 8)
	st, err := ops.NewFill(d, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	st.Release()
	if err := d.Record("released", st.Record); err == nil {
		t.Error("a released step recorded")
	}
}
