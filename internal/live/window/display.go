package window

import (
	"fmt"
	"image"
	"image/color"
	"slices"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/internal/live"
)

// gfx is what the window draws scenes with besides the engine's image: the
// content at the run's size (for the original colours), the thumbnails,
// the HUD's and the help's text, as the last scene had them.
type gfx struct {
	contentBuf   *gpu.Buffer
	thumbContent *texture
	thumbStyles  []*texture
	hudTex       *texture
	helpTex      *texture
	hudLines     []live.TextLine
	images       int // the scene's Images that the thumbnails show
	lay          live.Layout
	scale        float64
}

func (g *gfx) release() {
	for _, t := range append([]*texture{g.thumbContent, g.hudTex, g.helpTex}, g.thumbStyles...) {
		t.release()
	}
	if g.contentBuf != nil {
		g.contentBuf.Release()
	}
}

// The window is what the model draws on.
var _ live.Display = (*Window)(nil)

// CanDraw reports whether the window has a swap chain (it is not minimised).
func (w *Window) CanDraw() bool { return w.r.sc != nil }

// Draw draws sc into the window and presents it.
func (w *Window) Draw(sc *live.Scene) (bool, error) {
	f, err := w.frame(sc)
	if err != nil {
		return false, err
	}
	return w.r.present(f)
}

// Capture draws and presents sc, then draws the same frame offscreen and
// reads it back.
func (w *Window) Capture(sc *live.Scene) (image.Image, error) {
	f, err := w.frame(sc)
	if err != nil {
		return nil, err
	}
	if _, err := w.r.present(f); err != nil {
		return nil, err
	}
	return w.r.capture(f)
}

// Poll collects the render passes' GPU times without blocking.
func (w *Window) Poll() error { return w.r.pollTiming() }

// Busy reports render-pass timings still in flight.
func (w *Window) Busy() bool { return len(w.r.slots) > 0 }

// Cost is a frame's GPU time and the CPU time in acquire and present.
func (w *Window) Cost() (float64, float64) { return w.r.tGPU, w.r.tCPU }

// Rects are where the HUD and the help overlay go at their texts' sizes.
func (w *Window) Rects() (hud, help live.Rect) {
	l, s := w.lay, w.scale
	if w.hudTex != nil {
		hud = live.Rect{l.HUD[0], l.HUD[1], l.HUD[0] + float64(w.hudTex.w)*s, l.HUD[1] + float64(w.hudTex.h)*s}
	}
	if w.helpTex != nil {
		hw, hh := float64(w.helpTex.w)*s, float64(w.helpTex.h)*s
		cx, cy := (l.Area[0]+l.Area[2])/2, (l.Area[1]+l.Area[3])/2
		help = live.Rect{cx - hw/2, cy - hh/2, cx + hw/2, cy + hh/2}
	}
	return hud, help
}

// frame uploads what changed since the last scene (the images, the HUD's
// text) and lays out the frame that draws sc.
func (w *Window) frame(sc *live.Scene) (*frame, error) {
	w.lay, w.scale = sc.Layout, sc.Layout.Scale
	if sc.Images != w.images {
		if err := w.uploadImages(sc); err != nil {
			return nil, err
		}
	}
	if err := w.uploadText(sc.HUD); err != nil {
		return nil, err
	}
	l := sc.Layout
	f := &frame{}
	if sc.Image != nil {
		f.img, f.content = sc.Image, w.contentBuf
		f.imgW, f.imgH = sc.W, sc.H
		f.imgRect, f.clip = sc.ImageRect, l.Area
		f.orig = sc.Orig
	}
	white := [4]float32{1, 1, 1, 1}
	thumb := func(tx *texture, box live.Rect, selected bool) {
		if tx == nil {
			return
		}
		r := live.Fit(box, tx.w, tx.h)
		if selected {
			b := 2 * w.scale
			f.quads = append(f.quads, quad{tex: w.r.white, rect: live.Rect{r[0] - b, r[1] - b, r[2] + b, r[3] + b}, color: [4]float32{0.47, 0.78, 1, 1}})
		}
		f.quads = append(f.quads, quad{tex: tx, rect: r, color: white})
	}
	thumb(w.thumbContent, l.Content, false)
	for i, tx := range w.thumbStyles {
		if i < len(l.Styles) {
			thumb(tx, l.Styles[i], len(w.thumbStyles) > 1 && (sc.Sel == 0 || sc.Sel == i+1))
		}
	}
	hud, help := w.Rects()
	if w.hudTex != nil {
		f.quads = append(f.quads, quad{tex: w.hudTex, rect: hud, color: white})
	}
	if sc.Help && w.helpTex != nil {
		f.quads = append(f.quads, quad{tex: w.helpTex, rect: help, color: white})
	}
	return f, nil
}

// uploadImages uploads the content at the run's size (for the display's
// original colours) and the thumbnails.
func (w *Window) uploadImages(sc *live.Scene) error {
	if w.contentBuf == nil || w.contentBuf.Len() != 3*sc.W*sc.H {
		if w.contentBuf != nil {
			w.contentBuf.Release()
		}
		b, err := w.d.NewBuffer("live.content", gpu.F32, 3, sc.H, sc.W)
		if err != nil {
			return err
		}
		w.contentBuf = b
	}
	if err := w.contentBuf.Write(sc.RunContent); err != nil {
		return err
	}
	if err := w.r.setTexture(&w.thumbContent, "live.thumb.content", thumbnail(sc.Content, sc.Layout.Content, w.scale), false); err != nil {
		return err
	}
	for len(w.thumbStyles) < len(sc.Styles) {
		w.thumbStyles = append(w.thumbStyles, nil)
	}
	for i, st := range sc.Styles {
		if err := w.r.setTexture(&w.thumbStyles[i], fmt.Sprintf("live.thumb.style%d", i+1), thumbnail(st, sc.Layout.Styles[i], w.scale), false); err != nil {
			return err
		}
	}
	w.images = sc.Images
	return nil
}

// uploadText draws the help once, and the HUD's lines when they changed.
func (w *Window) uploadText(hud []live.TextLine) error {
	if w.helpTex == nil {
		if err := w.r.setTexture(&w.helpTex, "live.help", renderText(live.HelpLines(), 72*live.GlyphW+16, 8, color.RGBA{0, 0, 0, 215}), true); err != nil {
			return err
		}
	}
	if hud == nil || (w.hudTex != nil && slices.Equal(hud, w.hudLines)) {
		return nil
	}
	width := max(int(w.lay.HUD.W()/w.scale), 8*live.GlyphW)
	if err := w.r.setTexture(&w.hudTex, "live.hud", renderText(hud, width, 4, color.RGBA{0, 0, 0, 160}), true); err != nil {
		return err
	}
	w.hudLines = hud
	return nil
}
