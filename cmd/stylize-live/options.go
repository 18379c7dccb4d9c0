package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/stylize/stylize/internal/cli"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
	"github.com/stylize/stylize/weights"
)

// options is the command line.
type options struct {
	content, out               string
	styles                     cli.ListFlag
	blend                      string
	size, styleSize            int
	iters                      int
	optimizer                  string
	lr, beta1, beta2, eps      float64
	lbfgsHistory               int
	contentLayers, styleLayers string
	contentWeight, styleWeight float64
	tvWeight                   float64
	pooling, init, preset      string
	originalColors             bool
	seed                       int64
	weightsPath, preprocess    string
	device                     string
	outDepth                   int
	maxPixels                  int
	window                     string
	script, captureDir         string
	adamForm                   string
	saveEvery, printEvery      int
	jsonOut                    bool
	scales                     int
	ema                        float64

	// Hidden, for tests and measurements.
	widths   string  // block widths of synthetic weights
	fps      float64 // frame-rate cap
	headless int     // run this many iterations without a window, print it/s, exit
	fakeTS   bool    // ignore GPU timestamps (use wall-clock pacing)

	winW, winH int
	blendW     []float64
	pool       ops.Pooling
	cfg        transfer.Config
}

var hiddenFlags = map[string]bool{"widths": true, "fps": true, "headless": true, "wallclock": true}

const usage = `Usage: stylize-live -content IMG -style IMG [-style IMG2 ...] [flags]

A window that shows the style transfer converging, live, and lets you
steer it. It takes stylize run's flags (one scale). Press H in the window
for the controls.

Examples:
  stylize-live -content photo.jpg -style starry.jpg -size 256
  stylize-live -content photo.jpg -style a.jpg,b.jpg -iters 0 -out live.png

Flags:
`

func newFlags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("stylize-live", flag.ContinueOnError)
	fs.StringVar(&o.content, "content", "", "content image (PNG, JPEG, GIF, WebP, BMP, TIFF)")
	fs.Var(&o.styles, "style", "style image; repeat the flag or give a comma list")
	fs.StringVar(&o.blend, "style-blend", "", "blend weights of the style images, comma list (default: equal)")
	fs.StringVar(&o.out, "out", "out.png", "image written on quit (Esc, Q, Ctrl-C) and when -iters is reached; S writes timestamped snapshots beside it")
	fs.IntVar(&o.size, "size", -1, "long side of the image in pixels; 0 keeps the content's size (preset: 512)")
	fs.IntVar(&o.styleSize, "style-size", 0, "long side of the style images; 0 keeps their size")
	fs.IntVar(&o.iters, "iters", 0, "stop iterating after this many iterations; 0 runs until you quit")
	fs.StringVar(&o.optimizer, "optimizer", "", "adam or lbfgs")
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
	fs.BoolVar(&o.originalColors, "original-colors", false, "show and save the content's colours (luminance-only transfer); O toggles it")
	fs.Int64Var(&o.seed, "seed", 1, "random seed (for -init random)")
	fs.StringVar(&o.weightsPath, "weights", "", cli.WeightsUsage)
	fs.StringVar(&o.preprocess, "preprocess", "", "caffe or torch (default: from the weights, else caffe)")
	fs.StringVar(&o.device, "device", "", "GPU adapter: index or name substring (see stylize devices)")
	fs.IntVar(&o.outDepth, "out-depth", 8, "bits per channel of PNG output: 8 or 16")
	fs.IntVar(&o.maxPixels, "max-pixels", 64<<20, "refuse input images (also dropped ones) with more pixels than this")
	fs.StringVar(&o.adamForm, "adam-form", "keras", "keras (epsilon outside the bias correction, the seed's) or torch")
	fs.IntVar(&o.saveEvery, "save-every", 0, "also write the image every N iterations (OUT_0100.png, ...)")
	fs.IntVar(&o.printEvery, "print-every", 0, "report the losses every N iterations (0: never; the HUD shows them)")
	fs.BoolVar(&o.jsonOut, "json", false, "write the -print-every reports as JSON lines on stdout (events such as saves always are)")
	fs.IntVar(&o.scales, "scales", 1, "accepted for stylize run's command lines: the window runs one scale (1)")
	fs.Float64Var(&o.ema, "ema", 0, "accepted for stylize run's command lines: the window shows the iterate itself (0)")
	fs.StringVar(&o.window, "window", "860x560", "initial window size WxH")
	fs.StringVar(&o.script, "script", "", "play a scripted input sequence (see the script commands in the package doc); for tests and demos")
	fs.StringVar(&o.captureDir, "capture-dir", "", "directory for the script's capture files (default: the current directory)")
	fs.StringVar(&o.widths, "widths", "", "block widths of -weights synthetic (hidden, for tests)")
	fs.Float64Var(&o.fps, "fps", 60, "frame-rate cap (hidden)")
	fs.IntVar(&o.headless, "headless", 0, "no window: run N iterations at the same settings and print it/s (hidden, for measurements)")
	fs.BoolVar(&o.fakeTS, "wallclock", false, "pace with wall-clock time even where GPU timestamps exist (hidden)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		printDefaults(fs)
		fmt.Fprint(fs.Output(), "\nControls (also on H in the window):\n"+helpText)
	}
	return fs
}

// printDefaults is flag's PrintDefaults without the hidden flags.
func printDefaults(fs *flag.FlagSet) {
	tmp := flag.NewFlagSet("", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if !hiddenFlags[f.Name] {
			tmp.Var(f.Value, f.Name, f.Usage)
			tmp.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	tmp.SetOutput(fs.Output())
	tmp.PrintDefaults()
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

// resolve applies the preset under the flags and validates everything that
// can be checked before an image is read or the window opens.
func resolve(fs *flag.FlagSet, o *options) error {
	p, ok := cli.Presets[o.preset]
	if !ok {
		return fmt.Errorf("unknown -preset %q (want seed or neural-style)", o.preset)
	}
	p.Fill(fs, cli.Targets{ContentLayers: &o.contentLayers, StyleLayers: &o.styleLayers, Optimizer: &o.optimizer,
		Init: &o.init, Pooling: &o.pooling, ContentWeight: &o.contentWeight, StyleWeight: &o.styleWeight,
		TVWeight: &o.tvWeight, LR: &o.lr, Beta1: &o.beta1, Beta2: &o.beta2, Eps: &o.eps, Size: &o.size})
	if o.content == "" {
		return errors.New("no -content image (see stylize-live -h)")
	}
	if len(o.styles) == 0 {
		return errors.New("no -style image (see stylize-live -h)")
	}
	if len(o.styles) > 8 {
		return fmt.Errorf("%d style images: the keys 1-9 select at most 8 styles and their blend", len(o.styles))
	}
	for _, f := range append([]string{o.content}, o.styles...) {
		if st, err := os.Stat(f); err != nil {
			return fmt.Errorf("cannot read %s: %w", f, err)
		} else if st.IsDir() {
			return fmt.Errorf("%s is a directory, not an image", f)
		}
	}
	if o.blend == "" {
		for range o.styles {
			o.blendW = append(o.blendW, 1/float64(len(o.styles)))
		}
	} else {
		b, err := parseFloats(o.blend)
		if err != nil {
			return fmt.Errorf("-style-blend: %w", err)
		}
		if len(b) != len(o.styles) {
			return fmt.Errorf("-style-blend has %d weights for %d style images", len(b), len(o.styles))
		}
		for _, v := range b {
			if err := finiteNonNeg("style-blend", v); err != nil {
				return err
			}
		}
		o.blendW = b
	}
	cl, err := vgg.ParseLayers(o.contentLayers)
	if err != nil {
		return fmt.Errorf("-content-layers: %w", err)
	}
	sl, err := vgg.ParseLayers(o.styleLayers)
	if err != nil {
		return fmt.Errorf("-style-layers: %w", err)
	}
	for _, w := range []struct {
		n string
		v float64
	}{{"content-weight", o.contentWeight}, {"style-weight", o.styleWeight}, {"tv-weight", o.tvWeight}, {"lr", o.lr}, {"eps", o.eps}} {
		if err := finiteNonNeg(w.n, w.v); err != nil {
			return err
		}
	}
	if !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) {
		return fmt.Errorf("-beta1 and -beta2 must be in [0,1), got %v and %v", o.beta1, o.beta2)
	}
	if o.pool, err = ops.ParsePooling(o.pooling); err != nil {
		return err
	}
	if o.optimizer != "adam" && o.optimizer != "lbfgs" {
		return fmt.Errorf("unknown -optimizer %q (want adam or lbfgs)", o.optimizer)
	}
	if o.lbfgsHistory < 1 {
		return fmt.Errorf("-lbfgs-history must be >= 1")
	}
	if o.preprocess != "" {
		if _, err := ops.ParsePreprocess(o.preprocess); err != nil {
			return err
		}
	}
	if o.size < 0 || o.styleSize < 0 {
		return errors.New("-size and -style-size must be >= 0")
	}
	if o.iters < 0 {
		return errors.New("-iters must be >= 0 (0 runs until you quit)")
	}
	if o.outDepth != 8 && o.outDepth != 16 {
		return fmt.Errorf("-out-depth must be 8 or 16, got %d", o.outDepth)
	}
	switch strings.ToLower(filepath.Ext(o.out)) {
	case ".png":
	case ".jpg", ".jpeg":
		if o.outDepth != 8 {
			return errors.New("JPEG output is 8-bit: use a .png for -out-depth 16")
		}
	default:
		return fmt.Errorf("-out %s: unsupported output format (want .png, .jpg or .jpeg)", o.out)
	}
	switch o.init {
	case "content", "random", "style":
	default:
		if _, err := os.Stat(o.init); err != nil {
			return fmt.Errorf("-init %q is not content, random, style or a readable image: %w", o.init, err)
		}
	}
	if _, err := fmt.Sscanf(o.window, "%dx%d", &o.winW, &o.winH); err != nil || o.winW < 64 || o.winH < 64 || o.winW > 16384 || o.winH > 16384 {
		return fmt.Errorf("-window %q: want WxH, each 64..16384", o.window)
	}
	if !(o.fps >= 1 && o.fps <= 1000) {
		return fmt.Errorf("-fps must be in 1..1000")
	}
	if o.widths != "" && o.weightsPath != "synthetic" {
		return errors.New("-widths applies to -weights synthetic only")
	}
	if o.scales != 1 {
		return fmt.Errorf("-scales %d: the window runs one scale; use stylize run for coarse-to-fine", o.scales)
	}
	if o.ema != 0 {
		return errors.New("-ema: the window shows the iterate itself; use stylize run for the averaged image")
	}
	if o.saveEvery < 0 || o.printEvery < 0 {
		return errors.New("-save-every and -print-every must be >= 0")
	}
	form := ops.AdamKeras
	switch o.adamForm {
	case "keras":
	case "torch":
		form = ops.AdamTorch
	default:
		return fmt.Errorf("unknown -adam-form %q (want keras or torch)", o.adamForm)
	}
	o.cfg = transfer.Config{
		ContentLayers: cl, StyleLayers: sl,
		ContentWeight: o.contentWeight, StyleWeight: o.styleWeight, TVWeight: o.tvWeight,
		Optimizer: o.optimizer,
		Adam:      ops.AdamConfig{Form: form, LR: o.lr, Beta1: o.beta1, Beta2: o.beta2, Eps: o.eps, Clip: true, Lo: 0, Hi: 1},
		LBFGS:     transfer.LBFGSConfig{History: o.lbfgsHistory, LR: o.lr},
	}
	return nil
}

// loadWeights is cli.LoadWeights with -widths, the block widths of
// synthetic weights for a narrower test network.
func loadWeights(path, widths string, stderr io.Writer) (*weights.VGG19, error) {
	var ws []int
	if path == "synthetic" && widths != "" {
		f, err := parseFloats(widths)
		if err != nil || len(f) != 5 {
			return nil, fmt.Errorf("-widths %q: want 5 block widths", widths)
		}
		for _, v := range f {
			if v < 1 || v > 4096 || v != math.Trunc(v) {
				return nil, fmt.Errorf("-widths %q: %v is not a width", widths, v)
			}
			ws = append(ws, int(v))
		}
	}
	return cli.LoadWeights(path, ws, stderr)
}
