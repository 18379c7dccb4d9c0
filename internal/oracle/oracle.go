// Package oracle reads the PyTorch float64 reference cases in testdata/
// (see testdata/ORACLE.md) for the tests of several packages.
package oracle

import (
	"encoding/json"
	"fmt"

	"github.com/stylize/stylize/weights"
)

// Meta is a case's settings, from the header's __metadata__["oracle"].
type Meta struct {
	ContentLayers []string  `json:"content_layers"`
	StyleLayers   []string  `json:"style_layers"`
	ContentWeight float64   `json:"content_weight"`
	StyleWeight   float64   `json:"style_weight"`
	TVWeight      float64   `json:"tv_weight"`
	Pooling       string    `json:"pooling"`
	Widths        []int     `json:"widths"`
	StyleBlend    []float64 `json:"style_blend"`
	ContentHW     []int     `json:"content_hw"`
	StyleHWs      [][]int   `json:"style_hws"`
	Steps         int       `json:"steps"`
	LBFGSHistory  int       `json:"lbfgs_history"`
	Adam          struct {
		LR      float64 `json:"lr"`
		Beta1   float64 `json:"beta1"`
		Beta2   float64 `json:"beta2"`
		Epsilon float64 `json:"epsilon"`
	} `json:"adam"`
}

// Case is one reference case: its tensors and settings.
type Case struct {
	File *weights.File
	Meta Meta
}

// Load reads a case file such as testdata/tiny_seed.safetensors.
func Load(path string) (*Case, error) {
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		return nil, err
	}
	c := &Case{File: f}
	if err := json.Unmarshal([]byte(f.Metadata["oracle"]), &c.Meta); err != nil {
		return nil, fmt.Errorf("oracle: %s: settings: %w", path, err)
	}
	return c, nil
}

// F64 returns a tensor as float64.
func (c *Case) F64(name string) ([]float64, error) {
	t, ok := c.File.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("oracle: %s has no tensor %q", c.File.Path, name)
	}
	return t.Float64s()
}
