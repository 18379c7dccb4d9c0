package bench

import (
	"fmt"
	"math/rand"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// This file and oprows.go are the bench's only calls into vgg, transfer
// and the ops constructors: the workload it times.

// The seed's settings, which every iteration row uses.
var (
	widths        = []int{64, 128, 256, 512, 512}
	contentLayers = []string{"relu5_2"}
	styleLayers   = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
	deepest       = "relu5_2"
	adam          = ops.AdamConfig{Form: ops.AdamKeras, LR: 0.02, Beta1: 0.99, Beta2: 0.999, Eps: 0.1, Clip: true, Lo: 0, Hi: 1}
)

const (
	contentWeight = 1e4
	styleWeight   = 1e-2
)

// Layer is one layer of the trunk at one image size.
type Layer struct {
	vgg.Layer
	Cin, Cout int // for a pool, both are its channels
	H, W      int // the layer's input size (a pool outputs H/2 x W/2)
}

// Layers walks VGG19 from the image to deepest (inclusive) for an h x w
// image with the given block widths.
func Layers(widths []int, h, w int, deepest string) ([]Layer, error) {
	p, err := vgg.Index(deepest)
	if err != nil {
		return nil, err
	}
	if len(widths) != 5 {
		return nil, fmt.Errorf("need 5 block widths, got %d", len(widths))
	}
	var out []Layer
	c := 3
	for i := 0; i <= p; i++ {
		l := vgg.Table[i]
		if h < 1 || w < 1 {
			return nil, fmt.Errorf("a %dx%d image is too small to reach %s", w, h, deepest)
		}
		if l.Pool {
			out = append(out, Layer{Layer: l, Cin: c, Cout: c, H: h, W: w})
			h, w = h/2, w/2
			continue
		}
		cout := widths[l.Block-1]
		out = append(out, Layer{Layer: l, Cin: c, Cout: cout, H: h, W: w})
		c = cout
	}
	return out, nil
}

// IterationConvFLOPs is the conv FLOPs of one iteration at h x w: every
// 3x3 conv from relu1_1 to deepest, forward and backward_input (the
// trunk's backward includes the first conv's, down to the image). The
// losses, pools and Adam add a few per cent, not counted here.
func IterationConvFLOPs(widths []int, h, w int, deepest string) (float64, error) {
	ls, err := Layers(widths, h, w, deepest)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, l := range ls {
		if !l.Pool {
			total += 2 * ops.Conv3x3FLOPs(l.Cin, l.Cout, l.H, l.W)
		}
	}
	return total, nil
}

// fits estimates, before allocating anything, whether an s x s iteration
// can run on d: its largest buffer is block 1's activation.
func fits(d *gpu.Device, s int) error {
	need := uint64(widths[0]) * uint64(s) * uint64(s) * 4
	l := d.Limits()
	if need > l.MaxStorageBufferBindingSize {
		return fmt.Errorf("does not fit: block 1's activation (%dx%dx%d f32) is %d MiB, over this device's max storage binding of %d MiB",
			widths[0], s, s, need>>20, l.MaxStorageBufferBindingSize>>20)
	}
	if need > l.MaxBufferSize {
		return fmt.Errorf("does not fit: block 1's activation is %d MiB, over this device's max buffer size of %d MiB", need>>20, l.MaxBufferSize>>20)
	}
	return nil
}

// synthNet is the synthetic VGG19, made and uploaded on first use.
type synthNet struct {
	d     *gpu.Device
	seed  int64
	net   *vgg.Net
	bytes int64 // its GPU buffers
}

// get returns the network, making it the first time.
func (n *synthNet) get() (*vgg.Net, error) {
	if n.net != nil {
		return n.net, nil
	}
	w, err := weights.Synthetic(widths, n.seed)
	if err != nil {
		return nil, err
	}
	before, _ := n.d.MemoryBytes()
	net, err := vgg.New(n.d, w, ops.MaxPool, ops.Caffe)
	if err != nil {
		return nil, err
	}
	after, _ := n.d.MemoryBytes()
	n.net, n.bytes = net, after-before
	return net, nil
}

// release frees the network, if it was made.
func (n *synthNet) release() {
	if n.net != nil {
		n.net.Release()
		n.net = nil
	}
}

// randImage is a deterministic uniform image.
func randImage(h, w int, seed int64) transfer.Image {
	r := rand.New(rand.NewSource(seed))
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = r.Float32()
	}
	return transfer.Image{H: h, W: w, Pix: pix}
}

// engine is one iteration size's engine.
type engine struct {
	size     int
	e        *transfer.Engine
	memBytes int64 // the net's and the engine's buffers
	warm     float64
}

// step submits one iteration.
func (e *engine) step() error { return e.e.Step() }

// release frees the engine; a nil or released one is a no-op.
func (e *engine) release() {
	if e != nil && e.e != nil {
		e.e.Release()
		e.e = nil
	}
}

// seedConfig is the seed's iteration as the bench runs it.
// tile is transfer.Config.Tile: -1 untiled, above 0 tiles of that core.
func seedConfig(unfused bool, k plan.Kernels, tile int) transfer.Config {
	return transfer.Config{
		ContentLayers: contentLayers, StyleLayers: styleLayers,
		ContentWeight: contentWeight, StyleWeight: styleWeight,
		Optimizer: "adam", Adam: adam, Unfused: unfused, Kernels: k, Tile: tile,
	}
}

// IterationPlan is the plan of the bench's iteration at s x s (content
// and one style image of that size, the seed's losses) with kernels k
// (the heuristic's when nil): the passes stylize tune -sizes measures.
func IterationPlan(l plan.Limits, s int, k plan.Kernels) (*plan.Plan, error) {
	sz := plan.Size{W: s, H: s}
	return plan.Make(seedConfig(false, k, -1).Request(convWidths(), sz, []plan.Size{sz}), l)
}

// convWidths are the synthetic VGG19's conv widths, block widths spread
// over each block's convs.
func convWidths() []int {
	var w []int
	for _, l := range vgg.Table {
		if !l.Pool {
			w = append(w, widths[l.Block-1])
		}
	}
	return w
}

// engine builds the seed's engine at s x s: random content, one random
// style image of the same size, starting from the content; untiled, or on
// tiles of core side tile (> 0).
func (n *synthNet) engine(s int, unfused bool, k plan.Kernels, tile int) (*engine, error) {
	net, err := n.get()
	if err != nil {
		return nil, err
	}
	before, _ := n.d.MemoryBytes()
	content := randImage(s, s, n.seed+1)
	style := randImage(s, s, n.seed+2)
	if tile <= 0 {
		tile = -1
	}
	e, err := transfer.NewEngine(net, seedConfig(unfused, k, tile), content, []transfer.Image{style}, []float64{1}, content)
	if err != nil {
		return nil, err
	}
	after, _ := n.d.MemoryBytes()
	return &engine{size: s, e: e, memBytes: after - before + n.bytes}, nil
}
