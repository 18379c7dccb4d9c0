// Command stylize-live is a window that shows a style transfer converging,
// live, and lets you steer it: pause, change the loss weights and the
// learning rate, switch or blend the styles, drop in new images, zoom,
// save snapshots. The whole iteration runs as WGSL compute shaders
// (transfer.Engine); the window draws the image straight from the engine's
// storage buffer in a render pass, with no copy through the CPU.
//
// It takes stylize run's flags (one scale); see stylize-live -h. A script
// (-script FILE, see script.go) drives it for tests and demos.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"
	wgpuext_glfw "github.com/rajveermalviya/go-webgpu/wgpuext/glfw"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/vgg"
)

// GLFW wants its calls on the main thread.
func init() { runtime.LockOSThread() }

// Exit statuses.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // Ctrl-C: the image so far is written, as stylize run does
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o := &options{}
	fs := newFlags(o)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "stylize-live:", err)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, fmt.Errorf("unexpected argument %q (flags come before; see stylize-live -h)", fs.Arg(0)))
	}
	if err := resolve(fs, o); err != nil {
		return fail(exitUsage, err)
	}
	var sc *script
	if o.script != "" {
		var err error
		if sc, err = loadScript(o.script); err != nil {
			return fail(exitUsage, err)
		}
	}
	if o.captureDir != "" {
		if err := os.MkdirAll(o.captureDir, 0o755); err != nil {
			return fail(exitError, err)
		}
	}

	// Images and weights first: their errors need no window.
	in, err := o.set.LoadInputs(true)
	if err != nil {
		return fail(exitError, err)
	}
	w8s, err := cli.LoadWeights(o.Weights, o.widthList, stderr)
	if err != nil {
		return fail(exitError, err)
	}
	pre, preMode, err := o.set.Preprocessing(w8s)
	if err != nil {
		return fail(exitError, err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)

	var win *glfw.Window
	if o.headless == 0 {
		if win, err = openWindow(o.winW, o.winH, "stylize-live"); err != nil {
			return fail(exitError, err)
		}
		defer glfw.Terminate()
		defer win.Destroy()
	}
	d, err := gpu.Open(gpu.Options{Adapter: o.Device})
	if err != nil {
		return fail(exitError, err)
	}
	defer d.Close()
	net, err := vgg.New(d, w8s, o.set.Pooling, preMode)
	if err != nil {
		return fail(exitError, err)
	}
	defer net.Release()
	s := &session{
		d: d, net: net, w8s: w8s, cfg: o.set.Config,
		size: o.Size, styleSize: o.StyleSize, maxPixels: o.MaxPixels,
		contentPath: o.Content, stylePaths: append([]string(nil), o.Styles...), styles: in.Styles, blend: o.set.Blend,
		init: in.Init, initImage: in.InitImage, seed: o.Seed,
	}
	defer s.release()
	if err := s.setContent(in.Content); err != nil {
		return fail(exitError, err)
	}
	cli.Describe(stderr, d, w8s, pre)
	if o.headless > 0 {
		return headless(o, s, stdout, stderr)
	}

	surf, caps, err := d.NewSurface(wgpuext_glfw.GetSurfaceDescriptor(win))
	if err != nil {
		return fail(exitError, fmt.Errorf("%w: %v", errNoWindow, err))
	}
	defer surf.Release()
	fw, fh := win.GetFramebufferSize()
	r, err := newRenderer(d, surf, caps, fw, fh, !o.fakeTS)
	if err != nil {
		return fail(exitError, fmt.Errorf("%w: %v", errNoWindow, err))
	}
	defer r.release()
	runr, err := newRunner(d)
	if err != nil {
		return fail(exitError, err)
	}
	defer runr.release()

	a := &app{o: o, stdout: stdout, stderr: stderr, win: win, d: d, r: r, s: s, run: runr, script: sc, orig: o.OriginalColors}
	a.view.reset()
	sx, _ := win.GetContentScale()
	a.scale = float64(max(sx, 1))
	a.relayout()
	defer a.releaseTextures()
	if err := a.updateImages(); err != nil {
		return fail(exitError, err)
	}
	a.installCallbacks()
	a.setMessage(textDim, "building the engine ...")
	if err := a.render(time.Now()); err != nil {
		return fail(exitError, err)
	}
	if err := s.start(); err != nil {
		return fail(exitError, err)
	}
	a.applied = a.snapshotSettings()
	a.setMessage(textDim, "engine built in %d ms", s.last.Milliseconds())
	a.imageDirty = true

	loopErr := a.loop(sig)
	// Quit: write the image so far, whatever stopped the loop (unless the
	// GPU itself failed).
	code := exitOK
	if loopErr != nil {
		fmt.Fprintln(stderr, "stylize-live:", loopErr)
		code = exitError
	}
	if err := a.saveOut(); err != nil {
		fmt.Fprintln(stderr, "stylize-live: save:", err)
		code = exitError
	} else {
		fmt.Fprintf(stderr, "stylize-live: saved %s (%d iterations)\n", o.Out, runr.completed)
	}
	a.summary()
	switch {
	case a.failed != nil:
		fmt.Fprintln(stderr, "stylize-live:", a.failed)
		code = exitError
	case a.interrupted && code == exitOK:
		code = exitInterrupted
	}
	return code
}

// summary prints the run's throughput as one JSON line on stdout.
func (a *app) summary() {
	end := a.run.lastDone
	secs := 0.0
	if !a.firstSub.IsZero() && end.After(a.firstSub) {
		secs = end.Sub(a.firstSub).Seconds()
	}
	frames := 0
	for _, t := range a.frameLog {
		if !a.firstSub.IsZero() && !t.Before(a.firstSub) && !t.After(end) {
			frames++
		}
	}
	v := map[string]any{"event": "done", "path": a.o.Out, "iters": a.run.total, "seconds": secs,
		"frames": a.frameCount, "interrupted": a.interrupted, "gpu": a.d.Info.Name,
		"iter_ms": a.run.tIt * 1000, "draw_gpu_ms": a.r.tGPU * 1000}
	if secs > 0 {
		v["it_per_sec"] = float64(a.run.total) / secs
		v["fps"] = float64(frames) / secs
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(a.stdout, string(b))
}

func (a *app) releaseTextures() {
	for _, t := range append([]*texture{a.thumbContent, a.hudTex, a.helpTex}, a.thumbStyles...) {
		t.release()
	}
	if a.contentBuf != nil {
		a.contentBuf.Release()
	}
}

// headless runs -headless N iterations of the same engine with no window
// and prints the rate, the baseline for the window's cost.
func headless(o *options, s *session, stdout, stderr io.Writer) int {
	if err := s.start(); err != nil {
		fmt.Fprintln(stderr, "stylize-live:", err)
		return exitError
	}
	for i := 0; i < 2; i++ { // warm-up: first dispatches, allocations
		if err := s.e.Step(); err != nil {
			fmt.Fprintln(stderr, "stylize-live:", err)
			return exitError
		}
	}
	if err := s.d.Poll(); err != nil {
		fmt.Fprintln(stderr, "stylize-live:", err)
		return exitError
	}
	t0 := time.Now()
	for i := 0; i < o.headless; i++ {
		// As transfer.Run does: one iteration queued behind the running one.
		prev := s.d.Mark()
		if err := s.e.Step(); err != nil {
			fmt.Fprintln(stderr, "stylize-live:", err)
			return exitError
		}
		if err := prev.Wait(); err != nil {
			fmt.Fprintln(stderr, "stylize-live:", err)
			return exitError
		}
	}
	if err := s.d.Poll(); err != nil {
		fmt.Fprintln(stderr, "stylize-live:", err)
		return exitError
	}
	secs := time.Since(t0).Seconds()
	b, _ := json.Marshal(map[string]any{"event": "headless", "iters": o.headless, "seconds": secs,
		"it_per_sec": float64(o.headless) / secs, "w": s.w, "h": s.h, "build_ms": s.last.Milliseconds()})
	fmt.Fprintln(stdout, string(b))
	return exitOK
}
