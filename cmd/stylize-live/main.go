// Command stylize-live is a window that shows a style transfer converging,
// live, and lets you steer it: pause, change the loss weights and the
// learning rate, switch or blend the styles, drop in new images, zoom,
// save snapshots. The whole iteration runs as WGSL compute shaders
// (transfer.Engine); the window draws the image straight from the engine's
// storage buffer in a render pass, with no copy through the CPU.
//
// It takes stylize run's flags (one scale); see stylize-live -h. A script
// (-script FILE, see internal/live/script.go) drives it for tests and
// demos. The model is package live; the GLFW window, package window.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/internal/live"
	"github.com/stylize/stylize/internal/live/window"
	"github.com/stylize/stylize/vgg"
)

// GLFW wants its calls on the main thread.
func init() { runtime.LockOSThread() }

// Exit statuses (and cli.ExitInterrupted after Ctrl-C): a bad flag is an
// error like any other, 1, as stylize run's.
const (
	exitOK    = 0
	exitError = 1
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stylize-live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := live.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "stylize-live:", err)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitError, fmt.Errorf("unexpected argument %q (flags come before; see stylize-live -h)", fs.Arg(0)))
	}
	cfg, err := f.Resolve(fs)
	if err != nil {
		return fail(exitError, err)
	}
	if cfg.CaptureDir != "" {
		if err := os.MkdirAll(cfg.CaptureDir, 0o755); err != nil {
			return fail(exitError, err)
		}
	}

	// Images and weights first: their errors need no window.
	in, err := cfg.LoadInputs(true)
	if err != nil {
		return fail(exitError, err)
	}
	w8s, err := cli.LoadWeights(cfg.Weights, cfg.Widths, stderr)
	if err != nil {
		return fail(exitError, err)
	}
	pre, preMode, err := cfg.Preprocessing(w8s)
	if err != nil {
		return fail(exitError, err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)

	var win *window.Window
	if cfg.Headless == 0 {
		if win, err = window.Open(cfg.WinW, cfg.WinH, "stylize-live"); err != nil {
			return fail(exitError, err)
		}
		defer win.Close()
	}
	d, err := cfg.OpenDevice()
	if err != nil {
		return fail(exitError, err)
	}
	defer d.Close()
	// The tuning cache's plans for this GPU, or the heuristic's: said on
	// stderr, like stylize run.
	if cfg.Settings.Config.Kernels, _, err = cli.LoadKernels(cfg.Kernels, d, stderr); err != nil {
		return fail(exitError, err)
	}
	net, err := vgg.New(d, w8s, cfg.Pooling, preMode)
	if err != nil {
		return fail(exitError, err)
	}
	defer net.Release()
	s, err := live.NewSession(d, net, w8s, cfg.Settings, in)
	if err != nil {
		return fail(exitError, err)
	}
	defer s.Release()
	cli.Describe(stderr, d, w8s, pre)
	if cfg.Headless > 0 {
		if err := live.Headless(s, cfg.Headless, stdout); err != nil {
			return fail(exitError, err)
		}
		return exitOK
	}

	if err := win.Attach(d, !cfg.WallClock); err != nil {
		return fail(exitError, err)
	}
	defer win.Detach()
	a, err := live.NewApp(cfg, s, win, stdout, stderr)
	if err != nil {
		return fail(exitError, err)
	}
	defer a.Release()
	win.Listen(a)
	if err := a.Start(); err != nil {
		return fail(exitError, err)
	}
	// Quit: write the image so far, whatever stopped the loop (unless the
	// GPU itself failed).
	return a.Finish(win.Run(a, sig))
}
