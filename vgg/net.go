package vgg

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/weights"
)

// Net is VGG19's frozen conv weights on the GPU, uploaded once.
type Net struct {
	D          *gpu.Device
	Convs      []*ops.ConvWeights
	Pooling    ops.Pooling
	Preprocess ops.Preprocess
	Synthetic  bool
	Source     string
}

// New uploads w's convs (in both GEMM layouts) to d.
func New(d *gpu.Device, w *weights.VGG19, pool ops.Pooling, pre ops.Preprocess) (*Net, error) {
	if err := w.Check(w.Source); err != nil {
		return nil, err
	}
	n := &Net{D: d, Pooling: pool, Preprocess: pre, Synthetic: w.Synthetic, Source: w.Source}
	for i, c := range w.Convs {
		cw, err := ops.NewConvWeights(d, Table[convPos(i)].Name, c.W, c.B, c.Cout, c.Cin)
		if err != nil {
			n.Release()
			return nil, fmt.Errorf("vgg: %w", err)
		}
		n.Convs = append(n.Convs, cw)
	}
	return n, nil
}

// convPos returns the Table position of conv i.
func convPos(i int) int {
	for p, l := range Table {
		if l.Conv == i {
			return p
		}
	}
	return -1
}

// Release frees the weights.
func (n *Net) Release() {
	for _, c := range n.Convs {
		c.Release()
	}
	n.Convs = nil
}

// Trunk is the network at one image size, truncated at the deepest layer
// its users need. Its activations (kept for the backward pass) and
// gradients are allocated once and reused every iteration.
//
//	X: (3,H,W) image in [0,1]   DX: (3,H,W) dL/dX
type Trunk struct {
	Net   *Net
	H, W  int
	X, DX *gpu.Buffer
	Depth int // Table positions 0..Depth-1 are computed

	pre, dpre *gpu.Buffer
	acts      []*gpu.Buffer
	grads     []*gpu.Buffer
	forward   ops.Seq
	steps     []*ops.Step
	bufs      []*gpu.Buffer
}

// MinSide returns the smallest image side that reaches layer deepest:
// every pool before it needs at least 2 rows and columns.
func MinSide(deepest string) (int, error) {
	p, err := Index(deepest)
	if err != nil {
		return 0, err
	}
	return 1 << Table[p].Block >> btoi(!Table[p].Pool), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NewTrunk allocates the trunk for an h×w image, computed up to and
// including layer deepest. withGrad also allocates the backward's buffers.
func (n *Net) NewTrunk(h, w int, deepest string, withGrad bool) (*Trunk, error) {
	p, err := Index(deepest)
	if err != nil {
		return nil, err
	}
	if !Table[p].Pool && Table[p].Conv >= len(n.Convs) || Table[p].Pool && Table[p-1].Conv >= len(n.Convs) {
		return nil, fmt.Errorf("vgg: layer %s is deeper than the %d convs the weights hold", deepest, len(n.Convs))
	}
	minSide, _ := MinSide(deepest)
	if h < minSide || w < minSide {
		return nil, fmt.Errorf("vgg: a %dx%d image is too small to reach %s: both sides must be at least %d", w, h, deepest, minSide)
	}
	d := n.D
	t := &Trunk{Net: n, H: h, W: w, Depth: p + 1}
	alloc := func(name string, shape ...int) (*gpu.Buffer, error) {
		b, err := d.NewBuffer(name, gpu.F32, shape...)
		if err == nil {
			t.bufs = append(t.bufs, b)
		}
		return b, err
	}
	fail := func(err error) (*Trunk, error) {
		t.Release()
		return nil, fmt.Errorf("vgg: trunk %dx%d: %w", w, h, err)
	}
	if t.X, err = alloc("image", 3, h, w); err != nil {
		return fail(err)
	}
	if t.pre, err = alloc("preprocessed", 3, h, w); err != nil {
		return fail(err)
	}
	st, err := ops.NewPreprocess(d, n.Preprocess, t.X, t.pre)
	if err != nil {
		return fail(err)
	}
	t.add(st)
	in, c := t.pre, 3
	for i := 0; i <= p; i++ {
		l := Table[i]
		var y *gpu.Buffer
		if l.Pool {
			h, w = h/2, w/2
			if y, err = alloc(l.Name, c, h, w); err != nil {
				return fail(err)
			}
			st, err = ops.NewPoolForward(d, n.Pooling, in, y)
		} else {
			cw := n.Convs[l.Conv]
			c = cw.Cout
			if y, err = alloc(l.Name, c, h, w); err != nil {
				return fail(err)
			}
			st, err = ops.NewConv3x3Forward(d, cw, in, y, true)
		}
		if err != nil {
			return fail(err)
		}
		t.add(st)
		t.acts = append(t.acts, y)
		in = y
	}
	if withGrad {
		for i, a := range t.acts {
			g, err := alloc("d"+Table[i].Name, a.Shape...)
			if err != nil {
				return fail(err)
			}
			t.grads = append(t.grads, g)
		}
		if t.dpre, err = alloc("dpreprocessed", 3, t.H, t.W); err != nil {
			return fail(err)
		}
		if t.DX, err = alloc("dimage", 3, t.H, t.W); err != nil {
			return fail(err)
		}
	}
	return t, nil
}

func (t *Trunk) add(s *ops.Step) {
	t.forward = append(t.forward, s)
	t.steps = append(t.steps, s)
}

// Forward records preprocess and every layer up to the trunk's depth.
func (t *Trunk) Forward() ops.Recorder { return t.forward }

// Act returns the activation of a layer (any naming scheme).
func (t *Trunk) Act(layer string) (*gpu.Buffer, error) {
	p, err := Index(layer)
	if err != nil {
		return nil, err
	}
	if p >= t.Depth {
		return nil, fmt.Errorf("vgg: layer %s is deeper than this trunk (%s)", layer, Table[t.Depth-1].Name)
	}
	return t.acts[p], nil
}

// Grad returns the gradient buffer of a layer's output. Losses tapped at
// that layer add (+=) their gradient into it between the write from the
// layer above and the backward through the layer, as Backward orders it
// (or the layer above adds them as it writes it: BackwardFused).
func (t *Trunk) Grad(layer string) (*gpu.Buffer, error) {
	if t.grads == nil {
		return nil, fmt.Errorf("vgg: trunk built without gradients")
	}
	p, err := Index(layer)
	if err != nil {
		return nil, err
	}
	if p >= t.Depth {
		return nil, fmt.Errorf("vgg: layer %s is deeper than this trunk", layer)
	}
	return t.grads[p], nil
}

// Backward builds, once, the backward pass: deepest layer first, each
// layer's gradient is written (=) by the layer above (zeroed at the
// deepest), then the recorders tapped at that layer add (+=) into it,
// then it flows through the layer (conv backward_input with the ReLU mask
// fused, or pool backward); last, preprocess backward writes DX.
// taps maps layer names (any scheme) to what must run at that layer.
func (t *Trunk) Backward(taps map[string][]ops.Recorder) (ops.Recorder, error) {
	return t.BackwardFused(taps, nil)
}

// fusedAt returns the conv above Table position p whose backward pass
// writes p's gradient and could add p's loss gradients (CanFuse).
func (t *Trunk) fusedAt(p int, taps ops.GradTaps) (*ops.ConvWeights, error) {
	if p+1 >= t.Depth {
		return nil, fmt.Errorf("vgg: %s is the trunk's deepest layer: no conv above it writes its gradient", Table[p].Name)
	}
	l := Table[p+1]
	if l.Pool {
		return nil, fmt.Errorf("vgg: the layer above %s is a pool (%s), not a conv", Table[p].Name, l.Name)
	}
	cw := t.Net.Convs[l.Conv]
	a := t.acts[p]
	if _, err := ops.FusedBackwardPlan(t.Net.D, cw, a.Shape[1], a.Shape[2], true, taps); err != nil {
		return nil, fmt.Errorf("vgg: %s: %w", Table[p].Name, err)
	}
	return cw, nil
}

// CanFuse reports whether the loss gradients at layer (one content and
// one style loss) can be added by the backward pass of the conv above it
// (BackwardFused): the layer is not the trunk's deepest, the layer above
// is a conv, and the adapter binds enough storage buffers.
func (t *Trunk) CanFuse(layer string) bool {
	p, err := Index(layer)
	if err != nil || p >= t.Depth || t.grads == nil {
		return false
	}
	// Placeholders: only which kinds of loss are fused counts here.
	dummy := ops.GradTaps{Content: &ops.Loss{}, Style: &ops.StyleLoss{}}
	_, err = t.fusedAt(p, dummy)
	return err == nil
}

// BackwardFused is Backward where the loss gradients fused[layer] are
// added by the backward pass of the conv above layer, which writes the
// layer's gradient, instead of by passes of their own (see
// ops.GradTaps; every fused layer must pass CanFuse). The losses must be
// built with grad nil: their recorders, in taps[layer] as for Backward,
// then compute only the loss values (and the style Grams the fused pass
// reads), and are recorded at the start of the backward, before any
// conv backward; they must not write the layer's gradient.
func (t *Trunk) BackwardFused(taps map[string][]ops.Recorder, fused map[string]ops.GradTaps) (ops.Recorder, error) {
	if t.grads == nil {
		return nil, fmt.Errorf("vgg: trunk built without gradients")
	}
	fusedBy := map[int]ops.GradTaps{} // keyed by the position of the conv above
	for name, g := range fused {
		p, err := Index(name)
		if err != nil {
			return nil, err
		}
		if p >= t.Depth {
			return nil, fmt.Errorf("vgg: fused tap at %s is deeper than this trunk", name)
		}
		if g.Empty() {
			continue
		}
		if _, ok := fusedBy[p+1]; ok {
			return nil, fmt.Errorf("vgg: layer %s is fused twice (by two of its names)", name)
		}
		if _, err := t.fusedAt(p, g); err != nil {
			return nil, err
		}
		for _, l := range []*ops.Loss{g.Content, styleOf(g.Style)} {
			if l != nil && l.Features() != t.acts[p] {
				return nil, fmt.Errorf("vgg: fused %s at %s does not read this trunk's %s activation", l.Name, name, Table[p].Name)
			}
		}
		fusedBy[p+1] = g
	}
	at := map[int][]ops.Recorder{}
	for name, rs := range taps {
		p, err := Index(name)
		if err != nil {
			return nil, err
		}
		if p >= t.Depth {
			return nil, fmt.Errorf("vgg: tap at %s is deeper than this trunk", name)
		}
		at[p] = append(at[p], rs...)
	}
	d := t.Net.D
	var seq ops.Seq
	// The fused layers' loss values (and Grams) first: they read only the
	// forward's activations, and the fused conv passes read the Grams.
	for i := 0; i < t.Depth; i++ {
		if _, ok := fusedBy[i+1]; ok {
			seq = append(seq, at[i]...)
			delete(at, i)
		}
	}
	for i := t.Depth - 1; i >= 0; i-- {
		l := Table[i]
		if i == t.Depth-1 {
			z, err := ops.NewFill(d, t.grads[i], 0)
			if err != nil {
				return nil, err
			}
			t.steps = append(t.steps, z)
			seq = append(seq, z)
		}
		seq = append(seq, at[i]...)
		in, dIn := t.pre, t.dpre
		if i > 0 {
			in, dIn = t.acts[i-1], t.grads[i-1]
		}
		var st *ops.Step
		var err error
		if l.Pool {
			st, err = ops.NewPoolBackward(d, t.Net.Pooling, t.grads[i], in, dIn)
		} else if g, ok := fusedBy[i]; ok {
			st, err = ops.NewConv3x3BackwardFused(d, t.Net.Convs[l.Conv], t.grads[i], t.acts[i], dIn, g)
		} else {
			st, err = ops.NewConv3x3BackwardInput(d, t.Net.Convs[l.Conv], t.grads[i], t.acts[i], dIn, false)
		}
		if err != nil {
			return nil, err
		}
		t.steps = append(t.steps, st)
		seq = append(seq, st)
	}
	pb, err := ops.NewPreprocessBackward(d, t.Net.Preprocess, t.dpre, t.DX)
	if err != nil {
		return nil, err
	}
	t.steps = append(t.steps, pb)
	return append(seq, pb), nil
}

func styleOf(s *ops.StyleLoss) *ops.Loss {
	if s == nil {
		return nil
	}
	return &s.Loss
}

// Release frees the trunk's buffers and bindings (not the Net's weights).
func (t *Trunk) Release() {
	for _, s := range t.steps {
		s.Release()
	}
	for _, b := range t.bufs {
		b.Release()
	}
	t.steps, t.bufs = nil, nil
}
