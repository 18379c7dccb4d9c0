package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Rect is a rectangle [X0,X1)×[Y0,Y1) of positions and an offset (OX,OY)
// between two tensors' coordinates, for Take and Put. It mirrors
// rect.wgsl's params uniform.
type Rect struct {
	X0 uint32 `wgsl:"x0"`
	Y0 uint32 `wgsl:"y0"`
	X1 uint32 `wgsl:"x1"`
	Y1 uint32 `wgsl:"y1"`
	OX uint32 `wgsl:"ox"`
	OY uint32 `wgsl:"oy"`
	_  uint32
	_  uint32
}

type rectData struct {
	decl
	Entry             string
	C, HS, WS, HD, WD int
	ACCUM             bool
}

// RectOp is a Take or a Put; SetRect moves it to another rectangle
// between iterations.
type RectOp struct {
	Step
	params *gpu.Buffer
	r      Rect
	src    [3]int // (C,HS,WS)
	dst    [3]int // (C,HD,WD)
	take   bool
}

// NewTake records dst = src at the offset inside r, 0 elsewhere:
//
//	dst[c,y,x] = src[c, y+OY, x+OX] for (x,y) in r, else 0
//
// with dst: (C,HD,WD) and src: (C,HS,WS), for exact tiling: cutting a
// tile's crop out of the whole image (r the whole crop) or the positions
// a tile owns out of its own or the whole's activations (r the owned
// positions).
func NewTake(d *gpu.Device, src, dst *gpu.Buffer, r Rect) (*RectOp, error) {
	return newRect(d, "take", src, dst, r, false)
}

// NewPut records, for (x,y) in r, dst[c, y+OY, x+OX] = src[c,y,x] (+=
// with accum), with src: (C,HS,WS) and dst: (C,HD,WD): a tile's owned
// activations into the whole's (=), or its crop's gradient into the
// whole image's (+=).
func NewPut(d *gpu.Device, src, dst *gpu.Buffer, r Rect, accum bool) (*RectOp, error) {
	return newRect(d, "put", src, dst, r, accum)
}

func newRect(d *gpu.Device, entry string, src, dst *gpu.Buffer, r Rect, accum bool) (*RectOp, error) {
	op := "rect." + entry
	c, hs, ws, err := chw(op, "src", src)
	if err != nil {
		return nil, err
	}
	cd, hd, wd, err := chw(op, "dst", dst)
	if err != nil {
		return nil, err
	}
	if cd != c {
		return nil, fmt.Errorf("ops: %s: src has %d channels, dst %d", op, c, cd)
	}
	o := &RectOp{Step: Step{Name: op}, src: [3]int{c, hs, ws}, dst: [3]int{c, hd, wd}, take: entry == "take"}
	if err := o.check(r); err != nil {
		return nil, err
	}
	p, err := d.NewParams(op+".params", r)
	if err != nil {
		return nil, err
	}
	o.params, o.r = p, r
	o.own = append(o.own, p)
	data := rectData{Entry: entry, C: c, HS: hs, WS: ws, HD: hd, WD: wd, ACCUM: accum}
	b, err := bindSlots(d, op, "rect.wgsl", entry, &data, slots{
		ro("src", src, "(C,HS,WS)"), rw("dst", dst, "(C,HD,WD)"), uni("params", p, Rect{})})
	if err != nil {
		o.Release()
		return nil, err
	}
	n := c * hs * ws
	if o.take {
		n = c * hd * wd
	}
	o.add1D(b, n)
	return o, nil
}

// check reports whether r and its offset stay inside both tensors: r in
// the coordinates of the smaller side (dst for Take, src for Put), and r
// moved by the offset in the other's.
func (o *RectOp) check(r Rect) error {
	in, out := o.dst, o.src // Take: r in dst, offset into src
	if !o.take {
		in, out = o.src, o.dst
	}
	if r.X0 > r.X1 || r.Y0 > r.Y1 || int(r.X1) > in[2] || int(r.Y1) > in[1] ||
		r.X1 > r.X0 && (int(r.X1+r.OX) > out[2] || int(r.Y1+r.OY) > out[1]) {
		return fmt.Errorf("ops: %s: rectangle [%d,%d)x[%d,%d) offset (%d,%d) leaves a %dx%d or %dx%d tensor",
			o.Name, r.X0, r.X1, r.Y0, r.Y1, r.OX, r.OY, in[2], in[1], out[2], out[1])
	}
	return nil
}

// SetRect moves the op to another rectangle for the iterations submitted
// from now on (a queue write, ordered before later submissions).
func (o *RectOp) SetRect(r Rect) error {
	if err := o.check(r); err != nil {
		return err
	}
	if err := o.params.SetParams(r); err != nil {
		return err
	}
	o.r = r
	return nil
}
