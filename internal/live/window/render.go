package window

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"github.com/stylize/stylize/gpu"
)

// quad draws a texture into a rectangle (framebuffer pixels), its texels
// multiplied by color (premultiplied).
type quad struct {
	tex   *texture
	rect  [4]float64
	color [4]float32
}

// frame is what one frame draws: the image from the engine's buffer into
// imgRect, cut to clip, then the quads in order.
type frame struct {
	img     *gpu.Buffer // the engine's image, (3,H,W)
	content *gpu.Buffer // the content at the same size, for original colours
	imgW    int
	imgH    int
	imgRect [4]float64
	clip    [4]float64
	orig    bool
	quads   []quad
}

// renderer draws frames into the window's swap chain (and, for captures,
// into an offscreen texture of the same format with the same commands).
type renderer struct {
	d       *gpu.Device
	dev     *wgpu.Device
	q       *wgpu.Queue
	surface *wgpu.Surface
	sc      *wgpu.SwapChain
	format  wgpu.TextureFormat
	srgb    bool
	mode    wgpu.PresentMode
	alpha   wgpu.CompositeAlphaMode
	fbW     int
	fbH     int

	imgMod, quadMod   *wgpu.ShaderModule
	imgBGL, quadBGL   *wgpu.BindGroupLayout
	imgPL, quadPL     *wgpu.PipelineLayout
	imgPipe, quadPipe *wgpu.RenderPipeline
	imgUni, quadUni   *wgpu.Buffer
	linear, nearest   *wgpu.Sampler
	stride            int // bytes between quad uniform slots
	maxQuads          int

	imgBG   *wgpu.BindGroup
	imgBufs [2]*gpu.Buffer

	white *texture
	m     *markers // GPU time of the render pass
	slots []int    // marker slots in flight, oldest first
	tGPU  float64  // seconds of GPU time per frame (moving average)
	tCPU  float64  // seconds the CPU spends in acquire and present (moving average)

	frames   int
	presents int
	samples  int
	sampled  time.Time
}

var clearColor = [3]float64{0.09, 0.09, 0.1}

func newRenderer(d *gpu.Device, surface *wgpu.Surface, caps wgpu.SurfaceCapabilities, w, h int, timestamps bool) (*renderer, error) {
	r := &renderer{d: d, dev: d.Raw(), q: d.Queue(), surface: surface, maxQuads: 32}
	// Prefer a plain UNORM format: the image's values are sRGB-encoded
	// already, and pass through unchanged. With only an sRGB format the
	// shaders linearise what they write.
	r.format = caps.Formats[0]
	for _, f := range caps.Formats {
		if f == wgpu.TextureFormat_BGRA8Unorm || f == wgpu.TextureFormat_RGBA8Unorm {
			r.format = f
			break
		}
	}
	switch r.format {
	case wgpu.TextureFormat_BGRA8Unorm, wgpu.TextureFormat_RGBA8Unorm:
	case wgpu.TextureFormat_BGRA8UnormSrgb, wgpu.TextureFormat_RGBA8UnormSrgb:
		r.srgb = true
	default:
		return nil, fmt.Errorf("the window offers no 8-bit RGBA format (formats %v)", caps.Formats)
	}
	r.mode = caps.PresentModes[0]
	for _, m := range caps.PresentModes {
		if m == wgpu.PresentMode_Fifo {
			r.mode = m
		}
	}
	r.alpha = caps.AlphaModes[0]
	for _, a := range caps.AlphaModes {
		if a == wgpu.CompositeAlphaMode_Opaque {
			r.alpha = a
		}
	}
	if err := r.build(); err != nil {
		r.release()
		return nil, err
	}
	var err error
	if r.m, err = newMarkers(d, 3, timestamps); err != nil {
		r.release()
		return nil, err
	}
	if err := r.configure(w, h); err != nil {
		r.release()
		return nil, err
	}
	return r, nil
}

// configure (re)creates the swap chain for a w×h framebuffer.
func (r *renderer) configure(w, h int) error {
	if r.sc != nil {
		r.sc.Release()
		r.sc = nil
	}
	r.fbW, r.fbH = w, h
	if w <= 0 || h <= 0 {
		return nil // minimised: nothing to draw into
	}
	sc, err := r.dev.CreateSwapChain(r.surface, &wgpu.SwapChainDescriptor{
		Usage: wgpu.TextureUsage_RenderAttachment, Format: r.format,
		Width: uint32(w), Height: uint32(h), PresentMode: r.mode, AlphaMode: r.alpha,
	})
	if err != nil {
		return fmt.Errorf("swap chain %dx%d: %w", w, h, err)
	}
	r.sc = sc
	return nil
}

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// prepare writes the frame's uniforms and (re)binds the image buffers.
func (r *renderer) prepare(f *frame) error {
	if f.img != nil {
		if r.imgBG == nil || r.imgBufs[0] != f.img || r.imgBufs[1] != f.content {
			if r.imgBG != nil {
				r.imgBG.Release()
				r.imgBG = nil
			}
			bg, err := r.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: "live.image", Layout: r.imgBGL, Entries: []wgpu.BindGroupEntry{
				{Binding: 0, Buffer: f.img.Raw(), Size: f.img.Bytes()},
				{Binding: 1, Buffer: f.content.Raw(), Size: f.content.Bytes()},
				{Binding: 2, Buffer: r.imgUni, Size: 48},
			}})
			if err != nil {
				return fmt.Errorf("image bind group: %w", err)
			}
			r.imgBG, r.imgBufs = bg, [2]*gpu.Buffer{f.img, f.content}
		}
		rc := f.imgRect
		if err := r.q.WriteBuffer(r.imgUni, 0, f32bytes(
			float32(rc[0]), float32(rc[1]), float32(rc[2]), float32(rc[3]),
			float32(r.fbW), float32(r.fbH), float32(f.imgW), float32(f.imgH),
			b2f(f.orig), b2f(r.srgb), 0, 0)); err != nil {
			return err
		}
	}
	if len(f.quads) > r.maxQuads {
		f.quads = f.quads[:r.maxQuads]
	}
	if len(f.quads) > 0 {
		buf := make([]byte, r.stride*len(f.quads))
		for i, qd := range f.quads {
			copy(buf[r.stride*i:], f32bytes(
				float32(qd.rect[0]), float32(qd.rect[1]), float32(qd.rect[2]), float32(qd.rect[3]),
				float32(r.fbW), float32(r.fbH), b2f(r.srgb), 0,
				qd.color[0], qd.color[1], qd.color[2], qd.color[3],
				0, 0, 0, 0))
		}
		if err := r.q.WriteBuffer(r.quadUni, 0, buf); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) clearValue() wgpu.Color {
	c := clearColor
	if r.srgb {
		for i, v := range c {
			c[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return wgpu.Color{R: c[0], G: c[1], B: c[2], A: 1}
}

// encode records the frame's render pass into enc, drawing into view.
func (r *renderer) encode(enc *wgpu.CommandEncoder, view *wgpu.TextureView, f *frame) error {
	pass := enc.BeginRenderPass(&wgpu.RenderPassDescriptor{Label: "live.frame", ColorAttachments: []wgpu.RenderPassColorAttachment{{
		View: view, LoadOp: wgpu.LoadOp_Clear, StoreOp: wgpu.StoreOp_Store, ClearValue: r.clearValue(),
	}}})
	if f.img != nil {
		x0 := max(0, min(int(math.Floor(f.clip[0])), r.fbW))
		y0 := max(0, min(int(math.Floor(f.clip[1])), r.fbH))
		x1 := max(x0, min(int(math.Ceil(f.clip[2])), r.fbW))
		y1 := max(y0, min(int(math.Ceil(f.clip[3])), r.fbH))
		if x1 > x0 && y1 > y0 {
			pass.SetScissorRect(uint32(x0), uint32(y0), uint32(x1-x0), uint32(y1-y0))
			pass.SetPipeline(r.imgPipe)
			pass.SetBindGroup(0, r.imgBG, nil)
			pass.Draw(6, 1, 0, 0)
			pass.SetScissorRect(0, 0, uint32(r.fbW), uint32(r.fbH))
		}
	}
	if len(f.quads) > 0 {
		pass.SetPipeline(r.quadPipe)
		for i, qd := range f.quads {
			pass.SetBindGroup(0, qd.tex.bg, []uint32{uint32(r.stride * i)})
			pass.Draw(6, 1, 0, 0)
		}
	}
	err := pass.End()
	pass.Release()
	return err
}

// present draws f into the swap chain's next texture and presents it. It
// returns false (and no error) when there is nothing to draw into.
func (r *renderer) present(f *frame) (bool, error) {
	if r.sc == nil {
		return false, nil
	}
	t0 := time.Now()
	defer func() {
		r.presents++
		if r.presents <= 2 { // the first ones create the swap chain's images
			return
		}
		t := time.Since(t0).Seconds()
		if r.tCPU == 0 {
			r.tCPU = t
		} else {
			r.tCPU += 0.2 * (t - r.tCPU)
		}
	}()
	view, err := r.sc.GetCurrentTextureView()
	if err != nil || view == nil {
		// Outdated (a resize raced us): rebuild and skip this frame.
		return false, r.configure(r.fbW, r.fbH)
	}
	defer view.Release()
	if err := r.prepare(f); err != nil {
		return false, err
	}
	enc, err := r.dev.CreateCommandEncoder(&wgpu.CommandEncoderDescriptor{Label: "live.frame"})
	if err != nil {
		return false, err
	}
	slot := -1
	// A sample of the frames is enough (each costs a submission), but
	// often enough that the estimate follows.
	if r.m.ts && (r.frames%4 == 0 || time.Since(r.sampled) > 250*time.Millisecond) {
		slot = r.m.free()
		r.sampled = time.Now()
	}
	r.frames++
	if slot >= 0 {
		if err := r.m.begin(enc, slot); err != nil {
			enc.Release()
			return false, err
		}
	}
	if err := r.encode(enc, view, f); err != nil {
		enc.Release()
		return false, err
	}
	if slot >= 0 {
		if err := r.m.end(enc, slot); err != nil {
			enc.Release()
			return false, err
		}
	}
	if err := submitRaw(r.d, enc); err != nil {
		return false, err
	}
	if slot >= 0 {
		if err := r.m.read(slot); err != nil {
			return false, err
		}
		r.slots = append(r.slots, slot)
	}
	r.sc.Present()
	return true, nil
}

// pollTiming collects finished render-pass timings without blocking.
func (r *renderer) pollTiming() error {
	for len(r.slots) > 0 {
		gpuNs, ok, err := r.m.ready(r.slots[0])
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		r.slots = r.slots[1:]
		r.samples++
		// The first frames compile the pipelines' shaders (tens of ms on
		// lavapipe): not what a frame costs.
		if gpuNs > 0 && r.samples > 2 {
			t := gpuNs / 1e9
			if r.tGPU == 0 {
				r.tGPU = t
			} else {
				r.tGPU += 0.3 * (t - r.tGPU)
			}
		}
	}
	return nil
}

func (r *renderer) release() {
	if r.m != nil {
		r.m.release()
	}
	if r.sc != nil {
		r.sc.Release()
		r.sc = nil
	}
	r.white.release()
	releaseEach(r.imgBG)
	releaseEach(r.imgPipe, r.quadPipe)
	releaseEach(r.imgPL, r.quadPL)
	releaseEach(r.imgBGL, r.quadBGL)
	releaseEach(r.imgMod, r.quadMod)
	releaseEach(r.linear, r.nearest)
	for _, b := range []*wgpu.Buffer{r.imgUni, r.quadUni} {
		if b != nil {
			b.Destroy()
			b.Release()
		}
	}
}

// releaseEach releases each of ps that is not nil.
func releaseEach[P interface {
	comparable
	Release()
}](ps ...P) {
	var none P
	for _, p := range ps {
		if p != none {
			p.Release()
		}
	}
}
