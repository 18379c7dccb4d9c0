package plan

import (
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
)

// ConvPass is one conv pass the plan must choose a kernel for: a 3x3 conv
// with Cin inputs and Cout outputs at H×W, its forward pass or its
// backward_input; Style when the backward also adds a fused style
// gradient, whose K only the direct algorithm extends.
type ConvPass struct {
	Cin, Cout, H, W int
	Backward, Style bool
}

// gemm returns the pass's GEMM: M outputs per position, kc input
// channels (K = 9·kc for the direct conv).
func (c ConvPass) gemm() (m, kc int) {
	if c.Backward {
		return c.Cin, c.Cout
	}
	return c.Cout, c.Cin
}

// Kernels chooses the kernel plan of every pass the plan holds: each conv
// pass's algorithm, tile and split-K, each Gram's, and the tile of a style
// loss's own gradient. Heuristic chooses from the adapter's limits alone;
// kernel choices measured on the adapter at hand come in as another
// Kernels.
type Kernels interface {
	// Name says where the choices come from, for the printout.
	Name() string
	// Conv is the plan of conv pass c on an adapter with limits l.
	Conv(l Limits, c ConvPass) ops.ConvPlan
	// Gram is the plan of a C×C Gram matrix over k values.
	Gram(l ops.TileLimits, c, k int) ops.GramPlan
	// StyleBackward is the tile of the C×M GEMM (G−A)·F of a style loss
	// that writes its gradient itself.
	StyleBackward(l ops.TileLimits, c, m int) ops.Tile
}

// Heuristic is the Kernels that needs no measurement. On a CPU adapter
// (ops.TileLimits.Registers) a conv pass with at least 16 channels in and
// out runs as Winograd with register-blocked GEMMs (a fused style term
// then in a GEMM pass of its own after the output transform), where its
// workspace fits the binding limit: F(4×4,3×3) at 32×32 or more, F(2×2,3×3)
// at 16×16 or more. Measured on lavapipe at VGG19's shapes, F(2×2,3×3) is
// 1.2–1.7× faster than the direct register conv from 16×16 up and slower
// at 8×8; F(4×4,3×3) is 1.15–1.8× faster again than F(2×2,3×3) from 32×32
// up and 1.8× slower at 16×16, where 16 tiles leave its GEMMs too narrow
// (stylize bench -only ops -op-size 128 -kernels winograd4). Every other
// pass is direct, with the largest tile that fits the limits and gives
// the GPU enough workgroups, and split-K where it does not
// (ops.ChooseConvPlan, ops.ChooseGramPlan, ops.ChooseTileFor).
type Heuristic struct{}

// Name is "heuristic".
func (Heuristic) Name() string { return "heuristic" }

// Conv is the pass's plan, as Heuristic says.
func (Heuristic) Conv(l Limits, c ConvPass) ops.ConvPlan {
	m, kc := c.gemm()
	if l.Tile.Registers && m >= 16 && kc >= 16 {
		if c.H >= 32 && c.W >= 32 && WinogradFits(l, c, ops.Winograd4) {
			return ops.ConvPlan{Algo: ops.Winograd4, Tile: ops.RegTile(16, 16, 8, 2)}
		}
		if c.H >= 16 && c.W >= 16 && WinogradFits(l, c, ops.Winograd2) {
			return ops.ConvPlan{Algo: ops.Winograd2, Tile: ops.RegTile(16, 16, 8, 2)}
		}
	}
	return Direct(l, c)
}

// Forced is the Heuristic with every conv pass's algorithm fixed: Direct
// everywhere, or a Winograd algorithm on every pass whose workspace fits
// the binding limit, whatever its size (stylize -kernels
// direct|winograd|winograd4, and the tests that check each algorithm
// against the oracle).
type Forced struct{ Algo ops.Algo }

// Name is the algorithm as -kernels spells it.
func (f Forced) Name() string {
	switch f.Algo {
	case ops.Winograd2:
		return "winograd"
	case ops.Winograd4:
		return "winograd4"
	}
	return "direct"
}

// Conv is the pass's plan with f's algorithm.
func (f Forced) Conv(l Limits, c ConvPass) ops.ConvPlan {
	if f.Algo.Winograd() && WinogradFits(l, c, f.Algo) {
		return ops.ConvPlan{Algo: f.Algo, Tile: ops.RegTile(16, 16, 8, 2)}
	}
	return Direct(l, c)
}

// Gram is the Heuristic's.
func (Forced) Gram(l ops.TileLimits, c, k int) ops.GramPlan { return Heuristic{}.Gram(l, c, k) }

// StyleBackward is the Heuristic's.
func (Forced) StyleBackward(l ops.TileLimits, c, m int) ops.Tile {
	return Heuristic{}.StyleBackward(l, c, m)
}

// Direct is the heuristic direct plan of conv pass c (ops.ChooseConvPlan),
// its K lengthened by a fused style term's Cin values.
func Direct(l Limits, c ConvPass) ops.ConvPlan {
	m, kc := c.gemm()
	p := ops.ChooseConvPlan(l.Tile, m, c.H*c.W, kc)
	if c.Style {
		p = p.ForK(9*c.Cout + c.Cin)
	}
	return p
}

// WinogradFits reports whether the workspace of conv pass c with
// Winograd algorithm a fits the adapter's binding limit.
func WinogradFits(l Limits, c ConvPass, a ops.Algo) bool {
	m, kc := c.gemm()
	for _, s := range ops.WinogradScratch(a, kc, m, c.H, c.W) {
		if l.MaxBinding > 0 && s.Bytes() > min(l.MaxBinding, l.MaxBuffer) {
			return false
		}
	}
	return true
}

// Gram is ops.ChooseGramPlan's plan.
func (Heuristic) Gram(l ops.TileLimits, c, k int) ops.GramPlan { return ops.ChooseGramPlan(l, c, k) }

// StyleBackward is ops.ChooseTileFor's tile.
func (Heuristic) StyleBackward(l ops.TileLimits, c, m int) ops.Tile {
	return ops.ChooseTileFor(l, c, m)
}

// KernelsName says where the plan's kernel choices come from (Kernels.Name).
func (r Request) KernelsName() string { return r.kernels().Name() }

// kernels is r's Kernels, Heuristic when it names none.
func (r Request) kernels() Kernels {
	if r.Kernels == nil {
		return Heuristic{}
	}
	return r.Kernels
}

// SameKernels reports whether p and q run every pass with the same kernel
// plan: their trunks' conv plans, their Grams' and their style losses'.
// Plans of one request made with two Kernels compare equal where the
// second chooses as the first does everywhere.
func (p *Plan) SameKernels(q *Plan) bool {
	trunks := func(x *Plan) []vgg.TrunkPlan {
		return append([]vgg.TrunkPlan{x.ContentTrunk, x.Iterate}, x.StyleTrunks...)
	}
	a, b := trunks(p), trunks(q)
	if len(a) != len(b) || len(p.TargetGrams) != len(q.TargetGrams) || len(p.StyleLosses) != len(q.StyleLosses) {
		return false
	}
	for i := range a {
		if len(a[i].Layers) != len(b[i].Layers) {
			return false
		}
		for j, l := range a[i].Layers {
			if l.Forward != b[i].Layers[j].Forward || l.Backward != b[i].Layers[j].Backward {
				return false
			}
		}
	}
	for j := range p.TargetGrams {
		if len(p.TargetGrams[j]) != len(q.TargetGrams[j]) {
			return false
		}
		for l, g := range p.TargetGrams[j] {
			if g != q.TargetGrams[j][l] {
				return false
			}
		}
	}
	for i, l := range p.StyleLosses {
		if l.Style != q.StyleLosses[i].Style {
			return false
		}
	}
	return true
}
