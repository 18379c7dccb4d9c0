package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Layout is a form in which a conv's frozen weights go to the GPU, each
// prepared once, on the host, when a plan first needs it.
type Layout int

const (
	// LayoutDirect is the direct conv's GEMM operand A:
	//	forward:        (Cout, 9·Cin),  A[co][(ky·3+kx)·Cin+c] = w[co][c][ky][kx]
	//	backward_input: (Cin, 9·Cout),  A[ci][(ky·3+kx)·Cout+co] = w[co][ci][2−ky][2−kx]
	LayoutDirect Layout = iota
	// LayoutWinograd2 is Winograd F(2×2,3×3)'s U = G g Gᵀ per weight pair
	// (Lavin & Gray 2015), 16 matrices:
	//	forward: (16, Cout, Cin)  backward_input: (16, Cin, Cout), of the flipped weights
	LayoutWinograd2
	// LayoutWinograd4 is F(4×4,3×3)'s, 36 matrices:
	//	forward: (36, Cout, Cin)  backward_input: (36, Cin, Cout)
	LayoutWinograd4
)

func (l Layout) String() string {
	switch l {
	case LayoutWinograd2:
		return "winograd2"
	case LayoutWinograd4:
		return "winograd4"
	}
	return "direct"
}

// algo is the Winograd algorithm whose weights layout l holds.
func (l Layout) algo() Algo {
	if l == LayoutWinograd4 {
		return Winograd4
	}
	return Winograd2
}

// LayoutKey names one uploaded layout: its form and its pass.
type LayoutKey struct {
	Layout   Layout
	Backward bool
}

// ConvWeights holds one frozen 3x3 conv layer: its bias on the GPU, and
// its weights on the host, uploaded in the layouts the passes that use
// them need (Buffer), once each, and released when no plan needs them
// (Free; vgg.Net counts their users).
//
//	w: (Cout,Cin,3,3)  b: (Cout)
type ConvWeights struct {
	Name      string
	Cout, Cin int
	Bias      *gpu.Buffer

	d       *gpu.Device
	w       []float32
	layouts map[LayoutKey]*gpu.Buffer
}

// NewConvWeights keeps w: (cout,cin,3,3) and uploads b: (cout).
func NewConvWeights(d *gpu.Device, name string, w, b []float32, cout, cin int) (*ConvWeights, error) {
	if cout <= 0 || cin <= 0 {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name, Want: "positive channel counts", Got: fmt.Sprintf("cout=%d cin=%d", cout, cin)}
	}
	if len(w) != cout*cin*9 {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name + ".weight", Want: fmt.Sprintf("%d values (%d,%d,3,3)", cout*cin*9, cout, cin), Got: fmt.Sprintf("%d values", len(w))}
	}
	if len(b) != cout {
		return nil, &gpu.ShapeError{Op: "conv3x3.weights", What: name + ".bias", Want: fmt.Sprintf("%d values", cout), Got: fmt.Sprintf("%d values", len(b))}
	}
	cw := &ConvWeights{Name: name, Cout: cout, Cin: cin, d: d, w: append([]float32(nil), w...), layouts: map[LayoutKey]*gpu.Buffer{}}
	var err error
	if cw.Bias, err = d.Alloc(BiasSpec(name, cout)); err != nil {
		return nil, err
	}
	if err := cw.Bias.Write(b); err != nil {
		cw.Release()
		return nil, err
	}
	return cw, nil
}

// BiasSpec is the spec of a conv's bias.
func BiasSpec(name string, cout int) gpu.Spec { return gpu.F32Spec(name+".bias", cout) }

// LayoutSpec is the spec of a conv's weights in layout k.
func LayoutSpec(name string, k LayoutKey, cout, cin int) gpu.Spec {
	m, kc := cout, cin
	if k.Backward {
		m, kc = cin, cout
	}
	pass := "fwd"
	if k.Backward {
		pass = "bwd"
	}
	if k.Layout != LayoutDirect {
		return gpu.F32Spec(fmt.Sprintf("%s.%s.%s", name, k.Layout, pass), winogradOf(k.Layout.algo()).points(), m, kc)
	}
	return gpu.F32Spec(name+"."+pass, m, 9*kc)
}

// Buffer returns the weights in layout k, uploading them the first time.
func (c *ConvWeights) Buffer(k LayoutKey) (*gpu.Buffer, error) {
	if b, ok := c.layouts[k]; ok {
		return b, nil
	}
	var v []float32
	switch k.Layout {
	case LayoutDirect:
		fwd, bwd := ConvLayouts(c.w, c.Cout, c.Cin)
		v = fwd
		if k.Backward {
			v = bwd
		}
	case LayoutWinograd2, LayoutWinograd4:
		fwd, bwd := WinogradLayouts(k.Layout.algo(), c.w, c.Cout, c.Cin)
		v = fwd
		if k.Backward {
			v = bwd
		}
	default:
		return nil, fmt.Errorf("ops: %s: unknown weight layout %d", c.Name, k.Layout)
	}
	b, err := c.d.Alloc(LayoutSpec(c.Name, k, c.Cout, c.Cin))
	if err != nil {
		return nil, err
	}
	if err := b.Write(v); err != nil {
		b.Release()
		return nil, err
	}
	c.layouts[k] = b
	return b, nil
}

// Free releases the weights in layout k, if they are on the GPU; a later
// Buffer uploads them again.
func (c *ConvWeights) Free(k LayoutKey) {
	if b, ok := c.layouts[k]; ok {
		b.Release()
		delete(c.layouts, k)
	}
}

// ConvLayouts returns the direct conv's layouts of w: (cout,cin,3,3).
func ConvLayouts(w []float32, cout, cin int) (fwd, bwd []float32) {
	fwd = make([]float32, cout*9*cin)
	bwd = make([]float32, cin*9*cout)
	for co := 0; co < cout; co++ {
		for c := 0; c < cin; c++ {
			for s := 0; s < 9; s++ {
				v := w[(co*cin+c)*9+s]
				fwd[co*9*cin+s*cin+c] = v
				bwd[c*9*cout+(8-s)*cout+co] = v
			}
		}
	}
	return fwd, bwd
}

// WinogradLayouts returns Winograd algorithm a's weights U = G g Gᵀ of
// w: (cout,cin,3,3) (winogradAlg.filter), in float64 and rounded once,
// for the forward pass (n², cout, cin) and for backward_input (n², cin,
// cout), the latter of the flipped weights g'[ci][co][ky][kx] =
// g[co][ci][2−ky][2−kx]; point p = n·row + column of the n×n U.
func WinogradLayouts(a Algo, w []float32, cout, cin int) (fwd, bwd []float32) {
	alg := winogradOf(a)
	np := alg.points()
	fwd = make([]float32, np*cout*cin)
	bwd = make([]float32, np*cin*cout)
	for co := 0; co < cout; co++ {
		for c := 0; c < cin; c++ {
			var g, gf [3][3]float64
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					v := float64(w[((co*cin+c)*3+ky)*3+kx])
					g[ky][kx] = v
					gf[2-ky][2-kx] = v
				}
			}
			u, uf := alg.filter(g), alg.filter(gf)
			for p := 0; p < np; p++ {
				fwd[(p*cout+co)*cin+c] = float32(u[p])
				bwd[(p*cin+c)*cout+co] = float32(uf[p])
			}
		}
	}
	return fwd, bwd
}

// Release frees the weights' GPU buffers.
func (c *ConvWeights) Release() {
	if c == nil {
		return
	}
	for k, b := range c.layouts {
		b.Release()
		delete(c.layouts, k)
	}
	c.Bias.Release()
}
