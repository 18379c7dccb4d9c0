package gpu

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// NoBudget is a memory budget that bounds nothing.
const NoBudget = ^uint64(0)

// Budget is the GPU memory a run may plan to hold at its peak, in bytes
// (Options.MaxMemory); NoBudget when there is none.
func (d *Device) Budget() uint64 { return d.budget }

// DefaultBudget is the memory budget of an adapter when none is given. A
// CPU adapter (lavapipe) allocates from the machine's memory, so it gets
// three quarters of what the system reports available (Linux's
// MemAvailable). WebGPU does not tell a hardware adapter's memory, so
// those get none: their binding limits and an allocation's failure, which
// the program reports, still bound a run.
func DefaultBudget(info AdapterInfo) uint64 {
	if !info.Software {
		return NoBudget
	}
	if avail := memAvailable(); avail > 0 {
		return avail / 4 * 3
	}
	return NoBudget
}

// memAvailable is /proc/meminfo's MemAvailable in bytes, or 0 where it
// cannot be read.
func memAvailable() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
