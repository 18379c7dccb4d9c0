package live

import (
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/stylize/stylize/internal/cli"
)

// Key is a control key that is not a character.
type Key int

// The keys the controls use (Enter does nothing yet).
const (
	KeyEscape Key = iota + 1
	KeyEnter
	KeyF11
	KeyLeft
	KeyRight
	KeyUp
	KeyDown
)

// keyNames are the keys' names in a script.
var keyNames = map[string]Key{"esc": KeyEscape, "escape": KeyEscape, "enter": KeyEnter, "f11": KeyF11,
	"left": KeyLeft, "right": KeyRight, "up": KeyUp, "down": KeyDown}

// input books a user's input: new iterations wait for it to rest where
// they are slow (holding), and the frame is drawn again.
func (a *App) input() {
	a.lastInput = time.Now()
	a.dirty = true
}

// Char does what a printable key does (see helpText).
func (a *App) Char(r rune) {
	a.input()
	switch r {
	case ' ':
		if a.done {
			a.setMessage(textDim, "done: -iters %d reached", a.cfg.Iters)
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
		a.later(func() error { return a.changeLR(f) })
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

// Key does what a key that is not a character does.
func (a *App) Key(k Key) {
	switch k {
	case KeyEscape:
		a.input()
		a.quitting = true
	case KeyF11:
		a.input()
		a.toggleFullscreen()
	case KeyLeft, KeyRight, KeyUp, KeyDown:
		a.input()
		step := 32 * a.scale
		switch k {
		case KeyLeft:
			a.view.panX += step
		case KeyRight:
			a.view.panX -= step
		case KeyUp:
			a.view.panY += step
		case KeyDown:
			a.view.panY -= step
		}
	}
}

// Scroll zooms the image at the cursor (dy > 0 zooms in).
func (a *App) Scroll(dy float64) {
	a.input()
	if !a.lay.Area.Contains(a.cursorX, a.cursorY) {
		return
	}
	a.view.zoomAt(a.lay.Area, a.s.w, a.s.h, a.cursorX, a.cursorY, math.Pow(1.25, dy))
}

// Cursor moves the cursor to (x, y), framebuffer pixels, panning the image
// while the left button drags it.
func (a *App) Cursor(x, y float64) {
	if a.dragging {
		a.view.panX += x - a.cursorX
		a.view.panY += y - a.cursorY
		a.input()
	}
	a.cursorX, a.cursorY = x, y
}

// Button presses or releases the left mouse button at the cursor.
func (a *App) Button(down bool) {
	a.input()
	a.dragging = down && a.lay.Area.Contains(a.cursorX, a.cursorY)
}

// Drop swaps in the first of the files dropped at (x, y): the content
// (dropped on its thumbnail or on the image) or a style (on its
// thumbnail).
func (a *App) Drop(x, y float64, names []string) {
	a.input()
	if len(names) == 0 {
		return
	}
	target := -1 // content
	for i, r := range a.lay.Styles {
		if r.Contains(x, y) {
			target = i
		}
	}
	if target < 0 && !a.lay.Content.Contains(x, y) && !a.lay.Area.Contains(x, y) {
		a.setMessage(textWarn, "drop on the content or a style thumbnail")
		return
	}
	path := names[0]
	a.later(func() error { return a.dropFile(target, path) })
}

// later queues work that must not run inside an input handler: it runs
// between iterations (runActions).
func (a *App) later(f func() error) {
	a.actions = append(a.actions, f)
}

func (a *App) toggleFullscreen() {
	on, err := a.disp.ToggleFullscreen()
	if err != nil {
		a.setMessage(textWarn, "fullscreen: %v", err)
		return
	}
	a.fullscreen = on
	a.hudForce = true
}

func (a *App) changeWeight(name string, w *float64, f float64) {
	*w *= f
	a.changed(fmt.Sprintf("%s weight %.4g", name, *w), time.Now())
}

// changeLR multiplies the learning rate by f.
func (a *App) changeLR(f float64) error {
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
}

// changed applies a changed weight or style selection: in place, before
// the next iteration is submitted, when the engine allows it (Adam); else
// by a rebuild once the keys rest.
func (a *App) changed(what string, at time.Time) {
	if !a.s.inPlace() {
		a.pending, a.pendingAt = true, at
		a.setMessage(textWhite, "%s (rebuilding)", what)
		return
	}
	a.later(func() error {
		if err := a.s.apply(); err != nil {
			a.undoSettings()
			a.setMessage(textBad, "not applied, settings kept: %v", err)
			return nil
		}
		a.applied = a.snapshotSettings()
		a.setMessage(textWhite, "%s (applied in %.2g ms)", what, float64(a.s.applied.Microseconds())/1000)
		return nil
	})
}

func (a *App) selectStyle(k int) {
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

func (a *App) styleName() string {
	if a.s.sel >= 1 {
		return fmt.Sprintf("style %d alone: %s", a.s.sel, filepath.Base(a.s.stylePaths[a.s.sel-1]))
	}
	if len(a.s.styles) == 1 {
		return "style: " + filepath.Base(a.s.stylePaths[0])
	}
	return fmt.Sprintf("blend of %d styles", len(a.s.styles))
}

// dropPartial gives up the split iteration in progress, if any: the time
// of its pieces is not an iteration's.
func (a *App) dropPartial() {
	if a.s.dropSplit() {
		a.run.abandonSplit()
	}
}

// runActions runs the work that handlers queued (restart, save, drop).
// A split iteration in progress is given up first (its pieces so far
// changed nothing that the next iteration does not recompute).
func (a *App) runActions() error {
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
func (a *App) settle() error {
	if err := a.runActions(); err != nil {
		return err
	}
	return a.flushPending()
}

// flushPending rebuilds the engine if settings changed.
func (a *App) flushPending() error {
	if !a.pending {
		return nil
	}
	a.pending = false
	a.dropPartial()
	if err := a.run.drain(); err != nil {
		return err
	}
	if err := a.s.rebuild(); err != nil {
		a.undoSettings()
		a.setMessage(textBad, "rebuild failed, settings kept: %v", err)
		return nil
	}
	a.applied = a.snapshotSettings()
	a.imageDirty = true
	a.setMessage(textWhite, "engine rebuilt in %d ms", a.s.last.Milliseconds())
	return nil
}

func (a *App) restart() error {
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
	from := a.s.init
	if from == "content" || from == "" {
		from = "content"
	}
	a.setMessage(textWhite, "restarted from the %s image", from)
	return nil
}

// dropFile loads path and swaps it in; errors go to the HUD and the run goes on.
func (a *App) dropFile(target int, path string) error {
	what := "content"
	if target >= 0 {
		what = fmt.Sprintf("style %d", target+1)
	}
	img, err := cli.LoadImage(path, a.cfg.MaxPixels)
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
	a.images++
	a.dirty = true
	a.imageDirty = true
	if target >= 0 && a.s.inPlace() {
		a.setMessage(textWhite, "%s: %s (targets recomputed in %d ms)", what, filepath.Base(path), a.s.applied.Milliseconds())
	} else {
		a.setMessage(textWhite, "%s: %s (rebuilt in %d ms)", what, filepath.Base(path), a.s.last.Milliseconds())
	}
	return nil
}
