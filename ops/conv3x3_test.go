package ops_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

type convCase struct {
	name      string
	cin, cout int
	h, w      int
}

var convCases = []convCase{
	{"first-layer-3in", 3, 8, 13, 11},
	{"one-channel", 1, 1, 5, 3},
	{"1x1-spatial", 4, 5, 1, 1},
	{"odd-channels-not-tile-multiples", 7, 19, 13, 11},
	{"out-channels-over-tile", 5, 70, 9, 7},
	{"wide-image-many-tiles", 3, 16, 21, 37},
	{"vgg-64-64", 64, 64, 8, 8},
	{"vgg-64-128", 64, 128, 6, 5},
	{"vgg-256-256", 256, 256, 4, 4},
	{"vgg-512-512", 512, 512, 2, 3},
}

func TestConv3x3MatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	for i, tc := range convCases {
		t.Run(tc.name, func(t *testing.T) {
			seed := int64(100 + i)
			x := testgpu.Round(testgpu.Rand(seed, tc.cin*tc.h*tc.w, -1, 1))
			wt := testgpu.Round(testgpu.Rand(seed+1, tc.cout*tc.cin*9, -0.3, 0.3))
			b := testgpu.Round(testgpu.Rand(seed+2, tc.cout, -0.1, 0.1))
			cw, err := ops.NewConvWeights(d, tc.name, testgpu.F32(wt), testgpu.F32(b), tc.cout, tc.cin)
			if err != nil {
				t.Fatal(err)
			}
			defer cw.Release()
			xb := testgpu.Upload(t, d, "x", x, tc.cin, tc.h, tc.w)
			for _, relu := range []bool{false, true} {
				yb := testgpu.Upload(t, d, "y", nil, tc.cout, tc.h, tc.w)
				st, err := ops.NewConv3x3Forward(d, cw, xb, yb, relu)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, st)
				st.Release()
				want := twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, relu)
				tol := 1e-6 * float64(tc.cin*9)
				testgpu.Close(t, fmt.Sprintf("conv3x3.forward relu=%v", relu), testgpu.Read(t, yb), want, tol, 1e-4)
			}
			// backward with and without the fused ReLU mask
			dy := testgpu.Round(testgpu.Rand(seed+3, tc.cout*tc.h*tc.w, -1, 1))
			mask := testgpu.Round(testgpu.Rand(seed+4, tc.cout*tc.h*tc.w, -1, 1))
			dyb := testgpu.Upload(t, d, "dy", dy, tc.cout, tc.h, tc.w)
			mb := testgpu.Upload(t, d, "mask", mask, tc.cout, tc.h, tc.w)
			for _, useMask := range []bool{false, true} {
				dxb := testgpu.Upload(t, d, "dx", nil, tc.cin, tc.h, tc.w)
				var m []float64
				mbuf := mb
				if useMask {
					m = mask
				} else {
					mbuf = nil
				}
				st, err := ops.NewConv3x3BackwardInput(d, cw, dyb, mbuf, dxb, false)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, st)
				st.Release()
				want := twin.Conv3x3Backward(dy, m, tc.cout, tc.h, tc.w, wt, tc.cin)
				tol := 1e-6 * float64(tc.cout*9)
				testgpu.Close(t, fmt.Sprintf("conv3x3.backward_input mask=%v", useMask), testgpu.Read(t, dxb), want, tol, 1e-4)
			}
		})
	}
}
