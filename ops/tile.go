package ops

// Tile is the blocking of the shared GEMM core (shaders/gemm.wgsl): a
// workgroup of TX×TY threads computes a TM×TN tile of C, stepping K in
// slices of TK through workgroup memory; each thread owns RM×RN outputs.
type Tile struct {
	TM, TN, TK, TX, TY int
}

// tileData is what gemm.wgsl's template reads.
type tileData struct {
	TM, TN, TK, TX, TY, RM, RN, ALoads, BLoads int
	AKFast, BKFast                             bool
}

func (t Tile) data(aKFast, bKFast bool) tileData {
	nt := t.TX * t.TY
	return tileData{TM: t.TM, TN: t.TN, TK: t.TK, TX: t.TX, TY: t.TY, RM: t.TM / t.TY, RN: t.TN / t.TX,
		ALoads: t.TK * t.TM / nt, BLoads: t.TK * t.TN / nt, AKFast: aKFast, BKFast: bKFast}
}

// SharedBytes is the workgroup memory the tile needs.
func (t Tile) SharedBytes() int { return 4 * t.TK * (t.TM + 4 + t.TN + 4) }

// ChooseTile picks the blocking for an M×N output: 64×64 with 4×4 per
// thread in general, and shapes that waste less when M or N is small.
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

func (t Tile) tiles(m, n int) int { return ceilDiv(m, t.TM) * ceilDiv(n, t.TN) }
