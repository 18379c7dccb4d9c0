package main

import "math"

// rect is x0, y0, x1, y1 in framebuffer pixels.
type rect [4]float64

func (r rect) w() float64 { return r[2] - r[0] }
func (r rect) h() float64 { return r[3] - r[1] }

func (r rect) contains(x, y float64) bool {
	return x >= r[0] && x < r[2] && y >= r[1] && y < r[3]
}

// layout places everything in a framebuffer: the image area on the left,
// the sidebar on the right with the content thumbnail, the style
// thumbnails (a row of up to four, then more rows) and the HUD below them.
type layout struct {
	fbW, fbH float64
	scale    float64 // content scale (HiDPI)
	area     rect    // where the image is drawn
	content  rect    // content thumbnail box
	styles   []rect  // style thumbnail boxes
	hud      rect    // where the HUD text starts (its height is the text's)
	sideW    float64
}

const (
	sidebarW = 224 // logical pixels: 30 characters of the 7-pixel font and margins
	margin   = 8
)

func newLayout(fbW, fbH int, scale float64, nStyles int) layout {
	if scale <= 0 {
		scale = 1
	}
	l := layout{fbW: float64(fbW), fbH: float64(fbH), scale: scale}
	l.sideW = math.Min(sidebarW*scale, math.Max(l.fbW/2, 1))
	side := l.fbW - l.sideW
	l.area = rect{0, 0, side, l.fbH}
	m := margin * scale
	inner := l.sideW - 2*m
	y := m
	l.content = rect{side + m, y, side + m + inner, y + 84*scale}
	y = l.content[3] + m
	perRow := min(max(nStyles, 1), 4)
	bw := (inner - float64(perRow-1)*m) / float64(perRow)
	bh := 60 * scale
	for i := 0; i < nStyles; i++ {
		r, c := i/perRow, i%perRow
		x := side + m + float64(c)*(bw+m)
		yy := y + float64(r)*(bh+m)
		l.styles = append(l.styles, rect{x, yy, x + bw, yy + bh})
	}
	rows := (nStyles + perRow - 1) / perRow
	y += float64(rows) * (bh + m)
	l.hud = rect{side + m, y, side + m + inner, l.fbH - m}
	return l
}

// fit returns the largest w×h rectangle of the image's aspect inside box,
// centred.
func fit(box rect, w, h int) rect {
	if w <= 0 || h <= 0 || box.w() <= 0 || box.h() <= 0 {
		return box
	}
	s := math.Min(box.w()/float64(w), box.h()/float64(h))
	iw, ih := float64(w)*s, float64(h)*s
	x0 := box[0] + (box.w()-iw)/2
	y0 := box[1] + (box.h()-ih)/2
	return rect{x0, y0, x0 + iw, y0 + ih}
}

// view is the zoom and pan of the image inside its area.
type view struct {
	zoom     float64 // 1: the image fits the area
	panX     float64 // offset of the image's centre from the area's, framebuffer pixels
	panY     float64
	fitted   rect // the image at zoom 1, no pan (set by imageRect)
	lastRect rect
}

// imageRect is where the image is drawn: fitted to the area with its
// aspect kept, scaled by the zoom about the area's centre, moved by the pan.
func (v *view) imageRect(area rect, w, h int) rect {
	if v.zoom <= 0 {
		v.zoom = 1
	}
	f := fit(area, w, h)
	v.fitted = f
	cx := (area[0]+area[2])/2 + v.panX
	cy := (area[1]+area[3])/2 + v.panY
	hw, hh := f.w()*v.zoom/2, f.h()*v.zoom/2
	v.lastRect = rect{cx - hw, cy - hh, cx + hw, cy + hh}
	return v.lastRect
}

// zoomAt multiplies the zoom by factor keeping the image point under
// (x, y) where it is.
func (v *view) zoomAt(area rect, w, h int, x, y, factor float64) {
	r := v.imageRect(area, w, h)
	nz := math.Min(math.Max(v.zoom*factor, 0.1), 64)
	factor = nz / v.zoom
	// The point (x, y) sits at fraction u of the image; keep it there.
	ux := (x - r[0]) / r.w()
	uy := (y - r[1]) / r.h()
	nw, nh := r.w()*factor, r.h()*factor
	nx0, ny0 := x-ux*nw, y-uy*nh
	v.zoom = nz
	v.panX = nx0 + nw/2 - (area[0]+area[2])/2
	v.panY = ny0 + nh/2 - (area[1]+area[3])/2
}

func (v *view) reset() { v.zoom, v.panX, v.panY = 1, 0, 0 }
