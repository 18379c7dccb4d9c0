package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// ConvWeights holds one frozen 3x3 conv layer on the GPU in the two GEMM
// layouts its passes read, prepared once at load time.
//
//	w: (Cout,Cin,3,3)  b: (Cout)
//	Fwd: (Cout, 9*Cin),  Fwd[co][(ky*3+kx)*Cin+c] = w[co][c][ky][kx]
//	Bwd: (Cin, 9*Cout),  Bwd[ci][(ky*3+kx)*Cout+co] = w[co][ci][2-ky][2-kx]
type ConvWeights struct {
	Name      string
	Cout, Cin int
	Fwd, Bwd  *gpu.Buffer
	Bias      *gpu.Buffer
}

// ConvLayouts returns the forward and backward GEMM layouts of w: (cout,cin,3,3).
func ConvLayouts(w []float32, cout, cin int) (fwd, bwd []float32) {
	fwd = make([]float32, cout*9*cin)
	bwd = make([]float32, cin*9*cout)
	for co := 0; co < cout; co++ {
		for c := 0; c < cin; c++ {
			for s := 0; s < 9; s++ {
				v := w[(co*cin+c)*9+s]
				fwd[co*9*cin+s*cin+c] = v
				bwd[c*9*cout+(8-s)*cout+co] = v
			}
		}
	}
	return fwd, bwd
}

// NewConvWeights uploads w: (cout,cin,3,3) and b: (cout).
func NewConvWeights(d *gpu.Device, name string, w, b []float32, cout, cin int) (*ConvWeights, error) {
	if cout <= 0 || cin <= 0 {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name, Want: "positive channel counts", Got: fmt.Sprintf("cout=%d cin=%d", cout, cin)}
	}
	if len(w) != cout*cin*9 {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name + ".weight", Want: fmt.Sprintf("%d values (%d,%d,3,3)", cout*cin*9, cout, cin), Got: fmt.Sprintf("%d values", len(w))}
	}
	if len(b) != cout {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name + ".bias", Want: fmt.Sprintf("%d values", cout), Got: fmt.Sprintf("%d values", len(b))}
	}
	fwd, bwd := ConvLayouts(w, cout, cin)
	cw := &ConvWeights{Name: name, Cout: cout, Cin: cin}
	var err error
	if cw.Fwd, err = d.NewBuffer(name+".fwd", gpu.F32, cout, 9*cin); err != nil {
		return nil, err
	}
	if cw.Bwd, err = d.NewBuffer(name+".bwd", gpu.F32, cin, 9*cout); err != nil {
		cw.Release()
		return nil, err
	}
	if cw.Bias, err = d.NewBuffer(name+".bias", gpu.F32, cout); err != nil {
		cw.Release()
		return nil, err
	}
	for _, p := range []struct {
		b *gpu.Buffer
		v []float32
	}{{cw.Fwd, fwd}, {cw.Bwd, bwd}, {cw.Bias, b}} {
		if err := p.b.Write(p.v); err != nil {
			cw.Release()
			return nil, err
		}
	}
	return cw, nil
}

// Release frees the weights.
func (c *ConvWeights) Release() {
	if c == nil {
		return
	}
	c.Fwd.Release()
	c.Bwd.Release()
	c.Bias.Release()
}

type convData struct {
	tileData
	Entry                   string
	GM, KC, H, W            int
	RELU, BIAS, MASK, ACCUM bool
	S, KCHUNK               int
	// The fused loss gradients of backward_input (GradTaps) and their
	// binding numbers.
	CONTENT, STYLE           bool
	BF, BG, BP, BD, BCP, BSP int
}

// ConvPlan is how a conv3x3 pass runs: the GEMM tile, and Split, the
// number of slices of its K = 9*Cin reduction (split-K), each of Chunk
// values. With Split > 1 the slices write partial sums to a scratch
// buffer that a second dispatch adds up in a fixed order, applying the
// epilogue (bias, ReLU, +=): no float atomics, reproducible results.
type ConvPlan struct {
	Tile         Tile
	Split, Chunk int
}

// String renders the plan as its tile and split.
func (p ConvPlan) String() string { return fmt.Sprintf("%v split %dx%d", p.Tile, p.Split, p.Chunk) }

// Split-K bounds: a slice keeps at least minSplitChunk values of K (so the
// second pass stays small next to the first), and the partial sums at most
// maxSplitBytes of scratch.
const (
	minSplitChunk = 256
	maxSplitBytes = 64 << 20
)

// ChooseConvPlan picks the plan of a conv pass whose GEMM is M×N with
// K = 9*kc, within l. The tile is ChooseTileFor's. When that gives fewer
// than l.MinTiles workgroups (the deep layers at small spatial sizes: 512
// channels at 4x4 is a 512×16 GEMM with K = 4608, a handful of tiles each
// running a long K loop), K is split so that tiles × slices reaches
// MinTiles, keeping slices of at least minSplitChunk values.
func ChooseConvPlan(l TileLimits, m, n, kc int) ConvPlan {
	t := ChooseTileFor(l, m, n)
	k := 9 * kc
	p := ConvPlan{Tile: t, Split: 1, Chunk: ceilDiv(k, t.TK) * t.TK}
	tiles := t.tiles(m, n)
	if tiles >= l.MinTiles {
		return p
	}
	s := min(ceilDiv(l.MinTiles, tiles), k/minSplitChunk, maxSplitBytes/(4*m*n))
	if s <= 1 {
		return p
	}
	return splitPlan(t, k, s)
}

// splitPlan splits k into about s slices whose length is a multiple of TK.
func splitPlan(t Tile, k, s int) ConvPlan {
	chunk := ceilDiv(ceilDiv(k, s), t.TK) * t.TK
	return ConvPlan{Tile: t, Split: ceilDiv(k, chunk), Chunk: chunk}
}

// SplitConvPlan is a plan with tile t and about s slices of k = 9*kc, for
// tests and benchmarks that force a path.
func SplitConvPlan(t Tile, kc, s int) ConvPlan { return splitPlan(t, 9*kc, max(s, 1)) }

// NewConv3x3Forward computes y = conv3x3(x, w) + b, followed by ReLU when
// relu is set (the fused epilogue), written with =.
//
//	x: (Cin,H,W)  y: (Cout,H,W)
func NewConv3x3Forward(d *gpu.Device, cw *ConvWeights, x, y *gpu.Buffer, relu bool) (*Step, error) {
	if cw == nil || x == nil || len(x.Shape) != 3 {
		return NewConv3x3ForwardPlan(d, cw, x, y, relu, ConvPlan{})
	}
	return NewConv3x3ForwardPlan(d, cw, x, y, relu, ChooseConvPlan(LimitsOf(d), cw.Cout, x.Shape[1]*x.Shape[2], cw.Cin))
}

// NewConv3x3ForwardPlan is NewConv3x3Forward with a given plan.
func NewConv3x3ForwardPlan(d *gpu.Device, cw *ConvWeights, x, y *gpu.Buffer, relu bool, p ConvPlan) (*Step, error) {
	const op = "conv3x3.forward"
	if cw == nil {
		return nil, fmt.Errorf("ops: %s: nil weights", op)
	}
	c, h, w, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if c != cw.Cin {
		return nil, &gpu.ShapeError{Op: op, What: "x channels", Want: fmt.Sprint(cw.Cin), Got: gpu.ShapeString(x.Shape)}
	}
	if err := wantShape(op, "y", y, cw.Cout, h, w); err != nil {
		return nil, err
	}
	data := convData{Entry: "forward", GM: cw.Cout, KC: cw.Cin, H: h, W: w, RELU: relu, BIAS: true}
	return convStep(d, op, data, p, []*gpu.Buffer{x, cw.Fwd}, cw.Bias, y)
}

// convStep builds a conv pass: in are the GEMM's inputs (the B source, the
// A weights and, for the backward pass, the mask), bias is nil without one.
// uniforms, bound after dst, are the fused losses' params (then the plan
// must not split K).
func convStep(d *gpu.Device, op string, data convData, p ConvPlan, in []*gpu.Buffer, bias, dst *gpu.Buffer, uniforms ...*gpu.Buffer) (*Step, error) {
	t := p.Tile
	if err := t.Check(LimitsOf(d)); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	m, n, k := data.GM, data.H*data.W, 9*data.KC
	if data.STYLE {
		k += data.GM
	}
	if p.Split <= 1 {
		p.Split, p.Chunk = 1, ceilDiv(k, t.TK)*t.TK
	} else if data.STYLE && p.Chunk > 0 && ceilDiv(9*data.KC, p.Chunk) == p.Split {
		// A plan made for the conv alone: the style term's GM values of K
		// go to the last slice, or to one more.
		p.Split = ceilDiv(k, p.Chunk)
	}
	if p.Chunk <= 0 || p.Chunk%t.TK != 0 || ceilDiv(k, p.Chunk) != p.Split {
		return nil, fmt.Errorf("ops: %s: plan %v does not split K = %d into slices of a multiple of TK", op, p, k)
	}
	data.tileData = t.data(true, false)
	data.S, data.KCHUNK = p.Split, p.Chunk
	s := &Step{Name: op}
	out := dst
	if p.Split > 1 {
		var err error
		if out, err = d.NewBuffer(op+".part", gpu.F32, p.Split, m, n); err != nil {
			return nil, err
		}
		s.own = append(s.own, out)
	}
	bufs := append(append([]*gpu.Buffer{}, in...), out)
	if bias != nil && p.Split == 1 {
		bufs = append(append([]*gpu.Buffer{}, in...), bias, out)
	}
	a := make([]gpu.Access, len(bufs))
	for i := range a {
		a[i] = gpu.In
	}
	a[len(a)-1] = gpu.Out
	for _, u := range uniforms {
		bufs, a = append(bufs, u), append(a, gpu.Uniform)
	}
	b, err := bind(d, op, "conv3x3.wgsl", data.Entry, data, a, bufs...)
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, b, p.Split*t.tiles(m, n)); err != nil {
		b.Release()
		s.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if p.Split > 1 {
		data.Entry = "combine"
		bufs, a = []*gpu.Buffer{out, dst}, acc(gpu.In, gpu.Out)
		switch {
		case bias != nil:
			bufs, a = []*gpu.Buffer{out, bias, dst}, acc(gpu.In, gpu.In, gpu.Out)
		case data.CONTENT: // the content gradient, added once, after the slices
			bufs, a = []*gpu.Buffer{out, in[data.BF], in[data.BP], dst, uniforms[0]}, acc(gpu.In, gpu.In, gpu.In, gpu.Out, gpu.Uniform)
		}
		b2, err := bind(d, op+".combine", "conv3x3.wgsl", "combine", data, a, bufs...)
		if err != nil {
			s.Release()
			return nil, err
		}
		s.add1D(b2, m*n)
	}
	return s, nil
}

// NewConv3x3BackwardInput computes the gradient with respect to the conv's
// input, dx = conv3x3(dy ⊙ (y > 0), w'), with w' the weights flipped 180°
// and in/out swapped. With mask nil the ReLU mask is left out (a conv
// without ReLU); mask is the layer's stored post-ReLU output y. Written
// with = unless accum, then +=.
//
//	dy, mask: (Cout,H,W)  dx: (Cin,H,W)
func NewConv3x3BackwardInput(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, accum bool) (*Step, error) {
	if cw == nil || dy == nil || len(dy.Shape) != 3 {
		return NewConv3x3BackwardInputPlan(d, cw, dy, mask, dx, accum, ConvPlan{})
	}
	return NewConv3x3BackwardInputPlan(d, cw, dy, mask, dx, accum, ChooseConvPlan(LimitsOf(d), cw.Cin, dy.Shape[1]*dy.Shape[2], cw.Cout))
}

// checkBackwardInput checks a backward_input pass's buffers against the
// weights and returns the spatial size.
func checkBackwardInput(op string, cw *ConvWeights, dy, mask, dx *gpu.Buffer) (h, w int, err error) {
	if cw == nil {
		return 0, 0, fmt.Errorf("ops: %s: nil weights", op)
	}
	c, h, w, err := chw(op, "dy", dy)
	if err != nil {
		return 0, 0, err
	}
	if c != cw.Cout {
		return 0, 0, &gpu.ShapeError{Op: op, What: "dy channels", Want: fmt.Sprint(cw.Cout), Got: gpu.ShapeString(dy.Shape)}
	}
	if mask != nil {
		if err := wantShape(op, "mask", mask, cw.Cout, h, w); err != nil {
			return 0, 0, err
		}
	}
	if err := wantShape(op, "dx", dx, cw.Cin, h, w); err != nil {
		return 0, 0, err
	}
	return h, w, nil
}

// NewConv3x3BackwardInputPlan is NewConv3x3BackwardInput with a given plan.
func NewConv3x3BackwardInputPlan(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, accum bool, p ConvPlan) (*Step, error) {
	const op = "conv3x3.backward_input"
	h, w, err := checkBackwardInput(op, cw, dy, mask, dx)
	if err != nil {
		return nil, err
	}
	data := convData{Entry: "backward_input", GM: cw.Cin, KC: cw.Cout, H: h, W: w, MASK: mask != nil, ACCUM: accum}
	in := []*gpu.Buffer{dy, cw.Bwd}
	if mask != nil {
		in = append(in, mask)
	}
	return convStep(d, op, data, p, in, nil, dx)
}

// GradTaps are the loss gradients at a tapped activation F that the conv
// backward writing dL/dF can add in the same pass (NewConv3x3BackwardFused),
// instead of the losses adding them into dL/dF with passes of their own.
// Each loss must read F, the conv's input: build it with grad nil, so that
// it records only its value (and, for the style loss, the Gram G of F that
// the fused pass reads: record it before the fused pass). The fused pass
// reads the losses' Params uniforms, so SetWeight takes effect in it.
type GradTaps struct {
	Content *Loss      // from NewContentLoss: adds Content.grad·(F-P)
	Style   *StyleLoss // from NewStyleLoss: adds Style.grad·(G-A)·F
}

// Empty reports whether t fuses nothing.
func (t GradTaps) Empty() bool { return t.Content == nil && t.Style == nil }

// storageBindings is how many storage buffers the fused backward binds:
// dy, the weights, the mask, F, G and A, P, dx.
func (t GradTaps) storageBindings(mask bool) int {
	n := 3 // dy, weights, dx
	if mask {
		n++
	}
	if !t.Empty() {
		n++ // F
	}
	if t.Style != nil {
		n += 2
	}
	if t.Content != nil {
		n++
	}
	return n
}

// FusedBackwardPlan returns the plan the backward pass of cw at h×w would
// run with the loss gradients taps fused in, or an error saying why it
// cannot fuse them: the adapter binds too few storage buffers per shader
// stage. Where the plan splits K, the style term's K is split with the
// conv's and the content term is added by the combine pass.
func FusedBackwardPlan(d *gpu.Device, cw *ConvWeights, h, w int, mask bool, taps GradTaps) (ConvPlan, error) {
	const op = "conv3x3.backward_input"
	if cw == nil {
		return ConvPlan{}, fmt.Errorf("ops: %s: nil weights", op)
	}
	// The plan of the conv alone: the style term lengthens K by Cin, which
	// the last slice (or one more) covers.
	p := ChooseConvPlan(LimitsOf(d), cw.Cin, h*w, cw.Cout)
	if n, lim := taps.storageBindings(mask), int(d.Limits().MaxStorageBuffersPerShaderStage); n > lim {
		return p, fmt.Errorf("ops: %s: fusing the loss gradients binds %d storage buffers, the adapter allows %d", op, n, lim)
	}
	return p, nil
}

// NewConv3x3BackwardFused is NewConv3x3BackwardInput (written with =) that
// also adds the loss gradients taps at the conv's input F into dx:
//
//	dx = conv3x3(dy ⊙ (y > 0), w') + c·(F-P) + s·(G-A)·F
//
// with c, s the content and style losses' gradient coefficients, read from
// their Params. F is the losses' features, of dx's shape. With taps empty
// it is NewConv3x3BackwardInput. It fails where FusedBackwardPlan does.
func NewConv3x3BackwardFused(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, taps GradTaps) (*Step, error) {
	if taps.Empty() {
		return NewConv3x3BackwardInput(d, cw, dy, mask, dx, false)
	}
	if cw == nil || dx == nil || len(dx.Shape) != 3 {
		return NewConv3x3BackwardFusedPlan(d, cw, dy, mask, dx, taps, ConvPlan{})
	}
	p, err := FusedBackwardPlan(d, cw, dx.Shape[1], dx.Shape[2], mask != nil, taps)
	if err != nil {
		return nil, err
	}
	return NewConv3x3BackwardFusedPlan(d, cw, dy, mask, dx, taps, p)
}

// NewConv3x3BackwardFusedPlan is NewConv3x3BackwardFused with a given plan.
func NewConv3x3BackwardFusedPlan(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, taps GradTaps, p ConvPlan) (*Step, error) {
	const op = "conv3x3.backward_input"
	h, w, err := checkBackwardInput(op, cw, dy, mask, dx)
	if err != nil {
		return nil, err
	}
	data := convData{Entry: "backward_input", GM: cw.Cin, KC: cw.Cout, H: h, W: w, MASK: mask != nil}
	in := []*gpu.Buffer{dy, cw.Bwd}
	if mask != nil {
		in = append(in, mask)
	}
	if taps.Empty() {
		return convStep(d, op, data, p, in, nil, dx)
	}
	var feat *gpu.Buffer
	for _, l := range []*Loss{taps.Content, styleLoss(taps.Style)} {
		if l == nil {
			continue
		}
		if l.feat == nil || l.target == nil {
			return nil, fmt.Errorf("ops: %s: loss %s has no features and target to fuse", op, l.Name)
		}
		if feat != nil && l.feat != feat {
			return nil, fmt.Errorf("ops: %s: the fused content and style losses read different features (%s, %s)", op, feat.Name, l.feat.Name)
		}
		feat = l.feat
	}
	if err := wantShape(op, "fused loss features", feat, cw.Cin, h, w); err != nil {
		return nil, err
	}
	if feat == dx {
		return nil, fmt.Errorf("ops: %s: the fused losses' features are dx itself", op)
	}
	data.BF = len(in)
	in = append(in, feat)
	var uniforms []*gpu.Buffer
	if sl := taps.Style; sl != nil {
		if sl.Name != "style_loss" || sl.Gram == nil {
			return nil, fmt.Errorf("ops: %s: the style tap is not a style loss", op)
		}
		if err := wantShape(op, "style target", sl.target, cw.Cin, cw.Cin); err != nil {
			return nil, err
		}
		data.STYLE, data.BG = true, len(in)
		in = append(in, sl.Gram, sl.target)
	}
	if cl := taps.Content; cl != nil {
		if cl.Name != "content_loss" {
			return nil, fmt.Errorf("ops: %s: the content tap is %s, not a content loss", op, cl.Name)
		}
		if err := wantShape(op, "content target", cl.target, cw.Cin, h, w); err != nil {
			return nil, err
		}
		data.CONTENT, data.BP = true, len(in)
		in = append(in, cl.target)
	}
	data.BD = len(in)
	if taps.Content != nil {
		data.BCP = data.BD + 1 + len(uniforms)
		uniforms = append(uniforms, taps.Content.Params)
	}
	if taps.Style != nil {
		data.BSP = data.BD + 1 + len(uniforms)
		uniforms = append(uniforms, taps.Style.Params)
	}
	if n, lim := len(in)+1, int(d.Limits().MaxStorageBuffersPerShaderStage); n > lim {
		return nil, fmt.Errorf("ops: %s: fusing the loss gradients binds %d storage buffers, the adapter allows %d", op, n, lim)
	}
	return convStep(d, op, data, p, in, nil, dx, uniforms...)
}

func styleLoss(s *StyleLoss) *Loss {
	if s == nil {
		return nil
	}
	return &s.Loss
}

// Conv3x3FLOPs is the multiply-add count ×2 of one 3x3 conv pass.
func Conv3x3FLOPs(cin, cout, h, w int) float64 {
	return 2 * 9 * float64(cin) * float64(cout) * float64(h) * float64(w)
}
