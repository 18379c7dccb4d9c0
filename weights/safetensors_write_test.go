package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// headerKeys returns the header's keys in the order the file has them.
func headerKeys(t *testing.T, b []byte) (keys []string, hl uint64) {
	t.Helper()
	hl = binary.LittleEndian.Uint64(b[:8])
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+hl]))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("header does not open an object: %v %v", tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys, hl
}

func sameConvs(t *testing.T, a, b *VGG19) {
	t.Helper()
	if len(a.Convs) != len(b.Convs) {
		t.Fatalf("%d convs, want %d", len(b.Convs), len(a.Convs))
	}
	for i := range a.Convs {
		x, y := a.Convs[i], b.Convs[i]
		if x.Cout != y.Cout || x.Cin != y.Cin || !reflect.DeepEqual(x.W, y.W) || !reflect.DeepEqual(x.B, y.B) {
			t.Fatalf("conv %d differs after the round trip", i)
		}
	}
}

func TestSaveSafetensorsRoundTrip(t *testing.T) {
	v, err := Synthetic([]int{8, 16, 32, 64, 64}, 7)
	if err != nil {
		t.Fatal(err)
	}
	v.Source = `synthetic <"quoted" & odd>`
	p := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveSafetensors(p, v); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	keys, hl := headerKeys(t, b)
	if (8+hl)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+hl)
	}
	if !sort.StringsAreSorted(keys) || keys[0] != "__metadata__" || len(keys) != 33 {
		t.Errorf("header keys not sorted or not 32 tensors + metadata: %v", keys)
	}
	if h := b[8 : 8+hl]; strings.TrimRight(string(h), " ") != strings.TrimSpace(string(h)) || h[0] != '{' {
		t.Errorf("header padding is not trailing spaces: %q", h[len(h)-10:])
	}
	f, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	// The tensors' data lie back to back in the order of the sorted names.
	var off uint64
	for _, name := range f.Names() {
		var e struct {
			Offsets []uint64 `json:"data_offsets"`
		}
		var raw map[string]json.RawMessage
		json.Unmarshal(b[8:8+hl], &raw)
		json.Unmarshal(raw[name], &e)
		if e.Offsets[0] != off {
			t.Fatalf("%s starts at %d, want %d", name, e.Offsets[0], off)
		}
		off = e.Offsets[1]
		if f.Tensors[name].DType != "F32" {
			t.Errorf("%s is %s, want F32", name, f.Tensors[name].DType)
		}
	}
	if uint64(len(b))-8-hl != off {
		t.Errorf("%d data bytes, tensors take %d", uint64(len(b))-8-hl, off)
	}
	want := map[string]string{"source": v.Source, "preprocess": "caffe", "synthetic": "true", "format": "stylize-vgg19"}
	if !reflect.DeepEqual(f.Metadata, want) {
		t.Errorf("metadata %v, want %v", f.Metadata, want)
	}
	w, err := FromSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	sameConvs(t, v, w)
	if w.Source != v.Source || w.Preprocess != v.Preprocess || !w.Synthetic {
		t.Errorf("read back source %q preprocess %q synthetic %v", w.Source, w.Preprocess, w.Synthetic)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

// The oracle's weights survive FromSafetensors -> SaveSafetensors -> read,
// which keeps only the convs, and a trained-looking file says synthetic=false.
func TestSaveSafetensorsOracleWeights(t *testing.T) {
	f, err := ReadSafetensors("../testdata/tiny_seed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	v, err := FromSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	v.Preprocess, v.Source = "torch", "tiny_seed"
	p := filepath.Join(t.TempDir(), "tiny.safetensors")
	if err := SaveSafetensors(p, v); err != nil {
		t.Fatal(err)
	}
	g, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Tensors) != 32 {
		t.Errorf("%d tensors, want the 32 conv tensors only", len(g.Tensors))
	}
	for name, tn := range g.Tensors {
		if !bytes.Equal(tn.Data, f.Tensors[name].Data) || !reflect.DeepEqual(tn.Shape, f.Tensors[name].Shape) {
			t.Errorf("%s differs from the original", name)
		}
	}
	if g.Metadata["synthetic"] != "false" || g.Metadata["preprocess"] != "torch" {
		t.Errorf("metadata %v", g.Metadata)
	}
	w, err := FromSafetensors(g)
	if err != nil {
		t.Fatal(err)
	}
	sameConvs(t, v, w)
}

func TestWriteSafetensorsGeneric(t *testing.T) {
	dir := t.TempDir()
	tensors := map[string]Tensor{
		"b.f64":    {DType: "F64", Shape: []int{2}, Data: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0}},
		"a.f16":    {DType: "F16", Shape: []int{1, 3}, Data: []byte{0, 60, 0, 188, 0, 0}},
		"c.scalar": {DType: "U8", Data: []byte{42}},
		"d.empty":  {DType: "F32", Shape: []int{0, 4}},
	}
	p := filepath.Join(dir, "g.safetensors")
	if err := WriteSafetensors(p, tensors, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metadata) != 0 {
		t.Errorf("metadata %v from nil", f.Metadata)
	}
	for name, want := range tensors {
		got := f.Tensors[name]
		if got.DType != want.DType || len(got.Data) != len(want.Data) || (len(want.Data) > 0 && !bytes.Equal(got.Data, want.Data)) || got.Numel() != want.Numel() {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
	if v, _ := f.Tensors["b.f64"].Float64s(); v[0] != 1 || v[1] != -2 {
		t.Errorf("b.f64 = %v", v)
	}
	// An empty file is still a valid one.
	p2 := filepath.Join(dir, "empty.safetensors")
	if err := WriteSafetensors(p2, nil, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if f, err := ReadSafetensors(p2); err != nil || len(f.Tensors) != 0 {
		t.Fatalf("empty file: %v, %v", f, err)
	}
}

// onlyFile asserts that dir holds exactly one entry, name.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("directory holds %v, want only %s (a temporary file left behind?)", names, name)
	}
}

func TestWriteSafetensorsAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	if err := os.WriteFile(p, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name    string
		tensors map[string]Tensor
		msg     string
	}{
		{"short data", map[string]Tensor{"x": {DType: "F32", Shape: []int{2}, Data: make([]byte, 4)}}, "needs 8 bytes"},
		{"unknown dtype", map[string]Tensor{"x": {DType: "Q7", Shape: []int{1}, Data: make([]byte, 4)}}, "unknown dtype"},
		{"negative dim", map[string]Tensor{"x": {DType: "F32", Shape: []int{-1}}}, "negative"},
		{"reserved name", map[string]Tensor{"__metadata__": {DType: "F32", Shape: []int{1}, Data: make([]byte, 4)}}, "reserved"},
	}
	for _, tc := range bad {
		err := WriteSafetensors(p, tc.tensors, nil)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.msg)
		}
	}
	// A failure in the middle of writing removes the temporary file and
	// leaves the old file as it was.
	boom := errors.New("disk full")
	err := writeAtomic(p, func(w io.Writer) error {
		w.Write(make([]byte, 3<<20)) // past the buffer, so it reached the file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(p); string(b) != "old contents" {
		t.Fatalf("the old file was changed: %q", b)
	}
	onlyFile(t, dir, "w.safetensors")
	// SaveSafetensors refuses weights that do not check, writing nothing.
	v, _ := Synthetic([]int{4, 4, 4, 4, 4}, 1)
	v.Convs[3].B = v.Convs[3].B[:1]
	if err := SaveSafetensors(p, v); err == nil {
		t.Fatal("saved inconsistent weights")
	}
	onlyFile(t, dir, "w.safetensors")
	// A directory that does not exist is an error, not a panic.
	if err := WriteSafetensors(filepath.Join(dir, "no", "such", "dir.safetensors"), nil, nil); err == nil {
		t.Fatal("wrote into a missing directory")
	}
	// And a good write replaces the old file whole.
	v, _ = Synthetic([]int{4, 4, 4, 4, 4}, 1)
	if err := SaveSafetensors(p, v); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSafetensors(p); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, dir, "w.safetensors")
}

func TestTensorsNames(t *testing.T) {
	v, _ := Synthetic([]int{2, 3, 4, 5, 6}, 1)
	v.Convs = v.Convs[:5] // a trunk that stops early
	ts := v.Tensors()
	if len(ts) != 10 {
		t.Fatalf("%d tensors, want 10", len(ts))
	}
	w := ts["features.10.weight"]
	if w.DType != "F32" || !reflect.DeepEqual(w.Shape, []int{4, 3, 3, 3}) || len(w.Data) != 4*3*9*4 {
		t.Fatalf("features.10.weight: %+v", w.Shape)
	}
	if b := ts["features.10.bias"]; !reflect.DeepEqual(b.Shape, []int{4}) {
		t.Fatalf("features.10.bias: %v", b.Shape)
	}
}
