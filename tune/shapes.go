package tune

import (
	"fmt"
	"sort"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// Shape is one pass whose kernel plan is tuned: a conv pass, or a Gram
// of C channels over K values.
type Shape struct {
	Conv *plan.ConvPass
	Gram *GramShape
}

// GramShape is a C×C Gram matrix over K values.
type GramShape struct{ C, K int }

// Key names the shape in the cache.
func (s Shape) Key() string {
	if s.Gram != nil {
		return fmt.Sprintf("gram %d over %d", s.Gram.C, s.Gram.K)
	}
	return ConvKey(*s.Conv)
}

// ConvKey names a conv pass in the cache.
func ConvKey(c plan.ConvPass) string {
	pass := "forward"
	if c.Backward {
		pass = "backward_input"
	}
	style := ""
	if c.Style {
		style = " +style"
	}
	return fmt.Sprintf("conv3x3.%s %d>%d %dx%d%s", pass, c.Cin, c.Cout, c.W, c.H, style)
}

// Shapes lists the distinct passes that the plans run every iteration,
// in a fixed order: the iterate trunk's forward and backward passes and
// its Grams. The content and style trunks run once per scale, so timing
// their passes would cost more compiles than it could ever save; where
// one of them has an iteration pass's shape, it gets that pass's plan.
func Shapes(plans ...*plan.Plan) []Shape {
	var all []Shape
	for _, p := range plans {
		all = append(all, TrunkShapes(p.Iterate)...)
		for _, l := range p.StyleLosses {
			a := p.Iterate.Layers[l.Pos]
			all = append(all, Shape{Gram: &GramShape{C: a.C, K: a.H * a.W}})
		}
	}
	return distinct(all)
}

// TrunkShapes lists the conv passes of trunk tp: each conv's forward
// and, where tp has a backward pass, its backward_input (with the fused
// style gradient where tp fuses one).
func TrunkShapes(tp vgg.TrunkPlan) []Shape {
	var out []Shape
	cin := 3
	for i, l := range tp.Layers {
		if vgg.Table[i].Pool {
			continue
		}
		out = append(out, Shape{Conv: &plan.ConvPass{Cin: cin, Cout: l.C, H: l.H, W: l.W}})
		if tp.Grad {
			out = append(out, Shape{Conv: &plan.ConvPass{Cin: cin, Cout: l.C, H: l.H, W: l.W, Backward: true, Style: l.FuseStyle}})
		}
		cin = l.C
	}
	return distinct(out)
}

// distinct drops repeated shapes and sorts the rest by key.
func distinct(shapes []Shape) []Shape {
	seen := map[string]bool{}
	var out []Shape
	for _, s := range shapes {
		if !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Kernels chooses the plan's kernels from a cache of measured choices
// (plan.Kernels), the heuristic's where the cache has none or holds one
// the adapter cannot run.
type Kernels struct {
	Cache *Cache
}

// Name says where the choices come from.
func (k Kernels) Name() string {
	return fmt.Sprintf("tuned (%d measured passes in %s), heuristic for the others", len(k.Cache.Choices), k.Cache.Path)
}

// Conv is the cached plan of conv pass c where the cache holds one that
// this adapter can run on the pass (a cache edited by hand may not), else
// the heuristic's.
func (k Kernels) Conv(l plan.Limits, c plan.ConvPass) ops.ConvPlan {
	if ch, ok := k.Cache.Choices[ConvKey(c)]; ok && ch.Conv != nil {
		p := *ch.Conv
		m, kc := convMK(c)
		kk := 9 * kc
		if c.Style {
			kk += m
		}
		if p.Tile.Check(l.Tile) == nil && p.Covers(kk) == nil && (!p.Algo.Winograd() || plan.WinogradFits(l, c, p.Algo)) {
			return p
		}
	}
	return plan.Heuristic{}.Conv(l, c)
}

// Gram is the cached plan of a C×C Gram over k values where the cache
// holds one this adapter can run, else the heuristic's.
func (k Kernels) Gram(l ops.TileLimits, c, kk int) ops.GramPlan {
	s := Shape{Gram: &GramShape{C: c, K: kk}}
	if ch, ok := k.Cache.Choices[s.Key()]; ok && ch.Gram != nil && ch.Gram.Tile.Check(l) == nil && ch.Gram.Covers(kk) == nil {
		return *ch.Gram
	}
	return plan.Heuristic{}.Gram(l, c, kk)
}

// StyleBackward is the heuristic's tile.
func (k Kernels) StyleBackward(l ops.TileLimits, c, m int) ops.Tile {
	return plan.Heuristic{}.StyleBackward(l, c, m)
}
