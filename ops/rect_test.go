package ops_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/ops"
)

// Take and Put against plain loops (they move values, so exactly), with
// the rectangle moved by SetRect, and their refusal of a rectangle that
// leaves a tensor.
func TestRectTakePut(t *testing.T) {
	d := testgpu.Device(t)
	const c, hs, ws, hd, wd = 3, 13, 17, 7, 9
	big := testgpu.Round(testgpu.Rand(1, c*hs*ws, -1, 1))
	src := testgpu.Upload(t, d, "big", big, c, hs, ws)
	small := testgpu.Upload(t, d, "small", nil, c, hd, wd)
	r := ops.Rect{X0: 1, Y0: 2, X1: 8, Y1: 6, OX: 5, OY: 4}
	take, err := ops.NewTake(d, src, small, r)
	if err != nil {
		t.Fatal(err)
	}
	defer take.Release()
	for round, rr := range []ops.Rect{r, {X0: 0, Y0: 0, X1: wd, Y1: hd, OX: 8, OY: 6}} {
		if err := take.SetRect(rr); err != nil {
			t.Fatal(err)
		}
		testgpu.Run(t, d, take)
		got := testgpu.Read(t, small)
		for ch := 0; ch < c; ch++ {
			for y := 0; y < hd; y++ {
				for x := 0; x < wd; x++ {
					want := 0.0
					if x >= int(rr.X0) && x < int(rr.X1) && y >= int(rr.Y0) && y < int(rr.Y1) {
						want = big[(ch*hs+y+int(rr.OY))*ws+x+int(rr.OX)]
					}
					if g := float64(got[(ch*hd+y)*wd+x]); g != want {
						t.Fatalf("take %d at (%d,%d,%d): %g, want %g", round, ch, y, x, g, want)
					}
				}
			}
		}
	}
	// Put, = then +=, of the small tensor's rectangle into the big one.
	part := testgpu.Round(testgpu.Rand(2, c*hd*wd, -1, 1))
	from := testgpu.Upload(t, d, "part", part, c, hd, wd)
	for _, accum := range []bool{false, true} {
		dst := testgpu.Upload(t, d, "dst", big, c, hs, ws)
		put, err := ops.NewPut(d, from, dst, r, accum)
		if err != nil {
			t.Fatal(err)
		}
		testgpu.Run(t, d, put)
		got := testgpu.Read(t, dst)
		want := testgpu.F32(big)
		for ch := 0; ch < c; ch++ {
			for y := int(r.Y0); y < int(r.Y1); y++ {
				for x := int(r.X0); x < int(r.X1); x++ {
					j := (ch*hs+y+int(r.OY))*ws + x + int(r.OX)
					v := float32(part[(ch*hd+y)*wd+x])
					if accum {
						want[j] += v
					} else {
						want[j] = v
					}
				}
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("put (accum %v) at %d: %g, want %g", accum, i, got[i], want[i])
			}
		}
		put.Release()
	}
	for _, bad := range []ops.Rect{{X1: wd + 1, Y1: 1}, {X1: 1, Y1: 1, OX: ws}, {X0: 3, X1: 2, Y1: 1}} {
		if err := take.SetRect(bad); err == nil {
			t.Errorf("take accepted %+v", bad)
		}
	}
}
