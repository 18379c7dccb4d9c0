package weights

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestReadSafetensorsOracle(t *testing.T) {
	f, err := ReadSafetensors("../testdata/tiny_seed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	w, ok := f.Tensors["features.0.weight"]
	if !ok || w.DType != "F32" || len(w.Shape) != 4 || w.Shape[0] != 8 || w.Shape[1] != 3 {
		t.Fatalf("features.0.weight: %+v", w.Shape)
	}
	v, err := w.Float32s()
	if err != nil || len(v) != 8*3*9 {
		t.Fatalf("Float32s: %d values, %v", len(v), err)
	}
	g, err := f.Tensors["ref.grad0"].Float64s()
	if err != nil || len(g) != 3*52*44 {
		t.Fatalf("ref.grad0: %d values, %v", len(g), err)
	}
	if !strings.Contains(f.Metadata["oracle"], "relu5_2") {
		t.Fatalf("metadata lacks the oracle settings: %q", f.Metadata["oracle"])
	}
	t.Logf("%d tensors", len(f.Tensors))
}

func build(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestParseSafetensorsRejectsBadFiles(t *testing.T) {
	good, err := os.ReadFile("../testdata/tiny_seed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "shorter than"},
		{"truncated header", good[:100], "truncated"},
		{"truncated data", good[:len(good)-1000], "truncated"},
		{"not safetensors", []byte("PK\x03\x04 this is a zip file, not safetensors"), "not plausible"},
		{"header not json", build("{nope", nil), "not JSON"},
		{"unknown dtype", build(`{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "unknown dtype"},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "negative"},
		{"huge shape", build(`{"a":{"dtype":"F32","shape":[100000,100000,100000],"data_offsets":[0,4]}}`, make([]byte, 4)), "larger than the file"},
		{"offsets reversed", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), "offsets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSafetensors("x.safetensors", tc.data)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FormatError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "x.safetensors") {
				t.Fatalf("error %q should name the file and say %q", err, tc.msg)
			}
			t.Log(err)
		})
	}
}

func FuzzParseSafetensors(f *testing.F) {
	f.Add(build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, make([]byte, 4)))
	f.Add(build(`{"a":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]}}`, []byte{0, 60, 0, 188}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParseSafetensors("fuzz", b)
		if err != nil {
			return
		}
		for _, tn := range file.Tensors {
			if v, err := tn.Float64s(); err == nil && len(v) != tn.Numel() {
				t.Fatalf("%d values for shape %v", len(v), tn.Shape)
			}
		}
	})
}

// A truncated file gets the same message every time (the tensors are
// checked in name order, not in a map's changing order).
func TestSafetensorsTruncatedMessageStable(t *testing.T) {
	good, err := os.ReadFile("../testdata/tiny_vgg19.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	cut := good[:len(good)*2/3]
	_, first := ParseSafetensors("cut.safetensors", cut)
	if first == nil {
		t.Fatal("a truncated file was accepted")
	}
	for i := 0; i < 20; i++ {
		if _, err := ParseSafetensors("cut.safetensors", cut); err == nil || err.Error() != first.Error() {
			t.Fatalf("run %d: %v, the first said %v", i, err, first)
		}
	}
	t.Log(first)
}
