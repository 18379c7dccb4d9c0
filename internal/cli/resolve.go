package cli

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
)

// Settings is a checked command line: the flags, filled in by the preset,
// and what they resolve to.
type Settings struct {
	*RunFlags
	Config  transfer.Config
	Blend   []float64 // one weight per style image
	Pooling ops.Pooling
}

// Resolve applies the preset under the flags given on fs and validates
// everything that can be checked before any image is read or GPU work
// starts. The commands check their own flags after it.
func (f *RunFlags) Resolve(fs *flag.FlagSet) (*Settings, error) {
	p, ok := Presets[f.Preset]
	if !ok {
		return nil, fmt.Errorf("unknown -preset %q (want %s)", f.Preset, strings.Join(PresetNames, " or "))
	}
	if err := f.fill(fs, p); err != nil {
		return nil, err
	}
	if f.Content == "" && !f.cmd.Frames {
		return nil, fmt.Errorf("no -content image (see %s -h)", f.cmd.Name)
	}
	if len(f.Styles) == 0 {
		return nil, fmt.Errorf("no -style image (see %s -h)", f.cmd.Name)
	}
	if n := len(f.Styles); f.cmd.MaxStyles > 0 && n > f.cmd.MaxStyles {
		return nil, fmt.Errorf("%d style images: %s", n, f.cmd.MaxStylesWhy)
	}
	inputs := f.Styles
	if !f.cmd.Frames {
		inputs = append([]string{f.Content}, f.Styles...)
	}
	for _, p := range inputs {
		if p == imageio.Stdin {
			continue // read when the images are loaded
		}
		if st, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, err)
		} else if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not an image", p)
		}
	}
	s := &Settings{RunFlags: f}
	var err error
	if s.Blend, err = f.blend(); err != nil {
		return nil, err
	}
	cl, err := vgg.ParseLayers(f.ContentLayers)
	if err != nil {
		return nil, fmt.Errorf("-content-layers: %w", err)
	}
	sl, err := vgg.ParseLayers(f.StyleLayers)
	if err != nil {
		return nil, fmt.Errorf("-style-layers: %w", err)
	}
	for _, w := range []struct {
		n string
		v float64
	}{{"content-weight", f.ContentWeight}, {"style-weight", f.StyleWeight}, {"tv-weight", f.TVWeight}, {"lr", f.LR}, {"eps", f.Eps}} {
		if err := finiteNonNeg(w.n, w.v); err != nil {
			return nil, err
		}
	}
	// Adam divides by √v + ε, which a zero gradient makes 0/0 when ε is 0.
	if f.Eps == 0 {
		return nil, errors.New("-eps must be > 0: Adam divides by sqrt(v) + eps, which is 0 where the gradient is")
	}
	if !(f.Beta1 >= 0 && f.Beta1 < 1) || !(f.Beta2 >= 0 && f.Beta2 < 1) {
		return nil, fmt.Errorf("-beta1 and -beta2 must be in [0,1), got %v and %v", f.Beta1, f.Beta2)
	}
	if s.Pooling, err = ops.ParsePooling(f.Pooling); err != nil {
		return nil, err
	}
	if f.Optimizer != "adam" && f.Optimizer != "lbfgs" {
		return nil, fmt.Errorf("unknown -optimizer %q (want adam or lbfgs)", f.Optimizer)
	}
	form := ops.AdamKeras
	switch f.AdamForm {
	case "keras":
	case "torch", "pytorch":
		form = ops.AdamTorch
	default:
		return nil, fmt.Errorf("unknown -adam-form %q (want keras or torch)", f.AdamForm)
	}
	if f.LBFGSHistory < 1 {
		return nil, errors.New("-lbfgs-history must be >= 1")
	}
	if f.Preprocess != "" {
		if _, err := ops.ParsePreprocess(f.Preprocess); err != nil {
			return nil, err
		}
	}
	if f.Size < 0 || f.StyleSize < 0 {
		return nil, errors.New("-size and -style-size must be >= 0")
	}
	if err := CheckKernels(f.Kernels); err != nil {
		return nil, err
	}
	if !f.cmd.Frames {
		if err := f.checkOut(); err != nil {
			return nil, err
		}
	}
	if _, err := f.MaxMemoryBytes(); err != nil {
		return nil, err
	}
	if f.Tile < -1 {
		return nil, fmt.Errorf("-tile %d: want a side in pixels, 0 (automatic) or -1 (never)", f.Tile)
	}
	switch f.Init {
	case "content", "random", "style":
	default:
		if _, err := os.Stat(f.Init); err != nil {
			return nil, fmt.Errorf("-init %q is not content, random, style or a readable image: %w", f.Init, err)
		}
	}
	s.Config = transfer.Config{
		ContentLayers: cl, StyleLayers: sl,
		ContentWeight: f.ContentWeight, StyleWeight: f.StyleWeight, TVWeight: f.TVWeight,
		Optimizer: f.Optimizer,
		Adam:      ops.AdamConfig{Form: form, LR: f.LR, Beta1: f.Beta1, Beta2: f.Beta2, Eps: f.Eps, Clip: true, Lo: 0, Hi: 1},
		LBFGS:     transfer.LBFGSConfig{History: f.LBFGSHistory, LR: f.LR},
		Tile:      f.Tile,
	}
	return s, nil
}

// blend is -style-blend's weights, or equal ones.
func (f *RunFlags) blend() ([]float64, error) {
	if f.Blend == "" {
		b := make([]float64, len(f.Styles))
		for i := range b {
			b[i] = 1 / float64(len(f.Styles))
		}
		return b, nil
	}
	b, err := parseFloats(f.Blend)
	if err != nil {
		return nil, fmt.Errorf("-style-blend: %w", err)
	}
	if len(b) != len(f.Styles) {
		return nil, fmt.Errorf("-style-blend has %d weights for %d style images", len(b), len(f.Styles))
	}
	sum := 0.0
	for _, v := range b {
		if err := finiteNonNeg("style-blend", v); err != nil {
			return nil, err
		}
		sum += v
	}
	// Normalised, as jcjohnson/neural-style does: "1,1" is "0.5,0.5".
	if sum == 0 {
		return nil, errors.New("-style-blend: the weights sum to 0, which leaves no style")
	}
	for i := range b {
		b[i] /= sum
	}
	return b, nil
}

// checkOut checks -out, -out-format and -out-depth.
func (f *RunFlags) checkOut() error {
	if f.OutDepth != 8 && f.OutDepth != 16 {
		return fmt.Errorf("-out-depth must be 8 or 16, got %d", f.OutDepth)
	}
	format, err := f.outFormat()
	if err != nil {
		return err
	}
	if format == "jpeg" && f.OutDepth != 8 {
		return errors.New("JPEG output is 8-bit: use a .png for -out-depth 16")
	}
	if f.Out == "-" {
		switch {
		case !f.cmd.Stdout:
			return fmt.Errorf("-out -: %s cannot write its image to stdout; give a file", f.cmd.Name)
		case f.JSON:
			return errors.New("-out - and -json both write to stdout: give -out a file")
		case f.SaveEvery > 0:
			return errors.New("-save-every names its images after -out: give -out a file")
		}
		return nil
	}
	return f.checkOutWritable()
}

// outFormat is the output's format, "png" or "jpeg": -out-format's for
// stdout (PNG by default), else the one -out's extension names.
func (f *RunFlags) outFormat() (string, error) {
	given := ""
	switch strings.ToLower(f.OutFormat) {
	case "":
	case "png":
		given = "png"
	case "jpg", "jpeg":
		given = "jpeg"
	default:
		return "", fmt.Errorf("-out-format %q: want png or jpg", f.OutFormat)
	}
	if f.Out == "-" {
		if given == "" {
			return "png", nil
		}
		return given, nil
	}
	ext := imageio.FormatOf(f.Out)
	if ext == "" {
		return "", fmt.Errorf("-out %s: unsupported output format (want .png, .jpg or .jpeg, or - for stdout)", f.Out)
	}
	if given != "" && given != ext {
		return "", fmt.Errorf("-out-format %s disagrees with -out %s: a file's extension names its format", f.OutFormat, f.Out)
	}
	return ext, nil
}

// checkOutWritable checks, before any GPU work, that -out can be written
// where the run will write it (imageio.Save: a temporary file in its
// directory renamed over it), and that it is none of the inputs unless
// -overwrite-input says so: a run should not lose its work, or an input,
// at the final save.
func (f *RunFlags) checkOutWritable() error {
	dir := filepath.Dir(f.Out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("-out %s: its directory %s does not exist", f.Out, dir)
	}
	if st, err := os.Stat(f.Out); err == nil {
		if st.IsDir() {
			return fmt.Errorf("-out %s is a directory", f.Out)
		}
		if !f.OverwriteInput {
			for _, in := range append([]string{f.Content}, f.Styles...) {
				if is, err := os.Stat(in); err == nil && os.SameFile(st, is) {
					return fmt.Errorf("-out %s is the input %s: give another -out, or -overwrite-input to replace it", f.Out, in)
				}
			}
		}
	}
	tmp, err := os.CreateTemp(dir, ".stylize-check-*")
	if err != nil {
		return fmt.Errorf("-out %s: its directory cannot be written: %w", f.Out, err)
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return nil
}

// finiteNonNeg refuses a value of the flag called name that is not a
// finite number >= 0.
func finiteNonNeg(name string, v float64) error {
	// The GPU computes in float32: a value past its range would be +Inf.
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > math.MaxFloat32 {
		return fmt.Errorf("-%s must be a number in [0, %.4g] (float32's range), got %v", name, math.MaxFloat32, v)
	}
	return nil
}
