package gpu

import "fmt"

// Grid splits n invocations in workgroups of size wg over up to three
// dimensions of at most maxPerDim workgroups each. A shader recovers the
// flat workgroup index as wid.x + wid.y*nwg.x + wid.z*nwg.x*nwg.y and must
// ignore invocations whose flat index*wg+lid is >= n, since x*y*z may
// exceed the needed count.
func Grid(n, wg, maxPerDim int) (x, y, z uint32, err error) {
	if n < 0 || wg <= 0 || maxPerDim <= 0 {
		return 0, 0, 0, fmt.Errorf("gpu: grid: bad arguments n=%d wg=%d max=%d", n, wg, maxPerDim)
	}
	if n == 0 {
		return 0, 0, 0, nil
	}
	groups := (n + wg - 1) / wg
	gx := min(groups, maxPerDim)
	rest := (groups + gx - 1) / gx
	gy := min(rest, maxPerDim)
	gz := (rest + gy - 1) / gy
	if gz > maxPerDim {
		return 0, 0, 0, fmt.Errorf("gpu: grid: %d workgroups exceed %d^3", groups, maxPerDim)
	}
	return uint32(gx), uint32(gy), uint32(gz), nil
}
