package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

type convData struct {
	tileData
	decl
	Entry                   string
	GM, KC, H, W            int
	RELU, BIAS, MASK, ACCUM bool
	S, KCHUNK               int
	// The fused loss gradients of backward_input (FusedGrads).
	CONTENT, STYLE bool
	// OMASK multiplies backward_input's result by the ReLU mask of the
	// layer below (ConvBackward.OutMask).
	OMASK bool
}

// ConvPlan is how a conv3x3 pass runs: the GEMM tile, and Split, the
// number of slices of its K reduction (split-K), each of Chunk values.
// With Split > 1 the slices write partial sums to a scratch buffer that a
// second dispatch adds up in a fixed order, applying the epilogue (bias,
// ReLU, +=): no float atomics, reproducible results.
type ConvPlan struct {
	Algo         Algo
	Tile         Tile
	Split, Chunk int
}

// Algo is how a conv pass computes.
type Algo int

const (
	// Direct is the implicit GEMM over the 9·Cin products of each output.
	Direct Algo = iota
	// Winograd2 is Winograd's minimal filtering F(2×2,3×3) (Lavin & Gray
	// 2015): an input transform, 16 GEMMs over the input channels with the
	// pre-transformed weights (Tile is theirs; no split), and an output
	// transform with the epilogue: 2.25× fewer multiplications.
	Winograd2
	// Winograd4 is F(4×4,3×3), as Winograd2 with 36 GEMMs over tiles of
	// 4×4 outputs: 4× fewer multiplications, transforms that cost more and
	// round more.
	Winograd4
)

func (a Algo) String() string {
	switch a {
	case Winograd2:
		return "winograd F(2x2,3x3)"
	case Winograd4:
		return "winograd F(4x4,3x3)"
	}
	return "direct"
}

// Winograd says whether a is one of the Winograd algorithms.
func (a Algo) Winograd() bool { return a == Winograd2 || a == Winograd4 }

// Layout is the weight layout the plan's passes read.
func (p ConvPlan) Layout() Layout {
	switch p.Algo {
	case Winograd2:
		return LayoutWinograd2
	case Winograd4:
		return LayoutWinograd4
	}
	return LayoutDirect
}

// String renders the plan as its algorithm, tile and split.
func (p ConvPlan) String() string {
	if p.Algo.Winograd() {
		return fmt.Sprintf("%v %v", p.Algo, p.Tile)
	}
	return fmt.Sprintf("%v split %dx%d", p.Tile, p.Split, p.Chunk)
}

// ForK returns p over a reduction of k values: unsplit, one chunk of k
// rounded up to the tile's TK; split, the chunk kept and as many slices
// as k needs (a fused style term lengthens K past the conv's own 9·KC,
// and its values go to the last slice, or to one more).
func (p ConvPlan) ForK(k int) ConvPlan {
	if p.Split <= 1 || p.Chunk <= 0 {
		return ConvPlan{Algo: p.Algo, Tile: p.Tile, Split: 1, Chunk: ceilDiv(k, max(p.Tile.TK, 1)) * p.Tile.TK}
	}
	return ConvPlan{Algo: p.Algo, Tile: p.Tile, Split: ceilDiv(k, p.Chunk), Chunk: p.Chunk}
}

// Covers says whether p can run a pass of k summed values: a Winograd
// plan needs a register tile and no split; a direct plan split in slices
// of a multiple of its tile's K step that cover k exactly, or unsplit
// (Split 0 or 1, completed by ForK).
func (p ConvPlan) Covers(k int) error {
	if p.Algo.Winograd() {
		if !p.Tile.Reg || p.Split > 1 {
			return fmt.Errorf("ops: a Winograd plan needs an unsplit register tile, not %v", p)
		}
		return nil
	}
	if p.Split <= 1 {
		p = p.ForK(k)
	}
	if p.Tile.TK <= 0 || p.Chunk <= 0 || p.Chunk%p.Tile.TK != 0 || ceilDiv(k, p.Chunk) != p.Split {
		return fmt.Errorf("ops: plan %v does not split K = %d into slices of a multiple of TK", p, k)
	}
	return nil
}

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
	if l.Registers {
		t = ChooseRegTile(m, n)
	}
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

// ConvScratch is the scratch a conv pass with plan p over an M×N output
// allocates: the slices' partial sums (Split,M,N) when K is split, and a
// direct register tile's shape uniform; a Winograd pass's shape uniforms
// (its transforms', its GEMMs', and with style, a fused style term's).
// (A Winograd pass works in its trunk's shared Workspace.)
func ConvScratch(p ConvPlan, m, n int, style bool) []gpu.Spec {
	var s []gpu.Spec
	if p.Algo.Winograd() {
		s = append(s, gpu.ParamsSpec("winograd.input.wp", winoParams{}), gpu.ParamsSpec("winograd.output.wp", winoParams{}),
			gpu.ParamsSpec("winograd.gemm.gp", gemmParams{}))
		if style {
			s = append(s, gpu.ParamsSpec("winograd.style.ap", styleAddParams{}))
		}
		return s
	}
	if p.Split > 1 {
		s = append(s, gpu.F32Spec("conv3x3.part", p.Split, m, n))
	}
	if p.Tile.Reg {
		s = append(s, gpu.ParamsSpec("conv3x3.params", convParams{}))
	}
	return s
}

// convParams mirrors conv3x3_reg.wgsl's uniform cp: the pass's shapes,
// which the register kernel reads at run time so that one pipeline serves
// every layer and size.
type convParams struct {
	GM, KC, H, W  uint32
	GN, GK, KT, S uint32
	KChunk        uint32 `wgsl:"kchunk"`
	TilesM        uint32 `wgsl:"tiles_m"`
	TilesN        uint32 `wgsl:"tiles_n"`
	_             uint32
}

// regData is what conv3x3_reg.wgsl's template reads.
type regData struct {
	decl
	Entry                                                 string
	RM, RN, TX, TY                                        int
	MASK, BIAS, RELU, ACCUM, CONTENT, STYLE, OMASK, SPLIT bool
}

// NewConv3x3Forward computes y = conv3x3(x, w) + b, followed by ReLU when
// relu is set (the fused epilogue), written with =, with the heuristic
// plan (ChooseConvPlan). It is for tests and benchmarks; the engine builds
// its convs with the plans of package plan (NewConv3x3ForwardWith).
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
	return NewConv3x3ForwardWith(d, cw, ConvForward{X: x, Y: y, ReLU: relu}, p)
}

// ConvForward is what a conv's forward pass reads and writes.
//
//	X: (Cin,H,W)  Y: (Cout,H,W)
type ConvForward struct {
	X, Y *gpu.Buffer
	ReLU bool
	// Work is where a Winograd plan's transforms go, shared by the passes
	// of a trunk; when nil the pass allocates its own (WinogradScratch).
	Work Workspace
}

// NewConv3x3ForwardWith builds a conv's forward pass with plan p:
// y = conv3x3(x, w) + b, followed by ReLU with f.ReLU, written with =.
func NewConv3x3ForwardWith(d *gpu.Device, cw *ConvWeights, f ConvForward, p ConvPlan) (*Step, error) {
	const op = "conv3x3.forward"
	if cw == nil {
		return nil, fmt.Errorf("ops: %s: nil weights", op)
	}
	c, h, w, err := chw(op, "x", f.X)
	if err != nil {
		return nil, err
	}
	if c != cw.Cin {
		return nil, &gpu.ShapeError{Op: op, What: "x channels", Want: fmt.Sprint(cw.Cin), Got: gpu.ShapeString(f.X.Shape)}
	}
	if err := wantShape(op, "y", f.Y, cw.Cout, h, w); err != nil {
		return nil, err
	}
	wa, err := cw.Buffer(LayoutKey{Layout: p.Layout()})
	if err != nil {
		return nil, err
	}
	data := convData{Entry: "forward", GM: cw.Cout, KC: cw.Cin, H: h, W: w, RELU: f.ReLU, BIAS: true}
	b := convBufs{src: f.X, wa: wa, bias: cw.Bias, dst: f.Y}
	if p.Algo.Winograd() {
		return winogradStep(d, op, data, p, b, f.Work)
	}
	return convStep(d, op, data, p, b)
}

// convBufs are the buffers a conv pass may bind; nil ones are absent.
type convBufs struct {
	src, wa, bias, mask, dst *gpu.Buffer
	part                     *gpu.Buffer // the split-K slices' partial sums
	omask                    *gpu.Buffer // ConvBackward.OutMask
	FusedGrads
}

// convSlots declares the bindings of a conv pass: the GEMM's main pass
// (forward or backward_input), or with combine the second pass of a
// split K. With nil buffers it still counts them (the plan asks how many
// storage buffers a fused pass binds before any exists).
func convSlots(data convData, b convBufs, combine bool) slots {
	split := data.S > 1
	if combine {
		s := slots{ro("part", b.part, "(S,GM,H,W)")}
		switch {
		case data.BIAS:
			s = append(s, ro("bias", b.bias, "(GM)"))
		case data.CONTENT: // the content gradient, added once, after the slices
			s = append(s, ro("feat", b.F, "F: (GM,H,W)"), ro("ptgt", b.P, "P: (GM,H,W)"))
		}
		if data.OMASK {
			s = append(s, ro("omask", b.omask, "the ReLU output below: (GM,H,W)"))
		}
		s = append(s, rw("dst", b.dst, "(GM,H,W)"))
		if data.CONTENT && !data.BIAS {
			s = append(s, uni("cparams", b.ContentParams, lossParams{}))
		}
		return s
	}
	dst := rw("dst", b.dst, "(GM,H,W)")
	if split {
		dst = rw("dst", b.part, "part: (S,GM,H,W)")
	}
	s := slots{ro("src", b.src, "(KC,H,W)"), ro("wa", b.wa, "A: (GM, 9*KC)")}
	if data.BIAS && !split {
		s = append(s, ro("bias", b.bias, "(GM)"))
	}
	if data.MASK {
		s = append(s, ro("mask", b.mask, "(KC,H,W)"))
	}
	content := data.CONTENT && !split // split: the combine pass adds it
	if data.STYLE || content {
		s = append(s, ro("feat", b.F, "F: (GM,H,W)"))
	}
	if data.STYLE {
		s = append(s, ro("gram", b.G, "G: (GM,GM)"), ro("sty", b.A, "A: (GM,GM)"))
	}
	if content {
		s = append(s, ro("ptgt", b.P, "P: (GM,H,W)"))
	}
	if data.OMASK && !split { // split: the combine pass applies it
		s = append(s, ro("omask", b.omask, "the ReLU output below: (GM,H,W)"))
	}
	s = append(s, dst)
	if content {
		s = append(s, uni("cparams", b.ContentParams, lossParams{}))
	}
	if data.STYLE {
		s = append(s, uni("sparams", b.StyleParams, lossParams{}))
	}
	return s
}

// convStep builds a conv pass with plan p, whose Split and Chunk must
// cover the pass's K (ConvPlan.ForK gives such a plan; an unsplit plan is
// completed here).
func convStep(d *gpu.Device, op string, data convData, p ConvPlan, b convBufs) (*Step, error) {
	t := p.Tile
	if err := t.Check(LimitsOf(d)); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	m, n, k := data.GM, data.H*data.W, 9*data.KC
	if data.STYLE {
		k += data.GM
	}
	if err := p.Covers(k); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	p = p.ForK(k)
	data.tileData = t.data(true, false)
	data.S, data.KCHUNK = p.Split, p.Chunk
	s := &Step{Name: op}
	sc := ConvScratch(p, m, n, false)
	if p.Split > 1 {
		var err error
		if b.part, err = d.Alloc(sc[0]); err != nil {
			return nil, err
		}
		s.own = append(s.own, b.part)
	}
	var bd *gpu.Binding
	var err error
	if t.Reg {
		bd, err = regStep(d, s, op, data, p, b, k, sc[len(sc)-1].Name)
	} else {
		bd, err = bindSlots(d, op, "conv3x3.wgsl", data.Entry, &data, convSlots(data, b, false))
	}
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, bd, p.Split*t.tiles(m, n)); err != nil {
		bd.Release()
		s.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if p.Split > 1 {
		comb := data
		comb.Entry = "combine"
		b2, err := bindSlots(d, op+".combine", "conv3x3.wgsl", "combine", &comb, convSlots(comb, b, true))
		if err != nil {
			s.Release()
			return nil, err
		}
		s.add1D(b2, m*n)
	}
	return s, nil
}

// regStep binds the register kernel (conv3x3_reg.wgsl) of a conv pass,
// with its shapes in a uniform the step owns.
func regStep(d *gpu.Device, s *Step, op string, data convData, p ConvPlan, b convBufs, k int, paramsName string) (*gpu.Binding, error) {
	t := p.Tile
	m, n := data.GM, data.H*data.W
	cp := convParams{GM: uint32(m), KC: uint32(data.KC), H: uint32(data.H), W: uint32(data.W),
		GN: uint32(n), GK: uint32(9 * data.KC), KT: uint32(k), S: uint32(p.Split), KChunk: uint32(p.Chunk),
		TilesM: uint32(ceilDiv(m, t.TM)), TilesN: uint32(ceilDiv(n, t.TN))}
	params, err := d.NewParams(paramsName, cp)
	if err != nil {
		return nil, err
	}
	s.own = append(s.own, params)
	rd := regData{Entry: data.Entry, RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY,
		MASK: data.MASK, BIAS: data.BIAS, RELU: data.RELU, ACCUM: data.ACCUM, CONTENT: data.CONTENT, STYLE: data.STYLE, OMASK: data.OMASK, SPLIT: p.Split > 1}
	sl := append(convSlots(data, b, false), uni("cp", params, convParams{}))
	return bindSlots(d, op, "conv3x3_reg.wgsl", data.Entry, &rd, sl)
}

// NewConv3x3BackwardInput computes the gradient with respect to the conv's
// input, dx = conv3x3(dy ⊙ (y > 0), w'), with w' the weights flipped 180°
// and in/out swapped, with the heuristic plan (ChooseConvPlan), for tests
// and benchmarks (the engine passes its plan's to NewConv3x3Backward).
// With mask nil the ReLU mask is left out (a conv without ReLU, or dy
// already masked); mask is the layer's stored post-ReLU output y. Written
// with = unless accum, then +=.
//
//	dy, mask: (Cout,H,W)  dx: (Cin,H,W)
func NewConv3x3BackwardInput(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, accum bool) (*Step, error) {
	var p ConvPlan
	if cw != nil && dy != nil && len(dy.Shape) == 3 {
		p = ChooseConvPlan(LimitsOf(d), cw.Cin, dy.Shape[1]*dy.Shape[2], cw.Cout)
	}
	return NewConv3x3Backward(d, cw, ConvBackward{DY: dy, Mask: mask, DX: dx, Accum: accum}, p)
}

// NewConv3x3BackwardInputPlan is NewConv3x3BackwardInput with a given plan.
func NewConv3x3BackwardInputPlan(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, accum bool, p ConvPlan) (*Step, error) {
	return NewConv3x3Backward(d, cw, ConvBackward{DY: dy, Mask: mask, DX: dx, Accum: accum}, p)
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

// ConvBackward is what a conv's backward_input pass reads and writes.
//
//	DY, Mask: (Cout,H,W)  DX, OutMask: (Cin,H,W)
type ConvBackward struct {
	// DY is dL/dy; Mask, when not nil, the layer's post-ReLU output y,
	// whose mask (y > 0) the pass applies to DY. Nil when DY arrives
	// already masked (its writer applied OutMask) or the conv has no ReLU.
	DY, Mask *gpu.Buffer
	// DX receives dL/dx, written with = unless Accum (+=).
	DX    *gpu.Buffer
	Accum bool
	// OutMask, when not nil, is the post-ReLU output of the layer below
	// (the conv's input x): DX is written multiplied by (x > 0), so that
	// the layer below's backward reads it without a mask: one load per
	// output here instead of one per input read there (each input is read
	// nine times per output tile).
	OutMask *gpu.Buffer
	// Grads are the loss gradients at x that the pass adds (FusedGrads);
	// the output mask applies to their sum with the conv's.
	Grads FusedGrads
	// Work is where a Winograd plan's transforms go (see ConvForward).
	Work Workspace
}

// NewConv3x3Backward builds a conv's backward_input pass with plan p:
//
//	dx = [conv3x3(dy ⊙ (y > 0), w') + c·(F−P) + s·(G−A)·F] ⊙ (x > 0)
//
// where the loss terms are b.Grads' (FusedGrads), the input mask (y > 0)
// applies when b.Mask is set and the output mask (x > 0) when b.OutMask is.
// With a style term the GEMM's K grows by Cin: A[m][9·Cout+c] =
// s·(G−A)[m][c] and B[9·Cout+c][n] = F[c][n] (G−A is symmetric), so p
// must cover K = 9·Cout + Cin (ConvPlan.ForK). Split, the style term's K is
// sliced with the conv's, and the combine pass adds the content term and
// applies the output mask.
func NewConv3x3Backward(d *gpu.Device, cw *ConvWeights, b ConvBackward, p ConvPlan) (*Step, error) {
	const op = "conv3x3.backward_input"
	h, w, err := checkBackwardInput(op, cw, b.DY, b.Mask, b.DX)
	if err != nil {
		return nil, err
	}
	g := b.Grads
	data := convData{Entry: "backward_input", GM: cw.Cin, KC: cw.Cout, H: h, W: w, MASK: b.Mask != nil, ACCUM: b.Accum,
		CONTENT: g.Content(), STYLE: g.Style(), OMASK: b.OutMask != nil}
	if b.OutMask != nil {
		if err := wantShape(op, "output mask", b.OutMask, cw.Cin, h, w); err != nil {
			return nil, err
		}
		if b.Accum {
			return nil, fmt.Errorf("ops: %s: an output mask with += would mask what dx held", op)
		}
	}
	if !g.Empty() {
		if b.Accum {
			return nil, fmt.Errorf("ops: %s: fused loss gradients are written with =", op)
		}
		if err := wantShape(op, "fused loss features", g.F, cw.Cin, h, w); err != nil {
			return nil, err
		}
		if g.F == b.DX {
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
	wa, err := cw.Buffer(LayoutKey{Layout: p.Layout(), Backward: true})
	if err != nil {
		return nil, err
	}
	cb := convBufs{src: b.DY, wa: wa, mask: b.Mask, dst: b.DX, omask: b.OutMask, FusedGrads: g}
	if p.Algo.Winograd() {
		return winogradStep(d, op, data, p, cb, b.Work)
	}
	return convStep(d, op, data, p, cb)
}

// Conv3x3FLOPs is the multiply-add count ×2 of one 3x3 conv pass.
func Conv3x3FLOPs(cin, cout, h, w int) float64 {
	return 2 * 9 * float64(cin) * float64(cout) * float64(h) * float64(w)
}
