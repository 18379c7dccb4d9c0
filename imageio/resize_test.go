package imageio

import (
	"math"
	"testing"
)

func constImage(w, h int, c [3]float32) Image {
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	for k := 0; k < 3; k++ {
		for i := 0; i < w*h; i++ {
			img.Pix[k*w*h+i] = c[k]
		}
	}
	return img
}

func TestResizeConstantExact(t *testing.T) {
	c := [3]float32{0.3, 0.7, 0.123456789}
	img := constImage(37, 23, c)
	for _, s := range [][2]int{{10, 5}, {100, 60}, {37, 23}, {1, 1}, {200, 3}, {3, 200}, {36, 24}, {0, -4}} {
		out := Resize(img, s[0], s[1])
		w, h := max(s[0], 1), max(s[1], 1)
		if out.W != w || out.H != h || len(out.Pix) != 3*w*h {
			t.Fatalf("%v: got %dx%d with %d samples", s, out.W, out.H, len(out.Pix))
		}
		for i, v := range out.Pix {
			if v != c[i/(w*h)] {
				t.Fatalf("%v: sample %d = %v, want %v exactly", s, i, v, c[i/(w*h)])
			}
		}
	}
}

// ramp is a horizontal ramp from 0 to 1 in every channel.
func ramp(w, h int) Image {
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	for i := range img.Pix {
		img.Pix[i] = float32(i%w) / float32(w-1)
	}
	return img
}

func TestResizeGradient(t *testing.T) {
	const W = 200
	for _, ow := range []int{50, 37, 400} {
		out := Resize(ramp(W, 10), ow, 5)
		worstInner, worst := 0.0, 0.0
		for c := 0; c < 3; c++ {
			for y := 0; y < out.H; y++ {
				row := out.Pix[(c*out.H+y)*ow : (c*out.H+y+1)*ow]
				for x, v := range row {
					if x > 0 && v < row[x-1] {
						t.Fatalf("width %d: not monotonic at %d: %v < %v", ow, x, v, row[x-1])
					}
					// The input position of output pixel x's centre.
					pos := (float64(x)+0.5)*W/float64(ow) - 0.5
					want := min(max(pos/(W-1), 0), 1)
					d := math.Abs(float64(v) - want)
					worst = max(worst, d)
					// Away from the edges (2 filter radii), Catmull-Rom
					// reproduces a linear ramp.
					if r := 2 * max(float64(W)/float64(ow), 1); pos > 2*r && pos < W-1-2*r {
						worstInner = max(worstInner, d)
					}
				}
			}
		}
		t.Logf("ramp %d -> %d: max error %.2g inside, %.2g at the edges", W, ow, worstInner, worst)
		if worstInner > 1e-5 || worst > 0.02 {
			t.Errorf("width %d: error %g inside, %g overall", ow, worstInner, worst)
		}
	}
}

func TestResizeAntialias(t *testing.T) {
	// A one-pixel checkerboard shrunk 4x must come out flat grey, not
	// aliased into stripes.
	const n = 64
	img := Image{H: n, W: n, Pix: make([]float32, 3*n*n)}
	for i := range img.Pix {
		p := i % (n * n)
		img.Pix[i] = float32((p%n + p/n) % 2)
	}
	out := Resize(img, n/4, n/4)
	lo, hi := float32(1), float32(0)
	for _, v := range out.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	t.Logf("checkerboard 64 -> 16: values in [%.4f, %.4f]", lo, hi)
	if lo < 0.45 || hi > 0.55 {
		t.Errorf("values in [%v, %v], want about 0.5", lo, hi)
	}
}

func TestResizeClampsAndCopies(t *testing.T) {
	// A hard edge enlarged: Catmull-Rom overshoots, the result must not.
	img := Image{H: 1, W: 4, Pix: []float32{0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1}}
	out := Resize(img, 16, 3)
	for _, v := range out.Pix {
		if v < 0 || v > 1 {
			t.Fatalf("sample %v outside [0,1]", v)
		}
	}
	same := Resize(img, 4, 1)
	same.Pix[0] = 0.5
	if img.Pix[0] != 0 {
		t.Error("same-size Resize shares its input's samples")
	}
	defer func() {
		if recover() == nil {
			t.Error("malformed image: no panic")
		}
	}()
	Resize(Image{H: 2, W: 2, Pix: make([]float32, 5)}, 1, 1)
}

func TestFitLongSide(t *testing.T) {
	for _, c := range []struct{ w, h, long, ww, wh int }{
		{4000, 3000, 512, 512, 384},
		{3000, 4000, 512, 384, 512},
		{100, 100, 50, 50, 50},
		{300, 200, 600, 600, 400}, // enlarges too
		{1000, 1, 100, 100, 1},
		{1, 1000, 10, 1, 10},
		{3, 2, 1, 1, 1},
		{1920, 1080, 1000, 1000, 563}, // 562.5 rounds up
		{640, 480, 0, 640, 480},
		{640, 480, -5, 640, 480},
		{512, 384, 512, 512, 384},
		{0, 10, 5, 0, 10},
	} {
		if w, h := FitLongSide(c.w, c.h, c.long); w != c.ww || h != c.wh {
			t.Errorf("FitLongSide(%d, %d, %d) = %d, %d, want %d, %d", c.w, c.h, c.long, w, h, c.ww, c.wh)
		}
	}
}

func BenchmarkResize12MPTo512(b *testing.B) {
	img := smoothImage(4000, 3000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Resize(img, 512, 384)
	}
}
