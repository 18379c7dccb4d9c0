package testgpu

import (
	"math"
	"math/rand/v2"
)

// Texture is a smooth random pattern in [0,1], a sum of sinusoids of
// 0.08–0.33 radians per pixel, defined at any real position, so that a
// frame of it moved by a known motion is sampled exactly (the optical
// flow tests' clips).
type Texture struct{ kx, ky, ph, a []float64 }

// NewTexture makes the pattern of seed.
func NewTexture(seed uint64) Texture {
	r := rand.New(rand.NewPCG(seed, 1))
	var t Texture
	for k := 0; k < 24; k++ {
		f := 0.08 + 0.25*r.Float64()
		th := 2 * math.Pi * r.Float64()
		t.kx, t.ky = append(t.kx, f*math.Cos(th)), append(t.ky, f*math.Sin(th))
		t.ph, t.a = append(t.ph, 2*math.Pi*r.Float64()), append(t.a, 0.5/24)
	}
	return t
}

// At is the pattern at (x,y).
func (t Texture) At(x, y float64) float64 {
	s := 0.5
	for k := range t.a {
		s += t.a[k] * math.Sin(t.kx[k]*x+t.ky[k]*y+t.ph[k])
	}
	return s
}

// Grad is the pattern's analytic gradient at (x,y).
func (t Texture) Grad(x, y float64) (dx, dy float64) {
	for k := range t.a {
		c := t.a[k] * math.Cos(t.kx[k]*x+t.ky[k]*y+t.ph[k])
		dx, dy = dx+c*t.kx[k], dy+c*t.ky[k]
	}
	return dx, dy
}

// Frame samples an h×w frame whose pixel (x,y) shows the pattern at
// src(x,y): the inverse of the frame's motion.
func (t Texture) Frame(h, w int, src func(x, y float64) (float64, float64)) []float64 {
	img := make([]float64, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := src(float64(x), float64(y))
			img[y*w+x] = t.At(sx, sy)
		}
	}
	return img
}

// Motion is a known motion of a frame: pixel (x,y) of the moved frame
// shows the first frame's pattern at Src(x,y), and the first frame's
// pixel (x,y) went to (x,y) + Truth(x,y), the true optical flow.
type Motion struct {
	Name       string
	Src, Truth func(x, y float64) (float64, float64)
}

// Motions are the flow tests' motions of an h×w frame: a translation by
// (2.6, −1.3) px and a rotation by 3° about the centre.
func Motions(h, w int) []Motion {
	const dx, dy = 2.6, -1.3
	const th = 3 * math.Pi / 180
	cx, cy := float64(w-1)/2, float64(h-1)/2
	return []Motion{
		{"translation", func(x, y float64) (float64, float64) { return x - dx, y - dy },
			func(x, y float64) (float64, float64) { return dx, dy }},
		{"rotation", func(x, y float64) (float64, float64) {
			rx, ry := x-cx, y-cy // the inverse rotation
			return cx + math.Cos(th)*rx + math.Sin(th)*ry, cy - math.Sin(th)*rx + math.Cos(th)*ry
		}, func(x, y float64) (float64, float64) {
			rx, ry := x-cx, y-cy
			return cx + math.Cos(th)*rx - math.Sin(th)*ry - x, cy + math.Sin(th)*rx + math.Cos(th)*ry - y
		}},
	}
}
