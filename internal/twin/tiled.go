package twin

import (
	"fmt"

	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// This file: Loss.Eval computed tile by tile (plan.Tiles), the float64
// statement of exact spatial tiling (plan/tiling.go). It must equal Eval
// to rounding; the GPU's tiled iteration is checked against it.

// EvalTiled returns what Eval does, the losses [total, content, style, tv]
// and d total/dx, computed on the tiles of x:
//   - the first pass runs each tile's crop forward and sums, over the
//     positions it owns, the content loss's squares and each style
//     layer's F Fᵀ: the Gram matrices G = Σ_tiles F Fᵀ / m (m the whole
//     layer's positions);
//   - the style losses and dL/dG come from the global G;
//   - the second pass runs each tile's backward from the loss gradients
//     at its owned positions alone (zero elsewhere), and adds its crop's
//     dL/dx into the whole image's;
//   - the TV loss, which crosses tiles, is computed on the whole image.
func (L *Loss) EvalTiled(x []float64, tiles []plan.Tile) ([4]float64, []float64, error) {
	m := L.Meta
	var loss [4]float64
	h, w := m.ContentHW[0], m.ContentHW[1]
	if len(x) != 3*h*w {
		return loss, nil, fmt.Errorf("twin: image has %d values, want 3x%dx%d", len(x), h, w)
	}
	wc := m.ContentWeight / float64(len(m.ContentLayers))
	ws := m.StyleWeight / float64(len(m.StyleLayers))
	// The whole image's layer shapes: a pass over a small image would do,
	// but the sizes follow from the table.
	shape := func(layer string) (c, lh, lw, pools int, err error) {
		q, err := vgg.Index(layer)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		c, lh, lw = 3, h, w
		for i := 0; i <= q; i++ {
			if vgg.Table[i].Pool {
				lh, lw, pools = lh/2, lw/2, pools+1
			} else {
				c = L.Trunk.convs[vgg.Table[i].Conv].cout
			}
		}
		return c, lh, lw, pools, nil
	}

	// The first pass.
	passes := make([]*Pass, len(tiles))
	sums := map[string][]float64{} // Σ F Fᵀ over owned positions
	for _, l := range m.StyleLayers {
		c, _, _, _, err := shape(l)
		if err != nil {
			return loss, nil, err
		}
		sums[l] = make([]float64, c*c)
	}
	for ti, t := range tiles {
		ps, err := L.Trunk.Forward(crop(x, w, t.Crop), t.Crop.H(), t.Crop.W(), L.Deepest)
		if err != nil {
			return loss, nil, fmt.Errorf("twin: tile %d (%s): %w", ti, t.Crop, err)
		}
		passes[ti] = ps
		for _, l := range m.ContentLayers {
			c, lh, lw, pools, _ := shape(l)
			f, _ := ps.Act(l)
			sh, _ := ps.Shape(l)
			own, ox, oy := t.Owned(pools, h, w)
			for ch := 0; ch < c; ch++ {
				for y := own.Y0; y < own.Y1; y++ {
					for xx := own.X0; xx < own.X1; xx++ {
						d := f[(ch*sh[1]+y)*sh[2]+xx] - L.P[l][(ch*lh+y+oy)*lw+xx+ox]
						loss[1] += wc * d * d / float64(c*lh*lw)
					}
				}
			}
		}
		for _, l := range m.StyleLayers {
			c, _, _, pools, _ := shape(l)
			f, _ := ps.Act(l)
			sh, _ := ps.Shape(l)
			own, _, _ := t.Owned(pools, h, w)
			s := sums[l]
			for i := 0; i < c; i++ {
				for j := 0; j < c; j++ {
					v := 0.0
					for y := own.Y0; y < own.Y1; y++ {
						for xx := own.X0; xx < own.X1; xx++ {
							v += f[(i*sh[1]+y)*sh[2]+xx] * f[(j*sh[1]+y)*sh[2]+xx]
						}
					}
					s[i*c+j] += v
				}
			}
		}
	}
	// The style losses and dL/dG (StyleLoss's, from the global G).
	dG := map[string][]float64{}
	for _, l := range m.StyleLayers {
		c, lh, lw, _, _ := shape(l)
		mm, cc := float64(lh*lw), float64(c*c)
		dg := make([]float64, c*c)
		for i, s := range sums[l] {
			d := s/mm - L.A[l][i]
			loss[2] += ws * d * d / cc
			dg[i] = 2 * ws * d / cc
		}
		dG[l] = dg
	}
	if m.TVWeight != 0 {
		loss[3], _ = TVLoss(x, 3, h, w, m.TVWeight)
	}
	loss[0] = loss[1] + loss[2] + loss[3]

	// The second pass.
	dx := make([]float64, 3*h*w)
	for ti, t := range tiles {
		ps := passes[ti]
		taps := map[string][][]float64{}
		for _, l := range m.ContentLayers {
			c, lh, lw, pools, _ := shape(l)
			f, _ := ps.Act(l)
			sh, _ := ps.Shape(l)
			own, ox, oy := t.Owned(pools, h, w)
			g := make([]float64, len(f))
			for ch := 0; ch < c; ch++ {
				for y := own.Y0; y < own.Y1; y++ {
					for xx := own.X0; xx < own.X1; xx++ {
						i := (ch*sh[1]+y)*sh[2] + xx
						g[i] = 2 * wc * (f[i] - L.P[l][(ch*lh+y+oy)*lw+xx+ox]) / float64(c*lh*lw)
					}
				}
			}
			taps[l] = append(taps[l], g)
		}
		for _, l := range m.StyleLayers {
			c, lh, lw, pools, _ := shape(l)
			f, _ := ps.Act(l)
			sh, _ := ps.Shape(l)
			own, _, _ := t.Owned(pools, h, w)
			dg, mm := dG[l], float64(lh*lw)
			g := make([]float64, len(f))
			for i := 0; i < c; i++ {
				for j := 0; j < c; j++ {
					coef := (dg[i*c+j] + dg[j*c+i]) / mm
					for y := own.Y0; y < own.Y1; y++ {
						for xx := own.X0; xx < own.X1; xx++ {
							g[(i*sh[1]+y)*sh[2]+xx] += coef * f[(j*sh[1]+y)*sh[2]+xx]
						}
					}
				}
			}
			taps[l] = append(taps[l], g)
		}
		d, err := ps.Backward(taps)
		if err != nil {
			return loss, nil, err
		}
		addCrop(dx, w, h, d, t.Crop)
	}
	if m.TVWeight != 0 {
		_, g := TVLoss(x, 3, h, w, m.TVWeight)
		for i := range dx {
			dx[i] += g[i]
		}
	}
	return loss, dx, nil
}

// crop copies r out of the planar (3,·,w) image x.
func crop(x []float64, w int, r plan.Rect) []float64 {
	out := make([]float64, 0, 3*r.W()*r.H())
	h := len(x) / (3 * w)
	for c := 0; c < 3; c++ {
		for y := r.Y0; y < r.Y1; y++ {
			row := (c*h + y) * w
			out = append(out, x[row+r.X0:row+r.X1]...)
		}
	}
	return out
}

// addCrop adds d, a (3, r.H, r.W) gradient of the crop r, into dx:
// (3,h,w).
func addCrop(dx []float64, w, h int, d []float64, r plan.Rect) {
	i := 0
	for c := 0; c < 3; c++ {
		for y := r.Y0; y < r.Y1; y++ {
			row := (c*h + y) * w
			for xx := r.X0; xx < r.X1; xx++ {
				dx[row+xx] += d[i]
				i++
			}
		}
	}
}
