package ops_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// TestConv3x3PlansMatchTwin runs conv3x3 forward and backward_input under
// forced plans — the register-blocked tiles, the small-N tiles and split-K
// with its combine pass — against the float64 twins, with the bounds of
// TestConv3x3MatchesTwin. The backward pass runs with accum, so the
// combine pass's += is checked too.
func TestConv3x3PlansMatchTwin(t *testing.T) {
	d := testgpu.Device(t)
	cases := []struct {
		name      string
		cin, cout int
		h, w      int
		plan      ops.ConvPlan
	}{
		{"128x128-tile-ragged", 16, 130, 13, 11, ops.ConvPlan{Tile: ops.Tile128x128}},
		{"64x128-tile", 9, 70, 12, 12, ops.ConvPlan{Tile: ops.Tile64x128}},
		{"128x64-tile", 8, 129, 9, 8, ops.ConvPlan{Tile: ops.Tile128x64}},
		{"64x64-tile", 5, 64, 8, 9, ops.ConvPlan{Tile: ops.Tile64x64}},
		{"n16-tile-vgg-512-4x4", 512, 512, 4, 4, ops.ConvPlan{Tile: ops.TileN16}},
		{"n4-tile-vgg-512-2x2", 512, 512, 2, 2, ops.ConvPlan{Tile: ops.TileN4}},
		{"split-k-vgg-512-4x4", 512, 512, 4, 4, ops.SplitConvPlan(ops.TileN16, 512, 18)},
		{"split-k-vgg-512-2x2", 512, 512, 2, 2, ops.SplitConvPlan(ops.TileN4, 512, 7)},
		{"split-k-vgg-256-512-4x4", 256, 512, 4, 4, ops.SplitConvPlan(ops.TileN16, 256, 5)},
		{"split-k-ragged-last-slice", 7, 19, 5, 3, ops.SplitConvPlan(ops.ChooseTile(19, 15), 7, 3)},
		{"split-k-128x128", 16, 128, 12, 11, ops.SplitConvPlan(ops.Tile128x128, 16, 2)},
		{"reg-16x16-ragged", 16, 130, 13, 11, ops.ConvPlan{Tile: ops.Tile{TM: 64, TN: 64, TK: 1, TX: 4, TY: 4, Reg: true}}},
		{"reg-8x4-first-layer", 3, 19, 5, 3, ops.ConvPlan{Tile: ops.Tile{TM: 16, TN: 8, TK: 1, TX: 2, TY: 2, Reg: true}}},
		{"reg-vgg-512-4x4", 512, 512, 4, 4, ops.ConvPlan{Tile: ops.Tile{TM: 32, TN: 16, TK: 1, TX: 1, TY: 2, Reg: true}}},
		{"reg-split-k", 16, 64, 12, 11, ops.SplitConvPlan(ops.Tile{TM: 32, TN: 32, TK: 1, TX: 2, TY: 2, Reg: true}, 16, 3)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seed := int64(300 + i)
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
				fwd := tc.plan
				if fwd.Split > 1 {
					fwd = ops.SplitConvPlan(tc.plan.Tile, tc.cin, tc.plan.Split)
				}
				st, err := ops.NewConv3x3ForwardPlan(d, cw, xb, yb, relu, fwd)
				if err != nil {
					t.Fatal(err)
				}
				want := 1 // the GEMM, and the combine pass of a split
				if fwd.Split > 1 {
					want = 2
				}
				if st.Dispatches() != want {
					t.Errorf("plan %v: %d dispatches, want %d", fwd, st.Dispatches(), want)
				}
				testgpu.Run(t, d, st)
				st.Release()
				ref := twin.Conv3x3(x, tc.cin, tc.h, tc.w, wt, b, tc.cout, relu)
				tol := 1e-6 * float64(tc.cin*9)
				testgpu.Close(t, fmt.Sprintf("conv3x3.forward %v relu=%v", fwd, relu), testgpu.Read(t, yb), ref, tol, 1e-4)
			}
			dy := testgpu.Round(testgpu.Rand(seed+3, tc.cout*tc.h*tc.w, -1, 1))
			mask := testgpu.Round(testgpu.Rand(seed+4, tc.cout*tc.h*tc.w, -1, 1))
			prev := testgpu.Round(testgpu.Rand(seed+5, tc.cin*tc.h*tc.w, -1, 1))
			dyb := testgpu.Upload(t, d, "dy", dy, tc.cout, tc.h, tc.w)
			mb := testgpu.Upload(t, d, "mask", mask, tc.cout, tc.h, tc.w)
			bwd := tc.plan
			if bwd.Split > 1 {
				bwd = ops.SplitConvPlan(tc.plan.Tile, tc.cout, tc.plan.Split)
			}
			for _, useMask := range []bool{false, true} {
				dxb := testgpu.Upload(t, d, "dx", prev, tc.cin, tc.h, tc.w)
				var m []float64
				mbuf := mb
				if useMask {
					m = mask
				} else {
					mbuf = nil
				}
				st, err := ops.NewConv3x3BackwardInputPlan(d, cw, dyb, mbuf, dxb, true, bwd)
				if err != nil {
					t.Fatal(err)
				}
				testgpu.Run(t, d, st)
				st.Release()
				want := twin.Conv3x3Backward(dy, m, tc.cout, tc.h, tc.w, wt, tc.cin)
				for j := range want {
					want[j] += prev[j]
				}
				tol := 1e-6 * float64(tc.cout*9)
				testgpu.Close(t, fmt.Sprintf("conv3x3.backward_input accum %v mask=%v", bwd, useMask), testgpu.Read(t, dxb), want, tol, 1e-4)
			}
		})
	}
}

// TestConv3x3PlanErrors checks that a plan the kernel cannot run is refused.
func TestConv3x3PlanErrors(t *testing.T) {
	d := testgpu.Device(t)
	cw, err := ops.NewConvWeights(d, "bad-plan", make([]float32, 4*3*9), make([]float32, 4), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Release()
	x := testgpu.Upload(t, d, "x", nil, 3, 5, 5)
	y := testgpu.Upload(t, d, "y", nil, 4, 5, 5)
	for _, p := range []ops.ConvPlan{
		{Tile: ops.Tile{TM: 64, TN: 4, TK: 16, TX: 4, TY: 32}},   // loads do not divide
		{Tile: ops.Tile{TM: 64, TN: 64, TK: 64, TX: 16, TY: 16}}, // 33 KiB of workgroup memory on lavapipe's 32 KiB
		{Tile: ops.ChooseTile(4, 25), Split: 2, Chunk: 24},       // not a multiple of TK
		{Tile: ops.ChooseTile(4, 25), Split: 3, Chunk: 32},       // 27 = 1 slice of 32, not 3
		{Tile: ops.Tile{TM: 64, TN: 64, TK: 16, TX: 64, TY: 64}}, // 4096 threads
	} {
		if st, err := ops.NewConv3x3ForwardPlan(d, cw, x, y, false, p); err == nil {
			st.Release()
			t.Errorf("plan %v was accepted", p)
		}
	}
}
