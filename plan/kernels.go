package plan

import "github.com/stylize/stylize/ops"

// Kernels chooses the kernel plan of every pass the plan holds: each conv
// pass's tile and split-K, each Gram's, and the tile of a style loss's
// own gradient. Heuristic chooses from the adapter's limits alone; kernel
// choices measured on the adapter at hand come in as another Kernels.
type Kernels interface {
	// Name says where the choices come from, for the printout.
	Name() string
	// Conv is the plan of a conv pass whose GEMM is M×N with K = 9·kc.
	Conv(l ops.TileLimits, m, n, kc int) ops.ConvPlan
	// Gram is the plan of a C×C Gram matrix over k values.
	Gram(l ops.TileLimits, c, k int) ops.GramPlan
	// StyleBackward is the tile of the C×M GEMM (G−A)·F of a style loss
	// that writes its gradient itself.
	StyleBackward(l ops.TileLimits, c, m int) ops.Tile
}

// Heuristic is the Kernels that needs no measurement: the largest
// register-blocked tile that fits the limits and gives the GPU enough
// workgroups, and split-K where it does not (ops.ChooseConvPlan,
// ops.ChooseGramPlan, ops.ChooseTileFor).
type Heuristic struct{}

// Name is "heuristic".
func (Heuristic) Name() string { return "heuristic" }

// Conv is ops.ChooseConvPlan's plan.
func (Heuristic) Conv(l ops.TileLimits, m, n, kc int) ops.ConvPlan {
	return ops.ChooseConvPlan(l, m, n, kc)
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

// backward is the plan of the backward_input pass of a conv with cin
// inputs and cout outputs at h×w: its GEMM is cin × h·w with K = 9·cout,
// lengthened by the cin values of a fused style gradient.
func backward(k Kernels, l ops.TileLimits, cin, cout, h, w int, style bool) ops.ConvPlan {
	p := k.Conv(l, cin, h*w, cout)
	if style {
		p = p.ForK(9*cout + cin)
	}
	return p
}
