package ops

import (
	"fmt"
	"math"

	"github.com/stylize/stylize/gpu"
)

// AdamForm chooses between the two published forms of Adam.
type AdamForm int

const (
	// AdamKeras is tf.keras.optimizers.Adam, the seed's: epsilon is added to
	// sqrt(v) before the bias correction is folded into the step size.
	AdamKeras AdamForm = iota
	// AdamTorch is torch.optim.Adam, Kingma & Ba (2015) Algorithm 1.
	AdamTorch
)

// AdamConfig is Adam's hyper-parameters.
type AdamConfig struct {
	Form             AdamForm
	LR, Beta1, Beta2 float64
	Eps              float64
	Clip             bool // clip x to [Lo, Hi] after each step
	Lo, Hi           float64
}

// adamParams mirrors adam.wgsl's Params: 8 × f32 = 32 bytes.
type adamParams struct {
	LR    float32 `wgsl:"lr"`
	Beta1 float32 `wgsl:"b1"`
	Beta2 float32 `wgsl:"b2"`
	Eps   float32 `wgsl:"eps"`
	Q1    float32 `wgsl:"q1"` // 1-beta1, computed in float64
	Q2    float32 `wgsl:"q2"` // 1-beta2
	_, _  float32
}

// Adam is an Adam optimiser over x with its moments on the GPU.
type Adam struct {
	Step
	M, V   *gpu.Buffer
	State  *gpu.Buffer // [t, 1-b1^t, 1-b2^t, keras alpha_t, 1/(1-b1^t), 1/(1-b2^t)]
	params *gpu.Buffer
	cfg    AdamConfig
}

type adamData struct {
	decl
	Entry  string
	N      int
	CLIP   bool
	LO, HI float64
}

func (c AdamConfig) check() error {
	for _, v := range []struct {
		n string
		v float64
	}{{"lr", c.LR}, {"beta1", c.Beta1}, {"beta2", c.Beta2}, {"eps", c.Eps}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return fmt.Errorf("ops: adam: %s must be a finite number >= 0, got %v", v.n, v.v)
		}
	}
	if c.Beta1 >= 1 || c.Beta2 >= 1 {
		return fmt.Errorf("ops: adam: betas must be < 1, got %v and %v", c.Beta1, c.Beta2)
	}
	if c.Clip && !(c.Lo <= c.Hi) {
		return fmt.Errorf("ops: adam: empty clip range [%v, %v]", c.Lo, c.Hi)
	}
	return nil
}

// NewAdam creates the optimiser state (m = v = 0, t = 0) for x, reading the
// gradient from g on each step.
func NewAdam(d *gpu.Device, cfg AdamConfig, x, g *gpu.Buffer) (*Adam, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if x == nil {
		return nil, &gpu.ShapeError{Op: "adam", What: "x", Want: "an f32 buffer", Got: "nil buffer"}
	}
	n := x.Len()
	if err := wantLen("adam", "gradient", g, n); err != nil {
		return nil, err
	}
	a := &Adam{cfg: cfg}
	a.Name = "adam"
	specs := AdamBuffers(x.Shape...)
	var err error
	for i, p := range []**gpu.Buffer{&a.M, &a.V, &a.State} {
		if *p, err = d.Alloc(specs[i]); err != nil {
			a.Release()
			return nil, err
		}
		a.own = append(a.own, *p)
	}
	if a.params, err = d.NewParams(specs[3].Name, a.paramValues()); err != nil {
		a.Release()
		return nil, err
	}
	a.own = append(a.own, a.params)
	entry := "keras"
	if cfg.Form == AdamTorch {
		entry = "torch"
	}
	sl := slots{ro("g", g, "gradient"), rw("x", x, "image"), rw("m", a.M, ""), rw("v", a.V, ""),
		rw("st", a.State, "step state"), uni("params", a.params, adamParams{})}
	prep, err := bindSlots(d, "adam.prepare", "adam.wgsl", "prepare", &adamData{Entry: "prepare", N: n}, sl)
	if err != nil {
		a.Release()
		return nil, err
	}
	a.parts = append(a.parts, part{b: prep, x: 1, y: 1, z: 1})
	step, err := bindSlots(d, "adam."+entry, "adam.wgsl", entry, &adamData{Entry: entry, N: n, CLIP: cfg.Clip, LO: cfg.Lo, HI: cfg.Hi}, sl)
	if err != nil {
		a.Release()
		return nil, err
	}
	a.add1D(step, n)
	return a, nil
}

func (a *Adam) paramValues() adamParams {
	c := a.cfg
	return adamParams{LR: float32(c.LR), Beta1: float32(c.Beta1), Beta2: float32(c.Beta2), Eps: float32(c.Eps),
		Q1: float32(1 - c.Beta1), Q2: float32(1 - c.Beta2)}
}

// Config returns the current hyper-parameters.
func (a *Adam) Config() AdamConfig { return a.cfg }

// SetLR changes the learning rate for the steps recorded from now on.
func (a *Adam) SetLR(lr float64) error {
	c := a.cfg
	c.LR = lr
	if err := c.check(); err != nil {
		return err
	}
	a.cfg = c
	return a.params.SetParams(a.paramValues())
}

// Reset zeroes m, v and the step count.
func (a *Adam) Reset() error {
	for _, b := range []*gpu.Buffer{a.M, a.V, a.State} {
		if err := b.Fill(0); err != nil {
			return err
		}
	}
	return nil
}

// AdamBuffers are the buffers NewAdam allocates over an image x of the
// given shape: the moments m and v, the step state and the params.
func AdamBuffers(shape ...int) []gpu.Spec {
	return []gpu.Spec{gpu.F32Spec("adam.m", shape...), gpu.F32Spec("adam.v", shape...),
		gpu.F32Spec("adam.state", 8), gpu.ParamsSpec("adam.params", adamParams{})}
}
