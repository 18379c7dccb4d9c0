package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// ConvWeights holds one frozen 3x3 conv layer on the GPU in the two GEMM
// layouts its passes read, prepared once at load time.
//
//	w: (Cout,Cin,3,3)  b: (Cout)
//	Fwd: (Cout, 9*Cin),  Fwd[co][(ky*3+kx)*Cin+c] = w[co][c][ky][kx]
//	Bwd: (Cin, 9*Cout),  Bwd[ci][(ky*3+kx)*Cout+co] = w[co][ci][2-ky][2-kx]
type ConvWeights struct {
	Name      string
	Cout, Cin int
	Fwd, Bwd  *gpu.Buffer
	Bias      *gpu.Buffer
}

// ConvLayouts returns the forward and backward GEMM layouts of w: (cout,cin,3,3).
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

// NewConvWeights uploads w: (cout,cin,3,3) and b: (cout).
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
	fwd, bwd := ConvLayouts(w, cout, cin)
	cw := &ConvWeights{Name: name, Cout: cout, Cin: cin}
	var err error
	if cw.Fwd, err = d.NewBuffer(name+".fwd", gpu.F32, cout, 9*cin); err != nil {
		return nil, err
	}
	if cw.Bwd, err = d.NewBuffer(name+".bwd", gpu.F32, cin, 9*cout); err != nil {
		cw.Release()
		return nil, err
	}
	if cw.Bias, err = d.NewBuffer(name+".bias", gpu.F32, cout); err != nil {
		cw.Release()
		return nil, err
	}
	for _, p := range []struct {
		b *gpu.Buffer
		v []float32
	}{{cw.Fwd, fwd}, {cw.Bwd, bwd}, {cw.Bias, b}} {
		if err := p.b.Write(p.v); err != nil {
			cw.Release()
			return nil, err
		}
	}
	return cw, nil
}

// Release frees the weights.
func (c *ConvWeights) Release() {
	if c == nil {
		return
	}
	c.Fwd.Release()
	c.Bwd.Release()
	c.Bias.Release()
}

type convData struct {
	tileData
	Entry                   string
	GM, KC, H, W            int
	RELU, BIAS, MASK, ACCUM bool
}

// NewConv3x3Forward computes y = conv3x3(x, w) + b, followed by ReLU when
// relu is set (the fused epilogue), written with =.
//
//	x: (Cin,H,W)  y: (Cout,H,W)
func NewConv3x3Forward(d *gpu.Device, cw *ConvWeights, x, y *gpu.Buffer, relu bool) (*Step, error) {
	const op = "conv3x3.forward"
	if cw == nil {
		return nil, fmt.Errorf("ops: %s: nil weights", op)
	}
	c, h, w, err := chw(op, "x", x)
	if err != nil {
		return nil, err
	}
	if c != cw.Cin {
		return nil, &gpu.ShapeError{Op: op, What: "x channels", Want: fmt.Sprint(cw.Cin), Got: gpu.ShapeString(x.Shape)}
	}
	if err := wantShape(op, "y", y, cw.Cout, h, w); err != nil {
		return nil, err
	}
	t := ChooseTile(cw.Cout, h*w)
	data := convData{tileData: t.data(true, false), Entry: "forward", GM: cw.Cout, KC: cw.Cin, H: h, W: w, RELU: relu, BIAS: true}
	b, err := bind(d, op, "conv3x3.wgsl", "forward", data, acc(gpu.In, gpu.In, gpu.In, gpu.Out), x, cw.Fwd, cw.Bias, y)
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	if err := s.addGrid(d, b, t.tiles(cw.Cout, h*w)); err != nil {
		b.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	return s, nil
}

// NewConv3x3BackwardInput computes the gradient with respect to the conv's
// input, dx = conv3x3(dy ⊙ (y > 0), w'), with w' the weights flipped 180°
// and in/out swapped. With mask nil the ReLU mask is left out (a conv
// without ReLU); mask is the layer's stored post-ReLU output y. Written
// with = unless accum, then +=.
//
//	dy, mask: (Cout,H,W)  dx: (Cin,H,W)
func NewConv3x3BackwardInput(d *gpu.Device, cw *ConvWeights, dy, mask, dx *gpu.Buffer, accum bool) (*Step, error) {
	const op = "conv3x3.backward_input"
	if cw == nil {
		return nil, fmt.Errorf("ops: %s: nil weights", op)
	}
	c, h, w, err := chw(op, "dy", dy)
	if err != nil {
		return nil, err
	}
	if c != cw.Cout {
		return nil, &gpu.ShapeError{Op: op, What: "dy channels", Want: fmt.Sprint(cw.Cout), Got: gpu.ShapeString(dy.Shape)}
	}
	if mask != nil {
		if err := wantShape(op, "mask", mask, cw.Cout, h, w); err != nil {
			return nil, err
		}
	}
	if err := wantShape(op, "dx", dx, cw.Cin, h, w); err != nil {
		return nil, err
	}
	t := ChooseTile(cw.Cin, h*w)
	data := convData{tileData: t.data(true, false), Entry: "backward_input", GM: cw.Cin, KC: cw.Cout, H: h, W: w, MASK: mask != nil, ACCUM: accum}
	var b *gpu.Binding
	if mask != nil {
		b, err = bind(d, op, "conv3x3.wgsl", "backward_input", data, acc(gpu.In, gpu.In, gpu.In, gpu.Out), dy, cw.Bwd, mask, dx)
	} else {
		b, err = bind(d, op, "conv3x3.wgsl", "backward_input", data, acc(gpu.In, gpu.In, gpu.Out), dy, cw.Bwd, dx)
	}
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	if err := s.addGrid(d, b, t.tiles(cw.Cin, h*w)); err != nil {
		b.Release()
		return nil, fmt.Errorf("ops: %s: %w", op, err)
	}
	return s, nil
}

// Conv3x3FLOPs is the multiply-add count ×2 of one 3x3 conv pass.
func Conv3x3FLOPs(cin, cout, h, w int) float64 {
	return 2 * 9 * float64(cin) * float64(cout) * float64(h) * float64(w)
}
