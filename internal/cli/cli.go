// Package cli is what stylize run and stylize-live share on the command
// line: the presets and the list flag.
package cli

import (
	"flag"
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

// Targets are the variables behind the flags a preset fills; nil ones are
// left alone.
type Targets struct {
	ContentLayers, StyleLayers, Optimizer, Iters, Init, Pooling *string
	ContentWeight, StyleWeight, TVWeight, LR, Beta1, Beta2, Eps *float64
	Size                                                        *int
}

// Fill sets each target whose flag was not given on fs's command line to
// the preset's value.
func (p Preset) Fill(fs *flag.FlagSet, t Targets) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range []struct {
		name string
		v    *string
		def  string
	}{{"content-layers", t.ContentLayers, p.ContentLayers}, {"style-layers", t.StyleLayers, p.StyleLayers},
		{"optimizer", t.Optimizer, p.Optimizer}, {"iters", t.Iters, p.Iters}, {"init", t.Init, p.Init},
		{"pooling", t.Pooling, p.Pooling}} {
		if s.v != nil && !set[s.name] {
			*s.v = s.def
		}
	}
	for _, n := range []struct {
		name string
		v    *float64
		def  float64
	}{{"content-weight", t.ContentWeight, p.ContentWeight}, {"style-weight", t.StyleWeight, p.StyleWeight},
		{"tv-weight", t.TVWeight, p.TVWeight}, {"lr", t.LR, p.LR}, {"beta1", t.Beta1, p.Beta1},
		{"beta2", t.Beta2, p.Beta2}, {"eps", t.Eps, p.Eps}} {
		if n.v != nil && !set[n.name] {
			*n.v = n.def
		}
	}
	if t.Size != nil && !set["size"] {
		*t.Size = p.Size
	}
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
