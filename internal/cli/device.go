package cli

import (
	"fmt"
	"io"
	"math"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// CheckLayers refuses an image size too small for the deepest of layers:
// every pool before a layer needs at least 2 rows and columns.
func CheckLayers(what string, width, height int, layers ...[]string) error {
	for _, ls := range layers {
		for _, l := range ls {
			m, _ := vgg.MinSide(l)
			if width < m || height < m {
				return fmt.Errorf("a %dx%d %s is too small for layer %s: both sides must be at least %d", width, height, what, l, m)
			}
		}
	}
	return nil
}

// CheckFits refuses, before allocating, an image size whose largest
// activation (block 1: w's first width × height × width) exceeds the GPU's
// binding limit, and suggests the largest long side that fits.
func CheckFits(d *gpu.Device, w *weights.VGG19, width, height int) error {
	need := uint64(w.Convs[0].Cout) * uint64(width) * uint64(height) * 4
	limit := min(d.Limits().MaxStorageBufferBindingSize, d.Limits().MaxBufferSize)
	if need <= limit {
		return nil
	}
	fit := int(float64(max(width, height)) * math.Sqrt(float64(limit)/float64(need)) * 0.99)
	return fmt.Errorf("a %dx%d image needs a %d MiB buffer for VGG19's first block, over this GPU's %d MiB binding limit (%s); use -size %d or less",
		width, height, need>>20, limit>>20, d.Info.Name, fit)
}

// Describe prints the device and the weights a command runs on.
func Describe(stderr io.Writer, d *gpu.Device, w *weights.VGG19, pre string) {
	synthetic := ""
	if w.Synthetic {
		synthetic = " SYNTHETIC"
	}
	fmt.Fprintf(stderr, "device: %s\nweights: %s (preprocess %s)%s\n", d.Info, w.Source, pre, synthetic)
}
