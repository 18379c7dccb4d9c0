package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Workspace is where a Winograd pass keeps its transforms, V: (16, KC, T)
// and M: (16, GM, T) with T its 2×2 output tiles: scratch that the passes
// of a trunk share, since they run one after another, sized for the
// largest (WinogradScratch).
type Workspace struct{ V, M *gpu.Buffer }

// winogradTiles is the number of 2×2 output tiles of an h×w image.
func winogradTiles(h, w int) int { return ceilDiv(h, 2) * ceilDiv(w, 2) }

// WinogradScratch is the workspace a Winograd pass with kc input and gm
// output channels at h×w needs.
func WinogradScratch(kc, gm, h, w int) []gpu.Spec {
	t := winogradTiles(h, w)
	return []gpu.Spec{gpu.F32Spec("winograd.v", 16, kc, t), gpu.F32Spec("winograd.m", 16, gm, t)}
}

// winoData is what winograd.wgsl's template reads; winoParams its
// shapes (C is the input transform's KC, the output's GM).
type winoData struct {
	decl
	Entry                                   string
	MASK, BIAS, RELU, CONTENT, OMASK, ACCUM bool
}

type winoParams struct {
	H, W, TW, T, C uint32
	_, _, _        uint32
}

// gemmRegData is what gemm_reg.wgsl's template reads; gemmParams its
// shapes.
type gemmRegData struct {
	decl
	RM, RN, TX, TY int
}

type gemmParams struct {
	Batch, GM, KC, GN uint32
	TilesM            uint32 `wgsl:"tiles_m"`
	TilesN            uint32 `wgsl:"tiles_n"`
	_, _              uint32
}

// winogradStep builds a conv pass as Winograd F(2×2,3×3) (Lavin & Gray
// 2015): the input transform, 16 register-blocked GEMMs with the weights
// in LayoutWinograd2 (b.wa) and tile p.Tile, and the output transform,
// which applies the pass's epilogue (data's flags, as conv3x3.wgsl's). The
// transforms go to ws, or to a workspace the step allocates when ws.V is
// nil.
func winogradStep(d *gpu.Device, op string, data convData, p ConvPlan, b convBufs, ws Workspace) (*Step, error) {
	t := p.Tile
	if !t.Reg {
		return nil, fmt.Errorf("ops: %s: a Winograd plan's GEMMs need a register tile, not %v", op, t)
	}
	if err := t.Check(LimitsOf(d)); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if p.Split > 1 {
		return nil, fmt.Errorf("ops: %s: a Winograd plan does not split K", op)
	}
	tiles := winogradTiles(data.H, data.W)
	sc := WinogradScratch(data.KC, data.GM, data.H, data.W)
	s := &Step{Name: op + ".winograd"}
	if ws.V == nil || ws.M == nil {
		var err error
		if ws.V, err = d.Alloc(sc[0]); err != nil {
			return nil, err
		}
		s.own = append(s.own, ws.V)
		if ws.M, err = d.Alloc(sc[1]); err != nil {
			s.Release()
			return nil, err
		}
		s.own = append(s.own, ws.M)
	}
	if ws.V.DType != gpu.F32 || ws.V.Len() < gpu.Numel(sc[0].Shape) || ws.M.DType != gpu.F32 || ws.M.Len() < gpu.Numel(sc[1].Shape) {
		s.Release()
		return nil, fmt.Errorf("ops: %s: workspace %v, %v is smaller than %v, %v", op, ws.V, ws.M, sc[0], sc[1])
	}
	fail := func(err error) (*Step, error) {
		s.Release()
		return nil, err
	}
	// params makes a uniform of shapes that the step owns.
	params := func(name string, v any) (*gpu.Buffer, error) {
		b, err := d.NewParams(name, v)
		if err == nil {
			s.own = append(s.own, b)
		}
		return b, err
	}
	wp := winoParams{H: uint32(data.H), W: uint32(data.W), TW: uint32(ceilDiv(data.W, 2)), T: uint32(tiles), C: uint32(data.KC)}
	wpIn, err := params(op+".winograd.input.wp", wp)
	if err != nil {
		return fail(err)
	}
	wp.C = uint32(data.GM)
	wpOut, err := params(op+".winograd.output.wp", wp)
	if err != nil {
		return fail(err)
	}
	// The input transform.
	in := winoData{Entry: "input", MASK: data.MASK}
	sl := slots{ro("src", b.src, "(KC,H,W)")}
	if data.MASK {
		sl = append(sl, ro("mask", b.mask, "(KC,H,W)"))
	}
	bi, err := bindSlots(d, op+".winograd.input", "winograd.wgsl", "input", &in, append(sl, rw("v", ws.V, "V: (16,KC,T)"), uni("wp", wpIn, winoParams{})))
	if err != nil {
		return fail(err)
	}
	s.add1D(bi, data.KC*tiles)
	// The 16 GEMMs M[p] = U[p]·V[p].
	gp, err := params(op+".winograd.gemm.gp", gemmParams{Batch: 16, GM: uint32(data.GM), KC: uint32(data.KC), GN: uint32(tiles),
		TilesM: uint32(ceilDiv(data.GM, t.TM)), TilesN: uint32(ceilDiv(tiles, t.TN))})
	if err != nil {
		return fail(err)
	}
	g := gemmRegData{RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY}
	bg, err := bindSlots(d, op+".winograd.gemm", "gemm_reg.wgsl", "gemm", &g, slots{
		ro("am", b.wa, "U: (16,GM,KC)"), ro("bm", ws.V, "V: (16,KC,T)"), rw("cm", ws.M, "M: (16,GM,T)"), uni("gp", gp, gemmParams{})})
	if err != nil {
		return fail(err)
	}
	if err := s.addGrid(d, bg, 16*t.tiles(data.GM, tiles)); err != nil {
		bg.Release()
		return fail(fmt.Errorf("ops: %s: %w", op, err))
	}
	// The output transform and the epilogue; with a style term the
	// output mask waits for it.
	out := winoData{Entry: "output", BIAS: data.BIAS, RELU: data.RELU,
		CONTENT: data.CONTENT, OMASK: data.OMASK && !data.STYLE, ACCUM: data.ACCUM}
	os := slots{ro("mm", ws.M, "M: (16,GM,T)")}
	if data.BIAS {
		os = append(os, ro("bias", b.bias, "(GM)"))
	}
	if data.CONTENT {
		os = append(os, ro("feat", b.F, "F: (GM,H,W)"), ro("ptgt", b.P, "P: (GM,H,W)"))
	}
	if out.OMASK {
		os = append(os, ro("omask", b.omask, "(GM,H,W)"))
	}
	os = append(os, rw("dst", b.dst, "(GM,H,W)"))
	if data.CONTENT {
		os = append(os, uni("cparams", b.ContentParams, lossParams{}))
	}
	os = append(os, uni("wp", wpOut, winoParams{}))
	bo, err := bindSlots(d, op+".winograd.output", "winograd.wgsl", "output", &out, os)
	if err != nil {
		return fail(err)
	}
	s.add1D(bo, data.GM*tiles)
	if !data.STYLE {
		return s, nil
	}
	// The style term, + s·(G−A)·F, then the output mask.
	n := data.H * data.W
	ap, err := params(op+".winograd.style.ap", styleAddParams{C: uint32(data.GM), N: uint32(n), TilesN: uint32(ceilDiv(n, t.TN))})
	if err != nil {
		return fail(err)
	}
	sd := styleAddData{RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY, OMASK: data.OMASK}
	ss := slots{ro("gram", b.G, "G: (C,C)"), ro("sty", b.A, "A: (C,C)"), ro("feat", b.F, "F: (C,N)")}
	if data.OMASK {
		ss = append(ss, ro("omask", b.omask, "(C,N)"))
	}
	ss = append(ss, rw("dst", b.dst, "dx: (C,N)"), uni("sparams", b.StyleParams, lossParams{}), uni("ap", ap, styleAddParams{}))
	bs, err := bindSlots(d, op+".winograd.style", "style_add_reg.wgsl", "style_add", &sd, ss)
	if err != nil {
		return fail(err)
	}
	if err := s.addGrid(d, bs, t.tiles(data.GM, data.H*data.W)); err != nil {
		bs.Release()
		return fail(fmt.Errorf("ops: %s: %w", op, err))
	}
	return s, nil
}

// styleAddData is what style_add_reg.wgsl's template reads;
// styleAddParams its shapes.
type styleAddData struct {
	decl
	RM, RN, TX, TY int
	OMASK          bool
}

type styleAddParams struct {
	C, N   uint32
	TilesN uint32 `wgsl:"tiles_n"`
	_      uint32
}
