// Package live is the model of stylize-live, the window that shows a style
// transfer converging and lets you steer it: the session (the engine's
// lifecycle), the runner (submitting iterations without waiting on the
// GPU), the pacing of iterations against frames, what each key, scroll and
// drop does, the HUD's text, the -script interpreter, snapshots and the
// state a capture records. It draws nothing itself: a Display (package
// window, the GLFW window) draws the Scene it is given, so that this
// package builds without X11 headers.
package live

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
)

// Display is what the model draws on and asks about: the window.
type Display interface {
	// Size is the framebuffer's size and the content scale (HiDPI).
	Size() (fbW, fbH int, scale float64)
	// CanDraw reports whether there is something to draw into (not a
	// minimised window).
	CanDraw() bool
	// Draw draws sc and presents it; false when there was nothing to
	// draw into.
	Draw(sc *Scene) (bool, error)
	// Capture draws sc as Draw does, presents it, and returns the same
	// frame drawn offscreen and read back.
	Capture(sc *Scene) (image.Image, error)
	// Poll collects, without blocking, the GPU times of finished frames;
	// Busy reports frames whose times are still in flight.
	Poll() error
	Busy() bool
	// Cost is a frame's GPU time and the CPU time its presenting takes,
	// in seconds (moving averages; 0 until measured).
	Cost() (gpuSec, cpuSec float64)
	// Sync reconfigures the display if the framebuffer's size changed,
	// and reports whether it did.
	Sync() (bool, error)
	// Resize asks for a window of w×h and waits (a while) until it is.
	Resize(w, h int) error
	// ToggleFullscreen switches fullscreen on or off and reports which.
	ToggleFullscreen() (bool, error)
	// Rects are where the HUD and the help overlay were last drawn.
	Rects() (hud, help Rect)
}

// Scene is what a frame shows, as the model has it.
type Scene struct {
	Layout Layout
	Image  *gpu.Buffer // the engine's image (3,H,W); nil before the engine is built
	W, H   int
	// ImageRect is where the image goes, cut to Layout.Area.
	ImageRect Rect
	Orig      bool // in the content's colours
	Help      bool
	HUD       []TextLine
	Sel       int // 0: the blend of all styles; k: style k alone
	// Images counts the changes of the content and style images: the
	// display uploads them again (thumbnails, and RunContent for the
	// original colours) when it changes.
	Images     int
	Content    imageio.Image // as loaded
	RunContent []float32     // the content at W×H, planar
	Styles     []imageio.Image
}

// App is stylize-live's model: a session, the runner that feeds it to the
// GPU, and everything the window shows and the keys change.
type App struct {
	cfg    *Config
	stdout io.Writer
	stderr io.Writer
	disp   Display
	s      *Session
	run    *runner
	script *Script

	reported int // iterations that -save-every and -print-every have seen
	savedAt  int // the last iteration -save-every wrote

	lay    Layout
	view   view
	scale  float64
	images int // see Scene.Images

	hudLines []TextLine
	hudAt    time.Time
	hudForce bool

	cursorX, cursorY float64 // framebuffer pixels
	dragging         bool

	paused, done, help, orig, fullscreen bool

	message  string
	msgColor color.RGBA

	pending   bool // settings changed: rebuild the engine once the keys rest
	pendingAt time.Time
	applied   settingsSnapshot
	actions   []func() error

	quitting    bool
	interrupted bool
	failed      error

	dirty       bool // the UI changed: draw
	imageDirty  bool // a batch finished: draw the new image
	frameCount  int
	lastPresent time.Time
	nextDue     time.Time // when the next frame may be drawn
	frameLog    []time.Time
	lastInput   time.Time

	firstSub  time.Time
	snapshots []string
	savedOut  bool
}

// settingsSnapshot is what the current engine was built with, to undo a
// change whose rebuild failed.
type settingsSnapshot struct {
	contentWeight, styleWeight float64
	sel                        int
}

// NewApp makes the model of a window on d for session s.
func NewApp(cfg *Config, s *Session, d Display, stdout, stderr io.Writer) (*App, error) {
	run, err := newRunner(s.d)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, stdout: stdout, stderr: stderr, disp: d, s: s, run: run, script: cfg.Script, orig: cfg.OriginalColors}
	a.view.reset()
	a.Relayout()
	return a, nil
}

// Start draws a first frame, builds the engine and starts iterating.
func (a *App) Start() error {
	a.setMessage(textDim, "building the engine ...")
	if err := a.render(time.Now()); err != nil {
		return err
	}
	if err := a.s.Start(); err != nil {
		return err
	}
	a.applied = a.snapshotSettings()
	a.setMessage(textDim, "engine built in %d ms", a.s.last.Milliseconds())
	a.imageDirty = true
	return nil
}

// Release frees the runner's buffers.
func (a *App) Release() { a.run.release() }

func (a *App) snapshotSettings() settingsSnapshot {
	return settingsSnapshot{a.s.cfg.ContentWeight, a.s.cfg.StyleWeight, a.s.sel}
}

// undoSettings puts back the settings the current engine was built with.
func (a *App) undoSettings() {
	a.s.cfg.ContentWeight, a.s.cfg.StyleWeight, a.s.sel = a.applied.contentWeight, a.applied.styleWeight, a.applied.sel
}

func (a *App) setMessage(c color.RGBA, format string, args ...any) {
	a.message = fmt.Sprintf(format, args...)
	a.msgColor = c
	a.hudForce = true
	a.dirty = true
	if c == textBad {
		fmt.Fprintln(a.stderr, "stylize-live:", a.message)
	}
}

// ShowError shows err in the HUD (and on stderr); the run goes on.
func (a *App) ShowError(err error) { a.setMessage(textBad, "%v", err) }

// Relayout lays the window out again at the display's size.
func (a *App) Relayout() {
	w, h, scale := a.disp.Size()
	a.scale = max(scale, 1)
	a.lay = NewLayout(w, h, a.scale, len(a.s.styles))
	a.dirty = true
	a.hudForce = true
}

// syncSize lays out again if the display's size changed.
func (a *App) syncSize() error {
	changed, err := a.disp.Sync()
	if changed {
		a.Relayout()
	}
	return err
}

// Quit makes the loop stop (Esc, Q, the window's close button).
func (a *App) Quit() { a.quitting = true }

// Interrupt quits as Ctrl-C does: the exit status says so.
func (a *App) Interrupt() { a.interrupted, a.quitting = true, true }

// Quitting reports whether the loop should stop.
func (a *App) Quitting() bool { return a.quitting }

// Finish ends a run whose loop stopped with loopErr: it writes the image
// so far to -out (unless the GPU itself failed), prints the summary, and
// returns the exit status: 0, 1 on an error, 130 after Ctrl-C.
func (a *App) Finish(loopErr error) int {
	code := 0
	if loopErr != nil {
		fmt.Fprintln(a.stderr, "stylize-live:", loopErr)
		code = 1
	}
	if err := a.saveOut(); err != nil {
		fmt.Fprintln(a.stderr, "stylize-live: save:", err)
		code = 1
	} else {
		fmt.Fprintf(a.stderr, "stylize-live: saved %s (%d iterations)\n", a.cfg.Out, a.run.completed)
	}
	a.summary()
	switch {
	case a.failed != nil:
		fmt.Fprintln(a.stderr, "stylize-live:", a.failed)
		code = 1
	case a.interrupted && code == 0:
		code = cli.ExitInterrupted
	}
	return code
}

// scene is what the next frame shows.
func (a *App) scene() *Scene {
	s := a.s
	sc := &Scene{Layout: a.lay, Image: s.image(), W: s.w, H: s.h, Orig: a.orig, Help: a.help, HUD: a.hudLines,
		Sel: s.sel, Images: a.images, Content: s.content, RunContent: s.c.Pix, Styles: s.styles}
	if sc.Image != nil {
		sc.ImageRect = a.view.imageRect(a.lay.Area, s.w, s.h)
	}
	return sc
}
