package gpu

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unsafe"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// goWebGPUVersion is the go-webgpu release whose private struct layouts
// native.go reads and writes through unsafe. Upgrading go-webgpu means
// checking those layouts again: TestGoWebGPULayout and Open fail until
// wantLayouts below matches the new release.
const goWebGPUVersion = "v0.17.1"

// fieldLayout is one field of a struct as reflect sees it.
type fieldLayout struct {
	Name   string
	Offset uintptr
	Kind   reflect.Kind
}

// typeLayout is the size and fields of a struct.
type typeLayout struct {
	Size   uintptr
	Fields []fieldLayout
}

const ptrSize = unsafe.Sizeof(uintptr(0))

// wantLayouts are the go-webgpu v0.17.1 structs whose native handles
// native.go takes out (Adapter, Buffer, Queue, Device) or puts in (Device).
var wantLayouts = []struct {
	typ  reflect.Type
	want typeLayout
}{
	{reflect.TypeOf(wgpu.Adapter{}), typeLayout{ptrSize, []fieldLayout{{"ref", 0, reflect.Pointer}}}},
	{reflect.TypeOf(wgpu.Buffer{}), typeLayout{2 * ptrSize, []fieldLayout{{"deviceRef", 0, reflect.Pointer}, {"ref", ptrSize, reflect.Pointer}}}},
	{reflect.TypeOf(wgpu.Queue{}), typeLayout{2 * ptrSize, []fieldLayout{{"deviceRef", 0, reflect.Pointer}, {"ref", ptrSize, reflect.Pointer}}}},
	{reflect.TypeOf(wgpu.Device{}), typeLayout{ptrSize, []fieldLayout{{"ref", 0, reflect.Pointer}}}},
}

// layoutOf returns the size and fields of struct type t.
func layoutOf(t reflect.Type) typeLayout {
	l := typeLayout{Size: t.Size()}
	if t.Kind() != reflect.Struct {
		return l
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		l.Fields = append(l.Fields, fieldLayout{f.Name, f.Offset, f.Type.Kind()})
	}
	return l
}

// checkLayout returns an error naming every way t differs from want.
func checkLayout(t reflect.Type, want typeLayout) error {
	got := layoutOf(t)
	var diffs []string
	if t.Kind() != reflect.Struct {
		diffs = append(diffs, fmt.Sprintf("is a %s, not a struct", t.Kind()))
	}
	if got.Size != want.Size {
		diffs = append(diffs, fmt.Sprintf("size %d, want %d", got.Size, want.Size))
	}
	if len(got.Fields) != len(want.Fields) {
		diffs = append(diffs, fmt.Sprintf("%d fields, want %d", len(got.Fields), len(want.Fields)))
	}
	for i := 0; i < len(got.Fields) && i < len(want.Fields); i++ {
		if g, w := got.Fields[i], want.Fields[i]; g != w {
			diffs = append(diffs, fmt.Sprintf("field %d is %s at offset %d of kind %s, want %s at offset %d of kind %s", i, g.Name, g.Offset, g.Kind, w.Name, w.Offset, w.Kind))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", t, strings.Join(diffs, "; "))
}

// layoutError reports, once per process, whether go-webgpu's private
// structs still have the layout of goWebGPUVersion that native.go relies on.
var layoutError = sync.OnceValue(func() error {
	var errs []string
	for _, l := range wantLayouts {
		if err := checkLayout(l.typ, l.want); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("gpu: go-webgpu's private struct layout is not that of %s, which this package reads through unsafe: %s", goWebGPUVersion, strings.Join(errs, "; "))
})
