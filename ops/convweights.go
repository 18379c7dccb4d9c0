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
)

func (l Layout) String() string {
	if l == LayoutWinograd2 {
		return "winograd2"
	}
	return "direct"
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
	if k.Layout == LayoutWinograd2 {
		return gpu.F32Spec(fmt.Sprintf("%s.%s.%s", name, k.Layout, pass), 16, m, kc)
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
	case LayoutWinograd2:
		fwd, bwd := WinogradLayouts(c.w, c.Cout, c.Cin)
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

// WinogradLayouts returns Winograd F(2×2,3×3)'s weights U = G g Gᵀ of
// w: (cout,cin,3,3), in float64 and rounded once, for the forward pass
// (16, cout, cin) and for backward_input (16, cin, cout), the latter of the
// flipped weights g'[ci][co][ky][kx] = g[co][ci][2−ky][2−kx]; point p =
// 4·row + column of the 4×4 U. G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] (Lavin &
// Gray 2015).
func WinogradLayouts(w []float32, cout, cin int) (fwd, bwd []float32) {
	fwd = make([]float32, 16*cout*cin)
	bwd = make([]float32, 16*cin*cout)
	G := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	transform := func(g [3][3]float64) (u [4][4]float64) {
		var t [4][3]float64 // G g
		for i := 0; i < 4; i++ {
			for j := 0; j < 3; j++ {
				for k := 0; k < 3; k++ {
					t[i][j] += G[i][k] * g[k][j]
				}
			}
		}
		for i := 0; i < 4; i++ { // (G g) Gᵀ
			for j := 0; j < 4; j++ {
				for k := 0; k < 3; k++ {
					u[i][j] += t[i][k] * G[j][k]
				}
			}
		}
		return u
	}
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
			u, uf := transform(g), transform(gf)
			for p := 0; p < 16; p++ {
				fwd[(p*cout+co)*cin+c] = float32(u[p/4][p%4])
				bwd[(p*cin+c)*cout+co] = float32(uf[p/4][p%4])
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
