package main

import (
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
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

const (
	glyphW     = 7  // basicfont.Face7x13's advance
	lineHeight = 14 // its 13-pixel height and a pixel of leading
)

// textLine is one line of the HUD or help, in a colour.
type textLine struct {
	s string
	c color.RGBA
}

var (
	textWhite  = color.RGBA{235, 235, 235, 255}
	textDim    = color.RGBA{160, 160, 170, 255}
	textAccent = color.RGBA{120, 200, 255, 255}
	textWarn   = color.RGBA{255, 170, 60, 255}
	textBad    = color.RGBA{255, 90, 80, 255}
)

// renderText draws lines with basicfont.Face7x13 onto a w-pixel-wide image
// over a translucent background (premultiplied alpha, as image.RGBA is).
// Lines too long for the width are cut with a '~'.
func renderText(lines []textLine, w, pad int, bg color.RGBA) *image.RGBA {
	h := 2*pad + lineHeight*len(lines)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	maxChars := (w - 2*pad) / glyphW
	for i, l := range lines {
		s := l.s
		if maxChars > 1 && len(s) > maxChars {
			s = s[:maxChars-1] + "~"
		}
		d := &font.Drawer{
			Dst:  img,
			Src:  image.NewUniform(l.c),
			Face: basicfont.Face7x13,
			Dot:  fixed.P(pad, pad+lineHeight*i+basicfont.Face7x13.Ascent),
		}
		d.DrawString(s)
	}
	return img
}

// helpLines is the help overlay's text.
func helpLines() []textLine {
	lines := []textLine{{"stylize-live controls", textAccent}, {"", textWhite}}
	for _, l := range strings.Split(strings.TrimRight(helpText, "\n"), "\n") {
		lines = append(lines, textLine{l, textWhite})
	}
	return append(lines, textLine{"", textWhite}, textLine{"H or ? closes this help", textDim})
}

// sameLines reports whether two texts are equal.
func sameLines(a, b []textLine) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
