package live

import (
	"errors"
	"flag"
	"fmt"

	"github.com/stylize/stylize/internal/cli"
)

// Flags is stylize-live's command line: stylize run's flags (cli.RunFlags)
// and the window's own.
type Flags struct {
	shared             *cli.RunFlags
	iters              int
	window             string
	script, captureDir string
	scales             int     // refused unless 1
	ema                float64 // refused unless 0

	// Hidden, for tests and measurements.
	widths    string  // block widths of synthetic weights
	fps       float64 // frame-rate cap
	headless  int     // run this many iterations without a window, print it/s, exit
	wallclock bool    // ignore GPU timestamps (use wall-clock pacing)
}

// Config is a checked stylize-live command line.
type Config struct {
	*cli.Settings
	Iters      int // stop after this many iterations; 0: run until quit
	WinW, WinH int
	Script     *Script // nil without -script
	CaptureDir string
	Widths     []int   // block widths of -weights synthetic; nil: VGG19's
	FPS        float64 // frame-rate cap
	Headless   int     // > 0: no window, run this many iterations and print it/s
	WallClock  bool    // pace with wall-clock time even where GPU timestamps exist
}

// Hidden are the flags the help does not show.
var Hidden = []string{"widths", "fps", "wallclock"}

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

// RegisterFlags registers stylize-live's flags on fs, and its help.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{shared: cli.Register(fs, liveCommand)}
	fs.IntVar(&f.iters, "iters", 0, "stop iterating after this many iterations; 0 runs until you quit")
	fs.IntVar(&f.scales, "scales", 1, "accepted for stylize run's command lines: the window runs one scale (1)")
	fs.Float64Var(&f.ema, "ema", 0, "accepted for stylize run's command lines: the window shows the iterate itself (0)")
	fs.StringVar(&f.window, "window", "860x560", "initial window size WxH")
	fs.StringVar(&f.script, "script", "", "play a scripted input sequence (see the script commands in the package doc); for tests and demos")
	fs.StringVar(&f.captureDir, "capture-dir", "", "directory for the script's capture files (default: the current directory)")
	fs.StringVar(&f.widths, "widths", "", "block widths of -weights synthetic (hidden, for tests)")
	fs.Float64Var(&f.fps, "fps", 60, "frame-rate cap (hidden)")
	fs.IntVar(&f.headless, "headless", 0, "no window: run N iterations at the same settings, print it/s and exit (to compare the window's cost; the README's live table)")
	fs.BoolVar(&f.wallclock, "wallclock", false, "pace with wall-clock time even where GPU timestamps exist (hidden)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		f.shared.PrintDefaults(fs, Hidden...)
		fmt.Fprint(fs.Output(), "\nControls (also on H in the window):\n"+helpText)
	}
	return f
}

// Resolve checks the shared flags (cli.RunFlags.Resolve) and the window's
// own, and reads the script, before an image is read or the window opens.
func (f *Flags) Resolve(fs *flag.FlagSet) (*Config, error) {
	set, err := f.shared.Resolve(fs)
	if err != nil {
		return nil, err
	}
	c := &Config{Settings: set, Iters: f.iters, CaptureDir: f.captureDir, FPS: f.fps, Headless: f.headless, WallClock: f.wallclock}
	if f.iters < 0 {
		return nil, errors.New("-iters must be >= 0 (0 runs until you quit)")
	}
	if _, err := fmt.Sscanf(f.window, "%dx%d", &c.WinW, &c.WinH); err != nil || c.WinW < 64 || c.WinH < 64 || c.WinW > 16384 || c.WinH > 16384 {
		return nil, fmt.Errorf("-window %q: want WxH, each 64..16384", f.window)
	}
	if !(f.fps >= 1 && f.fps <= 1000) {
		return nil, errors.New("-fps must be in 1..1000")
	}
	if f.widths != "" {
		if set.Weights != "synthetic" {
			return nil, errors.New("-widths applies to -weights synthetic only")
		}
		if c.Widths, err = cli.ParseWidths(f.widths); err != nil {
			return nil, err
		}
	}
	if f.scales != 1 {
		return nil, fmt.Errorf("-scales %d: the window runs one scale; use stylize run for coarse-to-fine", f.scales)
	}
	if f.ema != 0 {
		return nil, errors.New("-ema: the window shows the iterate itself; use stylize run for the averaged image")
	}
	if set.SaveEvery < 0 || set.PrintEvery < 0 {
		return nil, errors.New("-save-every and -print-every must be >= 0")
	}
	if f.script != "" {
		if c.Script, err = loadScript(f.script); err != nil {
			return nil, err
		}
	}
	return c, nil
}
