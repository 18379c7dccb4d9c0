// Package cli is the command line that stylize run and stylize-live share:
// the presets, one flag set (Register, RunFlags) and its validation
// (RunFlags.Resolve), the loading of the images and weights the flags
// name, and the GPU checks both make before they build a network. It also
// holds the work of stylize run (NewRunCommand, RunCommand.Resolve,
// Job.Run) and of stylize weights (Weights), so that the commands
// themselves only parse flags and wire packages together.
package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Preset is a named set of defaults; every value can be overridden by a flag.
type Preset struct {
	ContentLayers, StyleLayers string
	ContentWeight, StyleWeight float64
	TVWeight                   float64
	Optimizer                  string
	LR, Beta1, Beta2, Eps      float64
	Iters                      string
	Init                       string
	Size                       int
	Pooling                    string
}

// Presets are the named presets.
var Presets = map[string]Preset{
	// seed: the TensorFlow/Keras tutorial this project started from.
	"seed": {ContentLayers: "relu5_2", StyleLayers: "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
		ContentWeight: 1e4, StyleWeight: 1e-2, Optimizer: "adam", LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1,
		Iters: "1000", Init: "content", Size: 512, Pooling: "max"},
	// neural-style: jcjohnson/neural-style's defaults.
	"neural-style": {ContentLayers: "relu4_2", StyleLayers: "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
		ContentWeight: 5, StyleWeight: 100, TVWeight: 1e-3, Optimizer: "lbfgs", LR: 1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		Iters: "1000", Init: "random", Size: 512, Pooling: "max"},
}

// PresetNames are the presets' names in the order the help gives them,
// the default first.
var PresetNames = []string{"seed", "neural-style"}

// Value is the preset's value of the flag called name, as the flag's text,
// and whether the preset sets that flag.
func (p Preset) Value(name string) (string, bool) {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	v, ok := map[string]string{
		"content-layers": p.ContentLayers, "style-layers": p.StyleLayers, "optimizer": p.Optimizer,
		"iters": p.Iters, "init": p.Init, "pooling": p.Pooling, "size": strconv.Itoa(p.Size),
		"content-weight": g(p.ContentWeight), "style-weight": g(p.StyleWeight), "tv-weight": g(p.TVWeight),
		"lr": g(p.LR), "beta1": g(p.Beta1), "beta2": g(p.Beta2), "eps": g(p.Eps),
	}[name]
	return v, ok
}

// ListFlag collects a repeatable flag that also accepts comma lists.
type ListFlag []string

func (l *ListFlag) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated values of s.
func (l *ListFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// ExitInterrupted is the exit status of a command stopped by Ctrl-C after
// writing the image so far.
const ExitInterrupted = 130

// ErrInterrupted marks a run stopped by Ctrl-C after writing its image.
var ErrInterrupted = errors.New("interrupted")

// parseFloats parses a comma list of numbers; empty items are skipped.
func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out = append(out, v)
	}
	return out, nil
}
