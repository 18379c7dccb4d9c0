package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// RunFlags is the command line that stylize run and stylize-live share:
// the images, the losses, the optimiser and the output. Register puts it
// on a flag set; each command registers its own flags beside it (stylize
// run: -iters, -scales, -ema; stylize-live: its window's), and Resolve
// fills in the preset and checks it.
type RunFlags struct {
	Content, Out               string
	Styles                     ListFlag
	Blend                      string
	Size, StyleSize            int
	Optimizer, AdamForm        string
	LR, Beta1, Beta2, Eps      float64
	LBFGSHistory               int
	ContentLayers, StyleLayers string
	ContentWeight, StyleWeight float64
	TVWeight                   float64
	Pooling, Init, Preset      string
	OriginalColors             bool
	SaveEvery, PrintEvery      int
	Seed                       int64
	Weights, Preprocess        string
	Device                     string
	JSON                       bool
	OutDepth                   int
	OutFormat                  string // png or jpg: -out -'s format
	OverwriteInput             bool   // -out may name an input
	MaxPixels                  int
	MaxMemory                  string // -max-memory as given; MaxMemoryBytes parses it
	Tile                       int    // -tile: core side; 0 automatic, -1 never
	Kernels                    string // one of KernelModes

	cmd    Command
	filled []string // the flags a preset fills
}

// Command is what a command that takes RunFlags says about them.
type Command struct {
	// Name is the command as it is typed; messages point to its -h.
	Name string
	// PrintEvery is -print-every's default.
	PrintEvery int
	// MaxStyles, when above 0, is the most -style images the command
	// takes, and MaxStylesWhy the reason.
	MaxStyles    int
	MaxStylesWhy string
	// Usage replaces the shared help text of the flags it names.
	Usage map[string]string
	// Stdout says that the command can write its image to stdout, when
	// -out is "-".
	Stdout bool
	// Frames says that the command's images are a clip's frames (-in)
	// and its output a directory: -content and -out are its own to check.
	Frames bool
}

// Register adds the shared flags to fs, with c's help texts and defaults.
// A flag a preset fills holds the seed preset's value until Resolve
// replaces it with the chosen preset's (unless it was given).
func Register(fs *flag.FlagSet, c Command) *RunFlags {
	f := &RunFlags{cmd: c}
	use := func(name, text string) string {
		if u, ok := c.Usage[name]; ok {
			return u
		}
		return text
	}
	seed := Presets[PresetNames[0]]
	str := func(v *string, name, def, usage string) { fs.StringVar(v, name, def, use(name, usage)) }
	num := func(v *int, name string, def int, usage string) { fs.IntVar(v, name, def, use(name, usage)) }
	str(&f.Content, "content", "", "content image (PNG, JPEG, GIF, WebP, BMP, TIFF)")
	fs.Var(&f.Styles, "style", use("style", "style image; repeat the flag or give a comma list"))
	str(&f.Blend, "style-blend", "", "blend weights of the style images, comma list (default: equal)")
	str(&f.Out, "out", "out.png", use("out", "output image: .png or .jpg, or - for stdout (PNG unless -out-format jpg)"))
	str(&f.OutFormat, "out-format", "", "format of -out -: png or jpg (a file's extension names its own)")
	num(&f.Size, f.fills("size"), seed.Size, "long side of the output in pixels; 0 keeps the content's size")
	num(&f.StyleSize, "style-size", 0, "long side of the style images; 0 keeps their size")
	str(&f.Optimizer, f.fills("optimizer"), seed.Optimizer, "adam or lbfgs")
	str(&f.AdamForm, "adam-form", "keras", "keras (epsilon outside the bias correction, the seed's) or torch")
	for _, v := range []struct {
		p          *float64
		name, help string
		def        float64
	}{
		{&f.LR, "lr", "learning rate (Adam) or step length (L-BFGS)", seed.LR},
		{&f.Beta1, "beta1", "Adam beta1", seed.Beta1},
		{&f.Beta2, "beta2", "Adam beta2", seed.Beta2},
		{&f.Eps, "eps", "Adam epsilon", seed.Eps},
		{&f.ContentWeight, "content-weight", "content loss weight", seed.ContentWeight},
		{&f.StyleWeight, "style-weight", "style loss weight", seed.StyleWeight},
		{&f.TVWeight, "tv-weight", "total-variation loss weight", seed.TVWeight},
	} {
		fs.Float64Var(v.p, f.fills(v.name), v.def, use(v.name, v.help))
	}
	num(&f.LBFGSHistory, "lbfgs-history", 100, "L-BFGS history size")
	str(&f.ContentLayers, f.fills("content-layers"), seed.ContentLayers, "content layers, comma list, each named relu4_2, conv4_2, block4_conv2 or by torchvision index (features.22 or 22)")
	str(&f.StyleLayers, f.fills("style-layers"), seed.StyleLayers, "style layers, comma list, named as -content-layers")
	str(&f.Pooling, f.fills("pooling"), seed.Pooling, "max or avg")
	str(&f.Init, f.fills("init"), seed.Init, "content, random, style, or the path of an image")
	str(&f.Preset, "preset", PresetNames[0], strings.Join(PresetNames, " or "))
	fs.BoolVar(&f.OriginalColors, "original-colors", false, use("original-colors", "keep the content's colours: transfer luminance only"))
	num(&f.SaveEvery, "save-every", 0, "also write the image every N iterations (OUT_0100.png, ...)")
	num(&f.PrintEvery, "print-every", c.PrintEvery, "report the losses every N iterations")
	fs.Int64Var(&f.Seed, "seed", 1, use("seed", "random seed (for -init random)"))
	str(&f.Weights, "weights", "", WeightsUsage)
	str(&f.Preprocess, "preprocess", "", "caffe or torch (default: from the weights, else caffe)")
	str(&f.Device, "device", "", "GPU adapter: index or name substring (see stylize devices)")
	fs.BoolVar(&f.JSON, "json", false, use("json", "write progress as JSON lines on stdout"))
	num(&f.OutDepth, "out-depth", 8, "bits per channel of a PNG output: 8 or 16")
	fs.BoolVar(&f.OverwriteInput, "overwrite-input", false, "let -out name the content or a style image, which it then replaces")
	num(&f.MaxPixels, "max-pixels", 64<<20, "refuse input images with more pixels than this")
	num(&f.Tile, "tile", 0, "run the network on tiles of this side in pixels (exact spatial tiling: the result equals the untiled one to float rounding); 0 tiles automatically where the image exceeds the GPU's binding limit or -max-memory, -1 never")
	str(&f.MaxMemory, "max-memory", "auto", "GPU memory the run may plan to hold at its peak, weights included: a size such as 6GiB or 512MiB, none (or 0), or auto (3/4 of the available memory on a CPU adapter, none on a GPU, whose memory WebGPU does not tell); -dry-run prints the peak")
	str(&f.Kernels, "kernels", "auto", "kernel plans: auto (those stylize tune measured on this GPU where it has, else the heuristic's), heuristic, or direct, winograd (F(2x2,3x3)) or winograd4 (F(4x4,3x3)) on every conv pass that supports it")
	return f
}

// fills records that a preset fills the flag called name, and returns name.
func (f *RunFlags) fills(name string) string {
	f.filled = append(f.filled, name)
	return name
}

// fill sets each flag a preset fills and the command line did not give to
// p's value.
func (f *RunFlags) fill(fs *flag.FlagSet, p Preset) error {
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for _, name := range f.filled {
		v, _ := p.Value(name)
		if fl := fs.Lookup(name); fl != nil && !given[name] {
			if err := fl.Value.Set(v); err != nil {
				return fmt.Errorf("preset value of -%s: %w", name, err)
			}
		}
	}
	return nil
}

// PrintDefaults is flag's PrintDefaults for fs without the flags named in
// hidden, and with what each preset gives a flag that presets fill in
// place of its default: "(seed: 0.02, neural-style: 1)", or "(default
// 512)" where they agree.
func (f *RunFlags) PrintDefaults(fs *flag.FlagSet, hidden ...string) {
	skip := map[string]bool{}
	for _, h := range hidden {
		skip[h] = true
	}
	filled := map[string]bool{}
	for _, n := range f.filled {
		filled[n] = true
	}
	out := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(fl *flag.Flag) {
		if skip[fl.Name] {
			return
		}
		usage, def := fl.Usage, fl.DefValue
		if filled[fl.Name] {
			typ, _ := flag.UnquoteUsage(fl)
			usage += " " + presetDefaults(fl.Name, typ == "string")
			def = map[bool]string{true: "", false: "0"}[typ == "string"] // a zero default is not printed
		}
		out.Var(fl.Value, fl.Name, usage)
		out.Lookup(fl.Name).DefValue = def
	})
	out.SetOutput(fs.Output())
	out.PrintDefaults()
}

// presetDefaults says what each preset sets the flag called name to.
func presetDefaults(name string, quote bool) string {
	vals := make([]string, len(PresetNames))
	same := true
	for i, p := range PresetNames {
		v, _ := Presets[p].Value(name)
		if quote {
			v = strconv.Quote(v)
		}
		vals[i] = v
		same = same && v == vals[0]
	}
	if same {
		return "(default " + vals[0] + ")"
	}
	each := make([]string, len(vals))
	for i, v := range vals {
		each[i] = PresetNames[i] + ": " + v
	}
	return "(" + strings.Join(each, ", ") + ")"
}
