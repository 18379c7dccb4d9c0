package ops

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/stylize/stylize/gpu"
)

// slot is one @binding of a kernel, declared once in Go: the WGSL side's
// declaration is generated from it (Slots.WGSL), and the Go side binds
// its buffer with its access, in the same order. A shader template writes
// {{.Bindings}} where its declarations go and names the variables as the
// slots do.
type slot struct {
	name   string     // the WGSL variable
	access gpu.Access // In, Out or Uniform
	buf    *gpu.Buffer
	shape  string // a comment for the WGSL reader, e.g. "(C,H,W)"
	params any    // for a uniform: a value of the Go params struct it mirrors
}

// ro, rw and uni declare a read-only storage slot, a read-write storage
// slot and a uniform slot.
func ro(name string, b *gpu.Buffer, shape string) slot { return slot{name, gpu.In, b, shape, nil} }
func rw(name string, b *gpu.Buffer, shape string) slot { return slot{name, gpu.Out, b, shape, nil} }
func uni(name string, b *gpu.Buffer, params any) slot  { return slot{name, gpu.Uniform, b, "", params} }

// slots is a kernel's bindings, in binding order: storage first, the
// uniforms last (gpu.Device.Kernel refuses another order).
type slots []slot

// WGSL renders the declarations: one struct per distinct params type
// (generated from the Go struct, so that host and shader cannot drift),
// then one `@group(0) @binding(i) var<...>` line per slot.
func (s slots) WGSL() (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, sl := range s {
		if sl.access != gpu.Uniform {
			continue
		}
		name, body, err := wgslStruct(sl.params)
		if err != nil {
			return "", fmt.Errorf("uniform %s: %w", sl.name, err)
		}
		if !seen[name] {
			seen[name] = true
			b.WriteString(body)
		}
	}
	for i, sl := range s {
		switch sl.access {
		case gpu.In:
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<storage, read> %s: array<f32>;", i, sl.name)
		case gpu.Out:
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<storage, read_write> %s: array<f32>;", i, sl.name)
		case gpu.Uniform:
			name, _, _ := wgslStruct(sl.params)
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<uniform> %s: %s;", i, sl.name, name)
		}
		if sl.shape != "" {
			b.WriteString(" // " + sl.shape)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// Storage counts the storage-buffer slots, which the adapter limits per
// shader stage (maxStorageBuffersPerShaderStage).
func (s slots) Storage() int {
	n := 0
	for _, sl := range s {
		if sl.access != gpu.Uniform {
			n++
		}
	}
	return n
}

func (s slots) accesses() []gpu.Access {
	a := make([]gpu.Access, len(s))
	for i, sl := range s {
		a[i] = sl.access
	}
	return a
}

func (s slots) buffers() []*gpu.Buffer {
	b := make([]*gpu.Buffer, len(s))
	for i, sl := range s {
		b[i] = sl.buf
	}
	return b
}

// wgslStruct renders the WGSL struct that mirrors the Go params struct p:
// f32, u32 and i32 fields in order, named by their `wgsl` tag or else the
// Go name with its leading capitals lowered; blank fields become padN.
// The type is named after the Go type with its first letter raised.
func wgslStruct(p any) (name, body string, err error) {
	t := reflect.TypeOf(p)
	if t == nil || t.Kind() != reflect.Struct {
		return "", "", fmt.Errorf("params %T is not a struct", p)
	}
	r := []rune(t.Name())
	if len(r) == 0 {
		return "", "", fmt.Errorf("params type %v has no name", t)
	}
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	var b strings.Builder
	fmt.Fprintf(&b, "struct %s {\n", name)
	pad := 0
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		var ty string
		switch f.Type.Kind() {
		case reflect.Float32:
			ty = "f32"
		case reflect.Uint32:
			ty = "u32"
		case reflect.Int32:
			ty = "i32"
		default:
			return "", "", fmt.Errorf("params %s field %s: %s has no WGSL scalar", name, f.Name, f.Type)
		}
		fn := f.Tag.Get("wgsl")
		switch {
		case fn != "":
		case f.Name == "_":
			fn = fmt.Sprintf("pad%d", pad)
			pad++
		default:
			fn = lowerLead(f.Name)
		}
		fmt.Fprintf(&b, "  %s: %s,\n", fn, ty)
	}
	b.WriteString("}\n")
	return name, b.String(), nil
}

// lowerLead lowers a name's leading run of capitals: Grad → grad, LR → lr.
func lowerLead(s string) string {
	r := []rune(s)
	for i := range r {
		if !unicode.IsUpper(r[i]) {
			break
		}
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}

// decl is embedded in a shader's template data: Bindings holds the
// declarations that bind renders from the kernel's slots.
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
	k, err := kernel(d, name, file, entry, data, s.accesses()...)
	if err != nil {
		return nil, err
	}
	return d.Bind(k, s.buffers()...)
}
