package plan_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// vgg19 is VGG19's conv widths.
var vgg19 = []int{64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512}

// lavapipe is a software adapter's limits as lavapipe reports them.
var lavapipe = plan.Limits{Adapter: "test lavapipe", Software: true,
	Tile:       ops.TileLimits{SharedBytes: 32768, Invocations: 1024, SizeX: 1024, SizeY: 1024, MinTiles: ops.MinTilesCPU},
	MaxBinding: 128 << 20, MaxBuffer: 1 << 31, StorageBuffers: 8}

// TestFuse is the one table of which layers' loss gradients fuse into the
// conv backward above them, and why.
func TestFuse(t *testing.T) {
	seedStyle := []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	few := lavapipe
	few.StorageBuffers = 7 // mask, content and style together need 8
	fewer := lavapipe
	fewer.StorageBuffers = 6 // mask and style need 7
	gpuLike := lavapipe
	gpuLike.Software, gpuLike.Tile.MinTiles = false, ops.MinTilesGPU // splits K at the deep layers
	for _, c := range []struct {
		name           string
		l              plan.Limits
		content, style []string
		unfused, grad  bool
		want           string // the fused layers and their terms
	}{
		{"seed: every style layer fuses; relu5_2 is the deepest", lavapipe, []string{"relu5_2"}, seedStyle, false, true,
			"relu1_1:s+m relu2_1:s+m relu3_1:s+m relu4_1:s+m relu5_1:s+m"},
		{"neural-style: relu4_2's content and the styles", lavapipe, []string{"relu4_2"}, seedStyle, false, true,
			"relu1_1:s+m relu2_1:s+m relu3_1:s+m relu4_1:s+m relu4_2:c+m"},
		{"under a pool: relu1_2, relu2_2 keep their passes", lavapipe, []string{"relu2_2"}, []string{"relu1_2", "relu3_1"}, false, true,
			""},
		{"content and style at one layer fuse together, without the output mask (9 > 8)", lavapipe, []string{"relu3_1"}, []string{"relu3_1", "relu4_1"}, false, true,
			"relu3_1:cs"},
		{"named twice in a list: neither fuses", lavapipe, []string{"relu2_1", "conv2_1"}, []string{"relu2_1", "relu3_1"}, false, true,
			""},
		{"Unfused: nothing fuses", lavapipe, []string{"relu5_2"}, seedStyle, true, true,
			""},
		{"no backward pass: nothing to fuse into", lavapipe, []string{"relu5_2"}, seedStyle, false, false,
			""},
		{"7 storage buffers: mask, content and style (8) do not fit, all or nothing", few, []string{"relu3_1"}, []string{"relu3_1", "relu4_1"}, false, true,
			""},
		{"7 storage buffers: style alone (7) fits, not with the output mask (8)", few, []string{"relu5_2"}, seedStyle, false, true,
			"relu1_1:s relu2_1:s relu3_1:s relu4_1:s relu5_1:s"},
		{"6 storage buffers: style does not fit", fewer, []string{"relu5_2"}, seedStyle, false, true,
			""},
		{"6 storage buffers: content (6) fits", fewer, []string{"relu4_2", "relu5_2"}, nil, false, true,
			"relu4_2:c"},
		{"a hardware adapter splits K deep down: style still fuses, the combine pass masks", gpuLike, []string{"relu5_2"}, seedStyle, false, true,
			"relu1_1:s+m relu2_1:s+m relu3_1:s+m relu4_1:s+m relu5_1:s+m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			deepest := 0
			var cq, sq []int
			for _, ls := range []struct {
				names []string
				to    *[]int
			}{{c.content, &cq}, {c.style, &sq}} {
				for _, n := range ls.names {
					q, err := vgg.Index(n)
					if err != nil {
						t.Fatal(err)
					}
					*ls.to = append(*ls.to, q)
					deepest = max(deepest, q)
				}
			}
			tp, err := plan.Trunk(c.l, vgg19, plan.Size{W: 64, H: 48}, vgg.Table[deepest].Name, c.grad)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			fused := plan.Fuse(c.l, tp, cq, sq, c.unfused)
			for q := range vgg.Table {
				f, ok := fused[q]
				if !ok {
					continue
				}
				terms := ""
				if f.Content {
					terms += "c"
				}
				if f.Style {
					terms += "s"
				}
				if f.MaskOut {
					terms += "+m"
				}
				got += fmt.Sprintf(" %s:%s", vgg.Table[q].Name, terms)
			}
			if got != "" {
				got = got[1:]
			}
			if got != c.want {
				t.Errorf("fused %q, want %q", got, c.want)
			}
		})
	}
}

// The hardware case above is meant to fuse where K is split: check that it
// is (conv5_2's backward at 4x3 has a handful of tiles for 264 wanted).
func TestFuseWithSplitK(t *testing.T) {
	l := lavapipe
	l.Software, l.Tile.MinTiles = false, ops.MinTilesGPU
	tp, err := plan.Trunk(l, vgg19, plan.Size{W: 64, H: 48}, "relu5_2", true)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := vgg.Index("relu5_2")
	if s := tp.Layers[q].Backward.Split; s <= 1 {
		t.Fatalf("conv5_2's backward is not split (Split %d): the case tests nothing", s)
	}
	p, _ := vgg.Index("relu5_1")
	if f := plan.Fuse(l, tp, nil, []int{p}, false); !f[p].Style {
		t.Errorf("relu5_1's style gradient does not fuse into a split conv5_2 backward")
	}
}

// The storage bindings Fuse counts are those the fused conv declares:
// the input mask, the output mask, F, G and A, P, dy, the weights and dx;
// with a split K the content term and the output mask move to the combine
// pass.
func TestFusedStorageBindings(t *testing.T) {
	for _, c := range []struct {
		mask, outMask, content, style bool
		split, want                   int
	}{
		{true, false, false, false, 1, 4},
		{true, true, false, false, 1, 5},
		{true, false, true, false, 1, 6},
		{true, false, false, true, 1, 7},
		{true, false, true, true, 1, 8},
		{false, false, true, true, 1, 7},
		{true, true, true, true, 1, 9},
		{true, false, true, false, 3, 4}, // content in combine: part, F, P, dst
		{true, true, true, false, 3, 5},  // and the output mask
		{true, false, true, true, 3, 7},
	} {
		if got := ops.FusedStorageBindings(c.mask, c.outMask, c.content, c.style, c.split); got != c.want {
			t.Errorf("mask %v out mask %v content %v style %v split %d: %d storage bindings, want %d", c.mask, c.outMask, c.content, c.style, c.split, got, c.want)
		}
	}
}
