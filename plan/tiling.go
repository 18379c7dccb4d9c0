package plan

import (
	"fmt"

	"github.com/stylize/stylize/vgg"
)

// This file: the geometry of exact spatial tiling. An image too large for
// the adapter runs through the network in tiles; each tile's network input
// (its crop) is the region it owns (its core) and a halo around it, so
// that the activations at the positions it owns equal those of the whole
// image. The losses are sums over positions, so each is the sum of the
// tiles' sums over the positions they own, and the Gram matrices the sum
// of their owned parts (the first pass). The gradient of each tile's
// owned losses flows back through its crop only (the second pass, with
// the global dL/dG), and the tiles' gradients add up to dL/dx.
//
// Why a halo of the receptive field's radius suffices: a position p of a
// layer after k pools depends only on the image pixels of its receptive
// field, its 2^k×2^k block widened by R on each side (R is Halo's), and so
// does every activation on the way (they lie inside that field too). A
// crop that holds the field of every owned position computes them as the
// whole image does, padding included: where the crop meets the image's
// border it pads with the same zeros. Its backward, started from the owned
// positions' loss gradients alone, then reaches only pixels of those
// fields through exact activations, ReLU masks and pool winners. Crops
// start at multiples of 2^pools, so that their pooling windows are the
// image's.

// Rect is a rectangle of pixels, [X0,X1)×[Y0,Y1).
type Rect struct{ X0, Y0, X1, Y1 int }

// W and H are the rectangle's sides.
func (r Rect) W() int { return r.X1 - r.X0 }
func (r Rect) H() int { return r.Y1 - r.Y0 }

func (r Rect) String() string { return fmt.Sprintf("[%d,%d)x[%d,%d)", r.X0, r.X1, r.Y0, r.Y1) }

// Tile is one tile of an image: the Core it owns and the Crop its network
// runs on (the core and its halo, cut to the image).
type Tile struct {
	Core, Crop Rect
}

// Halo returns the receptive-field radius R of layer deepest (any naming
// scheme) in image pixels, the halo a tile needs rounded up to a multiple
// of align, and align = 2^k for the k pools up to deepest. Each 3×3 conv
// after j pools widens the field by 2^j on each side; a 2×2 pool of
// stride 2 only joins aligned blocks.
func Halo(deepest string) (r, halo, align int, err error) {
	q, err := vgg.Index(deepest)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("plan: %w", err)
	}
	align = 1
	for i := 0; i <= q; i++ {
		if vgg.Table[i].Pool {
			align *= 2
		} else {
			r += align
		}
	}
	return r, (r + align - 1) / align * align, align, nil
}

// Tiles splits an h×w image into tiles whose cores have side core (rounded
// up to a multiple of Halo's align; the last in each row and column takes
// what is left) and whose crops hold the core and Halo's halo. All crops
// have one size, so that one network serves every tile: a crop may reach
// further than its halo, which changes nothing it owns. A crop's side is
// the least at least core+2·halo that leaves the image's remainder modulo
// align at the crop's end (or the image's side, when smaller), so that a
// crop pushed against the image's far border still starts aligned.
func Tiles(h, w, core int, deepest string) ([]Tile, error) {
	_, halo, align, err := Halo(deepest)
	if err != nil {
		return nil, err
	}
	if core < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("plan: tiles of side %d for a %dx%d image", core, w, h)
	}
	core = (core + align - 1) / align * align
	side := func(full int) int {
		s := core + 2*halo
		s += ((full-s)%align + align) % align // s ≡ full (mod align)
		return min(s, full)
	}
	sw, sh := side(w), side(h)
	place := func(c0, s, full int) int {
		return min(max(c0-halo, 0), full-s) // aligned: c0-halo is, and so is full-s
	}
	var out []Tile
	for y0 := 0; y0 < h; y0 += core {
		for x0 := 0; x0 < w; x0 += core {
			c := Rect{x0, y0, min(x0+core, w), min(y0+core, h)}
			cx, cy := place(c.X0, sw, w), place(c.Y0, sh, h)
			out = append(out, Tile{Core: c, Crop: Rect{cx, cy, cx + sw, cy + sh}})
		}
	}
	return out, nil
}

// Owned returns the positions of a layer after pools pools that tile t
// owns, in the coordinates of the tile's own activations at that layer
// (its crop's), and the offset (dx, dy) that takes them to the whole
// image's. The tiles' owned positions partition the image's: a core's
// end at the image's border owns up to the image's floor(side/2^pools).
func (t Tile) Owned(pools, h, w int) (owned Rect, dx, dy int) {
	s := 1 << pools
	span := func(c0, c1, crop0, full int) (int, int) {
		hi := c1 / s
		if c1 == full {
			hi = full / s
		}
		return c0/s - crop0/s, hi - crop0/s
	}
	owned.X0, owned.X1 = span(t.Core.X0, t.Core.X1, t.Crop.X0, w)
	owned.Y0, owned.Y1 = span(t.Core.Y0, t.Core.Y1, t.Crop.Y0, h)
	return owned, t.Crop.X0 / s, t.Crop.Y0 / s
}
