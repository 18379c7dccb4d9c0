package twin_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stylize/stylize/internal/oracle"
	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/weights"
)

// TestHalo: the receptive-field radius of VGG19's layers, by hand: two
// convs at stride 1, two at 2, four at 4, four at 8, then stride 16.
func TestHalo(t *testing.T) {
	for _, c := range []struct {
		layer          string
		r, halo, align int
	}{{"relu1_1", 1, 1, 1}, {"relu1_2", 2, 2, 1}, {"pool1", 2, 2, 2}, {"relu2_1", 4, 4, 2},
		{"relu4_2", 2 + 4 + 16 + 16, 40, 8}, {"relu5_1", 2 + 4 + 16 + 32 + 16, 80, 16}, {"relu5_2", 86, 96, 16}} {
		r, halo, align, err := plan.Halo(c.layer)
		if err != nil || r != c.r || halo != c.halo || align != c.align {
			t.Errorf("%s: radius %d, halo %d, align %d (%v); want %d %d %d", c.layer, r, halo, align, err, c.r, c.halo, c.align)
		}
	}
}

// TestTilesPartition: the tiles' cores cover the image once, their crops
// are all one size, hold their cores and halos, start at multiples of the
// alignment, and their owned positions cover
// every layer's positions once.
func TestTilesPartition(t *testing.T) {
	for _, c := range []struct{ h, w, core int }{{133, 150, 32}, {100, 100, 64}, {16, 300, 1}, {61, 47, 1000}} {
		tiles, err := plan.Tiles(c.h, c.w, c.core, "relu5_2")
		if err != nil {
			t.Fatal(err)
		}
		for pools := 0; pools <= 4; pools++ {
			lh, lw := c.h>>pools, c.w>>pools
			seen := make([]int, lh*lw)
			for _, tl := range tiles {
				if tl.Crop.X0%16 != 0 || tl.Crop.Y0%16 != 0 {
					t.Fatalf("crop %s is not aligned to 16", tl.Crop)
				}
				if tl.Crop.W() != tiles[0].Crop.W() || tl.Crop.H() != tiles[0].Crop.H() || tl.Crop.X1 > c.w || tl.Crop.Y1 > c.h {
					t.Fatalf("crop %s: the crops differ in size or leave the %dx%d image", tl.Crop, c.w, c.h)
				}
				if max(tl.Core.X0-96, 0) < tl.Crop.X0 ||
					tl.Crop.X1 < min(tl.Core.X1+96, c.w) || tl.Crop.Y1 < min(tl.Core.Y1+96, c.h) || max(tl.Core.Y0-96, 0) < tl.Crop.Y0 {
					t.Fatalf("crop %s does not hold core %s and its halo of 96", tl.Crop, tl.Core)
				}
				own, ox, oy := tl.Owned(pools, c.h, c.w)
				if own.X0 < 0 || own.Y0 < 0 || own.X1 > tl.Crop.W()>>pools || own.Y1 > tl.Crop.H()>>pools {
					t.Fatalf("tile %v owns %s at %d pools, outside its crop's activations", tl, own, pools)
				}
				for y := own.Y0; y < own.Y1; y++ {
					for x := own.X0; x < own.X1; x++ {
						seen[(y+oy)*lw+x+ox]++
					}
				}
			}
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("%dx%d, core %d, %d pools: position %d owned %d times", c.w, c.h, c.core, pools, i, n)
				}
			}
		}
	}
}

// TestEvalTiledMatchesEval: the tiled losses and dL/dx equal the whole
// image's to rounding, on the oracle's narrow networks, with max and
// average pooling, TV on, a content layer at relu5_2 and at relu4_2, and
// sizes that are no multiple of 16, with cores smaller than their halos.
func TestEvalTiledMatchesEval(t *testing.T) {
	for _, c := range []struct {
		name     string
		h, w     int
		core     int
		minTiles int
	}{{"tiny_seed", 133, 150, 32, 16}, {"tiny_blend_tv_avg", 121, 97, 48, 6}, {"tiny_seed", 37, 210, 64, 4}} {
		cs, err := oracle.Load("../../testdata/" + c.name + ".safetensors")
		if err != nil {
			t.Fatal(err)
		}
		w8, err := weights.FromSafetensors(cs.File)
		if err != nil {
			t.Fatal(err)
		}
		cs.Meta.ContentHW = []int{c.h, c.w}
		rng := rand.New(rand.NewPCG(uint64(c.h), uint64(c.w)))
		content := make([]float64, 3*c.h*c.w)
		for i := range content {
			content[i] = rng.Float64()
		}
		L, err := twin.NewLoss(cs, w8, content)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, len(content))
		for i := range x {
			x[i] = math.Min(1, math.Max(0, content[i]+0.2*(rng.Float64()-0.5)))
		}
		tiles, err := plan.Tiles(c.h, c.w, c.core, L.Deepest)
		if err != nil {
			t.Fatal(err)
		}
		if len(tiles) < c.minTiles {
			t.Fatalf("%d tiles, want at least %d", len(tiles), c.minTiles)
		}
		loss, dx, _, err := L.Eval(x)
		if err != nil {
			t.Fatal(err)
		}
		tl, tdx, err := L.EvalTiled(x, tiles)
		if err != nil {
			t.Fatal(err)
		}
		for i := range loss {
			if math.Abs(tl[i]-loss[i]) > 1e-12*math.Abs(loss[i]) {
				t.Errorf("%s %dx%d: loss %d tiled %.17g, whole %.17g", c.name, c.w, c.h, i, tl[i], loss[i])
			}
		}
		s := testgpu.Errors(tdx, dx)
		if d := normRel(tdx, dx); d > 1e-12 {
			t.Errorf("%s %dx%d: dL/dx tiled vs whole: norm rel %.3g (max abs %.3g)", c.name, c.w, c.h, d, s.MaxAbs)
		}
		_, halo, _, _ := plan.Halo(L.Deepest)
		t.Logf("%s %dx%d, %d tiles of core %d (halo %d at %s): loss %.6g, dL/dx norm rel %.2g", c.name, c.w, c.h, len(tiles), c.core, halo, L.Deepest, loss[0], normRel(tdx, dx))
		// The control: half the halo (still aligned) is not exact, so
		// the check above can fail.
		short := append([]plan.Tile(nil), tiles...)
		for i, tl := range short {
			hh := halo / 2 / 16 * 16
			short[i].Crop = plan.Rect{X0: max(tl.Core.X0-hh, 0), Y0: max(tl.Core.Y0-hh, 0), X1: min(tl.Core.X1+hh, c.w), Y1: min(tl.Core.Y1+hh, c.h)}
		}
		if _, sdx, err := L.EvalTiled(x, short); err == nil && normRel(sdx, dx) < 1e-6 {
			t.Errorf("%s: half the halo still gives dL/dx to %.2g: the comparison cannot tell", c.name, normRel(sdx, dx))
		} else if err == nil {
			t.Logf("with half the halo: dL/dx norm rel %.2g", normRel(sdx, dx))
		}
	}
}

func normRel(a, b []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}
