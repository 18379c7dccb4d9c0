package window

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/live"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// texture is an RGBA8 texture with the bind group that draws it as a quad.
type texture struct {
	t       *wgpu.Texture
	v       *wgpu.TextureView
	bg      *wgpu.BindGroup
	w, h    int
	nearest bool
}

// newTexture uploads img as an RGBA8 texture with its quad bind group,
// sampled nearest or linear.
func (r *renderer) newTexture(label string, img *image.RGBA, nearest bool) (*texture, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	t, err := r.dev.CreateTexture(&wgpu.TextureDescriptor{
		Label: label, Usage: wgpu.TextureUsage_TextureBinding | wgpu.TextureUsage_CopyDst,
		Dimension: wgpu.TextureDimension_2D, Size: wgpu.Extent3D{Width: uint32(w), Height: uint32(h), DepthOrArrayLayers: 1},
		Format: wgpu.TextureFormat_RGBA8Unorm, MipLevelCount: 1, SampleCount: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("texture %s: %w", label, err)
	}
	tx := &texture{t: t, w: w, h: h, nearest: nearest}
	smp := r.linear
	if nearest {
		smp = r.nearest
	}
	if tx.v, err = t.CreateView(nil); err != nil {
		tx.release()
		return nil, err
	}
	if tx.bg, err = r.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: label, Layout: r.quadBGL, Entries: []wgpu.BindGroupEntry{
		{Binding: 0, TextureView: tx.v},
		{Binding: 1, Sampler: smp},
		{Binding: 2, Buffer: r.quadUni, Size: 64},
	}}); err != nil {
		tx.release()
		return nil, err
	}
	if err := r.upload(tx, img); err != nil {
		tx.release()
		return nil, err
	}
	return tx, nil
}

// upload writes img (the texture's size) into tx.
func (r *renderer) upload(tx *texture, img *image.RGBA) error {
	b := img.Bounds()
	pix := img.Pix
	if img.Stride != 4*b.Dx() {
		pix = make([]byte, 0, 4*b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			o := img.PixOffset(b.Min.X, y)
			pix = append(pix, img.Pix[o:o+4*b.Dx()]...)
		}
	}
	return r.q.WriteTexture(&wgpu.ImageCopyTexture{Texture: tx.t, Aspect: wgpu.TextureAspect_All}, pix,
		&wgpu.TextureDataLayout{BytesPerRow: uint32(4 * tx.w), RowsPerImage: uint32(tx.h)},
		&wgpu.Extent3D{Width: uint32(tx.w), Height: uint32(tx.h), DepthOrArrayLayers: 1})
}

// setTexture uploads img into *tx, replacing the texture if the size changed.
func (r *renderer) setTexture(tx **texture, label string, img *image.RGBA, nearest bool) error {
	b := img.Bounds()
	if *tx != nil && (*tx).w == b.Dx() && (*tx).h == b.Dy() && (*tx).nearest == nearest {
		return r.upload(*tx, img)
	}
	n, err := r.newTexture(label, img, nearest)
	if err != nil {
		return err
	}
	if *tx != nil {
		(*tx).release()
	}
	*tx = n
	return nil
}

func (tx *texture) release() {
	if tx == nil {
		return
	}
	if tx.bg != nil {
		tx.bg.Release()
	}
	if tx.v != nil {
		tx.v.Release()
	}
	if tx.t != nil {
		tx.t.Destroy()
		tx.t.Release()
	}
}

// thumbnail resizes img to fit box (at twice the box's size at most, for
// sharpness when the window grows) and converts it to RGBA.
func thumbnail(img imageio.Image, box live.Rect, scale float64) *image.RGBA {
	r := live.Fit(live.Rect{0, 0, 2 * box.W() / scale * scale, 2 * box.H() / scale * scale}, img.W, img.H)
	w := max(1, min(img.W, int(math.Round(r.W()))))
	h := max(1, min(img.H, int(math.Round(r.H()))))
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
