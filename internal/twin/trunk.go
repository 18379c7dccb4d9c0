package twin

import (
	"fmt"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// This file: the whole VGG19 trunk (vgg.Net and vgg.Trunk), forward and
// backward, composed from this package's op twins.

// Trunk is the float64 twin of vgg.Net and vgg.Trunk, built from the op
// twins (Preprocess, Conv3x3, Relu, Pool and their backwards). It states
// in plain loops what the GPU trunk computes, in double precision.
type Trunk struct {
	Pooling    ops.Pooling
	Preprocess ops.Preprocess
	convs      []conv
}

type conv struct {
	cout, cin int
	w, b      []float64
}

// NewTrunk converts w's convs to float64 once. It checks the weights as
// vgg.New does.
func NewTrunk(w *weights.VGG19, pool ops.Pooling, pre ops.Preprocess) (*Trunk, error) {
	if err := w.Check(w.Source); err != nil {
		return nil, err
	}
	t := &Trunk{Pooling: pool, Preprocess: pre}
	for _, c := range w.Convs {
		tc := conv{cout: c.Cout, cin: c.Cin, w: make([]float64, len(c.W)), b: make([]float64, len(c.B))}
		for i, v := range c.W {
			tc.w[i] = float64(v)
		}
		for i, v := range c.B {
			tc.b[i] = float64(v)
		}
		t.convs = append(t.convs, tc)
	}
	return t, nil
}

// Pass is one forward pass of a Trunk, kept for its backward. Layer i of
// vgg.Table (0 <= i < Depth) has activation Acts[i] of shape Shapes[i] =
// (c,h,w); for a conv, Z[i] is its pre-ReLU output (nil for a pool).
type Pass struct {
	Trunk  *Trunk
	H, W   int
	Depth  int
	X, Pre []float64 // the image (3,H,W) and its preprocessed form
	Z      [][]float64
	Acts   [][]float64
	Shapes [][3]int
}

// Forward runs preprocess, then every conv (with its ReLU) and pool of
// vgg.Table up to and including layer deepest (any naming scheme), on the
// image x: (3,h,w), and returns every layer's activation.
func (t *Trunk) Forward(x []float64, h, w int, deepest string) (*Pass, error) {
	p, err := vgg.Index(deepest)
	if err != nil {
		return nil, err
	}
	if len(x) != 3*h*w {
		return nil, fmt.Errorf("twin: image has %d values, want 3x%dx%d", len(x), h, w)
	}
	if !vgg.Table[p].Pool && vgg.Table[p].Conv >= len(t.convs) || vgg.Table[p].Pool && vgg.Table[p-1].Conv >= len(t.convs) {
		return nil, fmt.Errorf("twin: layer %s is deeper than the %d convs the weights hold", deepest, len(t.convs))
	}
	if minSide, _ := vgg.MinSide(deepest); h < minSide || w < minSide {
		return nil, fmt.Errorf("twin: a %dx%d image is too small to reach %s: both sides must be at least %d", w, h, deepest, minSide)
	}
	ps := &Pass{Trunk: t, H: h, W: w, Depth: p + 1, X: append([]float64(nil), x...)}
	ps.Pre = Preprocess(t.Preprocess, ps.X, h*w)
	in, c := ps.Pre, 3
	for i := 0; i <= p; i++ {
		l := vgg.Table[i]
		var z, y []float64
		if l.Pool {
			y = Pool(t.Pooling, in, c, h, w)
			h, w = h/2, w/2
		} else {
			cv := t.convs[l.Conv]
			z = Conv3x3(in, c, h, w, cv.w, cv.b, cv.cout, false)
			y = Relu(z)
			c = cv.cout
		}
		ps.Z = append(ps.Z, z)
		ps.Acts = append(ps.Acts, y)
		ps.Shapes = append(ps.Shapes, [3]int{c, h, w})
		in = y
	}
	return ps, nil
}

// Act returns the activation of a layer (any naming scheme).
func (ps *Pass) Act(layer string) ([]float64, error) {
	p, err := ps.index(layer)
	if err != nil {
		return nil, err
	}
	return ps.Acts[p], nil
}

// Shape returns the (c,h,w) shape of a layer's activation.
func (ps *Pass) Shape(layer string) ([3]int, error) {
	p, err := ps.index(layer)
	if err != nil {
		return [3]int{}, err
	}
	return ps.Shapes[p], nil
}

func (ps *Pass) index(layer string) (int, error) {
	p, err := vgg.Index(layer)
	if err != nil {
		return -1, err
	}
	if p >= ps.Depth {
		return -1, fmt.Errorf("twin: layer %s is deeper than this pass (%s)", layer, vgg.Table[ps.Depth-1].Name)
	}
	return p, nil
}

// Backward returns dL/dX given dL/d(activation) contributions at tapped
// layers (any naming scheme; each tap's length must match its layer). It
// follows vgg.Trunk.Backward: deepest layer first, a layer's gradient is
// what the layer above sends down (zero at the deepest) plus its taps,
// which then flows through the layer (conv backward with the ReLU mask
// Acts > 0, or pool backward); preprocess backward gives dL/dX last. Taps
// at the same layer are summed.
func (ps *Pass) Backward(taps map[string][][]float64) ([]float64, error) {
	at := map[int][][]float64{}
	for name, gs := range taps {
		p, err := ps.index(name)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if len(g) != len(ps.Acts[p]) {
				return nil, fmt.Errorf("twin: tap at %s has %d values, want %d", name, len(g), len(ps.Acts[p]))
			}
		}
		at[p] = append(at[p], gs...)
	}
	t := ps.Trunk
	g := make([]float64, len(ps.Acts[ps.Depth-1]))
	for i := ps.Depth - 1; i >= 0; i-- {
		for _, tap := range at[i] {
			for j, v := range tap {
				g[j] += v
			}
		}
		in := ps.Pre
		cin, h, w := 3, ps.H, ps.W
		if i > 0 {
			in = ps.Acts[i-1]
			cin, h, w = ps.Shapes[i-1][0], ps.Shapes[i-1][1], ps.Shapes[i-1][2]
		}
		if l := vgg.Table[i]; l.Pool {
			g = PoolBackward(t.Pooling, g, in, cin, h, w)
		} else {
			cv := t.convs[l.Conv]
			g = Conv3x3Backward(g, ps.Acts[i], cv.cout, h, w, cv.w, cin)
		}
	}
	return PreprocessBackward(t.Preprocess, g, ps.H*ps.W), nil
}
