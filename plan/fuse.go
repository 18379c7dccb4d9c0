package plan

import (
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// Fusion is which loss gradients at a tapped layer the backward pass of
// the conv above it adds (ops.NewConv3x3Backward with ops.FusedGrads), instead of the
// losses adding them with passes of their own: one pass fewer per loss,
// and the layer's gradient written once instead of read and written again.
//
// MaskOut says that the conv above may also apply the layer's ReLU mask
// as it writes the gradient (ops.ConvBackward.OutMask), which the
// binding limit may forbid beside the loss terms.
type Fusion struct{ Content, Style, MaskOut bool }

// Fuse decides, for the iteration trunk tp and the Table positions of the
// content and style losses, whose gradients fuse. This is the only place
// that decides it. A layer's losses fuse, all of them or none, when:
//   - unfused is not set;
//   - the layer is named at most once in each list (a layer named twice
//     keeps its losses' own passes, which add up in its gradient);
//   - the layer is not the trunk's deepest and the layer above is a conv,
//     since only a conv backward writes the layer's gradient in one pass
//     that can add the terms (a pool's backward cannot);
//   - that pass, with its ReLU mask, the terms' inputs and its split-K
//     plan, binds no more storage buffers than the adapter allows per
//     shader stage (ops.FusedStorageBindings); MaskOut says whether it may
//     also bind the layer's own ReLU output to mask what it writes.
//
// The result maps each fused layer's Table position to its terms.
func Fuse(l Limits, tp vgg.TrunkPlan, content, style []int, unfused bool) map[int]Fusion {
	out := map[int]Fusion{}
	if unfused || !tp.Grad {
		return out
	}
	nc, ns := count(content), count(style)
	for q := range union(nc, ns) {
		f := Fusion{Content: nc[q] == 1, Style: ns[q] == 1}
		if nc[q] > 1 || ns[q] > 1 || q+1 >= tp.Depth() || vgg.Table[q+1].Pool {
			continue
		}
		above, below := tp.Layers[q+1], tp.Layers[q]
		bp := above.Backward // the conv's own plan; with a style term, a direct one
		if f.Style {
			bp = Direct(l, ConvPass{Cin: below.C, Cout: above.C, H: above.H, W: above.W, Backward: true, Style: true})
		}
		// Counted with the conv's own input mask, whether or not the plan
		// later drops it (MaskedGrad), so that either way fits.
		switch {
		case ops.FusedStorageBindings(true, true, f.Content, f.Style, bp.Split) <= l.StorageBuffers:
			f.MaskOut = true
		case ops.FusedStorageBindings(true, false, f.Content, f.Style, bp.Split) > l.StorageBuffers:
			continue
		}
		out[q] = f
	}
	return out
}

func count(qs []int) map[int]int {
	n := map[int]int{}
	for _, q := range qs {
		n[q]++
	}
	return n
}

func union(a, b map[int]int) map[int]bool {
	u := map[int]bool{}
	for q := range a {
		u[q] = true
	}
	for q := range b {
		u[q] = true
	}
	return u
}
