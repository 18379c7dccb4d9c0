package ops_test

import (
	"testing"

	"github.com/stylize/stylize/ops"
)

var lavapipeLimits = ops.TileLimits{SharedBytes: 32768, Invocations: 1024, SizeX: 1024, SizeY: 1024, MinTiles: ops.MinTilesCPU}

var gpuLimits = ops.TileLimits{SharedBytes: 49152, Invocations: 1024, SizeX: 1024, SizeY: 1024, MinTiles: ops.MinTilesGPU}

func TestChooseTileFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    ops.TileLimits
		m, n int
		want ops.Tile
	}{
		{"gpu 512px relu3_1: 256 x 128² has 256 tiles of 128x128, under 264", gpuLimits, 256, 128 * 128, ops.Tile64x128},
		{"gpu 512px relu2_1: 128 x 256²", gpuLimits, 128, 256 * 256, ops.Tile128x128},
		{"gpu defaults: 16 KiB rules 128x128 out", ops.DefaultTileLimits, 128, 256 * 256, ops.Tile64x128},
		{"gpu 512px relu1_2: 64 x 512²", gpuLimits, 64, 512 * 512, ops.Tile64x128},
		{"gpu 32px relu3_2: few tiles, the smallest big tile", gpuLimits, 256, 64, ops.Tile64x64},
		{"lavapipe 32px relu1_2: 64 x 32²", lavapipeLimits, 64, 1024, ops.Tile64x128},
		{"lavapipe 32px relu2_1: 128 x 16², 128x128 gives 2 tiles", lavapipeLimits, 128, 256, ops.Tile64x128},
		{"lavapipe 32px relu3_2: 256 x 8², 64x128 would waste half", lavapipeLimits, 256, 64, ops.Tile64x64},
		{"4x4 deep layer", lavapipeLimits, 512, 16, ops.TileN16},
		{"2x2 deep layer", gpuLimits, 512, 4, ops.TileN4},
		{"odd sizes fall back", lavapipeLimits, 19, 143, ops.ChooseTile(19, 143)},
		{"first layer backward: 3 rows", lavapipeLimits, 3, 1024, ops.ChooseTile(3, 1024)},
	} {
		if got := ops.ChooseTileFor(tc.l, tc.m, tc.n); got != tc.want {
			t.Errorf("%s: ChooseTileFor(%d, %d) = %v, want %v", tc.name, tc.m, tc.n, got, tc.want)
		}
	}
}

func TestChooseConvPlanSplitsDeepLayers(t *testing.T) {
	// 512 channels at 4x4: a 512×16 GEMM with K = 4608 has 8 TileN16
	// tiles; a hardware GPU wants 264 workgroups, so K is split, with
	// slices of at least 256 values.
	p := ops.ChooseConvPlan(gpuLimits, 512, 16, 512)
	if p.Tile != ops.TileN16 || p.Split != 18 || p.Chunk != 256 {
		t.Errorf("gpu 512>512 4x4: plan %v, want %v split 18x256", p, ops.TileN16)
	}
	if p.Split*p.Chunk < 9*512 || (p.Split-1)*p.Chunk >= 9*512 {
		t.Errorf("plan %v does not cover K = %d exactly", p, 9*512)
	}
	// lavapipe: 8 tiles already keep its threads busy.
	if p := ops.ChooseConvPlan(lavapipeLimits, 512, 16, 512); p.Split != 1 {
		t.Errorf("lavapipe 512>512 4x4: plan %v, want no split", p)
	}
	// a layer with enough tiles is never split
	if p := ops.ChooseConvPlan(gpuLimits, 64, 512*512, 64); p.Split != 1 {
		t.Errorf("gpu 64>64 512x512: plan %v, want no split", p)
	}
	// the first layer's K = 27 is too short to split
	if p := ops.ChooseConvPlan(gpuLimits, 64, 32*32, 3); p.Split != 1 {
		t.Errorf("gpu 3>64 32x32: plan %v, want no split", p)
	}
}

// TestTileChecks checks that every tile the choice can return fits the
// GEMM core and that Check rejects the ones that do not.
func TestTileChecks(t *testing.T) {
	for _, tile := range []ops.Tile{ops.Tile128x128, ops.Tile64x128, ops.Tile128x64, ops.Tile64x64, ops.TileN16, ops.TileN4} {
		if err := tile.Check(lavapipeLimits); err != nil {
			t.Error(err)
		}
	}
	if err := ops.Tile128x128.Check(ops.DefaultTileLimits); err == nil {
		t.Error("128x128x16 needs more than WebGPU's default 16 KiB of workgroup memory, but Check passed it")
	}
	if err := (ops.Tile{TM: 64, TN: 4, TK: 16, TX: 4, TY: 32}).Check(lavapipeLimits); err == nil {
		t.Error("a tile whose loads do not divide among its threads passed Check")
	}
}
