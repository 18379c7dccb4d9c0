package live

import (
	"fmt"
	"image/color"
	"slices"
	"strings"
	"time"
)

// helpText lists every control; the help overlay (H) shows it.
const helpText = `  Space      pause / resume
  + / -      style weight x1.25 / /1.25
  [ / ]      content weight x1.25 / /1.25
  , / .      learning rate x1.25 / /1.25
  1..n       style n alone;  n+1  the blend of all
  O          original colours on/off (display and saves)
  R          restart from the initial image
  S          save a snapshot (OUT-YYYYMMDD-HHMMSS.png)
  drop file  on the content thumbnail (or the image) or a style
             thumbnail to swap that image; the run goes on
  wheel      zoom at the cursor;  drag  pan;  0  reset the view
  F / F11    fullscreen on/off
  H / ?      this help
  Esc / Q    quit, saving the current image to -out
`

// The HUD's font cell: basicfont.Face7x13's advance, and its 13-pixel
// height and a pixel of leading. The window draws the text in it; the
// model wraps the HUD's lines to it.
const (
	GlyphW     = 7
	LineHeight = 14
)

// TextLine is one line of the HUD or help, in a colour.
type TextLine struct {
	Text  string
	Color color.RGBA
}

var (
	textWhite  = color.RGBA{235, 235, 235, 255}
	textDim    = color.RGBA{160, 160, 170, 255}
	textAccent = color.RGBA{120, 200, 255, 255}
	textWarn   = color.RGBA{255, 170, 60, 255}
	textBad    = color.RGBA{255, 90, 80, 255}
)

// HelpLines is the help overlay's text.
func HelpLines() []TextLine {
	lines := []TextLine{{"stylize-live controls", textAccent}, {"", textWhite}}
	for _, l := range strings.Split(strings.TrimRight(helpText, "\n"), "\n") {
		lines = append(lines, TextLine{l, textWhite})
	}
	return append(lines, TextLine{"", textWhite}, TextLine{"H or ? closes this help", textDim})
}

// hudText is the HUD's current text.
func (a *App) hudText(now time.Time) []TextLine {
	s, run := a.s, a.run
	state := "running"
	col := textAccent
	switch {
	case a.done:
		state, col = fmt.Sprintf("done (%d iterations)", a.cfg.Iters), textDim
	case a.paused:
		state, col = "PAUSED", textWarn
	case a.holding(now):
		state = "running (held for input)"
	}
	lines := []TextLine{
		{"stylize-live  " + state, col},
		{"GPU " + a.s.d.Info.Name, textDim},
		{fmt.Sprintf("iter %d   %.1f it/s", run.completed, run.itPerSec(now)), textWhite},
	}
	if fps, ft := a.fps(now); fps > 0 {
		lines = append(lines, TextLine{fmt.Sprintf("frame %.1f ms  %.0f fps", ft*1000, fps), textWhite})
	} else {
		lines = append(lines, TextLine{"frame idle", textWhite})
	}
	gpuSec, _ := a.disp.Cost()
	lines = append(lines, TextLine{fmt.Sprintf("iter %.1f ms  draw %.1f ms", run.tIt*1000, gpuSec*1000), textDim})
	if run.haveLoss {
		l := run.losses
		lines = append(lines,
			TextLine{fmt.Sprintf("loss %.5g  (iter %d)", l[0], run.lossIter), textWhite},
			TextLine{fmt.Sprintf("  content %.5g", l[1]), textWhite},
			TextLine{fmt.Sprintf("  style   %.5g", l[2]), textWhite},
			TextLine{fmt.Sprintf("  tv      %.5g", l[3]), textWhite})
	} else {
		lines = append(lines, TextLine{"loss -", textWhite}, TextLine{"", textWhite}, TextLine{"", textWhite}, TextLine{"", textWhite})
	}
	lines = append(lines,
		TextLine{fmt.Sprintf("weights c %.4g  s %.4g", s.cfg.ContentWeight, s.cfg.StyleWeight), textWhite},
		TextLine{fmt.Sprintf("lr %.4g  tv %.3g  %s", s.engineLR(), s.cfg.TVWeight, s.cfg.Optimizer), textWhite},
		TextLine{a.styleName(), textWhite},
		TextLine{fmt.Sprintf("%dx%d  zoom %.2f", s.w, s.h, a.view.zoom), textWhite},
		TextLine{fmt.Sprintf("build %d ms  (%d rebuilds, %d in place)", s.last.Milliseconds(), s.rebuilds, s.changes), textDim},
		TextLine{"colours: " + map[bool]string{true: "original (O)", false: "as optimised"}[a.orig], textWhite},
	)
	if a.message != "" {
		for _, m := range wrap(a.message, max(8, int((a.lay.HUD.W()/a.scale-8)/GlyphW))) {
			lines = append(lines, TextLine{m, a.msgColor})
		}
	}
	return append(lines, TextLine{"H: help", textDim})
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
func (a *App) fps(now time.Time) (float64, float64) {
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

// updateHUD takes the HUD's text anew when it changed (at most every
// hudEvery unless forced).
func (a *App) updateHUD(now time.Time, force bool) {
	if !force && !a.hudForce && now.Sub(a.hudAt) < hudEvery {
		return
	}
	lines := a.hudText(now)
	if a.hudLines != nil && slices.Equal(lines, a.hudLines) {
		return
	}
	a.hudLines, a.hudAt, a.hudForce = lines, now, false
	a.dirty = true
}
