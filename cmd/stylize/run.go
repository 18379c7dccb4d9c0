package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/stylize/stylize/internal/cli"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// exitInterrupted is the exit status after Ctrl-C (the image so far is written).
const exitInterrupted = 130

// errInterrupted marks a run stopped by Ctrl-C after writing its image.
var errInterrupted = errors.New("interrupted")

type runOpts struct {
	content, out               string
	styles                     cli.ListFlag
	blend                      string
	size, styleSize            int
	iters                      string
	optimizer, adamForm        string
	lr, beta1, beta2, eps      float64
	lbfgsHistory               int
	contentLayers, styleLayers string
	contentWeight, styleWeight float64
	tvWeight                   float64
	pooling, init, preset      string
	originalColors             bool
	scales                     int
	saveEvery, printEvery      int
	seed                       int64
	weightsPath, preprocess    string
	device                     string
	jsonOut                    bool
	outDepth                   int
	ema                        float64
	maxPixels                  int
}

const runUsage = `Usage: stylize run -content IMG -style IMG [-style IMG2 ...] [flags]

Turns a content image and one or more style images into a new image by
Gatys et al.'s optimisation, entirely on the GPU.

Examples:
  stylize run -content photo.jpg -style starry.jpg -out out.png
  stylize run -preset neural-style -content photo.jpg -style a.jpg,b.jpg -style-blend 0.7,0.3 -out out.png
  stylize run -content photo.jpg -style ink.png -original-colors -scales 3 -iters 300 -out out.png
  stylize run -content photo.jpg -style s.png -json -out out.png > progress.jsonl

Presets (-preset): seed (the default: relu5_2 content, relu1_1..relu5_1
style, weights 1e4/1e-2, Keras Adam lr 0.02 b1 0.99 eps 0.1, long side 512)
and neural-style (jcjohnson/neural-style: relu4_2, weights 5/100, TV 1e-3,
L-BFGS, random init). Every setting can be overridden by its flag.
Layers can be named relu4_2, conv4_2 or block4_conv2.

Flags:
`

func newRunFlags(o *runOpts) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&o.content, "content", "", "content image (PNG, JPEG, GIF, WebP, BMP, TIFF)")
	fs.Var(&o.styles, "style", "style image; repeat the flag or give a comma list")
	fs.StringVar(&o.blend, "style-blend", "", "blend weights of the style images, comma list (default: equal)")
	fs.StringVar(&o.out, "out", "out.png", "output image: .png or .jpg")
	fs.IntVar(&o.size, "size", -1, "long side of the output in pixels; 0 keeps the content's size (preset: 512)")
	fs.IntVar(&o.styleSize, "style-size", 0, "long side of the style images; 0 keeps their size")
	fs.StringVar(&o.iters, "iters", "", "iterations, or a comma list with one count per scale (preset: 1000)")
	fs.StringVar(&o.optimizer, "optimizer", "", "adam or lbfgs")
	fs.StringVar(&o.adamForm, "adam-form", "keras", "keras (epsilon outside the bias correction, the seed's) or torch")
	fs.Float64Var(&o.lr, "lr", math.NaN(), "learning rate (Adam) or step length (L-BFGS)")
	fs.Float64Var(&o.beta1, "beta1", math.NaN(), "Adam beta1")
	fs.Float64Var(&o.beta2, "beta2", math.NaN(), "Adam beta2")
	fs.Float64Var(&o.eps, "eps", math.NaN(), "Adam epsilon")
	fs.IntVar(&o.lbfgsHistory, "lbfgs-history", 100, "L-BFGS history size")
	fs.StringVar(&o.contentLayers, "content-layers", "", "content layers, comma list")
	fs.StringVar(&o.styleLayers, "style-layers", "", "style layers, comma list")
	fs.Float64Var(&o.contentWeight, "content-weight", math.NaN(), "content loss weight")
	fs.Float64Var(&o.styleWeight, "style-weight", math.NaN(), "style loss weight")
	fs.Float64Var(&o.tvWeight, "tv-weight", math.NaN(), "total-variation loss weight")
	fs.StringVar(&o.pooling, "pooling", "", "max or avg")
	fs.StringVar(&o.init, "init", "", "content, random, style, or the path of an image")
	fs.StringVar(&o.preset, "preset", "seed", "seed or neural-style")
	fs.BoolVar(&o.originalColors, "original-colors", false, "keep the content's colours: transfer luminance only")
	fs.IntVar(&o.scales, "scales", 1, "number of scales, coarse to fine, growing by about √2")
	fs.IntVar(&o.saveEvery, "save-every", 0, "also write the image every N iterations (OUT_0100.png, ...)")
	fs.IntVar(&o.printEvery, "print-every", 50, "report the losses every N iterations")
	fs.Int64Var(&o.seed, "seed", 1, "random seed (for -init random)")
	fs.StringVar(&o.weightsPath, "weights", "", cli.WeightsUsage)
	fs.StringVar(&o.preprocess, "preprocess", "", "caffe or torch (default: from the weights, else caffe)")
	fs.StringVar(&o.device, "device", "", "GPU adapter: index or name substring (see stylize devices)")
	fs.BoolVar(&o.jsonOut, "json", false, "write progress as JSON lines on stdout")
	fs.IntVar(&o.outDepth, "out-depth", 8, "bits per channel of a PNG output: 8 or 16")
	fs.Float64Var(&o.ema, "ema", 0, "return the exponential moving average of the iterates with this decay (e.g. 0.95); 0 disables")
	fs.IntVar(&o.maxPixels, "max-pixels", 64<<20, "refuse input images with more pixels than this")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runCommand(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := runStyle(ctx, args, os.Stdout, os.Stderr)
	if errors.Is(err, errInterrupted) {
		os.Exit(exitInterrupted)
	}
	return err
}

// settings is the validated form of the flags.
type settings struct {
	opts       transfer.Options
	blend      []float64
	pooling    ops.Pooling
	preprocess string
}

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

func finiteNonNeg(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("-%s must be a finite number >= 0, got %v", name, v)
	}
	return nil
}

// resolve applies the preset under the flags and validates everything
// that can be checked before any image is read or GPU work starts.
func resolve(fs *flag.FlagSet, o *runOpts) (*settings, error) {
	p, ok := cli.Presets[o.preset]
	if !ok {
		return nil, fmt.Errorf("unknown -preset %q (want seed or neural-style)", o.preset)
	}
	p.Fill(fs, cli.Targets{ContentLayers: &o.contentLayers, StyleLayers: &o.styleLayers, Optimizer: &o.optimizer,
		Iters: &o.iters, Init: &o.init, Pooling: &o.pooling, ContentWeight: &o.contentWeight, StyleWeight: &o.styleWeight,
		TVWeight: &o.tvWeight, LR: &o.lr, Beta1: &o.beta1, Beta2: &o.beta2, Eps: &o.eps, Size: &o.size})
	if o.content == "" {
		return nil, errors.New("no -content image (see stylize run -h)")
	}
	if len(o.styles) == 0 {
		return nil, errors.New("no -style image (see stylize run -h)")
	}
	for _, f := range append([]string{o.content}, o.styles...) {
		if st, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", f, err)
		} else if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not an image", f)
		}
	}
	s := &settings{}
	if o.blend == "" {
		for range o.styles {
			s.blend = append(s.blend, 1/float64(len(o.styles)))
		}
	} else {
		b, err := parseFloats(o.blend)
		if err != nil {
			return nil, fmt.Errorf("-style-blend: %w", err)
		}
		if len(b) != len(o.styles) {
			return nil, fmt.Errorf("-style-blend has %d weights for %d style images", len(b), len(o.styles))
		}
		for _, v := range b {
			if err := finiteNonNeg("style-blend", v); err != nil {
				return nil, err
			}
		}
		s.blend = b
	}
	cl, err := vgg.ParseLayers(o.contentLayers)
	if err != nil {
		return nil, fmt.Errorf("-content-layers: %w", err)
	}
	sl, err := vgg.ParseLayers(o.styleLayers)
	if err != nil {
		return nil, fmt.Errorf("-style-layers: %w", err)
	}
	for _, w := range []struct {
		n string
		v float64
	}{{"content-weight", o.contentWeight}, {"style-weight", o.styleWeight}, {"tv-weight", o.tvWeight}, {"lr", o.lr}, {"eps", o.eps}, {"ema", o.ema}} {
		if err := finiteNonNeg(w.n, w.v); err != nil {
			return nil, err
		}
	}
	if !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) {
		return nil, fmt.Errorf("-beta1 and -beta2 must be in [0,1), got %v and %v", o.beta1, o.beta2)
	}
	if o.ema >= 1 {
		return nil, fmt.Errorf("-ema must be below 1, got %v", o.ema)
	}
	if s.pooling, err = ops.ParsePooling(o.pooling); err != nil {
		return nil, err
	}
	if o.optimizer != "adam" && o.optimizer != "lbfgs" {
		return nil, fmt.Errorf("unknown -optimizer %q (want adam or lbfgs)", o.optimizer)
	}
	form := ops.AdamKeras
	switch o.adamForm {
	case "keras":
	case "torch", "pytorch":
		form = ops.AdamTorch
	default:
		return nil, fmt.Errorf("unknown -adam-form %q (want keras or torch)", o.adamForm)
	}
	if o.lbfgsHistory < 1 {
		return nil, fmt.Errorf("-lbfgs-history must be >= 1")
	}
	if o.preprocess != "" {
		if _, err := ops.ParsePreprocess(o.preprocess); err != nil {
			return nil, err
		}
	}
	if o.scales < 1 || o.scales > 12 {
		return nil, fmt.Errorf("-scales must be 1..12, got %d", o.scales)
	}
	if o.size < 0 || o.styleSize < 0 {
		return nil, errors.New("-size and -style-size must be >= 0")
	}
	if o.outDepth != 8 && o.outDepth != 16 {
		return nil, fmt.Errorf("-out-depth must be 8 or 16, got %d", o.outDepth)
	}
	switch strings.ToLower(filepath.Ext(o.out)) {
	case ".png":
	case ".jpg", ".jpeg":
		if o.outDepth != 8 {
			return nil, errors.New("JPEG output is 8-bit: use a .png for -out-depth 16")
		}
	default:
		return nil, fmt.Errorf("-out %s: unsupported output format (want .png, .jpg or .jpeg)", o.out)
	}
	iters, err := parseFloats(o.iters)
	if err != nil {
		return nil, fmt.Errorf("-iters: %w", err)
	}
	if len(iters) != 1 && len(iters) != o.scales {
		return nil, fmt.Errorf("-iters has %d counts for %d scales", len(iters), o.scales)
	}
	for len(iters) < o.scales {
		iters = append(iters, iters[0])
	}
	for _, n := range iters {
		if n < 1 || n != math.Trunc(n) || n > 1e7 {
			return nil, fmt.Errorf("-iters: %v is not a positive whole number", n)
		}
		s.opts.Iters = append(s.opts.Iters, int(n))
	}
	switch o.init {
	case "content", "random", "style":
	default:
		if _, err := os.Stat(o.init); err != nil {
			return nil, fmt.Errorf("-init %q is not content, random, style or a readable image: %w", o.init, err)
		}
	}
	s.opts.Config = transfer.Config{
		ContentLayers: cl, StyleLayers: sl,
		ContentWeight: o.contentWeight, StyleWeight: o.styleWeight, TVWeight: o.tvWeight,
		Optimizer: o.optimizer,
		Adam:      ops.AdamConfig{Form: form, LR: o.lr, Beta1: o.beta1, Beta2: o.beta2, Eps: o.eps, Clip: true, Lo: 0, Hi: 1},
		LBFGS:     transfer.LBFGSConfig{History: o.lbfgsHistory, LR: o.lr},
	}
	s.opts.Seed = o.seed
	s.opts.EMA = o.ema
	s.opts.PrintEvery = o.printEvery
	s.opts.SaveEvery = o.saveEvery
	s.opts.StyleScale = 1
	return s, nil
}

func toT(m imageio.Image) transfer.Image   { return transfer.Image{H: m.H, W: m.W, Pix: m.Pix} }
func fromT(m transfer.Image) imageio.Image { return imageio.Image{H: m.H, W: m.W, Pix: m.Pix} }

// checkFits refuses, before allocating, a size whose largest activation
// (block 1: 64 channels × H × W) exceeds the GPU's binding limit, and
// suggests the largest long side that fits.
func checkFits(d *gpu.Device, w *weights.VGG19, width, height int) error {
	c0 := uint64(w.Convs[0].Cout)
	need := c0 * uint64(width) * uint64(height) * 4
	limit := min(d.Limits().MaxStorageBufferBindingSize, d.Limits().MaxBufferSize)
	if need <= limit {
		return nil
	}
	scale := math.Sqrt(float64(limit) / float64(need))
	fit := int(float64(max(width, height)) * scale * 0.99)
	return fmt.Errorf("a %dx%d image needs a %d MiB buffer for VGG19's first block, over this GPU's %d MiB binding limit (%s); use -size %d or less",
		width, height, need>>20, limit>>20, d.Info.Name, fit)
}

func runStyle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o runOpts
	fs := newRunFlags(&o)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come before; see stylize run -h)", fs.Arg(0))
	}
	s, err := resolve(fs, &o)
	if err != nil {
		return err
	}
	// Images: headers are checked before anything is decoded.
	content, err := imageio.Load(o.content, o.maxPixels)
	if err != nil {
		return err
	}
	var styles []transfer.Image
	for _, p := range o.styles {
		img, err := imageio.Load(p, o.maxPixels)
		if err != nil {
			return err
		}
		if o.styleSize > 0 {
			w, h := imageio.FitLongSide(img.W, img.H, o.styleSize)
			img = imageio.Resize(img, w, h)
		}
		styles = append(styles, toT(img))
	}
	if o.init != "content" && o.init != "random" && o.init != "style" {
		img, err := imageio.Load(o.init, o.maxPixels)
		if err != nil {
			return err
		}
		ti := toT(img)
		s.opts.InitImage = &ti
		o.init = "file"
	}
	s.opts.Init = o.init
	final := o.size
	if final == 0 {
		final = max(content.W, content.H)
	}
	s.opts.Sizes = transfer.Scales(final, o.scales, 64)
	w, err := cli.LoadWeights(o.weightsPath, nil, stderr)
	if err != nil {
		return err
	}
	pre := o.preprocess
	if pre == "" {
		pre = w.Preprocess
	}
	if pre == "" {
		pre = "caffe"
	}
	preMode, err := ops.ParsePreprocess(pre)
	if err != nil {
		return err
	}
	fw, fh := transfer.FitLong(content.W, content.H, final)
	deep := append(append([]string{}, s.opts.ContentLayers...), s.opts.StyleLayers...)
	for _, l := range deep {
		min, _ := vgg.MinSide(l)
		if fw < min || fh < min {
			return fmt.Errorf("a %dx%d output is too small for layer %s: both sides must be at least %d", fw, fh, l, min)
		}
	}
	d, err := gpu.Open(gpu.Options{Adapter: o.device})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := checkFits(d, w, fw, fh); err != nil {
		return err
	}
	net, err := vgg.New(d, w, s.pooling, preMode)
	if err != nil {
		return err
	}
	defer net.Release()
	if !o.jsonOut {
		fmt.Fprintf(stderr, "device: %s\nweights: %s (preprocess %s)%s\n", d.Info, w.Source, pre, map[bool]string{true: " SYNTHETIC", false: ""}[w.Synthetic])
	}
	prog := newProgress(stdout, stderr, o.jsonOut)
	s.opts.OnProgress = prog.report
	s.opts.Resize = func(img transfer.Image, w, h int) transfer.Image { return toT(imageio.Resize(fromT(img), w, h)) }
	finish := func(img transfer.Image) (imageio.Image, error) {
		out := fromT(img)
		if o.originalColors {
			c := imageio.Resize(content, img.W, img.H)
			return imageio.OriginalColors(c, out)
		}
		return out, nil
	}
	s.opts.OnSave = func(done int, img transfer.Image) error {
		out, err := finish(img)
		if err != nil {
			return err
		}
		ext := filepath.Ext(o.out)
		name := fmt.Sprintf("%s_%04d%s", strings.TrimSuffix(o.out, ext), done, ext)
		if err := imageio.Save(name, out, o.outDepth); err != nil {
			return err
		}
		prog.event(map[string]any{"event": "saved", "path": name, "iter": done})
		return nil
	}
	start := time.Now()
	result, runErr := transfer.Run(ctx, net, toT(content), styles, s.blend, s.opts)
	interrupted := runErr != nil && ctx.Err() != nil
	if runErr != nil && !interrupted {
		return runErr
	}
	out, err := finish(result)
	if err != nil {
		return err
	}
	if err := imageio.Save(o.out, out, o.outDepth); err != nil {
		return err
	}
	prog.done()
	prog.event(map[string]any{"event": "done", "path": o.out, "width": out.W, "height": out.H,
		"seconds": time.Since(start).Seconds(), "interrupted": interrupted})
	if interrupted {
		return errInterrupted
	}
	return nil
}
