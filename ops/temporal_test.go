package ops_test

import (
	"testing"

	"github.com/stylize/stylize/internal/testgpu"
	"github.com/stylize/stylize/internal/twin"
	"github.com/stylize/stylize/ops"
)

// The temporal loss's value and gradient against the twin's, with a mask
// that drops about a third of the pixels, the gradient added (+=) into
// what is there.
func TestTemporalLossMatchesTwin(t *testing.T) {
	d := testgpu.Device(t)
	const h, w = 13, 17
	x := testgpu.Round(testgpu.Rand(1, 3*h*w, 0, 1))
	omega := testgpu.Round(testgpu.Rand(2, 3*h*w, 0, 1))
	r := testgpu.Rand(3, h*w, 0, 1)
	c := make([]float64, h*w)
	for i, v := range r {
		if v > 0.33 {
			c[i] = 1
		}
	}
	prior := testgpu.Round(testgpu.Rand(4, 3*h*w, -1, 1))
	xb := testgpu.Upload(t, d, "x", x, 3, h, w)
	ob := testgpu.Upload(t, d, "omega", omega, 3, h, w)
	cb := testgpu.Upload(t, d, "c", c, 1, h, w)
	grad := testgpu.Upload(t, d, "grad", prior, 3, h, w)
	out := testgpu.Upload(t, d, "out", nil, 4)
	tl, err := ops.NewTemporalLoss(d, xb, ob, cb, grad, out, 3, 2.5, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Release()
	testgpu.Run(t, d, tl)
	wantL, wantG := twin.TemporalLoss(x, omega, c, 2.5)
	for i := range wantG {
		wantG[i] += prior[i]
	}
	testgpu.Close(t, "temporal loss", testgpu.Read(t, out)[3:], []float64{wantL}, 0, 1e-5)
	testgpu.Close(t, "temporal gradient", testgpu.Read(t, grad), wantG, 1e-7, 1e-5)
}
