package ops

import (
	"math"
	"math/rand"
	"testing"
)

// TestWinogradTransformsCorrelate checks both algorithms' matrices in
// float64: Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A equals the 3×3 correlation of the
// n×n patch d with g, y[i][j] = Σ d[i+ky][j+kx]·g[ky][kx].
func TestWinogradTransformsCorrelate(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, w := range []winogradAlg{winogradF2, winogradF4} {
		n, m := w.n, w.m
		d := make([][]float64, n)
		for i := range d {
			d[i] = make([]float64, n)
			for j := range d[i] {
				d[i][j] = r.Float64()*2 - 1
			}
		}
		var g [3][3]float64
		for i := range g {
			for j := range g[i] {
				g[i][j] = r.Float64()*2 - 1
			}
		}
		u := w.filter(g)
		v := make([]float64, n*n) // Bᵀ d B
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for a := 0; a < n; a++ {
					for b := 0; b < n; b++ {
						v[i*n+j] += w.bt[i][a] * d[a][b] * w.bt[j][b]
					}
				}
			}
		}
		worst := 0.0
		for i := 0; i < m; i++ {
			for j := 0; j < m; j++ {
				y := 0.0
				for a := 0; a < n; a++ {
					for b := 0; b < n; b++ {
						y += w.at[i][a] * u[a*n+b] * v[a*n+b] * w.at[j][b]
					}
				}
				want := 0.0
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						want += d[i+ky][j+kx] * g[ky][kx]
					}
				}
				worst = math.Max(worst, math.Abs(y-want))
			}
		}
		t.Logf("F(%dx%d,3x3): worst error %.3g", m, m, worst)
		if worst > 1e-12 {
			t.Errorf("F(%dx%d,3x3) is not the correlation: error %.3g", m, m, worst)
		}
	}
}
