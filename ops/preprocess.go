package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Preprocess is how an RGB image in [0,1] becomes the network's input.
type Preprocess int

const (
	// Caffe is BGR order, ×255, minus the BGR mean [103.939, 116.779, 123.68]:
	// the seed's and the Caffe-converted VGG19 weights' convention.
	Caffe Preprocess = iota
	// Torch is RGB order, (x - mean)/std with torchvision's ImageNet statistics.
	Torch
)

// String names the mode as the command line spells it.
func (p Preprocess) String() string {
	if p == Torch {
		return "torch"
	}
	return "caffe"
}

// ParsePreprocess accepts "caffe" or "torch".
func ParsePreprocess(s string) (Preprocess, error) {
	switch s {
	case "caffe":
		return Caffe, nil
	case "torch":
		return Torch, nil
	}
	return 0, fmt.Errorf("unknown preprocessing %q (want caffe or torch)", s)
}

// Affine returns, per output channel c, the source RGB channel and the
// factors of y[c] = x[src[c]]*mul[c] + add[c].
func (p Preprocess) Affine() (src [3]int, mul, add [3]float64) {
	if p == Torch {
		mean := [3]float64{0.485, 0.456, 0.406}
		std := [3]float64{0.229, 0.224, 0.225}
		for c := 0; c < 3; c++ {
			src[c], mul[c], add[c] = c, 1/std[c], -mean[c]/std[c]
		}
		return
	}
	mean := [3]float64{103.939, 116.779, 123.68} // BGR
	for c := 0; c < 3; c++ {
		src[c], mul[c], add[c] = 2-c, 255, -mean[c]
	}
	return
}

type preData struct {
	decl
	Entry            string
	HW               int
	SRC0, SRC1, SRC2 int
	MUL0, MUL1, MUL2 float64
	ADD0, ADD1, ADD2 float64
}

func newPre(d *gpu.Device, p Preprocess, entry string, in, out *gpu.Buffer) (*Step, error) {
	op := "preprocess." + entry
	c, h, w, err := chw(op, "input", in)
	if err != nil {
		return nil, err
	}
	if c != 3 {
		return nil, &gpu.ShapeError{Op: op, What: "input", Want: "(3,H,W)", Got: gpu.ShapeString(in.Shape)}
	}
	if err := wantShape(op, "output", out, 3, h, w); err != nil {
		return nil, err
	}
	src, mul, add := p.Affine()
	data := preData{Entry: entry, HW: h * w, SRC0: src[0], SRC1: src[1], SRC2: src[2],
		MUL0: mul[0], MUL1: mul[1], MUL2: mul[2], ADD0: add[0], ADD1: add[1], ADD2: add[2]}
	b, err := bindSlots(d, op, "preprocess.wgsl", entry, &data, slots{ro("a", in, "(3,H,W)"), rw("out", out, "(3,H,W)")})
	if err != nil {
		return nil, err
	}
	s := &Step{Name: op}
	s.add1D(b, h*w)
	return s, nil
}

// NewPreprocess maps the image x: (3,H,W) to the network input y: (3,H,W).
func NewPreprocess(d *gpu.Device, p Preprocess, x, y *gpu.Buffer) (*Step, error) {
	return newPre(d, p, "forward", x, y)
}

// NewPreprocessBackward maps dL/dy to dL/dx (written with =).
func NewPreprocessBackward(d *gpu.Device, p Preprocess, dy, dx *gpu.Buffer) (*Step, error) {
	return newPre(d, p, "backward", dy, dx)
}
