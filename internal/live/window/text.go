package window

import (
	"image"
	"image/color"
	"image/draw"

	"github.com/stylize/stylize/internal/live"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// renderText draws lines with basicfont.Face7x13 onto a w-pixel-wide image
// over a translucent background (premultiplied alpha, as image.RGBA is).
// Lines too long for the width are cut with a '~'.
func renderText(lines []live.TextLine, w, pad int, bg color.RGBA) *image.RGBA {
	h := 2*pad + live.LineHeight*len(lines)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	maxChars := (w - 2*pad) / live.GlyphW
	for i, l := range lines {
		s := l.Text
		if maxChars > 1 && len(s) > maxChars {
			s = s[:maxChars-1] + "~"
		}
		d := &font.Drawer{
			Dst:  img,
			Src:  image.NewUniform(l.Color),
			Face: basicfont.Face7x13,
			Dot:  fixed.P(pad, pad+live.LineHeight*i+basicfont.Face7x13.Ascent),
		}
		d.DrawString(s)
	}
	return img
}
