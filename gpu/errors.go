package gpu

import (
	"errors"
	"fmt"
)

// ErrNoAdapter is returned by Open when no GPU adapter matches the request.
var ErrNoAdapter = errors.New("gpu: no adapter found")

// ErrDeviceLost is returned by every call made after the device was lost
// (driver reset, GPU removed, out of memory during execution).
var ErrDeviceLost = errors.New("gpu: device lost")

// ErrClosed is returned by calls made after Device.Close.
var ErrClosed = errors.New("gpu: device closed")

// ShapeError reports a buffer whose shape or type does not fit an operation.
type ShapeError struct {
	Op   string // the operation, e.g. "conv3x3.forward"
	What string // which operand
	Want string
	Got  string
}

// Error describes the mismatch.
func (e *ShapeError) Error() string {
	return fmt.Sprintf("gpu: %s: %s: want %s, got %s", e.Op, e.What, e.Want, e.Got)
}

// LimitError reports a request beyond what the adapter allows.
type LimitError struct {
	What  string
	Need  uint64
	Limit uint64
}

// Error names the limit and both values.
func (e *LimitError) Error() string {
	return fmt.Sprintf("gpu: %s: needs %d, the device allows at most %d", e.What, e.Need, e.Limit)
}

// NoAdapterHint returns an explanation of how to get a Vulkan driver on a
// machine where no adapter was found.
func NoAdapterHint() string {
	return "no Vulkan/Metal/D3D12 adapter was found. On Debian/Ubuntu install a driver, " +
		"for a software GPU: apt-get install mesa-vulkan-drivers libvulkan1 (Mesa lavapipe)"
}
