// Package oracle reads the PyTorch float64 reference cases in testdata/
// (see testdata/ORACLE.md) for the tests of several packages.
package oracle

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

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

// Spread is how far PyTorch's own float32 runs of a case stand from its
// float64 oracle (testdata/gen/f32_distance.py, written to
// testdata/CASE.f32.json): per optimizer, the worst relative loss
// distance at each step and the final image's max abs and norm-wise
// distances, over Runs runs from x0 scaled by (1 + s u), s in Scales:
// float32's rounding of x0 (1e-7) and the norm-wise error of stylize's
// least exact kernel, Winograd F(4×4,3×3) (3e-6). A float32 pipeline
// cannot be held closer to the oracle than that on a chaotic case.
type Spread struct {
	Runs   int         `json:"runs"`
	Scales []float64   `json:"scales"`
	Adam   OptimSpread `json:"adam"`
	LBFGS  OptimSpread `json:"lbfgs"`
}

// OptimSpread is Spread for one optimizer.
type OptimSpread struct {
	LossRel      []float64 `json:"loss_rel_per_step"`
	ImageMax     float64   `json:"image_max_abs"`
	ImageNormRel float64   `json:"image_norm_rel"`
}

// SpreadMargin is the factor between PyTorch's measured float32 spread
// and a test's bound: the spread is the largest of a few runs, a sample
// of the tail, and our kernels sum in other orders than PyTorch's.
const SpreadMargin = 2

// LoadSpread reads the spread of the case whose oracle is at path
// (CASE.safetensors beside CASE.f32.json).
func LoadSpread(path string) (*Spread, error) {
	raw, err := os.ReadFile(strings.TrimSuffix(path, ".safetensors") + ".f32.json")
	if err != nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	var s Spread
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("oracle: %s: %w", path, err)
	}
	if s.Runs < 1 || len(s.Scales) == 0 || len(s.Adam.LossRel) == 0 || len(s.LBFGS.LossRel) == 0 || s.Adam.ImageNormRel <= 0 || s.LBFGS.ImageNormRel <= 0 {
		return nil, fmt.Errorf("oracle: %s: no spread measured", path)
	}
	return &s, nil
}

// SpreadFloor is the least loss bound: the relative accuracy float32
// reaches on the steps before any branch (ORACLE.md expects 1e-5 to
// 1e-4), where PyTorch's own spread can be smaller still.
const SpreadFloor = 2e-5

// LossBound is the bound of step k's loss: SpreadMargin times the largest
// spread over steps 0..k (a float32 run that departs at one step stays
// departed), and at least SpreadFloor.
func (o OptimSpread) LossBound(k int) float64 {
	m := 0.0
	for i := 0; i <= k && i < len(o.LossRel); i++ {
		m = max(m, o.LossRel[i])
	}
	return max(SpreadFloor, SpreadMargin*m)
}

// ImageBounds are SpreadMargin times the final image's spread: max abs
// and norm-wise relative.
func (o OptimSpread) ImageBounds() (maxAbs, normRel float64) {
	return SpreadMargin * o.ImageMax, SpreadMargin * o.ImageNormRel
}
