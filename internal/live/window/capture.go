package window

import (
	"fmt"
	"image"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/gpu"
)

// capture renders f, with the same commands as present, into an offscreen
// texture of the swap chain's format and size, and reads it back (the swap
// chain's own texture cannot be copied from in wgpu-native 0.17: it hands
// out only a view). It blocks until the pixels arrive.
func (r *renderer) capture(f *frame) (*image.NRGBA, error) {
	w, h := r.fbW, r.fbH
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("capture: the window has no area")
	}
	if err := r.prepare(f); err != nil {
		return nil, err
	}
	tex, err := r.dev.CreateTexture(&wgpu.TextureDescriptor{
		Label: "live.capture", Usage: wgpu.TextureUsage_RenderAttachment | wgpu.TextureUsage_CopySrc,
		Dimension: wgpu.TextureDimension_2D, Size: wgpu.Extent3D{Width: uint32(w), Height: uint32(h), DepthOrArrayLayers: 1},
		Format: r.format, MipLevelCount: 1, SampleCount: 1,
	})
	if err != nil {
		return nil, err
	}
	defer func() { tex.Destroy(); tex.Release() }()
	view, err := tex.CreateView(nil)
	if err != nil {
		return nil, err
	}
	defer view.Release()
	bpr := (4*w + 255) / 256 * 256
	buf, err := r.d.NewBuffer("live.capture", gpu.U32, bpr/4*h)
	if err != nil {
		return nil, err
	}
	defer buf.Release()
	enc, err := r.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "live.capture"})
	if err != nil {
		return nil, err
	}
	if err := r.encode(enc, view, f); err != nil {
		enc.Release()
		return nil, err
	}
	if err := enc.CopyTextureToBuffer(&wgpu.ImageCopyTexture{Texture: tex, Aspect: wgpu.TextureAspect_All},
		&wgpu.ImageCopyBuffer{Buffer: buf.Raw(), Layout: wgpu.TextureDataLayout{BytesPerRow: uint32(bpr), RowsPerImage: uint32(h)}},
		&wgpu.Extent3D{Width: uint32(w), Height: uint32(h), DepthOrArrayLayers: 1}); err != nil {
		enc.Release()
		return nil, err
	}
	if err := submitRaw(r.d, enc); err != nil {
		return nil, err
	}
	rb, err := r.d.NewReadback("live.capture.readback", buf.Bytes())
	if err != nil {
		return nil, err
	}
	defer rb.Release()
	genc, err := r.d.NewEncoder("live.capture read")
	if err != nil {
		return nil, err
	}
	if err := genc.Read(rb, buf); err != nil {
		genc.Discard()
		return nil, err
	}
	if err := genc.Submit(); err != nil {
		return nil, err
	}
	raw, err := rb.Wait()
	if err != nil {
		return nil, err
	}
	bgra := r.format == wgpu.TextureFormat_BGRA8Unorm || r.format == wgpu.TextureFormat_BGRA8UnormSrgb
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := raw[y*bpr+4*x:]
			o := out.Pix[y*out.Stride+4*x:]
			if bgra {
				o[0], o[1], o[2] = s[2], s[1], s[0]
			} else {
				o[0], o[1], o[2] = s[0], s[1], s[2]
			}
			o[3] = 255
		}
	}
	return out, nil
}
