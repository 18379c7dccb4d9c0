package weights

import (
	"fmt"
	"math"
	"math/rand"
)

// TorchConvIndices are the torchvision vgg19().features indices of the 16
// convs, in forward order.
var TorchConvIndices = [16]int{0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34}

// blockOf gives each conv's block (0..4).
var blockOf = [16]int{0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4}

// Conv is one conv layer's weights: W (Cout,Cin,3,3) and B (Cout).
type Conv struct {
	Cout, Cin int
	W, B      []float32
}

// VGG19 is the conv trunk's weights, from any format.
type VGG19 struct {
	Convs      []Conv // up to 16, in forward order; may stop early
	Preprocess string // "caffe" or "torch"; "" if the file does not say
	Source     string // where the weights came from
	Synthetic  bool   // generated for tests and benchmarks, not trained
}

// Widths returns the output width of each block present.
func (v *VGG19) Widths() []int {
	var w []int
	for i, c := range v.Convs {
		if i == 0 || blockOf[i] != blockOf[i-1] {
			w = append(w, c.Cout)
		}
	}
	return w
}

// ConvWidths returns the output width of each conv present, the widths
// a plan of the trunk is made from (vgg.Net.Widths once uploaded).
func (v *VGG19) ConvWidths() []int {
	w := make([]int, len(v.Convs))
	for i, c := range v.Convs {
		w[i] = c.Cout
	}
	return w
}

// Check verifies the chain of shapes and that every value is finite.
func (v *VGG19) Check(file string) error {
	bad := func(format string, a ...any) error {
		return &FormatError{File: file, Format: "VGG19 weights", Msg: fmt.Sprintf(format, a...)}
	}
	if len(v.Convs) == 0 {
		return bad("no conv layers")
	}
	if len(v.Convs) > 16 {
		return bad("%d conv layers; VGG19 has 16", len(v.Convs))
	}
	cin := 3
	for i, c := range v.Convs {
		name := fmt.Sprintf("features.%d", TorchConvIndices[i])
		if c.Cin != cin {
			return bad("%s: %d input channels, the layer before gives %d", name, c.Cin, cin)
		}
		if i > 0 && blockOf[i] == blockOf[i-1] && c.Cout != v.Convs[i-1].Cout {
			return bad("%s: %d output channels inside a block of width %d", name, c.Cout, v.Convs[i-1].Cout)
		}
		if c.Cout <= 0 || len(c.W) != c.Cout*c.Cin*9 || len(c.B) != c.Cout {
			return bad("%s: weight has %d values and bias %d, want (%d,%d,3,3) and (%d)", name, len(c.W), len(c.B), c.Cout, c.Cin, c.Cout)
		}
		for _, s := range [][]float32{c.W, c.B} {
			for j, x := range s {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return bad("%s: value %d is %v", name, j, x)
				}
			}
		}
		cin = c.Cout
	}
	return nil
}

// FromSafetensors reads torchvision-named conv layers (features.{i}.weight
// (Cout,Cin,3,3) and features.{i}.bias) from a parsed safetensors file,
// as many consecutive ones as it holds, and the "preprocess" and "source"
// metadata when present.
func FromSafetensors(f *File) (*VGG19, error) {
	v := &VGG19{Preprocess: f.Metadata["preprocess"], Source: f.Metadata["source"], Synthetic: f.Metadata["synthetic"] == "true"}
	if v.Source == "" {
		v.Source = f.Path
	}
	bad := func(format string, a ...any) error {
		return &FormatError{File: f.Path, Format: "safetensors VGG19", Msg: fmt.Sprintf(format, a...)}
	}
	for i, idx := range TorchConvIndices {
		wn, bn := fmt.Sprintf("features.%d.weight", idx), fmt.Sprintf("features.%d.bias", idx)
		wt, okw := f.Tensors[wn]
		bt, okb := f.Tensors[bn]
		if !okw && !okb {
			if i == 0 {
				return nil, bad("no tensor %s: not VGG19 weights in torchvision naming", wn)
			}
			break
		}
		if !okw || !okb {
			return nil, bad("layer features.%d has only one of weight and bias", idx)
		}
		if len(wt.Shape) != 4 || wt.Shape[2] != 3 || wt.Shape[3] != 3 {
			return nil, bad("%s has shape %v, want (Cout,Cin,3,3)", wn, wt.Shape)
		}
		if len(bt.Shape) != 1 || bt.Shape[0] != wt.Shape[0] {
			return nil, bad("%s has shape %v, want (%d)", bn, bt.Shape, wt.Shape[0])
		}
		w, err := wt.Float32s()
		if err != nil {
			return nil, bad("%s: %v", wn, err)
		}
		b, err := bt.Float32s()
		if err != nil {
			return nil, bad("%s: %v", bn, err)
		}
		v.Convs = append(v.Convs, Conv{Cout: wt.Shape[0], Cin: wt.Shape[1], W: w, B: b})
	}
	if err := v.Check(f.Path); err != nil {
		return nil, err
	}
	return v, nil
}

// Synthetic makes deterministic He-initialised weights with one width per
// block (widths[0..4]; VGG19's real ones are 64,128,256,512,512), flagged
// Synthetic so that nothing mistakes them for trained weights.
func Synthetic(widths []int, seed int64) (*VGG19, error) {
	if len(widths) != 5 {
		return nil, fmt.Errorf("weights: synthetic VGG19 needs 5 block widths, got %d", len(widths))
	}
	r := rand.New(rand.NewSource(seed))
	v := &VGG19{Preprocess: "caffe", Source: fmt.Sprintf("synthetic (widths %v, seed %d)", widths, seed), Synthetic: true}
	cin := 3
	for i := range TorchConvIndices {
		cout := widths[blockOf[i]]
		if cout <= 0 {
			return nil, fmt.Errorf("weights: block width %d must be positive", cout)
		}
		// He initialisation: activations keep the scale of the Caffe-style
		// input (±128) through the ReLUs, as trained VGG19's roughly do,
		// so that the seed's loss weights give losses of a realistic size.
		std := math.Sqrt(2 / float64(9*cin))
		c := Conv{Cout: cout, Cin: cin, W: make([]float32, cout*cin*9), B: make([]float32, cout)}
		for j := range c.W {
			c.W[j] = float32(r.NormFloat64() * std)
		}
		for j := range c.B {
			c.B[j] = float32(r.NormFloat64() * 0.01)
		}
		v.Convs = append(v.Convs, c)
		cin = cout
	}
	return v, nil
}
