package ops

import (
	"fmt"

	"github.com/stylize/stylize/gpu"
)

// Tile is the blocking of the shared GEMM core (shaders/gemm.wgsl): a
// workgroup of TX×TY threads computes a TM×TN tile of C, stepping K in
// slices of TK through workgroup memory; each thread owns RM×RN outputs.
type Tile struct {
	TM, TN, TK, TX, TY int
	// Reg marks a register-blocked tile (the conv's "register"
	// algorithm, shaders/conv_reg.wgsl): each thread computes its RM×RN
	// outputs straight from the buffers, with no workgroup memory, no
	// barriers and no K-tiles (TK is 1).
	Reg bool
}

// tileData is what gemm.wgsl's template reads.
type tileData struct {
	TM, TN, TK, TX, TY, RM, RN, ALoads, BLoads int
	AKFast, BKFast, Reg                        bool
}

func (t Tile) data(aKFast, bKFast bool) tileData {
	nt := t.TX * t.TY
	d := tileData{TM: t.TM, TN: t.TN, TK: t.TK, TX: t.TX, TY: t.TY, RM: t.TM / t.TY, RN: t.TN / t.TX,
		AKFast: aKFast, BKFast: bKFast, Reg: t.Reg}
	if !t.Reg {
		d.ALoads, d.BLoads = t.TK*t.TM/nt, t.TK*t.TN/nt
	}
	return d
}

// SharedBytes is the workgroup memory the tile needs (none for a
// register tile).
func (t Tile) SharedBytes() int {
	if t.Reg {
		return 0
	}
	return 4 * t.TK * (t.TM + 4 + t.TN + 4)
}

// Threads is the tile's workgroup size.
func (t Tile) Threads() int { return t.TX * t.TY }

// String renders the tile as TMxTNxTK/TXxTY, or a register tile as
// reg TMxTN/TXxTY.
func (t Tile) String() string {
	if t.Reg {
		return fmt.Sprintf("reg %dx%d/%dx%d", t.TM, t.TN, t.TX, t.TY)
	}
	return fmt.Sprintf("%dx%dx%d/%dx%d", t.TM, t.TN, t.TK, t.TX, t.TY)
}

// Check reports whether gemm.wgsl can run the tile within l: every thread
// owns a whole RM×RN block, the operand loads divide evenly among the
// threads, and the workgroup fits the adapter's limits.
func (t Tile) Check(l TileLimits) error {
	nt := t.TX * t.TY
	switch {
	case t.TM <= 0 || t.TN <= 0 || t.TK <= 0 || t.TX <= 0 || t.TY <= 0:
		return fmt.Errorf("ops: tile %v: non-positive size", t)
	case t.TM%t.TY != 0 || t.TN%t.TX != 0:
		return fmt.Errorf("ops: tile %v: TM must divide by TY and TN by TX", t)
	case t.Reg && t.TK != 1:
		return fmt.Errorf("ops: tile %v: a register tile steps K one value at a time (TK 1)", t)
	case !t.Reg && ((t.TK*t.TM)%nt != 0 || (t.TK*t.TN)%nt != 0):
		return fmt.Errorf("ops: tile %v: the TK×TM and TK×TN loads must divide among %d threads", t, nt)
	case nt > l.Invocations || t.TX > l.SizeX || t.TY > l.SizeY:
		return fmt.Errorf("ops: tile %v: %d threads exceed the adapter's workgroup limits (%d, %dx%d)", t, nt, l.Invocations, l.SizeX, l.SizeY)
	case t.SharedBytes() > l.SharedBytes:
		return fmt.Errorf("ops: tile %v: %d bytes of workgroup memory exceed the adapter's %d", t, t.SharedBytes(), l.SharedBytes)
	}
	return nil
}

// TileLimits is what the tile choice needs to know of the adapter.
type TileLimits struct {
	SharedBytes  int // maxComputeWorkgroupStorageSize
	Invocations  int // maxComputeInvocationsPerWorkgroup
	SizeX, SizeY int // maxComputeWorkgroupSizeX, Y
	// Registers prefers register tiles (Tile.Reg) to workgroup-memory
	// ones: on a CPU adapter, where a workgroup's invocations are SIMD
	// lanes that loop over every load, workgroup memory only adds loads
	// and barriers (the GEMM ladder in the design notes).
	Registers bool
	// MinTiles is how many workgroups a dispatch wants to keep the GPU
	// busy. WebGPU does not report the number of SMs (compute units), so
	// this is a heuristic: 264 on a hardware adapter (two per SM on a GPU
	// of about 132 SMs, the largest in common use; smaller GPUs are then
	// busy too), and 4 on a CPU adapter such as lavapipe, whose
	// workgroups run on a handful of host threads.
	MinTiles int
}

// Hardware and software values of TileLimits.MinTiles.
const (
	MinTilesGPU = 264
	MinTilesCPU = 4
)

// DefaultTileLimits are WebGPU's default limits on a hardware adapter.
var DefaultTileLimits = TileLimits{SharedBytes: 16384, Invocations: 256, SizeX: 256, SizeY: 256, MinTiles: MinTilesGPU}

// LimitsOf returns the tile limits of d's adapter (the device is created
// with the adapter's own limits, not WebGPU's defaults).
func LimitsOf(d *gpu.Device) TileLimits {
	l := d.Limits()
	tl := TileLimits{
		SharedBytes: int(l.MaxComputeWorkgroupStorageSize),
		Invocations: int(l.MaxComputeInvocationsPerWorkgroup),
		SizeX:       int(l.MaxComputeWorkgroupSizeX),
		SizeY:       int(l.MaxComputeWorkgroupSizeY),
		MinTiles:    MinTilesGPU,
	}
	if d.Info.Software {
		tl.MinTiles, tl.Registers = MinTilesCPU, true
	}
	return tl
}

// ChooseTile picks the blocking for an M×N output: 64×64 with 4×4 per
// thread in general, and shapes that waste less when M or N is small.
// It assumes only WebGPU's default limits; ChooseTileFor uses the
// adapter's.
func ChooseTile(m, n int) Tile {
	switch {
	case m <= 8 && n > 16:
		return Tile{TM: 8, TN: 128, TK: 32, TX: 32, TY: 8}
	case m <= 16 && n <= 16:
		return Tile{TM: 16, TN: 16, TK: 16, TX: 16, TY: 16}
	case m <= 16:
		return Tile{TM: 16, TN: 128, TK: 16, TX: 16, TY: 16}
	case n <= 16:
		return Tile{TM: 128, TN: 16, TK: 16, TX: 16, TY: 16}
	}
	return Tile{TM: 64, TN: 64, TK: 16, TX: 16, TY: 16}
}

// The register-blocked tiles of the design's first technique. Every thread
// owns 8×8 outputs, 64 accumulators with literal names.
var (
	// Tile128x128 has 256 threads; at TK 16 it needs 16.5 KiB of workgroup
	// memory, a little more than WebGPU's default 16 KiB.
	Tile128x128 = Tile{TM: 128, TN: 128, TK: 16, TX: 16, TY: 16}
	// Tile64x128 has 128 threads.
	Tile64x128 = Tile{TM: 64, TN: 128, TK: 16, TX: 16, TY: 8}
	// Tile128x64 has 128 threads.
	Tile128x64 = Tile{TM: 128, TN: 64, TK: 16, TX: 8, TY: 16}
	// Tile64x64 has 64 threads.
	Tile64x64 = Tile{TM: 64, TN: 64, TK: 16, TX: 8, TY: 8}
)

// Tiles for the deep layers at small spatial sizes, where N = h*w is 16
// (4x4) or 4 (2x2) and M = channels is large: ChooseTile's 128×16 gives
// each thread 8×1 outputs (9 workgroup-memory reads per 8 FMAs) and at
// 2x2 computes 16 columns of which 4 are real.
var (
	// TileN16 has 64 threads with 4×4 outputs each.
	TileN16 = Tile{TM: 64, TN: 16, TK: 16, TX: 4, TY: 16}
	// TileN4 has 32 threads with 4×2 outputs each.
	TileN4 = Tile{TM: 64, TN: 4, TK: 16, TX: 2, TY: 16}
)

// bigTiles are ChooseTileFor's candidates, largest first.
var bigTiles = []Tile{Tile128x128, Tile64x128, Tile128x64, Tile64x64}

// ChooseTileFor picks the blocking for an M×N output within the adapter's
// limits l: the largest register-blocked tile that the limits allow, that
// fits inside M×N, that wastes at most a quarter of its work on the ragged
// edge, and that still gives at least l.MinTiles tiles (the design's "at
// least two tiles per SM"), else the smallest such tile when none gives
// that many; small N gets TileN16 or TileN4; anything else ChooseTile's
// choice. A layer with fewer tiles than MinTiles can still
// fill the GPU by splitting K (ChooseConvPlan).
func ChooseTileFor(l TileLimits, m, n int) Tile {
	var fit *Tile
	for i, t := range bigTiles {
		nt := t.tiles(m, n)
		if t.Check(l) != nil || m < t.TM || n < t.TN || 4*m*n < 3*nt*t.TM*t.TN {
			continue
		}
		if nt >= l.MinTiles {
			return t
		}
		fit = &bigTiles[i]
	}
	if fit != nil {
		return *fit // the most tiles a big tile gives; the caller may split K
	}
	for _, t := range []Tile{TileN4, TileN16} {
		if n <= t.TN && m >= t.TM && t.Check(l) == nil {
			return t
		}
	}
	return ChooseTile(m, n)
}

func (t Tile) tiles(m, n int) int { return ceilDiv(m, t.TM) * ceilDiv(n, t.TN) }

// RegTile is the register tile whose threads each compute rm×rn outputs,
// on a tx×ty workgroup.
func RegTile(rm, rn, tx, ty int) Tile {
	return Tile{TM: rm * ty, TN: rn * tx, TK: 1, TX: tx, TY: ty, Reg: true}
}

// ChooseRegTile picks the register tile of an M×N output: 16×16 outputs
// per thread on an 8×2 workgroup, the lanes along N, where the output is
// large; fewer where M or N is small, so that little of the tile is
// wasted. (Measured on lavapipe at VGG19's shapes: 16×16 on 8×2 runs the
// conv at 16–18 GFLOP/s against 5–7 for the workgroup-memory tiles; see
// the README's Benchmarks.)
func ChooseRegTile(m, n int) Tile {
	rm, ty := 16, 2
	if m < 32 {
		rm, ty = min(16, m), 1
	}
	rn, tx := 16, 8
	switch {
	case n >= 128:
	case n >= 64:
		tx = 4
	default:
		rn = max(1, min(16, n/4))
		tx = max(1, min(8, ceilDiv(n, rn)))
	}
	return RegTile(rm, rn, tx, ty)
}
