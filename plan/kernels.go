package plan

import "github.com/stylize/stylize/ops"

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
// (ops.TileLimits.Registers) a conv pass at 16×16 or more, with at least
// 16 channels in and out, runs as Winograd F(2×2,3×3) with register-
// blocked GEMMs (a fused style term then in a GEMM pass of its own after
// the output transform), where its workspace fits the binding limit:
// measured on lavapipe at VGG19's shapes 1.2–1.7× faster than the direct
// register conv from 16×16 up, slower at 8×8. Every other pass is direct, with the
// largest tile that fits the limits and gives the GPU enough workgroups,
// and split-K where it does not (ops.ChooseConvPlan, ops.ChooseGramPlan,
// ops.ChooseTileFor).
type Heuristic struct{}

// Name is "heuristic".
func (Heuristic) Name() string { return "heuristic" }

// Conv is the pass's plan, as Heuristic says.
func (Heuristic) Conv(l Limits, c ConvPass) ops.ConvPlan {
	m, kc := c.gemm()
	if l.Tile.Registers && c.H >= 16 && c.W >= 16 && m >= 16 && kc >= 16 && winogradFits(l, c) {
		return ops.ConvPlan{Algo: ops.Winograd2, Tile: ops.RegTile(16, 16, 8, 2)}
	}
	return Direct(l, c)
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

// winogradFits reports whether a Winograd pass's workspace fits the
// adapter's binding limit.
func winogradFits(l Limits, c ConvPass) bool {
	m, kc := c.gemm()
	for _, s := range ops.WinogradScratch(kc, m, c.H, c.W) {
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

// kernels is r's Kernels, Heuristic when it names none.
func (r Request) kernels() Kernels {
	if r.Kernels == nil {
		return Heuristic{}
	}
	return r.Kernels
}
