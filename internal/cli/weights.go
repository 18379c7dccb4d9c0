package cli

import (
	"fmt"
	"io"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/weights"
)

// LoadWeights finds the VGG19 weights a command line names: -weights FILE
// (any format weights.Load reads), the word synthetic (untrained weights
// of the block widths given, VGG19's when nil, with a loud warning), or
// the cached download when path is empty.
func LoadWeights(path string, widths []int, stderr io.Writer) (*weights.VGG19, error) {
	if path == "synthetic" {
		if widths == nil {
			widths = []int{64, 128, 256, 512, 512}
		}
		fmt.Fprintln(stderr, "WARNING: using SYNTHETIC untrained VGG19 weights (-weights synthetic): the output is a test pattern, not style transfer")
		return weights.Synthetic(widths, 1)
	}
	if path == "" {
		p, name, ok := weights.FindCached()
		if !ok {
			dir, _ := weights.CacheDir()
			return nil, fmt.Errorf("no VGG19 weights: run `./bin/stylize weights fetch vgg19-keras` (80 MB; or place the file in %s), or pass -weights FILE", dir)
		}
		fmt.Fprintf(stderr, "weights: %s (%s)\n", p, name)
		path = p
	}
	return weights.Load(path)
}

// WeightsUsage is the -weights flag's help, the same in both commands.
const WeightsUsage = "VGG19 weights: .safetensors, PyTorch .pth or Keras .h5 (default: the cached download); 'synthetic' for untrained test weights"

// ParseWidths parses -widths, the five block widths of synthetic weights.
func ParseWidths(s string) ([]int, error) {
	f, err := parseFloats(s)
	if err != nil || len(f) != 5 {
		return nil, fmt.Errorf("-widths %q: want 5 block widths", s)
	}
	var ws []int
	for _, v := range f {
		if v < 1 || v > 4096 || v != math.Trunc(v) {
			return nil, fmt.Errorf("-widths %q: %v is not a width", s, v)
		}
		ws = append(ws, int(v))
	}
	return ws, nil
}

// Preprocessing is how images are prepared for w: -preprocess, else what
// the weights say, else caffe.
func (s *Settings) Preprocessing(w *weights.VGG19) (string, ops.Preprocess, error) {
	pre := s.Preprocess
	if pre == "" {
		pre = w.Preprocess
	}
	if pre == "" {
		pre = "caffe"
	}
	mode, err := ops.ParsePreprocess(pre)
	return pre, mode, err
}

// Describe prints the device and the weights a command runs on.
func Describe(stderr io.Writer, d *gpu.Device, w *weights.VGG19, pre string) {
	synthetic := ""
	if w.Synthetic {
		synthetic = " SYNTHETIC"
	}
	fmt.Fprintf(stderr, "device: %s\nweights: %s (preprocess %s)%s\n", d.Info, w.Source, pre, synthetic)
}
