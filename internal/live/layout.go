package live

import "math"

// Rect is x0, y0, x1, y1 in framebuffer pixels.
type Rect [4]float64

// W is the rectangle's width.
func (r Rect) W() float64 { return r[2] - r[0] }

// H is the rectangle's height.
func (r Rect) H() float64 { return r[3] - r[1] }

// Contains reports whether the point (x, y) is inside.
func (r Rect) Contains(x, y float64) bool {
	return x >= r[0] && x < r[2] && y >= r[1] && y < r[3]
}

// Layout places everything in a framebuffer: the image area on the left,
// the sidebar on the right with the content thumbnail, the style
// thumbnails (a row of up to four, then more rows) and the HUD below them.
type Layout struct {
	FbW, FbH float64
	Scale    float64 // content scale (HiDPI)
	Area     Rect    // where the image is drawn
	Content  Rect    // content thumbnail box
	Styles   []Rect  // style thumbnail boxes
	HUD      Rect    // where the HUD text starts (its height is the text's)
	SideW    float64
}

const (
	sidebarW = 224 // logical pixels: 30 characters of the HUD font (GlyphW) and margins
	margin   = 8
)

// NewLayout lays out an fbW×fbH framebuffer at a content scale for
// nStyles style thumbnails.
func NewLayout(fbW, fbH int, scale float64, nStyles int) Layout {
	if scale <= 0 {
		scale = 1
	}
	l := Layout{FbW: float64(fbW), FbH: float64(fbH), Scale: scale}
	l.SideW = math.Min(sidebarW*scale, math.Max(l.FbW/2, 1))
	side := l.FbW - l.SideW
	l.Area = Rect{0, 0, side, l.FbH}
	m := margin * scale
	inner := l.SideW - 2*m
	y := m
	l.Content = Rect{side + m, y, side + m + inner, y + 84*scale}
	y = l.Content[3] + m
	perRow := min(max(nStyles, 1), 4)
	bw := (inner - float64(perRow-1)*m) / float64(perRow)
	bh := 60 * scale
	for i := 0; i < nStyles; i++ {
		r, c := i/perRow, i%perRow
		x := side + m + float64(c)*(bw+m)
		yy := y + float64(r)*(bh+m)
		l.Styles = append(l.Styles, Rect{x, yy, x + bw, yy + bh})
	}
	rows := (nStyles + perRow - 1) / perRow
	y += float64(rows) * (bh + m)
	l.HUD = Rect{side + m, y, side + m + inner, l.FbH - m}
	return l
}

// Fit returns the largest w×h rectangle of the image's aspect inside box,
// centred.
func Fit(box Rect, w, h int) Rect {
	if w <= 0 || h <= 0 || box.W() <= 0 || box.H() <= 0 {
		return box
	}
	s := math.Min(box.W()/float64(w), box.H()/float64(h))
	iw, ih := float64(w)*s, float64(h)*s
	x0 := box[0] + (box.W()-iw)/2
	y0 := box[1] + (box.H()-ih)/2
	return Rect{x0, y0, x0 + iw, y0 + ih}
}

// view is the zoom and pan of the image inside its area.
type view struct {
	zoom     float64 // 1: the image fits the area
	panX     float64 // offset of the image's centre from the area's, framebuffer pixels
	panY     float64
	fitted   Rect // the image at zoom 1, no pan (set by imageRect)
	lastRect Rect
}

// imageRect is where the image is drawn: fitted to the area with its
// aspect kept, scaled by the zoom about the area's centre, moved by the pan.
func (v *view) imageRect(area Rect, w, h int) Rect {
	if v.zoom <= 0 {
		v.zoom = 1
	}
	f := Fit(area, w, h)
	v.fitted = f
	cx := (area[0]+area[2])/2 + v.panX
	cy := (area[1]+area[3])/2 + v.panY
	hw, hh := f.W()*v.zoom/2, f.H()*v.zoom/2
	v.lastRect = Rect{cx - hw, cy - hh, cx + hw, cy + hh}
	return v.lastRect
}

// zoomAt multiplies the zoom by factor keeping the image point under
// (x, y) where it is.
func (v *view) zoomAt(area Rect, w, h int, x, y, factor float64) {
	r := v.imageRect(area, w, h)
	nz := math.Min(math.Max(v.zoom*factor, 0.1), 64)
	factor = nz / v.zoom
	// The point (x, y) sits at fraction u of the image; keep it there.
	ux := (x - r[0]) / r.W()
	uy := (y - r[1]) / r.H()
	nw, nh := r.W()*factor, r.H()*factor
	nx0, ny0 := x-ux*nw, y-uy*nh
	v.zoom = nz
	v.panX = nx0 + nw/2 - (area[0]+area[2])/2
	v.panY = ny0 + nh/2 - (area[1]+area[3])/2
}

func (v *view) reset() { v.zoom, v.panX, v.panY = 1, 0, 0 }
