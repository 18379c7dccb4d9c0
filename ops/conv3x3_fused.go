package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// FusedGrads are the loss gradients at a tapped activation F that the
// conv backward writing dL/dF adds in the same pass
// (NewConv3x3Backward), instead of the losses adding them into dL/dF
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
// conv backward binds, with or without the input and output ReLU masks
// (ConvBackward.Mask, OutMask), the content and the style term, unsplit or
// split: the count the adapter's maxStorageBuffersPerShaderStage must
// allow for the fusion. It counts the same declarations
// NewConv3x3Backward binds.
func FusedStorageBindings(mask, outMask, content, style bool, split int) int {
	data := convData{Entry: "backward_input", MASK: mask, OMASK: outMask, CONTENT: content, STYLE: style, S: max(split, 1)}
	n := convSlots(data, convBufs{}, false).Storage()
	if split > 1 {
		n = max(n, convSlots(data, convBufs{}, true).Storage())
	}
	return n
}
