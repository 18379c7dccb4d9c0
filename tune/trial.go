package tune

import (
	"math"
	"math/rand"
	"sort"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// gpuTrial runs one shape's candidates on the GPU, on random inputs made
// once, as the engine would: a forward pass with ReLU; a backward_input
// reading a premasked dy and writing through the ReLU mask of the layer
// below, with the fused style gradient where the pass has one; a Gram.
type gpuTrial struct {
	d     *gpu.Device
	l     plan.Limits
	s     Shape
	reps  int
	cands []Choice

	cw       *ops.ConvWeights
	in, dst  *gpu.Buffer // the pass's input and output
	omask    *gpu.Buffer
	style    *ops.StyleLoss
	feat, at *gpu.Buffer
	scalars  *gpu.Buffer
}

func randBuf(d *gpu.Device, name string, seed int64, lo, hi float32, shape ...int) (*gpu.Buffer, error) {
	b, err := d.NewBuffer(name, gpu.F32, shape...)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewSource(seed))
	v := make([]float32, b.Len())
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float32()
	}
	if err := b.Write(v); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// newGPUTrial allocates the shape's inputs and lists its candidates.
func newGPUTrial(d *gpu.Device, l plan.Limits, s Shape, reps int) (*gpuTrial, error) {
	t := &gpuTrial{d: d, l: l, s: s, reps: max(reps, 1)}
	var err error
	fail := func(e error) (*gpuTrial, error) {
		t.release()
		return nil, e
	}
	if g := s.Gram; g != nil {
		if t.in, err = randBuf(d, "tune.f", 1, 0, 1, g.C, 1, g.K); err != nil {
			return fail(err)
		}
		if t.dst, err = d.NewBuffer("tune.g", gpu.F32, g.C, g.C); err != nil {
			return fail(err)
		}
		t.cands = gramCandidates(l, *g)
		return t, nil
	}
	c := *s.Conv
	w := make([]float32, c.Cout*c.Cin*9)
	r := rand.New(rand.NewSource(2))
	for i := range w {
		w[i] = (r.Float32() - 0.5) / float32(c.Cin)
	}
	if t.cw, err = ops.NewConvWeights(d, "tune", w, make([]float32, c.Cout), c.Cout, c.Cin); err != nil {
		return fail(err)
	}
	m, kc := c.Cout, c.Cin
	if c.Backward {
		m, kc = c.Cin, c.Cout
	}
	if t.in, err = randBuf(d, "tune.in", 3, -1, 1, kc, c.H, c.W); err != nil {
		return fail(err)
	}
	if t.dst, err = d.NewBuffer("tune.out", gpu.F32, m, c.H, c.W); err != nil {
		return fail(err)
	}
	if c.Backward {
		if t.omask, err = randBuf(d, "tune.omask", 4, -1, 1, m, c.H, c.W); err != nil {
			return fail(err)
		}
		if c.Style {
			if t.feat, err = randBuf(d, "tune.f", 5, 0, 1, m, c.H, c.W); err != nil {
				return fail(err)
			}
			if t.at, err = randBuf(d, "tune.a", 6, 0, 1, m, m); err != nil {
				return fail(err)
			}
			if t.scalars, err = d.NewBuffer("tune.scalars", gpu.F32, 4); err != nil {
				return fail(err)
			}
			if t.style, err = ops.NewStyleLoss(d, t.feat, t.at, nil, t.scalars, 2, 1, false, false); err != nil {
				return fail(err)
			}
			if err := d.Record("tune.gram", t.style.Record); err != nil {
				return fail(err)
			}
		}
	}
	t.cands = convCandidates(l, c)
	return t, nil
}

func (t *gpuTrial) candidates() []Choice { return t.cands }

func (t *gpuTrial) refine(best Choice) []Choice {
	if best.Gram != nil {
		return refineGram(*t.s.Gram, *best.Gram)
	}
	return refineConv(t.l, *t.s.Conv, *best.Conv)
}

// build makes candidate c's step.
func (t *gpuTrial) build(c Choice) (*ops.Step, error) {
	if c.Gram != nil {
		return ops.NewGramPlan(t.d, t.in, t.dst, *c.Gram)
	}
	p := *c.Conv
	if !t.s.Conv.Backward {
		return ops.NewConv3x3ForwardWith(t.d, t.cw, ops.ConvForward{X: t.in, Y: t.dst, ReLU: true}, p)
	}
	b := ops.ConvBackward{DY: t.in, DX: t.dst, OutMask: t.omask}
	if t.style != nil {
		g, err := ops.FuseLosses(nil, t.style)
		if err != nil {
			return nil, err
		}
		b.Grads = g
	}
	return ops.NewConv3x3Backward(t.d, t.cw, b, p)
}

// run builds c, runs it once (compiling, warming up), reads its output,
// then times reps runs, each one command buffer waited for: the median.
func (t *gpuTrial) run(c Choice) ([]float32, float64, error) {
	st, err := t.build(c)
	if err != nil {
		return nil, 0, err
	}
	defer st.Release()
	// NaN first, so that a candidate that leaves outputs unwritten
	// disagrees with the reference instead of agreeing through what the
	// one before it wrote.
	if err := t.dst.Write(t.nans()); err != nil {
		return nil, 0, err
	}
	if err := t.d.Record("tune", st.Record); err != nil {
		return nil, 0, err
	}
	out, err := t.dst.Read()
	if err != nil {
		return nil, 0, err
	}
	ms := make([]float64, t.reps)
	for i := range ms {
		t0 := time.Now()
		if err := t.d.Record("tune", st.Record); err != nil {
			return nil, 0, err
		}
		if err := t.d.Poll(); err != nil {
			return nil, 0, err
		}
		ms[i] = float64(time.Since(t0)) / 1e6
	}
	sort.Float64s(ms)
	return out, ms[len(ms)/2], nil
}

// nans is a NaN for every output.
func (t *gpuTrial) nans() []float32 {
	v := make([]float32, t.dst.Len())
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}

func (t *gpuTrial) release() {
	if t.style != nil {
		t.style.Release()
	}
	for _, b := range []*gpu.Buffer{t.in, t.dst, t.omask, t.feat, t.at, t.scalars} {
		b.Release()
	}
	t.cw.Release()
}

// convCandidates lists the first stage of plans tried for conv pass c:
// the heuristic's, then register tiles and Winograd on a CPU adapter, or
// the workgroup-memory tiles elsewhere, each unsplit and within the
// adapter's limits. refineConv adds the split-K variants of the fastest.
// The lists are short because every candidate is a shader compile, which
// on lavapipe costs 0.15–1 s: about the time of the pass itself at 256².
func convCandidates(l plan.Limits, c plan.ConvPass) []Choice {
	h := plan.Heuristic{}.Conv(l, c)
	out := []Choice{convChoice(h)}
	seen := map[string]bool{h.String(): true}
	m, kc := convMK(c)
	add := func(p ops.ConvPlan) {
		if p.Tile.Check(l.Tile) != nil || seen[p.String()] {
			return
		}
		seen[p.String()] = true
		out = append(out, convChoice(p))
	}
	var tiles, wino []ops.Tile
	if l.Tile.Registers {
		for _, r := range [][4]int{{16, 16, 8, 2}, {16, 8, 8, 2}, {8, 16, 8, 2}, {16, 4, 4, 2}, {32, 8, 8, 1}} {
			tiles = append(tiles, ops.RegTile(min(r[0], m), r[1], r[2], r[3]))
		}
		wino = tiles[:2]
	} else {
		tiles = []ops.Tile{ops.Tile128x128, ops.Tile64x128, ops.Tile128x64, ops.Tile64x64, ops.TileN16, ops.TileN4,
			ops.RegTile(8, 8, 8, 8), ops.RegTile(4, 4, 16, 16)}
		wino = []ops.Tile{ops.RegTile(8, 8, 8, 8), ops.RegTile(4, 4, 16, 16)}
	}
	for _, t := range tiles {
		add(splitConv(t, c, 1))
	}
	for _, a := range []ops.Algo{ops.Winograd2, ops.Winograd4} {
		if m >= 4 && kc >= 4 && plan.WinogradFits(l, c, a) {
			for _, t := range wino {
				add(ops.ConvPlan{Algo: a, Tile: t})
			}
		}
	}
	return out
}

// refineConv lists the split-K variants of best, a direct plan, for
// conv pass c: splitting K gives a pass with few output tiles more
// workgroups to spread over the adapter's cores.
func refineConv(l plan.Limits, c plan.ConvPass, best ops.ConvPlan) []Choice {
	if best.Algo != ops.Direct {
		return nil
	}
	var out []Choice
	for _, s := range []int{2, 4, 8} {
		if p := splitConv(best.Tile, c, s); p.Split > 1 && p.Tile.Check(l.Tile) == nil {
			out = append(out, convChoice(p))
		}
	}
	return out
}

// convMK is pass c's GEMM rows (output channels) and input channels.
func convMK(c plan.ConvPass) (m, kc int) {
	if c.Backward {
		return c.Cin, c.Cout
	}
	return c.Cout, c.Cin
}

// splitConv is a direct plan with tile t that splits pass c's K into s
// chunks, each a multiple of the tile's K step.
func splitConv(t ops.Tile, c plan.ConvPass, s int) ops.ConvPlan {
	m, kc := convMK(c)
	k := 9 * kc
	if c.Style {
		k += m
	}
	chunk := (k + s - 1) / s
	chunk = (chunk + t.TK - 1) / t.TK * t.TK
	return ops.ConvPlan{Tile: t, Split: s, Chunk: chunk}.ForK(k)
}

// gramCandidates lists the first stage of plans tried for a Gram: the
// heuristic's, then the register triangle and the workgroup-memory tiles,
// unsplit. refineGram adds the splits of K of the fastest.
func gramCandidates(l plan.Limits, g GramShape) []Choice {
	h := plan.Heuristic{}.Gram(l.Tile, g.C, g.K)
	out := []Choice{gramChoice(h)}
	tiles := []ops.Tile{ops.RegTile(8, 8, 8, 8), ops.RegTile(16, 16, 4, 4), ops.RegTile(8, 8, 4, 4)}
	if !l.Tile.Registers {
		tiles = append(tiles, ops.Tile128x128, ops.Tile64x64)
	}
	for _, t := range tiles {
		if p := splitGram(t, g, 1); t.Check(l.Tile) == nil && p != h {
			out = append(out, gramChoice(p))
		}
	}
	return out
}

// refineGram lists best's tile at K split 2 to 32 ways: a Gram has few
// output tiles and a long K.
func refineGram(g GramShape, best ops.GramPlan) []Choice {
	var out []Choice
	for _, s := range []int{2, 4, 8, 16, 32} {
		if p := splitGram(best.Tile, g, s); p.Split > 1 {
			out = append(out, gramChoice(p))
		}
	}
	return out
}

// splitGram is a Gram plan with tile t that splits g's K into about s
// chunks, each a multiple of the tile's K step.
func splitGram(t ops.Tile, g GramShape, s int) ops.GramPlan {
	chunk := (g.K + s - 1) / s
	chunk = (chunk + t.TK - 1) / t.TK * t.TK
	return ops.GramPlan{Tile: t, Split: (g.K + chunk - 1) / chunk, Chunk: chunk}
}
