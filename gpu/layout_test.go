package gpu

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestGoWebGPULayout pins the private layout of the go-webgpu structs
// whose native handles native.go reads through unsafe. If go-webgpu is
// upgraded and a layout changes, this fails instead of the program
// handing wgpu-native a wrong pointer.
func TestGoWebGPULayout(t *testing.T) {
	for _, l := range wantLayouts {
		if err := checkLayout(l.typ, l.want); err != nil {
			t.Errorf("go-webgpu %s layout changed (native.go reads it through unsafe; re-check the raw* handle functions in native.go): %v", goWebGPUVersion, err)
		} else {
			t.Logf("%s: %+v", l.typ, layoutOf(l.typ))
		}
	}
	if err := layoutError(); err != nil {
		t.Errorf("layoutError: %v", err)
	}
	if !strings.Contains(goWebGPUVersion, "v0.17.1") {
		t.Errorf("goWebGPUVersion %q does not name the release the layouts were taken from", goWebGPUVersion)
	}
}

// TestCheckLayoutDetectsChanges shows that checkLayout notices each kind
// of change it guards against, so that TestGoWebGPULayout can fail.
func TestCheckLayoutDetectsChanges(t *testing.T) {
	want := typeLayout{2 * ptrSize, []fieldLayout{{"deviceRef", 0, reflect.Pointer}, {"ref", ptrSize, reflect.Pointer}}}
	type same struct {
		deviceRef *int
		ref       *int
	}
	type swapped struct {
		ref       *int
		deviceRef *int
	}
	type uintptrField struct {
		deviceRef *int
		ref       uintptr
	}
	type extra struct {
		deviceRef *int
		ref       *int
		label     *byte
	}
	type padded struct {
		flag      bool
		deviceRef *int
		ref       *int
	}
	type one struct{ ref unsafe.Pointer }
	if err := checkLayout(reflect.TypeOf(same{}), want); err != nil {
		t.Fatalf("an identical layout was refused: %v", err)
	}
	for _, typ := range []reflect.Type{
		reflect.TypeOf(swapped{}), reflect.TypeOf(uintptrField{}), reflect.TypeOf(extra{}),
		reflect.TypeOf(padded{}), reflect.TypeOf(one{}), reflect.TypeOf(0),
	} {
		err := checkLayout(typ, want)
		if err == nil {
			t.Errorf("checkLayout(%s) found no difference", typ)
			continue
		}
		t.Logf("%s: %v", typ, err)
	}
}

// TestNilHandlesAreRefused checks that a nil wrapper is refused before its
// handle reaches wgpu-native, which aborts the process on a null handle.
func TestNilHandlesAreRefused(t *testing.T) {
	if rawBuffer(nil) != nil || rawQueue(nil) != nil || rawHandle(nil) != nil {
		t.Fatal("a nil wrapper gave a non-nil handle")
	}
	if err := mapRead(nil, 16, func(error) { t.Error("callback ran for a refused map") }); err == nil {
		t.Error("mapRead(nil): want an error")
	} else {
		t.Log(err)
	}
	if err := onWorkDone(nil, func(error) { t.Error("callback ran for a refused wait") }); err == nil {
		t.Error("onWorkDone(nil): want an error")
	} else {
		t.Log(err)
	}
}
