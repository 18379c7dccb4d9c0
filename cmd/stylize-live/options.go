package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/stylize/stylize/internal/cli"
)

// options is the command line: stylize run's flags (cli.RunFlags) and the
// window's own.
type options struct {
	*cli.RunFlags
	iters              int
	window             string
	script, captureDir string
	scales             int     // refused unless 1
	ema                float64 // refused unless 0

	// Hidden, for tests and measurements.
	widths   string  // block widths of synthetic weights
	fps      float64 // frame-rate cap
	headless int     // run this many iterations without a window, print it/s, exit
	fakeTS   bool    // ignore GPU timestamps (use wall-clock pacing)

	set        *cli.Settings
	winW, winH int
	widthList  []int
}

// hidden are the flags the help does not show.
var hidden = []string{"widths", "fps", "headless", "wallclock"}

const usage = `Usage: stylize-live -content IMG -style IMG [-style IMG2 ...] [flags]

A window that shows the style transfer converging, live, and lets you
steer it. It takes stylize run's flags (one scale). Press H in the window
for the controls.

Examples:
  stylize-live -content photo.jpg -style starry.jpg -size 256
  stylize-live -content photo.jpg -style a.jpg,b.jpg -iters 0 -out live.png

Flags:
`

// liveCommand is what stylize-live says about the shared flags.
var liveCommand = cli.Command{
	Name: "stylize-live", MaxStyles: 8, MaxStylesWhy: "the keys 1-9 select at most 8 styles and their blend",
	Usage: map[string]string{
		"out":             "image written on quit (Esc, Q, Ctrl-C) and when -iters is reached; S writes timestamped snapshots beside it",
		"size":            "long side of the image in pixels; 0 keeps the content's size",
		"original-colors": "show and save the content's colours (luminance-only transfer); O toggles it",
		"max-pixels":      "refuse input images (also dropped ones) with more pixels than this",
		"print-every":     "report the losses every N iterations (0: never; the HUD shows them)",
		"json":            "write the -print-every reports as JSON lines on stdout (events such as saves always are)",
	},
}

func newFlags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("stylize-live", flag.ContinueOnError)
	o.RunFlags = cli.Register(fs, liveCommand)
	fs.IntVar(&o.iters, "iters", 0, "stop iterating after this many iterations; 0 runs until you quit")
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
		o.PrintDefaults(fs, hidden...)
		fmt.Fprint(fs.Output(), "\nControls (also on H in the window):\n"+helpText)
	}
	return fs
}

// resolve checks the shared flags (cli.RunFlags.Resolve) and the
// window's own, before an image is read or the window opens.
func resolve(fs *flag.FlagSet, o *options) error {
	var err error
	if o.set, err = o.RunFlags.Resolve(fs); err != nil {
		return err
	}
	if o.iters < 0 {
		return errors.New("-iters must be >= 0 (0 runs until you quit)")
	}
	if _, err := fmt.Sscanf(o.window, "%dx%d", &o.winW, &o.winH); err != nil || o.winW < 64 || o.winH < 64 || o.winW > 16384 || o.winH > 16384 {
		return fmt.Errorf("-window %q: want WxH, each 64..16384", o.window)
	}
	if !(o.fps >= 1 && o.fps <= 1000) {
		return fmt.Errorf("-fps must be in 1..1000")
	}
	if o.widths != "" {
		if o.Weights != "synthetic" {
			return errors.New("-widths applies to -weights synthetic only")
		}
		if o.widthList, err = cli.ParseWidths(o.widths); err != nil {
			return err
		}
	}
	if o.scales != 1 {
		return fmt.Errorf("-scales %d: the window runs one scale; use stylize run for coarse-to-fine", o.scales)
	}
	if o.ema != 0 {
		return errors.New("-ema: the window shows the iterate itself; use stylize run for the averaged image")
	}
	if o.SaveEvery < 0 || o.PrintEvery < 0 {
		return errors.New("-save-every and -print-every must be >= 0")
	}
	return nil
}
