package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// FusedGrads are the loss gradients at a tapped activation F that the
// conv backward writing dL/dF adds in the same pass
// (NewConv3x3BackwardFused), instead of the losses adding them into dL/dF
// with passes of their own. They are Gatys et al.'s (2016) content and
// style gradients, with the seed's normalisation:
//
//	content: c·(F−P),    c = 2w/(C·h·w)     (NewContentLoss)
//	style:   s·(G−A)·F,  s = 4w/(C²·h·w)    (NewStyleLoss)
//
// with c and s read, when the pass runs, from the losses' Params
// uniforms, so that a changed weight (Loss.SetWeight) takes effect. The
// losses themselves are built without a gradient buffer: they then record
// only their values and, for the style loss, the Gram G of F, which must
// be recorded before the fused pass.
//
//	F, P: (Cin,H,W)  G, A: (Cin,Cin)
type FusedGrads struct {
	F *gpu.Buffer // the tapped activation, the conv's input
	// The content term: the target P and the content loss's Params; both
	// nil for none.
	P, ContentParams *gpu.Buffer
	// The style term: the Gram G of F, the target A and the style loss's
	// Params; all nil for none.
	G, A, StyleParams *gpu.Buffer
}

// FuseLosses returns the fused gradients of a content loss and a style
// loss (either may be nil), which must read the same features.
func FuseLosses(content *Loss, style *StyleLoss) (FusedGrads, error) {
	var g FusedGrads
	if content != nil {
		g.F, g.P, g.ContentParams = content.Features(), content.Target(), content.Params
	}
	if style != nil {
		if g.F != nil && g.F != style.Features() {
			return FusedGrads{}, fmt.Errorf("ops: the fused content and style losses read different features (%s, %s)", g.F.Name, style.Features().Name)
		}
		g.F, g.G, g.A, g.StyleParams = style.Features(), style.Gram, style.Target(), style.Params
	}
	return g, nil
}

// Content reports whether g adds a content gradient; Style a style one.
func (g FusedGrads) Content() bool { return g.P != nil || g.ContentParams != nil }

// Style reports whether g adds a style gradient.
func (g FusedGrads) Style() bool { return g.G != nil || g.A != nil || g.StyleParams != nil }

// Empty reports whether g adds nothing.
func (g FusedGrads) Empty() bool { return !g.Content() && !g.Style() }

// FusedStorageBindings is the most storage buffers one pass of a fused
// conv backward binds, with or without the ReLU mask, the content and
// the style term, unsplit or split: the count the adapter's
// maxStorageBuffersPerShaderStage must allow for the fusion. It counts
// the same declarations NewConv3x3BackwardFused binds.
func FusedStorageBindings(mask, content, style bool, split int) int {
	data := convData{Entry: "backward_input", MASK: mask, CONTENT: content, STYLE: style, S: max(split, 1)}
	n := convSlots(data, convBufs{}, false).Storage()
	if split > 1 {
		n = max(n, convSlots(data, convBufs{}, true).Storage())
	}
	return n
}

// NewConv3x3BackwardFused is NewConv3x3BackwardInputPlan (written with =)
// that also adds the loss gradients g at the conv's input F into dx:
//
//	dx = conv3x3(dy ⊙ (y > 0), w') + c·(F−P) + s·(G−A)·F
//
// With a style term the GEMM's K grows by Cin: A[m][9·Cout+c] = s·(G−A)[m][c]
// and B[9·Cout+c][n] = F[c][n] (G−A is symmetric), so p must cover
// K = 9·Cout + Cin (ConvPlan.ForK). Split, the style term's K is
// sliced with the conv's and the combine pass adds the content term.
//
//	dy, mask: (Cout,H,W)  dx, F, P: (Cin,H,W)  G, A: (Cin,Cin)
func NewConv3x3BackwardFused(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, g FusedGrads, p ConvPlan) (*Step, error) {
	const op = "conv3x3.backward_input"
	h, w, err := checkBackwardInput(op, cw, dy, mask, dx)
	if err != nil {
		return nil, err
	}
	data := convData{Entry: "backward_input", GM: cw.Cin, KC: cw.Cout, H: h, W: w, MASK: mask != nil,
		CONTENT: g.Content(), STYLE: g.Style()}
	if !g.Empty() {
		if err := wantShape(op, "fused loss features", g.F, cw.Cin, h, w); err != nil {
			return nil, err
		}
		if g.F == dx {
			return nil, fmt.Errorf("ops: %s: the fused losses' features are dx itself", op)
		}
	}
	if data.CONTENT {
		if err := wantShape(op, "content target", g.P, cw.Cin, h, w); err != nil {
			return nil, err
		}
		if g.ContentParams == nil {
			return nil, fmt.Errorf("ops: %s: the content term has no params", op)
		}
	}
	if data.STYLE {
		if err := wantShape(op, "Gram", g.G, cw.Cin, cw.Cin); err != nil {
			return nil, err
		}
		if err := wantShape(op, "style target", g.A, cw.Cin, cw.Cin); err != nil {
			return nil, err
		}
		if g.StyleParams == nil {
			return nil, fmt.Errorf("ops: %s: the style term has no params", op)
		}
	}
	return convStep(d, op, data, p, convBufs{src: dy, wa: cw.Bwd, mask: mask, dst: dx, FusedGrads: g})
}
