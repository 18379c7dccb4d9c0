package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/stylize/stylize/bench"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/term"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/transfer"
	"github.com/stylize/stylize/vgg"
)

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

// RunCommand is stylize run's command line: the shared flags and its own
// (a schedule over several scales, and the moving average of the iterates).
type RunCommand struct {
	*RunFlags
	Iters  string
	Scales int
	EMA    float64
	DryRun bool
	Plot   string // draw the losses to this .png or .svg
	// Tune measures the run's kernel plans first (stylize tune), within
	// TuneTime.
	Tune     bool
	TuneTime time.Duration
}

// NewRunCommand registers stylize run's flags on fs, and its help.
func NewRunCommand(fs *flag.FlagSet) *RunCommand {
	c := &RunCommand{RunFlags: Register(fs, Command{Name: "stylize run", PrintEvery: 50, Stdout: true})}
	fs.StringVar(&c.Iters, c.fills("iters"), Presets[PresetNames[0]].Iters, "iterations, or a comma list with one count per scale (-scales 3 -iters 300,200,100)")
	fs.IntVar(&c.Scales, "scales", 1, "number of scales, coarse to fine, growing by about √2")
	fs.Float64Var(&c.EMA, "ema", 0, "return the exponential moving average of the iterates with this decay (e.g. 0.95); 0 disables")
	fs.BoolVar(&c.Tune, "tune", false, "first measure the kernel plans of this run's passes on this GPU (stylize tune), within -tune-time, and use them")
	fs.DurationVar(&c.TuneTime, "tune-time", 5*time.Minute, "the most -tune may take; passes it does not reach keep the heuristic's plans")
	fs.StringVar(&c.Plot, "plot", "", "draw the loss terms over the iterations to this .png or .svg (every -print-every iterations)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "print the plan (each layer's kernels and fusions, every GPU buffer with its size and lifetime) and the predicted peak GPU memory, then exit without running")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		c.PrintDefaults(fs)
	}
	return c
}

// Job is a checked stylize run, ready to read its images and run.
type Job struct {
	*Settings
	Scales   int
	Options  transfer.Options // all but what the images decide: the sizes, the init image, the callbacks
	DryRun   bool             // print the plans and stop
	Plot     string           // draw the losses to this file
	Tune     bool             // measure the kernel plans first
	TuneTime time.Duration
}

// Resolve checks the command line (RunFlags.Resolve, then stylize run's
// own flags) before any image is read or GPU work starts.
func (c *RunCommand) Resolve(fs *flag.FlagSet) (*Job, error) {
	s, err := c.RunFlags.Resolve(fs)
	if err != nil {
		return nil, err
	}
	if err := finiteNonNeg("ema", c.EMA); err != nil {
		return nil, err
	}
	if c.EMA >= 1 {
		return nil, fmt.Errorf("-ema must be below 1, got %v", c.EMA)
	}
	if c.Scales < 1 || c.Scales > 12 {
		return nil, fmt.Errorf("-scales must be 1..12, got %d", c.Scales)
	}
	iters, err := parseFloats(c.Iters)
	if err != nil {
		return nil, fmt.Errorf("-iters: %w", err)
	}
	if len(iters) != 1 && len(iters) != c.Scales {
		return nil, fmt.Errorf("-iters has %d counts for %d scales", len(iters), c.Scales)
	}
	for len(iters) < c.Scales {
		iters = append(iters, iters[0])
	}
	if c.Tune && c.TuneTime <= 0 {
		return nil, fmt.Errorf("-tune-time must be positive, got %v", c.TuneTime)
	}
	if c.Plot != "" {
		if err := bench.CheckPlotPath(c.Plot); err != nil {
			return nil, err
		}
		if c.PrintEvery <= 0 {
			return nil, errors.New("-plot draws the losses read every -print-every iterations: give -print-every > 0")
		}
	}
	if c.Tune && s.Kernels != "auto" {
		return nil, fmt.Errorf("-tune measures plans for -kernels auto to use, not with -kernels %s", s.Kernels)
	}
	j := &Job{Settings: s, Scales: c.Scales, DryRun: c.DryRun, Plot: c.Plot, Tune: c.Tune, TuneTime: c.TuneTime, Options: transfer.Options{Config: s.Config,
		Seed: c.Seed, EMA: c.EMA, PrintEvery: c.PrintEvery, SaveEvery: c.SaveEvery, StyleScale: 1}}
	for _, n := range iters {
		if n < 1 || n != math.Trunc(n) || n > 1e7 {
			return nil, fmt.Errorf("-iters: %v is not a positive whole number", n)
		}
		j.Options.Iters = append(j.Options.Iters, int(n))
	}
	return j, nil
}

// Run reads the images and the weights, runs the style transfer on the
// GPU and writes the output (also after Ctrl-C, which cancels ctx: then
// it returns ErrInterrupted). Progress goes to stderr, or as JSON lines to
// stdout with -json.
func (j *Job) Run(ctx context.Context, stdout, stderr io.Writer) error {
	if j.Out == "-" && !j.DryRun && term.IsTerminal(stdout) {
		return errors.New("-out -: stdout is a terminal; redirect it (-out - > out.png) or give -out a file")
	}
	in, err := j.LoadInputs(false)
	if err != nil {
		return err
	}
	o := j.Options
	o.Init, o.InitImage = in.Init, nil
	if in.InitImage != nil {
		ti := ToTransfer(*in.InitImage)
		o.InitImage = &ti
	}
	var styles []transfer.Image
	for _, st := range in.Styles {
		styles = append(styles, ToTransfer(st))
	}
	final := j.Size
	if final == 0 {
		final = max(in.Content.W, in.Content.H)
	}
	o.Sizes = transfer.Scales(final, j.Scales, 64)
	// The weights, the device and the kernel plans: measured ones (the
	// tuning cache, -tune) or the heuristic's, said on stderr, with -json
	// too.
	op, err := j.Open(stderr)
	if err != nil {
		return err
	}
	defer op.Close()
	w, d, cache := op.Weights, op.D, op.Cache
	o.Kernels = op.Kernels
	// The plan of every scale, before any GPU work: it refuses what this
	// adapter cannot run (an image too small for the layers, a buffer over
	// the binding limit), and -dry-run prints it.
	var sizes []plan.Size
	for _, st := range styles {
		sizes = append(sizes, transfer.SizeOf(st))
	}
	plans, err := transfer.PlanRun(w.ConvWidths(), plan.LimitsOf(d), transfer.SizeOf(ToTransfer(in.Content)), sizes, o)
	if err != nil {
		return err
	}
	if j.Tune && !j.DryRun {
		if cache == nil {
			return fmt.Errorf("-tune: no tuning cache here (the user's cache directory is unknown)")
		}
		if o.Kernels, err = TuneFirst(ctx, d, plans, cache, j.TuneTime, stderr); err != nil {
			return err
		}
		if plans, err = transfer.PlanRun(w.ConvWidths(), plan.LimitsOf(d), transfer.SizeOf(ToTransfer(in.Content)), sizes, o); err != nil {
			return err
		}
	}
	if j.DryRun {
		return printPlans(stdout, plans, j.JSON)
	}
	net, err := vgg.New(d, w, j.Pooling, op.PreMode)
	if err != nil {
		return err
	}
	defer net.Release()
	if !j.JSON {
		Describe(stderr, d, w, op.Pre)
	}
	prog := newProgress(stdout, stderr, j.JSON)
	start := time.Now()
	if j.JSON {
		prog.event(map[string]any{"event": "kernels", "kernels": plans[0].KernelsName()})
	}
	o.OnProgress = prog.report
	o.OnEstimate = func(e transfer.Estimate) { prog.estimate(e, time.Since(start), final) }
	var losses lossLog
	if j.Plot != "" {
		o.OnProgress = func(p transfer.Progress) {
			losses.add(p)
			prog.report(p)
		}
	}
	o.Resize = func(img transfer.Image, w, h int) transfer.Image {
		return ToTransfer(imageio.Resize(FromTransfer(img), w, h))
	}
	o.OnSave = func(done int, img transfer.Image) error {
		out, err := j.finish(in.Content, img)
		if err != nil {
			return err
		}
		name := NumberedName(j.Out, done)
		if err := imageio.Save(name, out, j.OutDepth); err != nil {
			return err
		}
		prog.event(map[string]any{"event": "saved", "path": name, "iter": done})
		return nil
	}
	result, runErr := transfer.Run(ctx, net, ToTransfer(in.Content), styles, j.Blend, o)
	interrupted := runErr != nil && ctx.Err() != nil
	if runErr != nil && !interrupted {
		return runErr
	}
	out, err := j.finish(in.Content, result)
	if err != nil {
		return err
	}
	if err := j.save(stdout, out); err != nil {
		return err
	}
	if j.Plot != "" {
		if err := losses.plot(j.Plot, fmt.Sprintf("stylize run: %s, %dx%d", filepath.Base(j.Out), out.W, out.H)); err != nil {
			return err
		}
	}
	prog.done()
	_, peak := d.MemoryBytes() // the device is this run's: weights and buffers
	if !j.JSON {
		fmt.Fprintf(stderr, "peak GPU memory: %.1f MiB (%d bytes)\n", float64(peak)/(1<<20), peak)
	}
	prog.event(map[string]any{"event": "done", "path": j.Out, "width": out.W, "height": out.H,
		"seconds": time.Since(start).Seconds(), "interrupted": interrupted, "gpu_peak_bytes": peak})
	if interrupted {
		return ErrInterrupted
	}
	return nil
}

// save writes the final image to -out: atomically to a file, or in one
// piece to stdout for -out -.
func (j *Job) save(stdout io.Writer, img imageio.Image) error {
	if j.Out != "-" {
		return imageio.Save(j.Out, img, j.OutDepth)
	}
	format, err := j.outFormat()
	if err != nil {
		return err
	}
	if err := imageio.Write(stdout, format, img, j.OutDepth); err != nil {
		return fmt.Errorf("-out -: %w", err)
	}
	return nil
}

// finish is the image to write: in the content's colours with
// -original-colors.
func (j *Job) finish(content imageio.Image, img transfer.Image) (imageio.Image, error) {
	out := FromTransfer(img)
	if j.OriginalColors {
		return imageio.OriginalColors(imageio.Resize(content, img.W, img.H), out)
	}
	return out, nil
}

// NumberedName is what -save-every calls iteration n's image: OUT_0100.png
// beside -out.
func NumberedName(out string, n int) string {
	ext := filepath.Ext(out)
	return fmt.Sprintf("%s_%04d%s", strings.TrimSuffix(out, ext), n, ext)
}

// printPlans writes each scale's plan (plan.Plan.Format) and the run's
// predicted peak GPU memory: the largest scale's, with the weights; with
// asJSON, one "plan" event with the same figures instead.
func printPlans(w io.Writer, plans []*plan.Plan, asJSON bool) error {
	var peak uint64
	var scales []map[string]any
	for i, p := range plans {
		b, at := p.Peak()
		peak = max(peak, b+p.WeightBytes)
		scales = append(scales, map[string]any{"width": p.Content.W, "height": p.Content.H, "buffers": len(p.Buffers),
			"peak_bytes": b + p.WeightBytes, "peak_stage": p.Stages[at], "weights_bytes": p.WeightBytes})
		if asJSON {
			continue
		}
		if len(plans) > 1 {
			fmt.Fprintf(w, "== scale %d of %d ==\n", i+1, len(plans))
		}
		if err := p.Format(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"event": "plan", "scales": scales, "predicted_peak_bytes": peak})
	}
	_, err := fmt.Fprintf(w, "run: %d scale(s); predicted peak GPU memory %.1f MiB (%d bytes); dry run, nothing was run\n", len(plans), float64(peak)/(1<<20), peak)
	return err
}
