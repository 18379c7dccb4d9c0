package ops

import (
	"fmt"
	"strings"

	"github.com/stylize/stylize/gpu"
)

// Workspace is where a Winograd pass keeps its transforms, V: (n², KC, T)
// and M: (n², GM, T) with T its m×m output tiles: scratch that the passes
// of a trunk share, since they run one after another, sized for the
// largest (WinogradScratch).
type Workspace struct{ V, M *gpu.Buffer }

// WinogradScratch is the workspace a pass of Winograd algorithm a with
// kc input and gm output channels at h×w needs.
func WinogradScratch(a Algo, kc, gm, h, w int) []gpu.Spec {
	alg := winogradOf(a)
	t, np := alg.tiles(h, w), alg.points()
	return []gpu.Spec{gpu.F32Spec("winograd.v", np, kc, t), gpu.F32Spec("winograd.m", np, gm, t)}
}

// winoData is what winograd.wgsl's template reads; winoParams its
// shapes (C is the input transform's KC, the output's GM). Load and Code
// are the statements winogradAlg generates.
type winoData struct {
	decl
	Entry                                   string
	M                                       int
	Load, Code                              string
	MASK, BIAS, RELU, CONTENT, OMASK, ACCUM bool
}

// input fills d's Load and Code with alg's input transform.
func (d *winoData) input(alg winogradAlg) {
	var b strings.Builder
	for r := 0; r < alg.n; r++ {
		for s := 0; s < alg.n; s++ {
			fmt.Fprintf(&b, "  let d%d_%d = at(c, y0 + %d, x0 + %d);\n", r, s, r, s)
		}
	}
	d.M, d.Load = alg.m, b.String()
	d.Code = alg.inputCode(func(p int, v string) string { return fmt.Sprintf("  v[%du * KC * T + o] = %s;\n", p, v) })
}

// output fills d's Load and Code with alg's output transform.
func (d *winoData) output(alg winogradAlg) {
	var b strings.Builder
	for p := 0; p < alg.points(); p++ {
		fmt.Fprintf(&b, "  let m%d = mm[%du * GM * T + i];\n", p, p)
	}
	d.M, d.Load = alg.m, b.String()
	d.Code = alg.outputCode(func(i, j int, v string) string {
		return fmt.Sprintf("  put(m, %du * ty + %du, %du * tx + %du, %s);\n", alg.m, i, alg.m, j, v)
	})
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

// winogradStep builds a conv pass as Winograd F(m×m,3×3) (Lavin & Gray
// 2015), p.Algo's: the input transform, n² register-blocked GEMMs with the
// weights in p.Layout() (b.wa) and tile p.Tile, and the output transform,
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
	alg := winogradOf(p.Algo)
	np := alg.points()
	tiles := alg.tiles(data.H, data.W)
	sc := WinogradScratch(p.Algo, data.KC, data.GM, data.H, data.W)
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
	wp := winoParams{H: uint32(data.H), W: uint32(data.W), TW: uint32(ceilDiv(data.W, alg.m)), T: uint32(tiles), C: uint32(data.KC)}
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
	in.input(alg)
	sl := slots{ro("src", b.src, "(KC,H,W)")}
	if data.MASK {
		sl = append(sl, ro("mask", b.mask, "(KC,H,W)"))
	}
	bi, err := bindSlots(d, op+".winograd.input", "winograd.wgsl", "input", &in, append(sl, rw("v", ws.V, "V: (n²,KC,T)"), uni("wp", wpIn, winoParams{})))
	if err != nil {
		return fail(err)
	}
	s.add1D(bi, data.KC*tiles)
	// The n² GEMMs M[p] = U[p]·V[p].
	gp, err := params(op+".winograd.gemm.gp", gemmParams{Batch: uint32(np), GM: uint32(data.GM), KC: uint32(data.KC), GN: uint32(tiles),
		TilesM: uint32(ceilDiv(data.GM, t.TM)), TilesN: uint32(ceilDiv(tiles, t.TN))})
	if err != nil {
		return fail(err)
	}
	g := gemmRegData{RM: t.TM / t.TY, RN: t.TN / t.TX, TX: t.TX, TY: t.TY}
	bg, err := bindSlots(d, op+".winograd.gemm", "gemm_reg.wgsl", "gemm", &g, slots{
		ro("am", b.wa, "U: (n²,GM,KC)"), ro("bm", ws.V, "V: (n²,KC,T)"), rw("cm", ws.M, "M: (n²,GM,T)"), uni("gp", gp, gemmParams{})})
	if err != nil {
		return fail(err)
	}
	if err := s.addGrid(d, bg, np*t.tiles(data.GM, tiles)); err != nil {
		bg.Release()
		return fail(fmt.Errorf("ops: %s: %w", op, err))
	}
	// The output transform and the epilogue; with a style term the
	// output mask waits for it.
	out := winoData{Entry: "output", BIAS: data.BIAS, RELU: data.RELU,
		CONTENT: data.CONTENT, OMASK: data.OMASK && !data.STYLE, ACCUM: data.ACCUM}
	out.output(alg)
	os := slots{ro("mm", ws.M, "M: (n²,GM,T)")}
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
