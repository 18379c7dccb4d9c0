// Package window is stylize-live's GLFW window: the surface and the
// renderer that draw the model's Scene (the image straight from the
// engine's storage buffer, thumbnails, the HUD's text), screen captures,
// and the input callbacks that it hands to the model's controls. Only
// stylize-live imports it, so that stylize builds without X11 headers.
package window

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"
	"github.com/rajveermalviya/go-webgpu/wgpu"
	wgpuext_glfw "github.com/rajveermalviya/go-webgpu/wgpuext/glfw"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/live"
)

// GLFW wants its calls on the main thread: Open, Run and the callbacks
// must all run on the thread that called Open (stylize-live locks it).

// Window is an open GLFW window and, once attached to a device, what
// draws into it. It is the model's live.Display.
type Window struct {
	win        *glfw.Window
	d          *gpu.Device
	surf       *wgpu.Surface
	r          *renderer
	scale      float64 // content scale (HiDPI), at least 1
	fullscreen bool
	winRect    [4]int // the window's place before fullscreen

	gfx // what the scenes drew with
}

// Open initialises GLFW and opens a w×h window titled title.
func Open(w, h int, title string) (*Window, error) {
	win, err := openWindow(w, h, title)
	if err != nil {
		return nil, err
	}
	sx, _ := win.GetContentScale()
	return &Window{win: win, scale: float64(max(sx, 1)), gfx: gfx{images: -1}}, nil
}

// Attach makes the window's surface on d and the renderer that draws into
// it (with GPU timestamps when timestamps is set and the GPU has them).
func (w *Window) Attach(d *gpu.Device, timestamps bool) error {
	surf, caps, err := d.NewSurface(wgpuext_glfw.GetSurfaceDescriptor(w.win))
	if err != nil {
		return fmt.Errorf("%w: %v", errNoWindow, err)
	}
	fw, fh := w.win.GetFramebufferSize()
	r, err := newRenderer(d, surf, caps, fw, fh, timestamps)
	if err != nil {
		surf.Release()
		return fmt.Errorf("%w: %v", errNoWindow, err)
	}
	w.d, w.surf, w.r = d, surf, r
	return nil
}

// Detach frees what Attach made and the scenes' textures; call it before
// the device closes.
func (w *Window) Detach() {
	w.gfx.release()
	if w.r != nil {
		w.r.release()
		w.r = nil
	}
	if w.surf != nil {
		w.surf.Release()
		w.surf = nil
	}
}

// Close destroys the window and ends GLFW.
func (w *Window) Close() {
	w.win.Destroy()
	glfw.Terminate()
}

// keys are the GLFW keys the model's controls take.
var keys = map[glfw.Key]live.Key{glfw.KeyEscape: live.KeyEscape, glfw.KeyEnter: live.KeyEnter, glfw.KeyF11: live.KeyF11,
	glfw.KeyLeft: live.KeyLeft, glfw.KeyRight: live.KeyRight, glfw.KeyUp: live.KeyUp, glfw.KeyDown: live.KeyDown}

// Listen hands the window's input to a's controls.
func (w *Window) Listen(a *live.App) {
	w.win.SetFramebufferSizeCallback(func(_ *glfw.Window, fw, fh int) {
		if err := w.r.configure(fw, fh); err != nil {
			a.ShowError(err)
		}
		a.Relayout()
	})
	w.win.SetCharCallback(func(_ *glfw.Window, r rune) { a.Char(r) })
	w.win.SetKeyCallback(func(_ *glfw.Window, k glfw.Key, _ int, act glfw.Action, _ glfw.ModifierKey) {
		if key, ok := keys[k]; ok && (act == glfw.Press || act == glfw.Repeat) {
			a.Key(key)
		}
	})
	w.win.SetScrollCallback(func(_ *glfw.Window, _, dy float64) { a.Scroll(dy) })
	w.win.SetCursorPosCallback(func(_ *glfw.Window, x, y float64) {
		sx, sy := w.fbScale()
		a.Cursor(x*sx, y*sy)
	})
	w.win.SetMouseButtonCallback(func(_ *glfw.Window, b glfw.MouseButton, act glfw.Action, _ glfw.ModifierKey) {
		if b == glfw.MouseButtonLeft {
			a.Button(act == glfw.Press)
		}
	})
	w.win.SetDropCallback(func(_ *glfw.Window, names []string) {
		// GLFW moves the cursor with the drag (XdndPosition), so the
		// cursor is where the file was dropped.
		x, y := w.win.GetCursorPos()
		sx, sy := w.fbScale()
		a.Drop(x*sx, y*sy, names)
	})
	w.win.SetCloseCallback(func(_ *glfw.Window) { a.Quit() })
}

// Run is the main loop: it waits for the window's events as long as a
// lets it, then steps a, until a quits (Ctrl-C on sig interrupts it).
func (w *Window) Run(a *live.App, sig <-chan os.Signal) error {
	for !a.Quitting() {
		if d := a.Idle(); d > 0 {
			glfw.WaitEventsTimeout(d.Seconds())
		} else {
			glfw.PollEvents()
		}
		select {
		case <-sig:
			a.Interrupt()
		default:
		}
		if w.win.ShouldClose() {
			a.Quit()
		}
		if err := a.Step(); err != nil {
			return err
		}
	}
	return nil
}

// fbScale converts window (cursor) coordinates to framebuffer pixels.
func (w *Window) fbScale() (float64, float64) {
	ww, wh := w.win.GetSize()
	fw, fh := w.win.GetFramebufferSize()
	if ww <= 0 || wh <= 0 {
		return 1, 1
	}
	return float64(fw) / float64(ww), float64(fh) / float64(wh)
}

// Size is the framebuffer's size, as configured, and the content scale.
func (w *Window) Size() (int, int, float64) { return w.r.fbW, w.r.fbH, w.scale }

// Sync reconfigures the swap chain if the framebuffer's size changed.
func (w *Window) Sync() (bool, error) {
	fw, fh := w.win.GetFramebufferSize()
	if fw == w.r.fbW && fh == w.r.fbH {
		return false, nil
	}
	return true, w.r.configure(fw, fh)
}

// Resize asks for a window of w×h and handles events until it has that
// size (two seconds at most).
func (w *Window) Resize(width, height int) error {
	w.win.SetSize(width, height)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		glfw.WaitEventsTimeout(0.01)
		if ww, wh := w.win.GetSize(); ww == width && wh == height {
			break
		}
	}
	return nil
}

// ToggleFullscreen puts the window on the primary monitor, or back.
func (w *Window) ToggleFullscreen() (bool, error) {
	if !w.fullscreen {
		m := glfw.GetPrimaryMonitor()
		if m == nil {
			return false, errors.New("no monitor")
		}
		mode := m.GetVideoMode()
		x, y := w.win.GetPos()
		ww, wh := w.win.GetSize()
		w.winRect = [4]int{x, y, ww, wh}
		w.win.SetMonitor(m, 0, 0, mode.Width, mode.Height, mode.RefreshRate)
		w.fullscreen = true
	} else {
		r := w.winRect
		w.win.SetMonitor(nil, r[0], r[1], r[2], r[3], 0)
		w.fullscreen = false
	}
	return w.fullscreen, nil
}

// errNoWindow marks the failures to open a window or its surface.
var errNoWindow = errors.New("cannot open a window")

// openWindow initialises GLFW and opens a window without a GL context
// (WebGPU draws into it). go-gl/glfw logs platform errors (no display) and
// then panics on the next call; both are turned into an error that says
// why, so a missing display never crashes the program.
func openWindow(w, h int, title string) (win *glfw.Window, err error) {
	display := os.Getenv("DISPLAY")
	if display == "" {
		// GLFW is built for X11 here: a Wayland session serves it through
		// XWayland, which sets DISPLAY.
		wayland := ""
		if os.Getenv("WAYLAND_DISPLAY") != "" {
			wayland = " Under Wayland, run it where XWayland sets DISPLAY."
		}
		return nil, fmt.Errorf("%w: no display (DISPLAY is not set).%s Run it in a desktop session, "+
			"or on a virtual display: xvfb-run -a stylize-live ... (apt-get install xvfb)", errNoWindow, wayland)
	}
	var logged bytes.Buffer
	flags := log.Flags()
	log.SetOutput(&logged)
	log.SetFlags(0)
	defer func() {
		log.SetOutput(os.Stderr)
		log.SetFlags(flags)
		if r := recover(); r != nil {
			win = nil
			err = fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(r, logged.String()))
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(err, logged.String()))
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI) // panics if Init failed quietly
	win, err = glfw.CreateWindow(w, h, title, nil, nil)
	if err != nil || win == nil {
		glfw.Terminate()
		return nil, fmt.Errorf("%w on display %q: %s", errNoWindow, display, explain(err, logged.String()))
	}
	return win, nil
}

func explain(cause any, logged string) string {
	var parts []string
	if s := strings.TrimSpace(logged); s != "" {
		parts = append(parts, strings.ReplaceAll(s, "\n", "; "))
	}
	if cause != nil {
		c := fmt.Sprint(cause)
		if strings.Contains(c, "NotInitialized") || strings.Contains(c, "not been initialized") {
			c = "GLFW could not initialise"
		}
		if c != "<nil>" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return "unknown error"
	}
	return strings.Join(parts, ": ")
}
