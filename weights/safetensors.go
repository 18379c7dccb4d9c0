package weights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// Tensor is one named array from a weights file, stored little-endian.
type Tensor struct {
	DType string // "F32", "F64", "F16", "BF16"
	Shape []int
	Data  []byte
}

// Numel returns the number of elements.
func (t Tensor) Numel() int {
	n := 1
	for _, v := range t.Shape {
		n *= v
	}
	return n
}

func dtypeSize(dt string) int {
	switch dt {
	case "F64", "I64", "U64":
		return 8
	case "F32", "I32", "U32":
		return 4
	case "F16", "BF16", "I16", "U16":
		return 2
	case "I8", "U8", "BOOL":
		return 1
	}
	return 0
}

// Float64s converts a floating-point tensor to float64.
func (t Tensor) Float64s() ([]float64, error) {
	n := t.Numel()
	out := make([]float64, n)
	switch t.DType {
	case "F64":
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	case "F32":
		for i := range out {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	case "BF16":
		for i := range out {
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.Data[2*i:])) << 16))
		}
	case "F16":
		for i := range out {
			out[i] = float64(halfToFloat(binary.LittleEndian.Uint16(t.Data[2*i:])))
		}
	default:
		return nil, fmt.Errorf("weights: tensor of type %s is not floating point", t.DType)
	}
	return out, nil
}

// Float32s converts a floating-point tensor to float32.
func (t Tensor) Float32s() ([]float32, error) {
	v, err := t.Float64s()
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		v := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -v
		}
		return v
	case exp == 31:
		if frac == 0 {
			return math.Float32frombits(sign | 0x7f800000)
		}
		return float32(math.NaN())
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// File is a parsed safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	out := make([]string, 0, len(f.Tensors))
	for k := range f.Tensors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// maxHeader bounds the JSON header a safetensors file may declare.
const maxHeader = 100 << 20

// ReadSafetensors reads a whole safetensors file.
func ReadSafetensors(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return ParseSafetensors(path, b)
}

// ParseSafetensors parses the bytes of a safetensors file: an 8-byte
// little-endian header length, a JSON header, then the tensor data.
func ParseSafetensors(name string, b []byte) (*File, error) {
	bad := func(format string, a ...any) error {
		return &FormatError{File: name, Format: "safetensors", Msg: fmt.Sprintf(format, a...)}
	}
	if len(b) < 8 {
		return nil, bad("%d bytes, shorter than the 8-byte header length (truncated?)", len(b))
	}
	hl := binary.LittleEndian.Uint64(b[:8])
	if hl == 0 || hl > maxHeader {
		return nil, bad("header length %d is not plausible", hl)
	}
	if uint64(len(b)-8) < hl {
		return nil, bad("header of %d bytes but only %d follow (truncated)", hl, len(b)-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, bad("header is not JSON: %v", err)
	}
	data := b[8+hl:]
	f := &File{Path: name, Metadata: map[string]string{}, Tensors: map[string]Tensor{}}
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets []uint64 `json:"data_offsets"`
	}
	// In name order, so that a damaged file always gets the same message
	// (a map's order changes from run to run).
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := raw[k]
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &f.Metadata); err != nil {
				return nil, bad("__metadata__ is not a string map: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, bad("tensor %q: %v", k, err)
		}
		sz := dtypeSize(e.DType)
		if sz == 0 {
			return nil, bad("tensor %q: unknown dtype %q", k, e.DType)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] > e.Offsets[1] || e.Offsets[1] > uint64(len(data)) {
			return nil, bad("tensor %q: data offsets %v outside the %d data bytes (truncated?)", k, e.Offsets, len(data))
		}
		n := uint64(1)
		for _, s := range e.Shape {
			if s < 0 {
				return nil, bad("tensor %q: negative dimension in %v", k, e.Shape)
			}
			n *= uint64(s)
			if n > uint64(len(data)) {
				return nil, bad("tensor %q: shape %v larger than the file", k, e.Shape)
			}
		}
		if n*uint64(sz) != e.Offsets[1]-e.Offsets[0] {
			return nil, bad("tensor %q: shape %v of %s needs %d bytes, offsets give %d", k, e.Shape, e.DType, n*uint64(sz), e.Offsets[1]-e.Offsets[0])
		}
		f.Tensors[k] = Tensor{DType: e.DType, Shape: e.Shape, Data: data[e.Offsets[0]:e.Offsets[1]]}
	}
	return f, nil
}
