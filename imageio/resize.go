package imageio

import (
	"math"
	"runtime"
	"sync"
)

// Resize returns img resampled to w x h with a separable Catmull-Rom
// filter (the cubic with B=0, C=1/2) run on the float32 planes, so no
// precision is lost to an 8- or 16-bit intermediate. When shrinking, the
// filter is widened by the scale factor, so every source pixel contributes
// (no aliasing); when enlarging, it interpolates. Weights are normalised
// and computed in float64, and edges repeat the border pixel, so a
// constant image stays exactly constant. The result is clamped to [0,1]
// (Catmull-Rom overshoots slightly at sharp edges). w or h below 1 counts
// as 1; a same-size call returns a copy. Resize panics if img's Pix does
// not hold 3*H*W samples.
func Resize(img Image, w, h int) Image {
	if err := check(img); err != nil {
		panic("imageio: Resize: " + err.Error())
	}
	w, h = max(w, 1), max(h, 1)
	if w == img.W && h == img.H {
		return Image{H: h, W: w, Pix: append([]float32(nil), img.Pix...)}
	}
	xw := weights(img.W, w)
	yw := weights(img.H, h)

	// Horizontal pass: (3*H rows of W) -> (3*H rows of w).
	tmp := make([]float32, 3*img.H*w)
	parallel(3*img.H, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			in, out := img.Pix[r*img.W:(r+1)*img.W], tmp[r*w:(r+1)*w]
			for x := range out {
				var s float64
				for _, t := range xw[x] {
					s += t.w * float64(in[t.i])
				}
				out[x] = float32(s)
			}
		}
	})

	// Vertical pass: per plane, (H rows of w) -> (h rows of w).
	out := Image{H: h, W: w, Pix: make([]float32, 3*h*w)}
	parallel(3*h, func(r0, r1 int) {
		acc := make([]float64, w)
		for r := r0; r < r1; r++ {
			c, y := r/h, r%h
			plane := tmp[c*img.H*w : (c+1)*img.H*w]
			clear(acc)
			for _, t := range yw[y] {
				row := plane[t.i*w : (t.i+1)*w]
				for x, v := range row {
					acc[x] += t.w * float64(v)
				}
			}
			dst := out.Pix[r*w : (r+1)*w]
			for x, s := range acc {
				dst[x] = float32(min(max(s, 0), 1))
			}
		}
	})
	return out
}

type tap struct {
	i int
	w float64
}

// catmullRom is the Catmull-Rom kernel, support [-2, 2].
func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

// weights gives, for each of the n output samples along an axis of m
// input samples, its input taps and normalised weights, pixel centres
// aligned ((i+0.5)*m/n - 0.5) and indices clamped to the edge.
func weights(m, n int) [][]tap {
	scale := float64(m) / float64(n)
	fs := max(scale, 1) // filter stretch: widen when shrinking
	support := 2 * fs
	all := make([][]tap, n)
	for i := range all {
		c := (float64(i)+0.5)*scale - 0.5
		lo, hi := int(math.Ceil(c-support)), int(math.Floor(c+support))
		var ts []tap
		sum := 0.0
		for j := lo; j <= hi; j++ {
			wt := catmullRom((float64(j) - c) / fs)
			if wt == 0 {
				continue
			}
			k := min(max(j, 0), m-1)
			if len(ts) > 0 && ts[len(ts)-1].i == k {
				ts[len(ts)-1].w += wt
			} else {
				ts = append(ts, tap{k, wt})
			}
			sum += wt
		}
		for t := range ts {
			ts[t].w /= sum
		}
		all[i] = ts
	}
	return all
}

// parallel runs f over [0, n) split into contiguous chunks, one per CPU.
func parallel(n int, f func(lo, hi int)) {
	p := min(runtime.GOMAXPROCS(0), n)
	if p <= 1 || n < 64 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < p; k++ {
		lo, hi := k*n/p, (k+1)*n/p
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// FitLongSide returns the size of a w x h image scaled, aspect kept, so
// that its longer side is long (up or down), each side rounded to nearest
// and at least 1. long <= 0, or a w or h below 1, returns w, h unchanged.
func FitLongSide(w, h, long int) (int, int) {
	if long <= 0 || w < 1 || h < 1 {
		return w, h
	}
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}
