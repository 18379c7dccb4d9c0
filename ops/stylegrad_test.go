package ops_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// NewStyleGrad with the features' own Gram is the style loss's gradient
// (the twin's StyleLoss); with m twice the positions, half of it: the
// Gram's normalisation is the whole layer's, not the tile's.
func TestStyleGrad(t *testing.T) {
	d := testgpu.Device(t)
	const c, h, w = 24, 9, 11
	f := testgpu.Round(testgpu.Rand(3, c*h*w, 0, 1))
	r := testgpu.Rand(4, c*c, 0, 0.5)
	a := make([]float64, c*c) // a target Gram is symmetric, as the kernel assumes
	for i := 0; i < c; i++ {
		for j := 0; j < c; j++ {
			a[i*c+j] = (r[i*c+j] + r[j*c+i]) / 2
		}
	}
	a = testgpu.Round(a)
	g := testgpu.Round(twin.Gram(f, c, h*w))
	_, want := twin.StyleLoss(f, a, c, h*w, 0.7)
	fb := testgpu.Upload(t, d, "f", f, c, h, w)
	gb := testgpu.Upload(t, d, "g", g, c, c)
	ab := testgpu.Upload(t, d, "a", a, c, c)
	for _, k := range []int{1, 2} {
		grad := testgpu.Upload(t, d, "grad", nil, c, h, w)
		sg, err := ops.NewStyleGrad(d, gb, ab, fb, grad, k*h*w, 0.7, false, ops.ChooseTileFor(ops.LimitsOf(d), c, h*w))
		if err != nil {
			t.Fatal(err)
		}
		testgpu.Run(t, d, sg)
		scaled := make([]float64, len(want))
		for i, v := range want {
			scaled[i] = v / float64(k)
		}
		testgpu.Close(t, "style_grad", testgpu.Read(t, grad), scaled, 1e-7, 1e-5)
		sg.Release()
	}
}
