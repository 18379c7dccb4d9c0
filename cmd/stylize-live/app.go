package main

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/transfer"
)

// Pacing. The optimisation and the display share one GPU queue: a frame
// submitted behind queued iterations waits for them, and so does the CPU,
// in the swap chain's acquire and present (measured on lavapipe). The app
// therefore
//   - submits iterations in batches of Engine.Step, each followed by a
//     marker that tells, without blocking, when it finished, what it cost
//     on the GPU and the losses (runner);
//   - keeps a batch or two queued behind the running one, so the GPU does
//     not idle while the CPU notices a batch's end (one at a time where an
//     iteration takes over 250 ms);
//   - sizes a batch to fill the frame budget when an iteration is shorter
//     than it, and makes it one iteration when it is longer;
//   - when a frame is due, stops submitting until the queue holds at most
//     one budget of work (nothing, where an iteration is longer than the
//     budget), then draws: a frame never waits behind more than that;
//   - holds new iterations back for a moment after each input where an
//     iteration is longer than the budget, so that zooming, panning and
//     the help answer at the frame rate;
//   - caps the frame rate (-fps) and, while iterating, draws at runFPS at
//     most, keeping the drawing's share of the GPU under renderShare (where
//     iterations are short, as long as that leaves runFPS; where they are
//     long, the display then shows every second or third iteration).
//     Presenting waits for the queue to empty (wgpu's present waits on the
//     last submission), so each frame also costs a refill gap.
const (
	runFPS         = 33.0 // frame rate while iterating (at most; -fps caps it too)
	renderShare    = 0.10
	maxRecord      = 0.008 // seconds of CPU time the loop spends recording one batch
	holdAfterInput = 300 * time.Millisecond
	rebuildDelay   = 150 * time.Millisecond // weight keys: wait for the last repeat
	hudEvery       = 250 * time.Millisecond
)

type app struct {
	o      *options
	stdout io.Writer
	stderr io.Writer
	win    *glfw.Window
	d      *gpu.Device
	r      *renderer
	s      *session
	run    *runner

	partial  *transfer.Partial // the split iteration in progress, if any
	reported int               // iterations that -save-every and -print-every have seen
	savedAt  int               // the last iteration -save-every wrote
	script   *script

	lay   layout
	view  view
	scale float64

	contentBuf   *gpu.Buffer // the content at the run's size, for original colours on display
	thumbContent *texture
	thumbStyles  []*texture
	hudTex       *texture
	helpTex      *texture
	hudLines     []textLine
	hudAt        time.Time
	hudForce     bool

	cursorX, cursorY float64 // framebuffer pixels
	dragging         bool

	paused, done, help, orig, fullscreen bool
	winRect                              [4]int

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

func (a *app) snapshotSettings() settingsSnapshot {
	return settingsSnapshot{a.s.cfg.ContentWeight, a.s.cfg.StyleWeight, a.s.sel}
}

func (a *app) setMessage(c color.RGBA, format string, args ...any) {
	a.message = fmt.Sprintf(format, args...)
	a.msgColor = c
	a.hudForce = true
	a.dirty = true
	if c == textBad {
		fmt.Fprintln(a.stderr, "stylize-live:", a.message)
	}
}

// fbScale converts window (cursor) coordinates to framebuffer pixels.
func (a *app) fbScale() (float64, float64) {
	ww, wh := a.win.GetSize()
	fw, fh := a.win.GetFramebufferSize()
	if ww <= 0 || wh <= 0 {
		return 1, 1
	}
	return float64(fw) / float64(ww), float64(fh) / float64(wh)
}

func (a *app) relayout() {
	a.lay = newLayout(a.r.fbW, a.r.fbH, a.scale, len(a.s.styles))
	a.dirty = true
	a.hudForce = true
}

// syncSize reconfigures the swap chain if the framebuffer size changed.
func (a *app) syncSize() error {
	w, h := a.win.GetFramebufferSize()
	if w == a.r.fbW && h == a.r.fbH {
		return nil
	}
	if err := a.r.configure(w, h); err != nil {
		return err
	}
	a.relayout()
	return nil
}

func (a *app) installCallbacks() {
	a.win.SetFramebufferSizeCallback(func(_ *glfw.Window, w, h int) {
		if err := a.r.configure(w, h); err != nil {
			a.setMessage(textBad, "%v", err)
		}
		a.relayout()
	})
	a.win.SetCharCallback(func(_ *glfw.Window, r rune) { a.onChar(r) })
	a.win.SetKeyCallback(func(_ *glfw.Window, k glfw.Key, _ int, act glfw.Action, _ glfw.ModifierKey) {
		if act == glfw.Press || act == glfw.Repeat {
			a.onKey(k)
		}
	})
	a.win.SetScrollCallback(func(_ *glfw.Window, _, dy float64) { a.onScroll(dy) })
	a.win.SetCursorPosCallback(func(_ *glfw.Window, x, y float64) {
		sx, sy := a.fbScale()
		a.onCursor(x*sx, y*sy)
	})
	a.win.SetMouseButtonCallback(func(_ *glfw.Window, b glfw.MouseButton, act glfw.Action, _ glfw.ModifierKey) {
		if b == glfw.MouseButtonLeft {
			a.onButton(act == glfw.Press)
		}
	})
	a.win.SetDropCallback(func(_ *glfw.Window, names []string) {
		// GLFW moves the cursor with the drag (XdndPosition), so the
		// cursor is where the file was dropped.
		x, y := a.win.GetCursorPos()
		sx, sy := a.fbScale()
		a.onDrop(x*sx, y*sy, names)
	})
	a.win.SetCloseCallback(func(_ *glfw.Window) { a.quitting = true })
}

func (a *app) input() {
	a.lastInput = time.Now()
	a.dirty = true
}

// onChar handles the printable controls.
func (a *app) onChar(r rune) {
	a.input()
	switch r {
	case ' ':
		if a.done {
			a.setMessage(textDim, "done: -iters %d reached", a.o.iters)
			return
		}
		a.paused = !a.paused
		a.hudForce = true
	case '+', '=':
		a.changeWeight("style", &a.s.cfg.StyleWeight, 1.25)
	case '-', '_':
		a.changeWeight("style", &a.s.cfg.StyleWeight, 1/1.25)
	case '[':
		a.changeWeight("content", &a.s.cfg.ContentWeight, 1.25)
	case ']':
		a.changeWeight("content", &a.s.cfg.ContentWeight, 1/1.25)
	case ',', '.':
		f := 1.25
		if r == '.' {
			f = 1 / 1.25
		}
		a.later(func() error {
			lr := a.s.engineLR() * f
			if err := a.run.drain(); err != nil {
				return err
			}
			if err := a.s.setLR(lr); err != nil {
				a.setMessage(textBad, "learning rate: %v", err)
				return nil
			}
			a.setMessage(textWhite, "learning rate %.4g", a.s.engineLR())
			return nil
		})
	case 'o', 'O':
		a.orig = !a.orig
		a.hudForce = true
	case '0':
		a.view.reset()
	case 'r', 'R':
		a.later(a.restart)
	case 's', 'S':
		a.later(a.snapshot)
	case 'f', 'F':
		a.toggleFullscreen()
	case 'h', 'H', '?':
		a.help = !a.help
	case 'q', 'Q':
		a.quitting = true
	default:
		if r >= '1' && r <= '9' {
			a.selectStyle(int(r - '0'))
		}
	}
}

// onKey handles the keys that are not characters.
func (a *app) onKey(k glfw.Key) {
	switch k {
	case glfw.KeyEscape:
		a.input()
		a.quitting = true
	case glfw.KeyF11:
		a.input()
		a.toggleFullscreen()
	case glfw.KeyLeft, glfw.KeyRight, glfw.KeyUp, glfw.KeyDown:
		a.input()
		step := 32 * a.scale
		switch k {
		case glfw.KeyLeft:
			a.view.panX += step
		case glfw.KeyRight:
			a.view.panX -= step
		case glfw.KeyUp:
			a.view.panY += step
		case glfw.KeyDown:
			a.view.panY -= step
		}
	}
}

func (a *app) onScroll(dy float64) {
	a.input()
	if !a.lay.area.contains(a.cursorX, a.cursorY) {
		return
	}
	a.view.zoomAt(a.lay.area, a.s.w, a.s.h, a.cursorX, a.cursorY, math.Pow(1.25, dy))
}

func (a *app) onCursor(x, y float64) {
	if a.dragging {
		a.view.panX += x - a.cursorX
		a.view.panY += y - a.cursorY
		a.input()
	}
	a.cursorX, a.cursorY = x, y
}

func (a *app) onButton(down bool) {
	a.input()
	a.dragging = down && a.lay.area.contains(a.cursorX, a.cursorY)
}

// onDrop swaps the content (dropped on its thumbnail or on the image) or a
// style (dropped on its thumbnail).
func (a *app) onDrop(x, y float64, names []string) {
	a.input()
	if len(names) == 0 {
		return
	}
	target := -1 // content
	for i, r := range a.lay.styles {
		if r.contains(x, y) {
			target = i
		}
	}
	if target < 0 && !a.lay.content.contains(x, y) && !a.lay.area.contains(x, y) {
		a.setMessage(textWarn, "drop on the content or a style thumbnail")
		return
	}
	path := names[0]
	a.later(func() error { return a.dropFile(target, path) })
}

func (a *app) later(f func() error) {
	a.actions = append(a.actions, f)
}

// dropPartial gives up the split iteration in progress, if any.
func (a *app) dropPartial() {
	if a.partial != nil && !a.partial.Done() {
		a.run.abandonSplit()
	}
	a.partial = nil
}

// splitting reports whether iterations go to the GPU in pieces: when one
// is longer than the frame budget, so that frames fit between the pieces
// (a frame queued behind a whole iteration would wait for all of it).
func (a *app) splitting() bool { return a.run.tIt > 0 && a.run.tIt > a.budget() }

// pieces is how many pieces an iteration is split into: each about half a
// frame budget of GPU time.
func (a *app) pieces() int {
	return max(2, int(math.Ceil(a.run.tIt/(0.5*a.budget()))))
}

func (a *app) changeWeight(name string, w *float64, f float64) {
	*w *= f
	a.changed(fmt.Sprintf("%s weight %.4g", name, *w), time.Now())
}

// changed applies a changed weight or style selection: in place, before
// the next iteration is submitted, when the engine allows it (Adam); else
// by a rebuild once the keys rest.
func (a *app) changed(what string, at time.Time) {
	if !a.s.inPlace() {
		a.pending, a.pendingAt = true, at
		a.setMessage(textWhite, "%s (rebuilding)", what)
		return
	}
	a.later(func() error {
		if err := a.s.apply(); err != nil {
			a.s.cfg.ContentWeight, a.s.cfg.StyleWeight, a.s.sel = a.applied.contentWeight, a.applied.styleWeight, a.applied.sel
			a.setMessage(textBad, "not applied, settings kept: %v", err)
			return nil
		}
		a.applied = a.snapshotSettings()
		a.setMessage(textWhite, "%s (applied in %.2g ms)", what, float64(a.s.applied.Microseconds())/1000)
		return nil
	})
}

func (a *app) selectStyle(k int) {
	n := len(a.s.styles)
	switch {
	case k <= n:
		a.s.sel = k
	case k == n+1:
		a.s.sel = 0
	default:
		a.setMessage(textWarn, "no style %d: 1..%d select one style, %d the blend", k, n, n+1)
		return
	}
	a.changed(a.styleName(), time.Now().Add(-rebuildDelay))
}

func (a *app) styleName() string {
	if a.s.sel >= 1 {
		return fmt.Sprintf("style %d alone: %s", a.s.sel, filepath.Base(a.s.stylePaths[a.s.sel-1]))
	}
	if len(a.s.styles) == 1 {
		return "style: " + filepath.Base(a.s.stylePaths[0])
	}
	return fmt.Sprintf("blend of %d styles", len(a.s.styles))
}

// runActions runs the work that handlers queued (restart, save, drop).
// A split iteration in progress is given up first (its pieces so far
// changed nothing that the next iteration does not recompute).
func (a *app) runActions() error {
	if len(a.actions) > 0 {
		a.dropPartial()
	}
	for len(a.actions) > 0 {
		f := a.actions[0]
		a.actions = a.actions[1:]
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// settle runs the queued actions and a pending rebuild now, so that what
// follows (a capture, a scripted wait) sees their effect.
func (a *app) settle() error {
	if err := a.runActions(); err != nil {
		return err
	}
	return a.flushPending()
}

// flushPending rebuilds the engine if settings changed.
func (a *app) flushPending() error {
	if !a.pending {
		return nil
	}
	a.pending = false
	a.dropPartial()
	if err := a.run.drain(); err != nil {
		return err
	}
	if err := a.s.rebuild(); err != nil {
		a.s.cfg.ContentWeight, a.s.cfg.StyleWeight, a.s.sel = a.applied.contentWeight, a.applied.styleWeight, a.applied.sel
		a.setMessage(textBad, "rebuild failed, settings kept: %v", err)
		return nil
	}
	a.applied = a.snapshotSettings()
	a.imageDirty = true
	a.setMessage(textWhite, "engine rebuilt in %d ms", a.s.last.Milliseconds())
	return nil
}

func (a *app) restart() error {
	if err := a.run.drain(); err != nil {
		return err
	}
	if err := a.s.restart(); err != nil {
		return err
	}
	a.run.reset(0)
	a.savedAt = 0
	a.done, a.savedOut = false, false
	a.imageDirty = true
	a.setMessage(textWhite, "restarted from the %s image", map[bool]string{true: "content", false: a.s.init}[a.s.init == "content" || a.s.init == ""])
	return nil
}

// dropFile loads path and swaps it in; errors go to the HUD and the run goes on.
func (a *app) dropFile(target int, path string) error {
	what := "content"
	if target >= 0 {
		what = fmt.Sprintf("style %d", target+1)
	}
	img, err := cli.LoadImage(path, a.o.MaxPixels)
	if err != nil {
		a.setMessage(textBad, "%s: %s: %v", what, filepath.Base(path), err)
		return nil
	}
	if err := a.run.drain(); err != nil {
		return err
	}
	if target < 0 {
		err = a.s.swapContent(path, img)
	} else {
		err = a.s.swapStyle(target, path, img)
	}
	if err != nil {
		a.setMessage(textBad, "%s: %s: %v", what, filepath.Base(path), err)
		return nil
	}
	if err := a.updateImages(); err != nil {
		return err
	}
	a.imageDirty = true
	if target >= 0 && a.s.inPlace() {
		a.setMessage(textWhite, "%s: %s (targets recomputed in %d ms)", what, filepath.Base(path), a.s.applied.Milliseconds())
	} else {
		a.setMessage(textWhite, "%s: %s (rebuilt in %d ms)", what, filepath.Base(path), a.s.last.Milliseconds())
	}
	return nil
}

// updateImages uploads the content at the run's size (for the display's
// original colours) and the thumbnails.
func (a *app) updateImages() error {
	s := a.s
	if a.contentBuf == nil || a.contentBuf.Len() != 3*s.w*s.h {
		if a.contentBuf != nil {
			a.contentBuf.Release()
		}
		b, err := a.d.NewBuffer("live.content", gpu.F32, 3, s.h, s.w)
		if err != nil {
			return err
		}
		a.contentBuf = b
	}
	if err := a.contentBuf.Write(s.c.Pix); err != nil {
		return err
	}
	if err := a.r.setTexture(&a.thumbContent, "live.thumb.content", thumbnail(s.content, a.lay.content, a.scale), false); err != nil {
		return err
	}
	for len(a.thumbStyles) < len(s.styles) {
		a.thumbStyles = append(a.thumbStyles, nil)
	}
	for i, st := range s.styles {
		if err := a.r.setTexture(&a.thumbStyles[i], fmt.Sprintf("live.thumb.style%d", i+1), thumbnail(st, a.lay.styles[i], a.scale), false); err != nil {
			return err
		}
	}
	a.dirty = true
	return nil
}

// thumbnail resizes img to fit box (at twice the box's size at most, for
// sharpness when the window grows) and converts it to RGBA.
func thumbnail(img imageio.Image, box rect, scale float64) *image.RGBA {
	r := fit(rect{0, 0, 2 * box.w() / scale * scale, 2 * box.h() / scale * scale}, img.W, img.H)
	w := max(1, min(img.W, int(math.Round(r.w()))))
	h := max(1, min(img.H, int(math.Round(r.h()))))
	if w != img.W || h != img.H {
		img = imageio.Resize(img, w, h)
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	n := w * h
	q := func(v float32) uint8 { return uint8(math.Round(float64(min(max(v, 0), 1)) * 255)) }
	for k := 0; k < n; k++ {
		out.Pix[4*k] = q(img.Pix[k])
		out.Pix[4*k+1] = q(img.Pix[n+k])
		out.Pix[4*k+2] = q(img.Pix[2*n+k])
		out.Pix[4*k+3] = 255
	}
	return out
}

func (a *app) toggleFullscreen() {
	if !a.fullscreen {
		m := glfw.GetPrimaryMonitor()
		if m == nil {
			a.setMessage(textWarn, "fullscreen: no monitor")
			return
		}
		mode := m.GetVideoMode()
		x, y := a.win.GetPos()
		w, h := a.win.GetSize()
		a.winRect = [4]int{x, y, w, h}
		a.win.SetMonitor(m, 0, 0, mode.Width, mode.Height, mode.RefreshRate)
		a.fullscreen = true
	} else {
		r := a.winRect
		a.win.SetMonitor(nil, r[0], r[1], r[2], r[3], 0)
		a.fullscreen = false
	}
	a.hudForce = true
}

// finalImage reads the engine's image, in the content's colours when O is on.
func (a *app) finalImage() (imageio.Image, error) {
	x, err := a.s.e.Trunk.X.Read()
	if err != nil {
		return imageio.Image{}, err
	}
	img := imageio.Image{H: a.s.h, W: a.s.w, Pix: x}
	if a.orig {
		return imageio.OriginalColors(fromT(a.s.c), img)
	}
	return img, nil
}

// snapshotName is OUT-YYYYMMDD-HHMMSS.ext beside -out, made unique.
func snapshotName(out string, t time.Time) string {
	ext := filepath.Ext(out)
	stem := strings.TrimSuffix(out, ext)
	ts := t.Format("20060102-150405")
	name := fmt.Sprintf("%s-%s%s", stem, ts, ext)
	for i := 2; ; i++ {
		if _, err := os.Stat(name); os.IsNotExist(err) {
			return name
		}
		name = fmt.Sprintf("%s-%s-%d%s", stem, ts, i, ext)
	}
}

func (a *app) snapshot() error {
	img, err := a.finalImage()
	if err != nil {
		return err
	}
	name := snapshotName(a.o.Out, time.Now())
	if err := imageio.Save(name, img, a.o.OutDepth); err != nil {
		a.setMessage(textBad, "save: %v", err)
		return nil
	}
	a.snapshots = append(a.snapshots, name)
	a.setMessage(textWhite, "saved %s", filepath.Base(name))
	fmt.Fprintf(a.stdout, "{\"event\":\"saved\",\"path\":%q,\"iter\":%d}\n", name, a.run.completed)
	return nil
}

// periodic writes the -save-every images and the -print-every reports
// for the iterations that finished since the last call.
func (a *app) periodic(before int) error {
	now := a.run.completed
	if a.o.SaveEvery > 0 && now/a.o.SaveEvery > before/a.o.SaveEvery {
		// shouldSubmit queued nothing behind this multiple: the image read
		// is that of iteration now.
		a.savedAt = now
		img, err := a.finalImage()
		if err != nil {
			return err
		}
		ext := filepath.Ext(a.o.Out)
		name := fmt.Sprintf("%s_%04d%s", strings.TrimSuffix(a.o.Out, ext), now, ext)
		if err := imageio.Save(name, img, a.o.OutDepth); err != nil {
			a.setMessage(textBad, "save: %v", err)
		} else {
			fmt.Fprintf(a.stdout, "{\"event\":\"saved\",\"path\":%q,\"iter\":%d}\n", name, now)
		}
	}
	if a.o.PrintEvery > 0 && a.run.haveLoss && now/a.o.PrintEvery > before/a.o.PrintEvery {
		l, it := a.run.losses, a.run.itPerSec(time.Now())
		if a.o.JSON {
			fmt.Fprintf(a.stdout, "{\"event\":\"progress\",\"iter\":%d,\"loss_iter\":%d,\"loss\":%g,\"content\":%g,\"style\":%g,\"tv\":%g,\"it_per_s\":%g}\n",
				now, a.run.lossIter, l[0], l[1], l[2], l[3], it)
		} else {
			fmt.Fprintf(a.stderr, "it %d  %.2f it/s  loss %.4g (content %.3g style %.3g tv %.3g)\n", now, it, l[0], l[1], l[2], l[3])
		}
	}
	return nil
}

func (a *app) saveOut() error {
	if err := a.run.drain(); err != nil {
		return err
	}
	img, err := a.finalImage()
	if err != nil {
		return err
	}
	if err := imageio.Save(a.o.Out, img, a.o.OutDepth); err != nil {
		return err
	}
	a.savedOut = true
	return nil
}

// hudText is the HUD's current text.
func (a *app) hudText(now time.Time) []textLine {
	s, run := a.s, a.run
	state := "running"
	col := textAccent
	switch {
	case a.done:
		state, col = fmt.Sprintf("done (%d iterations)", a.o.iters), textDim
	case a.paused:
		state, col = "PAUSED", textWarn
	case a.holding(now):
		state = "running (held for input)"
	}
	lines := []textLine{
		{"stylize-live  " + state, col},
		{"GPU " + a.d.Info.Name, textDim},
		{fmt.Sprintf("iter %d   %.1f it/s", run.completed, run.itPerSec(now)), textWhite},
	}
	if fps, ft := a.fps(now); fps > 0 {
		lines = append(lines, textLine{fmt.Sprintf("frame %.1f ms  %.0f fps", ft*1000, fps), textWhite})
	} else {
		lines = append(lines, textLine{"frame idle", textWhite})
	}
	lines = append(lines, textLine{fmt.Sprintf("iter %.1f ms  draw %.1f ms", run.tIt*1000, a.r.tGPU*1000), textDim})
	if run.haveLoss {
		l := run.losses
		lines = append(lines,
			textLine{fmt.Sprintf("loss %.5g  (iter %d)", l[0], run.lossIter), textWhite},
			textLine{fmt.Sprintf("  content %.5g", l[1]), textWhite},
			textLine{fmt.Sprintf("  style   %.5g", l[2]), textWhite},
			textLine{fmt.Sprintf("  tv      %.5g", l[3]), textWhite})
	} else {
		lines = append(lines, textLine{"loss -", textWhite}, textLine{"", textWhite}, textLine{"", textWhite}, textLine{"", textWhite})
	}
	lines = append(lines,
		textLine{fmt.Sprintf("weights c %.4g  s %.4g", s.cfg.ContentWeight, s.cfg.StyleWeight), textWhite},
		textLine{fmt.Sprintf("lr %.4g  tv %.3g  %s", s.engineLR(), s.cfg.TVWeight, s.cfg.Optimizer), textWhite},
		textLine{a.styleName(), textWhite},
		textLine{fmt.Sprintf("%dx%d  zoom %.2f", s.w, s.h, a.view.zoom), textWhite},
		textLine{fmt.Sprintf("build %d ms  (%d rebuilds, %d in place)", s.last.Milliseconds(), s.rebuilds, s.changes), textDim},
		textLine{"colours: " + map[bool]string{true: "original (O)", false: "as optimised"}[a.orig], textWhite},
	)
	if a.message != "" {
		for _, m := range wrap(a.message, max(8, int((a.lay.hud.w()/a.scale-8)/glyphW))) {
			lines = append(lines, textLine{m, a.msgColor})
		}
	}
	return append(lines, textLine{"H: help", textDim})
}

// wrap splits s into lines of at most n characters.
func wrap(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := strings.LastIndex(s[:n], " ")
		if cut <= 0 {
			cut = n
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(out, s)
}

// fps returns the frame rate and frame time over the last second.
func (a *app) fps(now time.Time) (float64, float64) {
	var recent []time.Time
	for _, t := range a.frameLog {
		if now.Sub(t) <= time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) < 2 {
		return 0, 0
	}
	span := recent[len(recent)-1].Sub(recent[0]).Seconds()
	if span <= 0 {
		return 0, 0
	}
	ft := span / float64(len(recent)-1)
	return 1 / ft, ft
}

// updateHUD re-renders the HUD text when it changed (at most every
// hudEvery unless forced) and the help overlay once.
func (a *app) updateHUD(now time.Time, force bool) error {
	if a.helpTex == nil {
		if err := a.r.setTexture(&a.helpTex, "live.help", renderText(helpLines(), 72*glyphW+16, 8, color.RGBA{0, 0, 0, 215}), true); err != nil {
			return err
		}
	}
	if !force && !a.hudForce && now.Sub(a.hudAt) < hudEvery {
		return nil
	}
	lines := a.hudText(now)
	if a.hudTex != nil && sameLines(lines, a.hudLines) {
		return nil
	}
	w := max(int(a.lay.hud.w()/a.scale), 8*glyphW)
	if err := a.r.setTexture(&a.hudTex, "live.hud", renderText(lines, w, 4, color.RGBA{0, 0, 0, 160}), true); err != nil {
		return err
	}
	a.hudLines, a.hudAt, a.hudForce = lines, now, false
	a.dirty = true
	return nil
}

// buildFrame lays out the frame to draw.
func (a *app) buildFrame() *frame {
	l := a.lay
	f := &frame{}
	if a.s.e != nil {
		f.img, f.content = a.s.e.Trunk.X, a.contentBuf
		f.imgW, f.imgH = a.s.w, a.s.h
		f.imgRect = a.view.imageRect(l.area, a.s.w, a.s.h)
		f.clip = l.area
		f.orig = a.orig
	}
	solid := func(r rect, c [4]float32) {
		f.quads = append(f.quads, quad{tex: a.r.white, rect: r, color: c})
	}
	thumb := func(tx *texture, box rect, selected bool) {
		if tx == nil {
			return
		}
		r := fit(box, tx.w, tx.h)
		if selected {
			b := 2 * a.scale
			solid(rect{r[0] - b, r[1] - b, r[2] + b, r[3] + b}, [4]float32{0.47, 0.78, 1, 1})
		}
		f.quads = append(f.quads, quad{tex: tx, rect: r, color: [4]float32{1, 1, 1, 1}})
	}
	thumb(a.thumbContent, l.content, false)
	for i, tx := range a.thumbStyles {
		if i < len(l.styles) {
			thumb(tx, l.styles[i], len(a.thumbStyles) > 1 && (a.s.sel == 0 || a.s.sel == i+1))
		}
	}
	if a.hudTex != nil {
		w, h := float64(a.hudTex.w)*a.scale, float64(a.hudTex.h)*a.scale
		f.quads = append(f.quads, quad{tex: a.hudTex, rect: rect{l.hud[0], l.hud[1], l.hud[0] + w, l.hud[1] + h}, color: [4]float32{1, 1, 1, 1}})
	}
	if a.help && a.helpTex != nil {
		w, h := float64(a.helpTex.w)*a.scale, float64(a.helpTex.h)*a.scale
		cx, cy := (l.area[0]+l.area[2])/2, (l.area[1]+l.area[3])/2
		f.quads = append(f.quads, quad{tex: a.helpTex, rect: rect{cx - w/2, cy - h/2, cx + w/2, cy + h/2}, color: [4]float32{1, 1, 1, 1}})
	}
	return f
}

// helpRect is where the help overlay is drawn.
func (a *app) helpRect() rect {
	if a.helpTex == nil {
		return rect{}
	}
	l := a.lay
	w, h := float64(a.helpTex.w)*a.scale, float64(a.helpTex.h)*a.scale
	cx, cy := (l.area[0]+l.area[2])/2, (l.area[1]+l.area[3])/2
	return rect{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
}

func (a *app) hudRect() rect {
	if a.hudTex == nil {
		return rect{}
	}
	l := a.lay
	return rect{l.hud[0], l.hud[1], l.hud[0] + float64(a.hudTex.w)*a.scale, l.hud[1] + float64(a.hudTex.h)*a.scale}
}

// render draws and presents a frame.
func (a *app) render(now time.Time) error {
	if err := a.updateHUD(now, false); err != nil {
		return err
	}
	ok, err := a.r.present(a.buildFrame())
	if err != nil {
		return err
	}
	a.dirty, a.imageDirty = false, false
	if ok {
		a.frameCount++
		a.lastPresent = now
		a.scheduleNext(now)
		a.frameLog = append(a.frameLog, now)
		if len(a.frameLog) > 512 {
			a.frameLog = a.frameLog[len(a.frameLog)-512:]
		}
	}
	return nil
}

// scheduleNext sets when the next frame is due: a frame clock at the
// current interval, which catches up (by up to half an interval) on a
// frame that came late, so the rate holds on average.
func (a *app) scheduleNext(now time.Time) {
	iv := a.minInterval()
	next := a.nextDue.Add(iv)
	if earliest := now.Add(iv / 2); next.Before(earliest) {
		next = earliest
	}
	a.nextDue = next
}

// budget is the GPU time per frame that iterations may take: the frame
// interval while iterating less the drawing.
func (a *app) budget() float64 {
	frame := math.Max(1/a.o.fps, 1/runFPS)
	return math.Max(frame-a.r.tGPU, frame/2)
}

// slow reports whether an iteration takes longer than the frame budget
// (or has not been measured yet).
func (a *app) slow() bool { return a.run.tIt == 0 || a.run.tIt > a.budget() }

// holding reports whether new iterations wait for the user's input to rest.
func (a *app) holding(now time.Time) bool {
	return a.slow() && !a.splitting() && now.Sub(a.lastInput) < holdAfterInput
}

func (a *app) running() bool {
	return !a.paused && !a.done && a.s.e != nil && !a.pending && len(a.actions) == 0 && a.failed == nil
}

// minInterval is the shortest time between frames: the -fps cap and, while
// iterating, the drawing's share of the GPU.
func (a *app) minInterval() time.Duration {
	t := 1 / a.o.fps
	if a.running() {
		// Each frame costs its drawing and, since presenting waits for the
		// queue to empty, a refill gap: while iterating, draw no more often
		// than runFPS, and keep drawing under renderShare of the GPU — where
		// iterations are short, or split into pieces, not at the price of
		// going below runFPS). A frame costs its GPU time, and the CPU
		// waits in present at least as long (on lavapipe longer: the copy
		// to the X server).
		share := math.Max(a.r.tGPU, a.r.tCPU) / renderShare
		if !a.slow() || a.splitting() {
			share = math.Min(share, 1/runFPS)
		}
		t = math.Max(t, math.Max(share, 1/runFPS))
	}
	return time.Duration(t * float64(time.Second))
}

// wantFrame reports whether a frame is due: something changed (the user,
// a finished batch, the HUD's text) and the frame interval has passed.
func (a *app) wantFrame(now time.Time) bool {
	if a.r.sc == nil || now.Before(a.nextDue) {
		return false
	}
	if a.dirty || a.imageDirty {
		return true
	}
	if now.Sub(a.hudAt) < hudEvery {
		return false
	}
	if sameLines(a.hudText(now), a.hudLines) {
		a.hudAt = now // nothing new: look again in hudEvery
		return false
	}
	return true
}

// canDrawNow reports whether a frame submitted now would wait behind at
// most one frame budget of iterations. Presenting a frame queued behind
// longer work blocks the CPU in the swap chain (measured on lavapipe: as
// long as the work ahead), so the window would stop answering.
func (a *app) canDrawNow() bool {
	n := len(a.run.inflight)
	return n == 0 || (n == 1 && (!a.slow() || a.run.inflight[0].frac > 0))
}

// maxInflight is how many batches may be queued: one running and one
// behind it, so the GPU never idles while the CPU notices a batch's end;
// only one where an iteration is so long that one more would delay the
// next frame too much.
func (a *app) maxInflight() int {
	switch {
	case a.splitting():
		return 2 // pieces of half a budget each
	case a.run.tIt == 0 || a.run.tIt > 0.25:
		return 1
	case a.slow():
		return 2
	}
	return 3
}

func (a *app) shouldSubmit(now time.Time) (int, bool) {
	if !a.running() || !a.run.canSubmit() || len(a.run.inflight) >= a.maxInflight() || a.holding(now) {
		return 0, false
	}
	left := math.MaxInt
	if a.o.iters > 0 {
		left = a.o.iters - a.run.submitted
		if left <= 0 {
			return 0, false
		}
	}
	if n := a.o.SaveEvery; n > 0 {
		// -save-every writes the image of exactly each multiple: nothing
		// goes behind a multiple's iteration until it is saved, and a
		// batch stops at the next multiple.
		if a.run.submitted%n == 0 && a.run.submitted > a.savedAt {
			return 0, false
		}
		left = min(left, n-a.run.submitted%n)
	}
	if n := a.o.PrintEvery; n > 0 { // reports land on the multiples too
		left = min(left, n-a.run.submitted%n)
	}
	// A frame is due but would wait behind the queue: let the queue drain.
	if a.wantFrame(now) && !a.canDrawNow() {
		return 0, false
	}
	if a.slow() {
		return 1, true
	}
	// Recording an iteration costs CPU time too (on lavapipe about as much
	// as running it); the loop does nothing else meanwhile, so a batch is
	// recorded in at most maxRecord.
	k := max(1, min(int(a.budget()/a.run.tIt), 64, left))
	if a.run.tRec > 0 {
		k = max(1, min(k, int(maxRecord/a.run.tRec)))
	}
	// Short iterations: stop queueing in time for the next frame, so that
	// it finds at most one batch in flight when it is due.
	if a.running() && len(a.run.inflight) > 0 {
		due := a.nextDue
		end := now.Add(time.Duration((a.run.queued(now) + float64(k)*a.run.tIt) * float64(time.Second)))
		if end.After(due.Add(time.Duration(a.budget() * float64(time.Second)))) {
			return 0, false
		}
	}
	return k, true
}

// step is one turn of the main loop after the events.
func (a *app) step() error {
	now := time.Now()
	if a.script != nil {
		if err := a.script.step(a, now); err != nil {
			a.failed = err
			a.setMessage(textBad, "%v", err)
			a.quitting = true
			return nil
		}
	}
	if err := a.runActions(); err != nil {
		return err
	}
	if a.pending && time.Since(a.pendingAt) >= rebuildDelay {
		if err := a.flushPending(); err != nil {
			return err
		}
	}
	n, err := a.run.poll()
	if err != nil {
		return err
	}
	if n > 0 {
		a.imageDirty = true
	}
	// Also iterations that a drain (a capture, an action) booked.
	if a.run.completed != a.reported {
		if a.run.completed > a.reported {
			if err := a.periodic(a.reported); err != nil {
				return err
			}
		}
		a.reported = a.run.completed
	}
	if err := a.r.pollTiming(); err != nil {
		return err
	}
	if a.o.iters > 0 && !a.done && a.run.completed >= a.o.iters {
		a.done = true
		if err := a.saveOut(); err != nil {
			return err
		}
		a.setMessage(textWhite, "done: %d iterations, saved %s", a.o.iters, filepath.Base(a.o.Out))
		fmt.Fprintf(a.stdout, "{\"event\":\"saved\",\"path\":%q,\"iter\":%d}\n", a.o.Out, a.run.completed)
	}
	now = time.Now()
	if a.wantFrame(now) && a.canDrawNow() {
		if err := a.render(now); err != nil {
			return err
		}
	}
	if k, ok := a.shouldSubmit(time.Now()); ok {
		if a.firstSub.IsZero() {
			a.firstSub = time.Now()
		}
		if a.splitting() {
			if err := a.run.submitPiece(a.s.e, &a.partial, a.pieces()); err != nil {
				return err
			}
		} else {
			a.dropPartial()
			if err := a.run.submit(a.s.e, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// idle returns how long the loop may wait for events.
func (a *app) idle() time.Duration {
	now := time.Now()
	if len(a.actions) > 0 || a.quitting {
		return 0
	}
	wait := 250 * time.Millisecond
	if a.script != nil && !a.script.done() {
		wait = min(wait, max(a.script.waiting(now), 0))
	}
	if a.pending {
		wait = min(wait, max(time.Until(a.pendingAt.Add(rebuildDelay)), 0))
	}
	if len(a.run.inflight) > 0 || len(a.r.slots) > 0 {
		wait = min(wait, time.Millisecond)
	}
	if k, ok := a.shouldSubmit(now); ok && k > 0 {
		wait = 0
	}
	if a.running() && len(a.run.inflight) == 0 {
		wait = min(wait, max(time.Until(a.lastInput.Add(holdAfterInput)), 0))
	}
	if a.dirty || a.imageDirty {
		wait = min(wait, max(time.Until(a.nextDue), 0))
	}
	if a.running() {
		wait = min(wait, hudEvery)
	}
	return wait
}

// loop runs until a quit.
func (a *app) loop(sig <-chan os.Signal) error {
	for !a.quitting {
		if w := a.idle(); w > 0 {
			glfw.WaitEventsTimeout(w.Seconds())
		} else {
			glfw.PollEvents()
		}
		select {
		case <-sig:
			a.interrupted, a.quitting = true, true
		default:
		}
		if a.win.ShouldClose() {
			a.quitting = true
		}
		if err := a.step(); err != nil {
			return err
		}
	}
	return nil
}

// scriptHost

func (a *app) iterations() int { return a.run.completed }
func (a *app) frames() int     { return a.frameCount }

func (a *app) exec(c command) error { return a.runCommand(c) }

func (a *app) runCommand(c command) error {
	switch c.op {
	case "key":
		k := c.args[0]
		switch strings.ToLower(k) {
		case "space":
			a.onChar(' ')
		case "esc", "escape":
			a.onKey(glfw.KeyEscape)
		case "enter":
			a.onKey(glfw.KeyEnter)
		case "f11":
			a.onKey(glfw.KeyF11)
		case "left":
			a.onKey(glfw.KeyLeft)
		case "right":
			a.onKey(glfw.KeyRight)
		case "up":
			a.onKey(glfw.KeyUp)
		case "down":
			a.onKey(glfw.KeyDown)
		default:
			a.onChar([]rune(k)[0])
		}
	case "drop":
		var x, y float64
		var path string
		switch {
		case c.args[0] == "content":
			x, y, path = (a.lay.content[0]+a.lay.content[2])/2, (a.lay.content[1]+a.lay.content[3])/2, c.args[1]
		case c.args[0] == "style":
			if c.n > len(a.lay.styles) {
				return fmt.Errorf("no style %d", c.n)
			}
			r := a.lay.styles[c.n-1]
			x, y, path = (r[0]+r[2])/2, (r[1]+r[3])/2, c.args[2]
		default:
			x, y, path = c.f[0], c.f[1], c.args[2]
		}
		a.onCursor(x, y)
		a.onDrop(x, y, []string{path})
	case "mouse":
		a.onCursor(c.f[0], c.f[1])
	case "scroll":
		a.onScroll(c.f[0])
	case "drag":
		a.onCursor(c.f[0], c.f[1])
		a.onButton(true)
		a.onCursor(c.f[2], c.f[3])
		a.onButton(false)
	case "resize":
		a.win.SetSize(int(c.f[0]), int(c.f[1]))
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			glfw.WaitEventsTimeout(0.01)
			if w, h := a.win.GetSize(); w == int(c.f[0]) && h == int(c.f[1]) {
				break
			}
		}
		return a.syncSize()
	case "capture":
		return a.capture(c.args[0])
	case "quit":
		a.quitting = true
	}
	return nil
}
