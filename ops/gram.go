package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// GramSplit chooses the split-K of a Gram matrix over k = h*w values:
// the number of slices and the values per slice (a multiple of the tile's TK).
func GramSplit(t Tile, k int) (slices, chunk int) {
	slices = min(max(ceilDiv(k, 2048), 1), 64)
	chunk = ceilDiv(ceilDiv(k, slices), t.TK) * t.TK
	return ceilDiv(k, chunk), chunk
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
	t := ChooseTile(c, c)
	slices, chunk := GramSplit(t, k)
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
