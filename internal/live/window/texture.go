package window

import (
	"fmt"
	"image"

	"github.com/rajveermalviya/go-webgpu/wgpu"
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
