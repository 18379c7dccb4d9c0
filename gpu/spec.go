package gpu

import (
	"encoding/binary"
	"fmt"
)

// Spec describes a buffer before it exists: its name, element type and
// shape. A plan lists the specs of every buffer a run will make, so that
// its memory is known before anything is allocated; Alloc makes one.
//
// A Params spec's shape is its size in 4-byte words (ParamsSpec).
type Spec struct {
	Name  string
	DType DType
	Shape []int
}

// Bytes is the spec's size on the GPU.
func (s Spec) Bytes() uint64 { return 4 * uint64(Numel(s.Shape)) }

// String renders the spec as name dtype(shape).
func (s Spec) String() string { return fmt.Sprintf("%s %s%s", s.Name, s.DType, ShapeString(s.Shape)) }

// F32Spec is the spec of an f32 storage buffer.
func F32Spec(name string, shape ...int) Spec {
	return Spec{Name: name, DType: F32, Shape: append([]int(nil), shape...)}
}

// ParamsSpec is the spec of the uniform buffer that NewParams makes for
// the params struct p (its encoded size; 0 words if p cannot be encoded).
func ParamsSpec(name string, p any) Spec {
	return Spec{Name: name, DType: Params, Shape: []int{max(binary.Size(p), 0) / 4}}
}

// Alloc makes the storage buffer s describes (zero-filled). Params specs
// are made by NewParams, which also writes their values.
func (d *Device) Alloc(s Spec) (*Buffer, error) {
	if s.DType == Params {
		return nil, fmt.Errorf("gpu: buffer %q: params buffers are made by NewParams", s.Name)
	}
	return d.NewBuffer(s.Name, s.DType, s.Shape...)
}
