package gpu

import (
	"fmt"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// NewSurface creates a presentation surface for a window (desc comes from
// the windowing library, e.g. wgpuext/glfw's GetSurfaceDescriptor) on the
// device's own WebGPU instance — a surface must belong to the instance of
// the adapter that presents to it — and checks that this adapter can
// present to it. It returns the surface and its capabilities (the first
// format is the adapter's preferred one). The caller releases the surface
// before closing the device. It is the only way into the device's instance
// and adapter, which stay private.
func (d *Device) NewSurface(desc *wgpu.SurfaceDescriptor) (s *wgpu.Surface, caps wgpu.SurfaceCapabilities, err error) {
	if err := d.enter(); err != nil {
		return nil, caps, err
	}
	defer d.leave()
	defer func() {
		if r := recover(); r != nil { // go-webgpu panics when wgpu returns no surface
			s, err = nil, fmt.Errorf("gpu: create a window surface on %s: %v", d.Info.Name, r)
		}
	}()
	s = d.instance.CreateSurface(desc)
	caps = s.GetCapabilities(d.adapter)
	if len(caps.Formats) == 0 || len(caps.PresentModes) == 0 {
		s.Release()
		return nil, caps, fmt.Errorf("gpu: %s (%s) cannot present to this window: the driver offers no surface support for it", d.Info.Name, d.Info.Backend)
	}
	return s, caps, nil
}
