package gpu

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
)

// Slot is one @binding of a kernel, declared once in Go: the WGSL
// declaration is generated from it (Slots.WGSL), and the Go side binds
// its buffer with its access, in the same order (Device.BindSlots). A
// shader template writes the generated text where its declarations go
// and names the variables as the slots do.
type Slot struct {
	Name   string  // the WGSL variable
	Access Access  // In, Out or Uniform
	Buf    *Buffer // bound by BindSlots; may be nil while only rendering
	Elem   string  // a storage array's element type; "f32" when empty
	Note   string  // a comment for the WGSL reader, e.g. "(C,H,W)"
	Params any     // a uniform's Go params struct, which its WGSL struct mirrors
}

// Slots is a kernel's bindings in binding order: storage first, the
// uniforms last (Device.Kernel refuses another order).
type Slots []Slot

// WGSL renders the declarations: one struct per distinct params type
// (generated from the Go struct, so that host and shader cannot drift),
// then one `@group(0) @binding(i) var<...>` line per slot.
func (s Slots) WGSL() (string, error) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, sl := range s {
		if sl.Access != Uniform {
			continue
		}
		name, body, err := WGSLStruct(sl.Params)
		if err != nil {
			return "", fmt.Errorf("gpu: uniform %s: %w", sl.Name, err)
		}
		if !seen[name] {
			seen[name] = true
			b.WriteString(body)
		}
	}
	for i, sl := range s {
		elem := sl.Elem
		if elem == "" {
			elem = "f32"
		}
		switch sl.Access {
		case In:
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<storage, read> %s: array<%s>;", i, sl.Name, elem)
		case Out:
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<storage, read_write> %s: array<%s>;", i, sl.Name, elem)
		case Uniform:
			name, _, _ := WGSLStruct(sl.Params)
			fmt.Fprintf(&b, "@group(0) @binding(%d) var<uniform> %s: %s;", i, sl.Name, name)
		default:
			return "", fmt.Errorf("gpu: slot %s: unknown access %d", sl.Name, sl.Access)
		}
		if sl.Note != "" {
			b.WriteString(" // " + sl.Note)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// Storage counts the storage-buffer slots, which the adapter limits per
// shader stage (maxStorageBuffersPerShaderStage).
func (s Slots) Storage() int {
	n := 0
	for _, sl := range s {
		if sl.Access != Uniform {
			n++
		}
	}
	return n
}

// Accesses lists the slots' accesses, a KernelSpec's Bindings.
func (s Slots) Accesses() []Access {
	a := make([]Access, len(s))
	for i, sl := range s {
		a[i] = sl.Access
	}
	return a
}

// Buffers lists the slots' buffers, in binding order.
func (s Slots) Buffers() []*Buffer {
	b := make([]*Buffer, len(s))
	for i, sl := range s {
		b[i] = sl.Buf
	}
	return b
}

// BindSlots compiles source's entry point (or fetches it from the cache)
// with s's layout and binds s's buffers.
func (d *Device) BindSlots(name, source, entry string, s Slots) (*Binding, error) {
	k, err := d.Kernel(KernelSpec{Name: name, Source: source, Entry: entry, Bindings: s.Accesses()})
	if err != nil {
		return nil, err
	}
	return d.Bind(k, s.Buffers()...)
}

// WGSLStruct renders the WGSL struct that mirrors the Go params struct p:
// f32, u32 and i32 fields in order, named by their `wgsl` tag or else the
// Go name with its leading capitals lowered; blank fields become padN.
// The type is named after the Go type with its first letter raised.
func WGSLStruct(p any) (name, body string, err error) {
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
