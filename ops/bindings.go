package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/shaders"
)

// slots is a kernel's bindings, declared once (gpu.Slots): the shader's
// declarations and params structs are generated from them.
type slots = gpu.Slots

// ro, rw and uni declare a read-only storage slot, a read-write storage
// slot and a uniform slot whose WGSL struct mirrors params.
func ro(name string, b *gpu.Buffer, note string) gpu.Slot {
	return gpu.Slot{Name: name, Access: gpu.In, Buf: b, Note: note}
}
func rw(name string, b *gpu.Buffer, note string) gpu.Slot {
	return gpu.Slot{Name: name, Access: gpu.Out, Buf: b, Note: note}
}
func uni(name string, b *gpu.Buffer, params any) gpu.Slot {
	return gpu.Slot{Name: name, Access: gpu.Uniform, Buf: b, Params: params}
}

// decl is embedded in a shader's template data: Bindings holds the
// declarations that bindSlots renders from the kernel's slots.
type decl struct{ Bindings string }

func (d *decl) setBindings(s string) { d.Bindings = s }

// declarer is template data with an embedded decl.
type declarer interface{ setBindings(string) }

// bindSlots renders file's entry with data, its declarations generated
// from s, compiles it (or fetches it from the cache) and binds s's buffers.
func bindSlots(d *gpu.Device, name, file, entry string, data declarer, s slots) (*gpu.Binding, error) {
	text, err := s.WGSL()
	if err != nil {
		return nil, fmt.Errorf("ops: %s: %w", name, err)
	}
	data.setBindings(text)
	src, err := shaders.Render(file, data)
	if err != nil {
		return nil, fmt.Errorf("ops: %s: %w", name, err)
	}
	return d.BindSlots(name, src, entry, s)
}
