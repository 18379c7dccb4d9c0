package vgg

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
)

// LayerPlan is how one layer of a trunk runs. The plan package makes it;
// NewTrunk and Trunk.Backward execute it.
//
//	the layer's output: (C,H,W)
type LayerPlan struct {
	C, H, W int
	// Forward and Backward are a conv's kernel plans: its forward pass,
	// and its backward_input pass (in a trunk with gradients), whose K
	// includes the style term's when FuseStyle is set.
	Forward, Backward ops.ConvPlan
	// FuseContent and FuseStyle say which loss gradients of the layer
	// below (this conv's input) the conv's backward pass adds
	// (ops.FusedGrads), instead of the losses adding them in passes of
	// their own.
	FuseContent, FuseStyle bool
	// MaskedGrad says that the gradient of this conv layer's output is
	// written already multiplied by its ReLU mask, by the backward of the
	// layer above (a conv's OutMask, a pool's relu), so that this conv's
	// backward reads it without the mask.
	MaskedGrad bool
	// Transient says that nothing reads the layer's activation after the
	// trunk's forward pass (TrunkPlan.Shed): no loss taps it, and the
	// backward pass reads neither a pool's output nor, through the pool's
	// route, the conv output below a pool. So it has no buffer of its own:
	// it lives from its write to its read by the layer above in buffer
	// i mod 2 of a pair, the gradients' pair in a trunk with gradients
	// (whose buffers hold no gradient during the forward pass), else a
	// pair of its own.
	Transient bool
}

// TrunkPlan is a trunk at one image size: the layers it computes (Table
// positions 0..len(Layers)-1) and whether it has a backward pass.
//
//	the image: (3,H,W)
type TrunkPlan struct {
	H, W   int
	Grad   bool
	Layers []LayerPlan
}

// Depth is the number of layers the trunk computes.
func (tp TrunkPlan) Depth() int { return len(tp.Layers) }

// Buffers are the buffers a trunk owns, in the order NewTrunk allocates
// them: the image and the preprocessed image; the activation of each
// layer that is not Transient; with gradients, the two buffers the
// layers' gradients (and the transient activations) take turns in
// (gradLens), the preprocessed image's and the image's gradients, and
// each pool's route (ops.PoolRouteSpec); without, the two buffers the
// transient activations take turns in (transientLens), if any; last,
// the Winograd workspace its passes share (Workspace).
func (tp TrunkPlan) Buffers() []gpu.Spec {
	s := []gpu.Spec{gpu.F32Spec("image", 3, tp.H, tp.W), gpu.F32Spec("preprocessed", 3, tp.H, tp.W)}
	for i, l := range tp.Layers {
		if !l.Transient {
			s = append(s, gpu.F32Spec(Table[i].Name, l.C, l.H, l.W))
		}
	}
	if tp.Grad {
		even, odd := tp.gradLens()
		s = append(s, gpu.F32Spec("grad.even", even), gpu.F32Spec("grad.odd", odd))
		s = append(s, gpu.F32Spec("dpreprocessed", 3, tp.H, tp.W), gpu.F32Spec("dimage", 3, tp.H, tp.W))
		c, h, w := 3, tp.H, tp.W
		for i, l := range tp.Layers {
			if Table[i].Pool {
				s = append(s, ops.PoolRouteSpec(Table[i].Name+".route", c, h, w))
			}
			c, h, w = l.C, l.H, l.W
		}
	} else if even, odd := tp.transientLens(); even+odd > 0 {
		s = append(s, gpu.F32Spec(tp.transientName(0), max(even, 1)), gpu.F32Spec(tp.transientName(1), max(odd, 1)))
	}
	return append(s, tp.Workspace()...)
}

// transientLens are the sizes of the two buffers that hold a forward-only
// trunk's transient activations: the largest of the even layers' and of
// the odd layers' (0 where a parity has none). Layer i's is read only by
// layer i+1, before layer i+2 writes the same buffer.
func (tp TrunkPlan) transientLens() (even, odd int) {
	lens, _ := tp.pair(func(l LayerPlan) bool { return l.Transient })
	return lens[0], lens[1]
}

// pair finds, among the layers that only admits, the largest activation
// of the even layers and of the odd ones: its size (0 where there is
// none) and its layer's name, the sizes of a pair of buffers that such
// layers take turns in.
func (tp TrunkPlan) pair(only func(LayerPlan) bool) (lens [2]int, names [2]string) {
	for i, l := range tp.Layers {
		if n := l.C * l.H * l.W; only(l) && n > lens[i%2] {
			lens[i%2], names[i%2] = n, Table[i].Name
		}
	}
	return lens, names
}

// ActivationBuffer names the buffer that holds layer i's activation (a
// Buffers name): its own, named after the layer, or, transient, the
// gradients' grad.even or grad.odd, or a forward-only trunk's shared
// buffer of its parity (transientName).
func (tp TrunkPlan) ActivationBuffer(i int) string {
	switch {
	case !tp.Layers[i].Transient:
		return Table[i].Name
	case tp.Grad:
		return [2]string{"grad.even", "grad.odd"}[i%2]
	}
	return tp.transientName(i % 2)
}

// transientName names the buffer of a forward-only trunk's transient
// activations of one parity (0 even, 1 odd) after the largest of them,
// as "relu1_1/shared", so that a refusal of its size names a layer.
func (tp TrunkPlan) transientName(parity int) string {
	if _, names := tp.pair(func(l LayerPlan) bool { return l.Transient }); names[parity] != "" {
		return names[parity] + "/shared"
	}
	return [2]string{"transient.even", "transient.odd"}[parity] // holds none
}

// Shed marks Transient every layer whose activation nothing reads after
// the forward pass, given the Table positions of the layers that losses
// tap; it clears the mark from every other layer. Without gradients that
// is every layer no loss taps. With them, the backward pass also reads
// the deepest layer's output and each conv output whose gradient comes
// unmasked (its own ReLU mask) or is masked by the conv above (OutMask),
// but no pool's output, and no conv output below a pool, whose route
// carries its mask: with the seed's layers at VGG19's widths, that sheds
// relu1_2, relu2_2, relu3_4, relu4_4 and the pools, 47% of the
// activations. So the plan calls Shed after deciding MaskedGrad.
func (tp *TrunkPlan) Shed(taps []int) {
	tapped := map[int]bool{}
	for _, q := range taps {
		tapped[q] = true
	}
	for i := range tp.Layers {
		tp.Layers[i].Transient = !tapped[i] && !tp.readBackward(i)
	}
}

// readBackward reports whether the trunk's backward pass reads layer i's
// activation (Trunk.Backward).
func (tp TrunkPlan) readBackward(i int) bool {
	switch {
	case !tp.Grad || Table[i].Pool:
		return false
	case i+1 >= len(tp.Layers) || !tp.Layers[i].MaskedGrad:
		return true // its conv's backward reads its ReLU mask
	}
	return !Table[i+1].Pool // the conv above masks what it writes with it
}

// gradLens are the sizes of the two buffers that hold the layers'
// gradients: the largest of the even layers' and of the odd layers'.
// The backward pass needs a layer's gradient only from the write by the
// layer above to the pass through the layer itself (Trunk.Backward), so
// layer i's gradient lives in a view of buffer i mod 2, and each pass
// reads one buffer and writes the other. That holds two of the largest
// gradients instead of all of them: at VGG19's widths to relu5_2 and
// 512x341, 85 MiB instead of 213 MiB.
func (tp TrunkPlan) gradLens() (even, odd int) {
	lens, _ := tp.pair(func(LayerPlan) bool { return true })
	return max(lens[0], 1), max(lens[1], 1)
}

// passes calls f with each conv pass of the trunk: its layer, whether it
// is the backward pass, the pass's plan and its GEMM (m outputs per
// position, kc input channels) at h×w.
func (tp TrunkPlan) passes(f func(i int, backward bool, p ops.ConvPlan, m, kc, h, w int)) {
	cin := 3
	for i, l := range tp.Layers {
		if Table[i].Pool {
			continue
		}
		f(i, false, l.Forward, l.C, cin, l.H, l.W)
		if tp.Grad {
			f(i, true, l.Backward, cin, l.C, l.H, l.W)
		}
		cin = l.C
	}
}

// Workspace is the Winograd workspace (ops.Workspace) the trunk's
// Winograd passes share, as they run one after another: V and M sized
// for the largest of them; none without one.
func (tp TrunkPlan) Workspace() []gpu.Spec {
	var v, m int
	tp.passes(func(_ int, _ bool, p ops.ConvPlan, gm, kc, h, w int) {
		if p.Algo.Winograd() {
			s := ops.WinogradScratch(p.Algo, kc, gm, h, w)
			v, m = max(v, gpu.Numel(s[0].Shape)), max(m, gpu.Numel(s[1].Shape))
		}
	})
	if v == 0 {
		return nil
	}
	return []gpu.Spec{gpu.F32Spec("winograd.v", v), gpu.F32Spec("winograd.m", m)}
}

// Layouts are the weight layouts the trunk's passes read, by conv index
// (Layer.Conv).
func (tp TrunkPlan) Layouts() map[int]map[ops.LayoutKey]bool {
	out := map[int]map[ops.LayoutKey]bool{}
	tp.passes(func(i int, backward bool, p ops.ConvPlan, _, _, _, _ int) {
		c := Table[i].Conv
		if out[c] == nil {
			out[c] = map[ops.LayoutKey]bool{}
		}
		out[c][ops.LayoutKey{Layout: p.Layout(), Backward: backward}] = true
	})
	return out
}

// Scratch is the scratch its conv passes allocate (split-K partial
// sums, shape uniforms), named after their layers.
func (tp TrunkPlan) Scratch() []gpu.Spec {
	var s []gpu.Spec
	cin := 3
	for i, l := range tp.Layers {
		if Table[i].Pool {
			continue
		}
		for _, sc := range ops.ConvScratch(l.Forward, l.C, l.H*l.W, false) {
			sc.Name = Table[i].Name + ".forward.part"
			s = append(s, sc)
		}
		if tp.Grad {
			for _, sc := range ops.ConvScratch(l.Backward, cin, l.H*l.W, l.FuseStyle) {
				sc.Name = Table[i].Name + ".backward.part"
				s = append(s, sc)
			}
		}
		cin = l.C
	}
	return s
}

// check reports whether tp is a trunk that weights with these conv
// widths compute: the layers' shapes follow from the image size, the
// pools and the widths; only convs fuse, and not the first layer.
func (tp TrunkPlan) check(widths []int) error {
	if len(tp.Layers) == 0 || len(tp.Layers) > len(Table) {
		return fmt.Errorf("vgg: a trunk plan of %d layers (want 1..%d)", len(tp.Layers), len(Table))
	}
	if tp.H < 1 || tp.W < 1 {
		return fmt.Errorf("vgg: a trunk plan for a %dx%d image", tp.W, tp.H)
	}
	c, h, w := 3, tp.H, tp.W
	for i, lp := range tp.Layers {
		l := Table[i]
		if l.Pool {
			if h < 2 || w < 2 {
				return fmt.Errorf("vgg: a %dx%d image is too small to reach %s", tp.W, tp.H, l.Name)
			}
			h, w = h/2, w/2
		} else {
			if l.Conv >= len(widths) {
				return fmt.Errorf("vgg: layer %s is deeper than the %d convs the weights hold", l.Name, len(widths))
			}
			c = widths[l.Conv]
		}
		if lp.C != c || lp.H != h || lp.W != w {
			return fmt.Errorf("vgg: the plan gives %s the shape (%d,%d,%d); the weights and image give (%d,%d,%d)", l.Name, lp.C, lp.H, lp.W, c, h, w)
		}
		if (lp.FuseContent || lp.FuseStyle) && (l.Pool || i == 0 || !tp.Grad) {
			return fmt.Errorf("vgg: the plan fuses loss gradients into %s, which has no conv backward over a tapped layer", l.Name)
		}
		if lp.MaskedGrad && (l.Pool || i+1 >= len(tp.Layers) || !tp.Grad) {
			return fmt.Errorf("vgg: the plan has %s's gradient written masked, but no layer above it in the trunk writes it", l.Name)
		}
		if lp.Transient && tp.readBackward(i) {
			return fmt.Errorf("vgg: the plan has %s transient, but the backward pass reads it", l.Name)
		}
	}
	return nil
}
