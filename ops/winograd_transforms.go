package ops

import (
	"fmt"
	"strconv"
	"strings"
)

// winogradAlg is Winograd's minimal filtering F(m×m, 3×3) for a 3×3
// correlation (Lavin & Gray 2015, "Fast Algorithms for Convolutional
// Neural Networks", section 4): over tiles of m×m outputs, whose
// n×n = (m+2)×(m+2) input patch is d,
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// with Bᵀ n×n, G n×3 and Aᵀ m×n. The n² elementwise products of a tile,
// summed over the input channels, are n² GEMMs.
type winogradAlg struct {
	m, n      int
	bt, g, at [][]float64
}

// winogradF2 is F(2×2,3×3): 16 points, 2.25× fewer multiplications than
// the direct conv; its transforms only add and halve.
var winogradF2 = winogradAlg{m: 2, n: 4,
	bt: [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
	g:  [][]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
	at: [][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}},
}

// winogradF4 is F(4×4,3×3): 36 points, 4× fewer multiplications; its
// transforms scale by up to 8 (Aᵀ) and 5 (Bᵀ), so fp32 rounding grows
// more than F(2×2,3×3)'s (TestConv3x3WinogradMatchesTwin states how much).
var winogradF4 = winogradAlg{m: 4, n: 6,
	bt: [][]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	},
	g: [][]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	},
	at: [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	},
}

// winogradOf is algorithm a's transforms.
func winogradOf(a Algo) winogradAlg {
	if a == Winograd4 {
		return winogradF4
	}
	return winogradF2
}

// points is the number of transform points, n².
func (w winogradAlg) points() int { return w.n * w.n }

// tiles is the number of m×m output tiles of an h×w image.
func (w winogradAlg) tiles(h, wd int) int { return ceilDiv(h, w.m) * ceilDiv(wd, w.m) }

// filter is U = G g Gᵀ of one 3×3 filter g, point p = n·row + column.
func (w winogradAlg) filter(g [3][3]float64) []float64 {
	t := make([][3]float64, w.n) // G g
	for i := 0; i < w.n; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				t[i][j] += w.g[i][k] * g[k][j]
			}
		}
	}
	u := make([]float64, w.points()) // (G g) Gᵀ
	for i := 0; i < w.n; i++ {
		for j := 0; j < w.n; j++ {
			for k := 0; k < 3; k++ {
				u[i*w.n+j] += t[i][k] * w.g[j][k]
			}
		}
	}
	return u
}

// combination renders Σ c[k]·name(k) over the nonzero coefficients as a
// WGSL expression ("0.0" when all are zero).
func combination(c []float64, name func(k int) string) string {
	var b strings.Builder
	for k, v := range c {
		if v == 0 {
			continue
		}
		sign, a := " + ", v
		if v < 0 {
			sign, a = " - ", -v
		}
		if b.Len() == 0 {
			sign = ""
			if v < 0 {
				sign = "-"
			}
		}
		b.WriteString(sign)
		if a != 1 {
			b.WriteString(strconv.FormatFloat(a, 'f', -1, 64))
			if a == float64(int64(a)) {
				b.WriteString(".0")
			}
			b.WriteString(" * ")
		}
		b.WriteString(name(k))
	}
	if b.Len() == 0 {
		return "0.0"
	}
	return b.String()
}

// inputCode is the input transform's WGSL: from the patch values dR_S
// (R, S < n), the n² values (Bᵀ d B)[i][j], each stored with
// store(i·n + j, value).
func (w winogradAlg) inputCode(store func(p int, v string) string) string {
	var b strings.Builder
	b.WriteString("  // Bᵀ d: rows\n")
	for i := 0; i < w.n; i++ {
		for s := 0; s < w.n; s++ {
			fmt.Fprintf(&b, "  let a%d_%d = %s;\n", i, s, combination(w.bt[i], func(r int) string { return fmt.Sprintf("d%d_%d", r, s) }))
		}
	}
	b.WriteString("  // (Bᵀ d) B: columns, stored point by point\n")
	for i := 0; i < w.n; i++ {
		for j := 0; j < w.n; j++ {
			v := combination(w.bt[j], func(s int) string { return fmt.Sprintf("a%d_%d", i, s) })
			b.WriteString(store(i*w.n+j, v))
		}
	}
	return b.String()
}

// outputCode is the output transform's WGSL: from the n² values mP,
// the m² outputs (Aᵀ M A)[i][j], each written with put(i, j, value).
func (w winogradAlg) outputCode(put func(i, j int, v string) string) string {
	var b strings.Builder
	b.WriteString("  // Aᵀ M: rows\n")
	for i := 0; i < w.m; i++ {
		for j := 0; j < w.n; j++ {
			fmt.Fprintf(&b, "  let u%d_%d = %s;\n", i, j, combination(w.at[i], func(k int) string { return fmt.Sprintf("m%d", k*w.n+j) }))
		}
	}
	b.WriteString("  // (Aᵀ M) A: columns\n")
	for i := 0; i < w.m; i++ {
		for j := 0; j < w.m; j++ {
			b.WriteString(put(i, j, combination(w.at[j], func(k int) string { return fmt.Sprintf("u%d_%d", i, k) })))
		}
	}
	return b.String()
}
