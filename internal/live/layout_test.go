package live

import (
	"math"
	"testing"
)

func TestFitKeepsAspect(t *testing.T) {
	for _, c := range []struct {
		box  Rect
		w, h int
	}{{Rect{0, 0, 600, 560}, 32, 21}, {Rect{0, 0, 100, 500}, 64, 64}, {Rect{10, 20, 310, 120}, 3, 400}} {
		r := Fit(c.box, c.w, c.h)
		if math.Abs(r.W()/r.H()-float64(c.w)/float64(c.h)) > 1e-9 {
			t.Errorf("%v %dx%d: aspect %g", c.box, c.w, c.h, r.W()/r.H())
		}
		if r[0] < c.box[0]-1e-9 || r[1] < c.box[1]-1e-9 || r[2] > c.box[2]+1e-9 || r[3] > c.box[3]+1e-9 {
			t.Errorf("%v %dx%d: %v outside the box", c.box, c.w, c.h, r)
		}
		if math.Abs(r.W()-c.box.W()) > 1e-9 && math.Abs(r.H()-c.box.H()) > 1e-9 {
			t.Errorf("%v %dx%d: %v does not fill the box", c.box, c.w, c.h, r)
		}
	}
}

func TestZoomAtKeepsPoint(t *testing.T) {
	area := Rect{0, 0, 636, 560}
	var v view
	v.reset()
	for _, z := range []struct{ x, y, f float64 }{{100, 200, 1.25}, {400, 300, 2}, {50, 50, 0.5}, {600, 500, 3}} {
		before := v.imageRect(area, 32, 21)
		ux, uy := (z.x-before[0])/before.W(), (z.y-before[1])/before.H()
		v.zoomAt(area, 32, 21, z.x, z.y, z.f)
		after := v.imageRect(area, 32, 21)
		if math.Abs((z.x-after[0])/after.W()-ux) > 1e-9 || math.Abs((z.y-after[1])/after.H()-uy) > 1e-9 {
			t.Errorf("zoom %g at (%g,%g) moved the point", z.f, z.x, z.y)
		}
	}
}

func TestLayout(t *testing.T) {
	l := NewLayout(860, 560, 1, 3)
	if l.Area[2] != 860-sidebarW || len(l.Styles) != 3 {
		t.Fatalf("layout %+v", l)
	}
	boxes := append([]Rect{l.Content}, l.Styles...)
	for i, a := range boxes {
		if a[0] < l.Area[2] || a[2] > 860 {
			t.Errorf("box %d %v leaves the sidebar", i, a)
		}
		for j, b := range boxes[i+1:] {
			if a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3] {
				t.Errorf("boxes %d and %d overlap", i, i+1+j)
			}
		}
		if l.HUD[1] < a[3] {
			t.Errorf("the HUD starts at %g, inside box %d", l.HUD[1], i)
		}
	}
}
