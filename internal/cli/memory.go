package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stylize/stylize/gpu"
)

// OpenDevice opens the adapter -device names, with -max-memory's budget.
func (f *RunFlags) OpenDevice() (*gpu.Device, error) {
	budget, err := f.MaxMemoryBytes()
	if err != nil {
		return nil, err
	}
	return gpu.Open(gpu.Options{Adapter: f.Device, MaxMemory: budget})
}

// MaxMemoryBytes is -max-memory in bytes, for gpu.Options.MaxMemory: 0
// for auto (the adapter's default budget), gpu.NoBudget for none.
func (f *RunFlags) MaxMemoryBytes() (uint64, error) {
	return ParseMemory(f.MaxMemory)
}

// ParseMemory reads a memory size: a number of bytes with an optional
// unit, K, M, G or T (powers of 1024, with or without "iB" or "B", any
// case), or auto (0) or none (gpu.NoBudget).
func ParseMemory(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "", "auto":
		return 0, nil
	case "none", "0":
		return gpu.NoBudget, nil
	}
	shift := 0
	num := strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'k':
			shift = 10
		case 'm':
			shift = 20
		case 'g':
			shift = 30
		case 't':
			shift = 40
		}
		if shift > 0 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || v <= 0 {
		return 0, fmt.Errorf("-max-memory %q: want a size such as 6GiB or 512MiB, none or auto", s)
	}
	b := v * math.Exp2(float64(shift))
	if b < 1<<20 || b > 1<<50 {
		return 0, fmt.Errorf("-max-memory %q: want between 1 MiB and 1 PiB", s)
	}
	return uint64(b), nil
}
