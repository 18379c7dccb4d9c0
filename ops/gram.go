package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// gramMaxChunk bounds the values of K one workgroup of a Gram sums.
const gramMaxChunk = 8192

// GramPlan is how a Gram matrix runs: the GEMM tile, and Split slices of
// its K = h·w reduction of Chunk values each (a multiple of TK). With
// Split > 1 the slices write partial Grams that a second dispatch sums in
// a fixed order.
type GramPlan struct {
	Tile         Tile
	Split, Chunk int
}

// String renders the plan as its tile and split.
func (p GramPlan) String() string { return fmt.Sprintf("%v split %dx%d", p.Tile, p.Split, p.Chunk) }

// Covers says whether p can run a Gram over k values: a register tile
// square (it computes the triangle), K split into slices of a multiple of
// the tile's K step that cover k exactly.
func (p GramPlan) Covers(k int) error {
	t := p.Tile
	if t.Reg && t.TM != t.TN {
		return fmt.Errorf("ops: a register tile for the Gram's triangle must be square, not %v", t)
	}
	if p.Split < 1 || t.TK <= 0 || p.Chunk <= 0 || p.Chunk%t.TK != 0 || ceilDiv(k, p.Chunk) != p.Split {
		return fmt.Errorf("ops: plan %v does not split K = %d into slices of a multiple of TK", p, k)
	}
	return nil
}

// ChooseGramPlan chooses the tile (within l, as ChooseTileFor does for
// the conv) and the split-K of a C×C Gram matrix over k = h*w values. K
// is split into slices of at most gramMaxChunk values, and further until
// tiles × slices reaches l.MinTiles (a 64-channel Gram is one tile: the
// GPU's parallelism has to come from K), within minSplitChunk values per
// slice and maxSplitBytes of partial sums.
func ChooseGramPlan(l TileLimits, c, k int) GramPlan {
	t := ChooseTileFor(l, c, c)
	if l.Registers {
		t = RegTile(8, 8, 8, 8) // 64×64 tiles, the upper triangle of them
	}
	s := max(ceilDiv(k, gramMaxChunk), ceilDiv(l.MinTiles, gramTiles(t, c)), 1)
	s = min(s, max(k/minSplitChunk, 1), max(maxSplitBytes/(4*c*c), 1))
	chunk := ceilDiv(ceilDiv(k, s), t.TK) * t.TK
	return GramPlan{Tile: t, Split: ceilDiv(k, chunk), Chunk: chunk}
}

// GramScratch is the scratch a Gram with plan p over C channels
// allocates: the slices' partial Grams (Split,C,C) when K is split.
func GramScratch(p GramPlan, c int) []gpu.Spec {
	if p.Split <= 1 {
		return nil
	}
	return []gpu.Spec{gpu.F32Spec("gram.slices", p.Split, c, c)}
}

// gramTiles is how many tiles a Gram of C channels computes with tile t:
// every tile with workgroup memory, those on and above the diagonal with
// register tiles (which must be square).
func gramTiles(t Tile, c int) int {
	if t.Reg {
		n := ceilDiv(c, t.TM)
		return n * (n + 1) / 2
	}
	return t.tiles(c, c)
}

type gramData struct {
	tileData
	decl
	Entry           string
	C, K, S, KCHUNK int
	SCALE           float64
	Pairs           int // register tiles: the tiles on and above the diagonal
}

// NewGram computes G = F Fᵀ / (h*w), the seed's normalisation, with the
// heuristic plan (ChooseGramPlan), for tests and benchmarks (the engine
// passes its plan's to NewGramPlan).
//
//	f: (C,h,w)  g: (C,C)
func NewGram(d *gpu.Device, f, g *gpu.Buffer) (*Step, error) {
	if f == nil || len(f.Shape) != 3 {
		return NewGramPlan(d, f, g, GramPlan{})
	}
	return NewGramPlan(d, f, g, ChooseGramPlan(LimitsOf(d), f.Shape[0], f.Shape[1]*f.Shape[2]))
}

// NewGramPlan computes G = F Fᵀ / (h*w) with plan p: a split-K GEMM whose
// slices a second dispatch sums (written with =).
//
//	f: (C,h,w)  g: (C,C)
func NewGramPlan(d *gpu.Device, f, g *gpu.Buffer, p GramPlan) (*Step, error) {
	const op = "gram"
	c, h, w, err := chw(op, "f", f)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "g", g, c, c); err != nil {
		return nil, err
	}
	k := h * w
	t := p.Tile
	if err := t.Check(LimitsOf(d)); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if err := p.Covers(k); err != nil {
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	data := gramData{tileData: t.data(true, true), Entry: "partial", C: c, K: k, S: p.Split, KCHUNK: p.Chunk, SCALE: 1 / float64(k),
		Pairs: gramTiles(t, c)}
	file := "gram.wgsl"
	if t.Reg {
		file = "gram_reg.wgsl"
	}
	s := &Step{Name: op}
	dst := g
	if sc := GramScratch(p, c); len(sc) > 0 {
		if dst, err = d.Alloc(sc[0]); err != nil {
			return nil, err
		}
		s.own = append(s.own, dst)
	}
	b, err := bindSlots(d, op+".partial", file, "partial", &data, slots{ro("f", f, "F: (C,M)"), rw("out", dst, "G: (C,C), or the slices (S,C,C)")})
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, b, p.Split*gramTiles(t, c)); err != nil {
		b.Release()
		s.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if p.Split > 1 {
		rd := reduceData{Entry: "slices", N: c * c, S: p.Split, SCALE: 1 / float64(k)}
		b2, err := bindSlots(d, op+".slices", "reduce.wgsl", "slices", &rd, slots{ro("part", dst, "(S,C,C)"), rw("out", g, "G: (C,C)")})
		if err != nil {
			s.Release()
			return nil, err
		}
		s.add1D(b2, c*c)
	}
	return s, nil
}
