package vgg

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/weights"
)

// Net is VGG19's frozen conv weights on the GPU, each layout a plan
// reads uploaded when first acquired (Acquire) and freed when no engine
// uses it any more.
type Net struct {
	D          *gpu.Device
	Convs      []*ops.ConvWeights
	refs       map[int]map[ops.LayoutKey]int // the users of each uploaded layout (Acquire)
	Pooling    ops.Pooling
	Preprocess ops.Preprocess
	Synthetic  bool
	Source     string
}

// New prepares w's convs for d; their GPU layouts are uploaded as plans
// acquire them (Acquire, or a trunk's first use).
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

// Layouts names weight layouts by conv index (TrunkPlan.Layouts,
// plan.Plan.Layouts).
type Layouts = map[int]map[ops.LayoutKey]bool

// Acquire uploads the weight layouts ls names that are not on the GPU yet,
// and counts a user of each; Unacquire ends that use. A layout no user
// holds any more is freed at once, so that engines built one after
// another (the scales of a run) hold only their own plan's layouts: its
// WeightBytes. Engines that share the net at the same time each keep what
// they read.
func (n *Net) Acquire(ls Layouts) error {
	if n.refs == nil {
		n.refs = map[int]map[ops.LayoutKey]int{}
	}
	done := Layouts{} // what this call counted, undone if a later one fails
	for i, keys := range ls {
		if i < 0 || i >= len(n.Convs) {
			n.Unacquire(done)
			return fmt.Errorf("vgg: no conv %d (the weights hold %d)", i, len(n.Convs))
		}
		for k := range keys {
			if _, err := n.Convs[i].Buffer(k); err != nil {
				n.Unacquire(done)
				return fmt.Errorf("vgg: %w", err)
			}
			if n.refs[i] == nil {
				n.refs[i] = map[ops.LayoutKey]int{}
			}
			n.refs[i][k]++
			if done[i] == nil {
				done[i] = map[ops.LayoutKey]bool{}
			}
			done[i][k] = true
		}
	}
	return nil
}

// Unacquire ends a use that Acquire counted, freeing the layouts no one
// uses any more.
func (n *Net) Unacquire(ls Layouts) {
	for i, keys := range ls {
		if i < 0 || i >= len(n.Convs) {
			continue
		}
		for k := range keys {
			if n.refs[i][k] > 0 {
				n.refs[i][k]--
			}
			if n.refs[i][k] == 0 {
				n.Convs[i].Free(k)
			}
		}
	}
}

// Release frees the weights.
func (n *Net) Release() {
	for _, c := range n.Convs {
		c.Release()
	}
	n.Convs = nil
}

// Widths returns the output channels of each conv the weights hold.
func (n *Net) Widths() []int {
	w := make([]int, len(n.Convs))
	for i, c := range n.Convs {
		w[i] = c.Cout
	}
	return w
}

// Trunk is the network at one image size, truncated at the deepest layer
// its users need, built from a TrunkPlan. Its activations and gradients
// are allocated once and reused every iteration: those a loss taps or the
// backward pass reads in buffers of their own, the plan's transient ones
// in two shared buffers (LayerPlan.Transient).
//
//	X: (3,H,W) image in [0,1]   DX: (3,H,W) dL/dX
type Trunk struct {
	Net   *Net
	Plan  TrunkPlan
	H, W  int
	X, DX *gpu.Buffer
	Depth int // Table positions 0..Depth-1 are computed

	pre, dpre *gpu.Buffer
	work      ops.Workspace // the Winograd passes', shared
	acts      []*gpu.Buffer // a transient layer's is a view: in buffer i mod 2 of a pair (LayerPlan.Transient)
	grads     []*gpu.Buffer // views: layer i's in buffer i mod 2 (TrunkPlan.gradLens)
	routes    []*gpu.Buffer // with gradients, each pool's (ops.PoolRouteSpec), by position
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

// NewTrunk allocates the trunk that tp describes (TrunkPlan.Buffers, in
// that order) and builds its forward pass with tp's conv plans. It checks
// tp against the weights; it decides nothing.
func (n *Net) NewTrunk(tp TrunkPlan) (*Trunk, error) {
	if err := tp.check(n.Widths()); err != nil {
		return nil, err
	}
	d := n.D
	depth := len(tp.Layers)
	t := &Trunk{Net: n, Plan: tp, H: tp.H, W: tp.W, Depth: depth}
	fail := func(err error) (*Trunk, error) {
		t.Release()
		return nil, fmt.Errorf("vgg: trunk %dx%d: %w", tp.W, tp.H, err)
	}
	for _, s := range tp.Buffers() {
		b, err := d.Alloc(s)
		if err != nil {
			return fail(err)
		}
		t.bufs = append(t.bufs, b)
	}
	// Taken in Buffers' order.
	next := 0
	take := func() *gpu.Buffer { next++; return t.bufs[next-1] }
	t.X, t.pre = take(), take()
	t.acts = make([]*gpu.Buffer, depth)
	for i, lp := range tp.Layers {
		if !lp.Transient {
			t.acts[i] = take()
		}
	}
	// The pair the transient activations take turns in: the gradients'
	// with gradients, else their own.
	var pair []*gpu.Buffer
	if tp.Grad {
		pair = []*gpu.Buffer{take(), take()}
		for i, lp := range tp.Layers {
			g, err := pair[i%2].View("d"+Table[i].Name, lp.C, lp.H, lp.W)
			if err != nil {
				return fail(err)
			}
			t.grads = append(t.grads, g)
		}
		t.dpre, t.DX = take(), take()
		t.routes = make([]*gpu.Buffer, depth)
		for i := range tp.Layers {
			if Table[i].Pool {
				t.routes[i] = take()
			}
		}
	} else if even, odd := tp.transientLens(); even+odd > 0 {
		pair = []*gpu.Buffer{take(), take()}
	}
	for i, lp := range tp.Layers {
		if lp.Transient {
			a, err := pair[i%2].View(Table[i].Name, lp.C, lp.H, lp.W)
			if err != nil {
				return fail(err)
			}
			t.acts[i] = a
		}
	}
	if len(tp.Workspace()) > 0 {
		t.work = ops.Workspace{V: take(), M: take()}
	}
	if next != len(t.bufs) {
		return fail(fmt.Errorf("took %d of the plan's %d buffers", next, len(t.bufs)))
	}
	st, err := ops.NewPreprocess(d, n.Preprocess, t.X, t.pre)
	if err != nil {
		return fail(err)
	}
	t.add(st)
	in := t.pre
	for i, lp := range tp.Layers {
		l := Table[i]
		if l.Pool {
			// With gradients, the route carries the ReLU mask of the conv
			// output below when its gradient goes out masked.
			var route *gpu.Buffer
			if tp.Grad {
				route = t.routes[i]
			}
			st, err = ops.NewPoolForward(d, n.Pooling, in, t.acts[i], route, i > 0 && tp.Layers[i-1].MaskedGrad)
		} else {
			st, err = ops.NewConv3x3ForwardWith(d, n.Convs[l.Conv], ops.ConvForward{X: in, Y: t.acts[i], ReLU: true, Work: t.work}, lp.Forward)
		}
		if err != nil {
			return fail(err)
		}
		t.add(st)
		in = t.acts[i]
	}
	return t, nil
}

func (t *Trunk) add(s *ops.Step) {
	t.forward = append(t.forward, s)
	t.steps = append(t.steps, s)
}

// Forward records preprocess and every layer up to the trunk's depth.
func (t *Trunk) Forward() ops.Recorder { return t.forward }

// Act returns the activation of a layer (any naming scheme). It refuses
// a transient layer, whose activation later layers overwrite during the
// forward pass.
func (t *Trunk) Act(layer string) (*gpu.Buffer, error) {
	p, err := Index(layer)
	if err != nil {
		return nil, err
	}
	if p >= t.Depth {
		return nil, fmt.Errorf("vgg: layer %s is deeper than this trunk (%s)", layer, Table[t.Depth-1].Name)
	}
	if t.Plan.Layers[p].Transient {
		return nil, fmt.Errorf("vgg: layer %s is transient in this trunk's plan: its activation is overwritten during the forward pass (tap it in the plan)", layer)
	}
	return t.acts[p], nil
}

// Grad returns the gradient buffer of a layer's output. Losses tapped at
// that layer add (+=) their gradient into it between the write from the
// layer above and the backward through the layer, as Backward orders it
// (or the layer above adds them as it writes it: the plan's fused layers).
// It shares its memory with every second layer's gradient, so it holds
// the layer's gradient only then.
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
//
// taps maps layer names (any scheme) to what must run at that layer.
// fused holds the loss gradients of the layers whose gradients the plan
// fuses into the backward pass of the conv above (LayerPlan.FuseContent,
// FuseStyle): exactly those layers, with exactly those terms, each over
// this trunk's activation at the layer. Their losses, built without a
// gradient buffer, are the recorders tapped there; they are recorded at
// the start of the backward, before any conv backward, since they read
// only the forward's activations and the fused passes read their Grams.
// They must not write the layer's gradient: the fused conv writes it
// with =, after them.
func (t *Trunk) Backward(taps map[string][]ops.Recorder, fused map[string]ops.FusedGrads) (ops.Recorder, error) {
	if t.grads == nil {
		return nil, fmt.Errorf("vgg: trunk built without gradients")
	}
	fusedBy := map[int]ops.FusedGrads{} // keyed by the position of the conv above
	for name, g := range fused {
		p, err := Index(name)
		if err != nil {
			return nil, err
		}
		if p+1 >= t.Depth {
			return nil, fmt.Errorf("vgg: fused gradients at %s, but no conv above it in this trunk writes its gradient", name)
		}
		if _, ok := fusedBy[p+1]; ok {
			return nil, fmt.Errorf("vgg: layer %s is fused twice (by two of its names)", name)
		}
		lp := t.Plan.Layers[p+1]
		if g.Content() != lp.FuseContent || g.Style() != lp.FuseStyle {
			return nil, fmt.Errorf("vgg: fused gradients at %s (content %v, style %v) differ from the plan's (content %v, style %v)",
				name, g.Content(), g.Style(), lp.FuseContent, lp.FuseStyle)
		}
		if g.F != t.acts[p] {
			return nil, fmt.Errorf("vgg: the fused losses at %s do not read this trunk's %s activation", name, Table[p].Name)
		}
		fusedBy[p+1] = g
	}
	for i, lp := range t.Plan.Layers {
		if _, ok := fusedBy[i]; (lp.FuseContent || lp.FuseStyle) && !ok {
			return nil, fmt.Errorf("vgg: the plan fuses %s's loss gradients into %s's backward, but none were given", Table[i-1].Name, Table[i].Name)
		}
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
		// The gradient this layer writes goes out masked when the plan says
		// so for the layer below (MaskedGrad), and comes in masked when it
		// says so for this one.
		maskOut := i > 0 && t.Plan.Layers[i-1].MaskedGrad
		var st *ops.Step
		var err error
		if l.Pool {
			st, err = ops.NewPoolBackward(d, t.Net.Pooling, t.grads[i], t.routes[i], dIn)
		} else {
			b := ops.ConvBackward{DY: t.grads[i], Mask: t.acts[i], DX: dIn, Grads: fusedBy[i], Work: t.work}
			if t.Plan.Layers[i].MaskedGrad {
				b.Mask = nil
			}
			if maskOut {
				b.OutMask = in
			}
			st, err = ops.NewConv3x3Backward(d, t.Net.Convs[l.Conv], b, t.Plan.Layers[i].Backward)
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
