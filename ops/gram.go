package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// gramMaxChunk bounds the values of K one workgroup of a Gram sums.
const gramMaxChunk = 8192

// GramPlan chooses the tile (within l, as ChooseTileFor does for the
// conv) and the split-K of a C×C Gram matrix over k = h*w values: the
// number of slices and the values per slice (a multiple of TK). K is
// split into slices of at most gramMaxChunk values, and further until
// tiles × slices reaches l.MinTiles (a 64-channel Gram is one tile: the
// GPU's parallelism has to come from K), within minSplitChunk values per
// slice and maxSplitBytes of partial sums.
func GramPlan(l TileLimits, c, k int) (t Tile, slices, chunk int) {
	t = ChooseTileFor(l, c, c)
	s := max(ceilDiv(k, gramMaxChunk), ceilDiv(l.MinTiles, t.tiles(c, c)), 1)
	s = min(s, max(k/minSplitChunk, 1), max(maxSplitBytes/(4*c*c), 1))
	chunk = ceilDiv(ceilDiv(k, s), t.TK) * t.TK
	return t, ceilDiv(k, chunk), chunk
}

type gramData struct {
	tileData
	C, K, S, KCHUNK int
	SCALE           float64
}

// NewGram computes G = F Fᵀ / (h*w), the seed's normalisation, with a
// split-K GEMM whose slices a second dispatch sums (written with =).
//
//	f: (C,h,w)  g: (C,C)
func NewGram(d *gpu.Device, f, g *gpu.Buffer) (*Step, error) {
	const op = "gram"
	c, h, w, err := chw(op, "f", f)
	if err != nil {
		return nil, err
	}
	if err := wantShape(op, "g", g, c, c); err != nil {
		return nil, err
	}
	k := h * w
	t, slices, chunk := GramPlan(LimitsOf(d), c, k)
	data := gramData{tileData: t.data(true, true), C: c, K: k, S: slices, KCHUNK: chunk, SCALE: 1 / float64(k)}
	s := &Step{Name: op}
	dst := g
	if slices > 1 {
		if dst, err = d.NewBuffer(op+".slices", gpu.F32, slices, c, c); err != nil {
			return nil, err
		}
		s.own = append(s.own, dst)
	}
	b, err := bind(d, op+".partial", "gram.wgsl", "partial", data, acc(gpu.In, gpu.Out), f, dst)
	if err != nil {
		s.Release()
		return nil, err
	}
	if err := s.addGrid(d, b, slices*t.tiles(c, c)); err != nil {
		b.Release()
		s.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	if slices > 1 {
		rd := reduceData{Entry: "slices", N: c * c, S: slices, SCALE: 1 / float64(k)}
		b2, err := bind(d, op+".slices", "reduce.wgsl", "slices", rd, acc(gpu.In, gpu.Out), dst, g)
		if err != nil {
			s.Release()
			return nil, err
		}
		s.add1D(b2, c*c)
	}
	return s, nil
}
