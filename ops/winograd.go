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

type winoData struct {
	decl
	Entry                                   string
	KC, GM, H, W                            int
	MASK, BIAS, RELU, CONTENT, OMASK, ACCUM bool
}

type gemmRegData struct {
	decl
	BATCH, GM, KC, GN, RM, RN, TX, TY int
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
	// The input transform.
	in := winoData{Entry: "input", KC: data.KC, H: data.H, W: data.W, MASK: data.MASK}
	sl := slots{ro("src", b.src, "(KC,H,W)")}
	if data.MASK {
		sl = append(sl, ro("mask", b.mask, "(KC,H,W)"))
	}
	bi, err := bindSlots(d, op+".winograd.input", "winograd.wgsl", "input", &in, append(sl, rw("v", ws.V, "V: (16,KC,T)")))
	if err != nil {
		return fail(err)
	}
	s.add1D(bi, data.KC*tiles)
	// The 16 GEMMs M[p] = U[p]·V[p].
	g := gemmRegData{BATCH: 16, GM: data.GM, KC: data.KC, GN: tiles, RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY}
	bg, err := bindSlots(d, op+".winograd.gemm", "gemm_reg.wgsl", "gemm", &g, slots{
		ro("am", b.wa, "U: (16,GM,KC)"), ro("bm", ws.V, "V: (16,KC,T)"), rw("cm", ws.M, "M: (16,GM,T)")})
	if err != nil {
		return fail(err)
	}
	if err := s.addGrid(d, bg, 16*t.tiles(data.GM, tiles)); err != nil {
		bg.Release()
		return fail(fmt.Errorf("ops: %s: %w", op, err))
	}
	// The output transform and the epilogue; with a style term the
	// output mask waits for it.
	out := winoData{Entry: "output", GM: data.GM, H: data.H, W: data.W, BIAS: data.BIAS, RELU: data.RELU,
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
	bo, err := bindSlots(d, op+".winograd.output", "winograd.wgsl", "output", &out, os)
	if err != nil {
		return fail(err)
	}
	s.add1D(bo, data.GM*tiles)
	if !data.STYLE {
		return s, nil
	}
	// The style term, + s·(G−A)·F, then the output mask.
	sd := styleAddData{C: data.GM, N: data.H * data.W, RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY, OMASK: data.OMASK}
	ss := slots{ro("gram", b.G, "G: (C,C)"), ro("sty", b.A, "A: (C,C)"), ro("feat", b.F, "F: (C,N)")}
	if data.OMASK {
		ss = append(ss, ro("omask", b.omask, "(C,N)"))
	}
	ss = append(ss, rw("dst", b.dst, "dx: (C,N)"), uni("sparams", b.StyleParams, lossParams{}))
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

type styleAddData struct {
	decl
	C, N, RM, RN, TX, TY int
	OMASK                bool
}
