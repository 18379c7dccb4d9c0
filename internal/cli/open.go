package cli

import (
	"io"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/tune"
	"github.com/stylize/stylize/weights"
)

// Opened is what stylize run and stylize video open before their GPU
// work: the weights, the preprocessing they ask for (its name and mode),
// the adapter, and the kernel plans with the tuning cache they came from
// (nil where there is none). Close closes the device.
type Opened struct {
	Weights *weights.VGG19
	Pre     string
	PreMode ops.Preprocess
	D       *gpu.Device
	Kernels plan.Kernels
	Cache   *tune.Cache
}

// Open opens, in this order, so that what can be refused without a GPU is
// refused first: -weights, its preprocessing, the adapter -device names
// with -max-memory's budget, and -kernels' plans (the tuning cache's or
// the heuristic's, said on stderr).
func (s *Settings) Open(stderr io.Writer) (*Opened, error) {
	o := &Opened{}
	var err error
	if o.Weights, err = LoadWeights(s.Weights, nil, stderr); err != nil {
		return nil, err
	}
	if o.Pre, o.PreMode, err = s.Preprocessing(o.Weights); err != nil {
		return nil, err
	}
	if o.D, err = s.OpenDevice(); err != nil {
		return nil, err
	}
	if o.Kernels, o.Cache, err = LoadKernels(s.Kernels, o.D, stderr); err != nil {
		o.D.Close()
		return nil, err
	}
	return o, nil
}

// Close closes the device.
func (o *Opened) Close() { o.D.Close() }
