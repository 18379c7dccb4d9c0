package imageio

import "fmt"

// The colour space for "original colours" is NTSC YIQ, applied directly to
// the [0,1] RGB samples as stored (gamma-encoded sRGB, no linearisation),
// as in Gatys et al. 2016, "Preserving Color in Neural Artistic Style
// Transfer". Y is the Rec. 601 luma; I and Q are the two chroma axes, zero
// for every grey. With R, G, B in [0,1]: Y in [0,1], I in about
// [-0.596, 0.596] and Q in about [-0.523, 0.523].
//
//	Y = 0.299  R + 0.587  G + 0.114  B
//	I = 0.5959 R - 0.2746 G - 0.3213 B
//	Q = 0.2115 R - 0.5227 G + 0.3112 B
//
// YIQToRGB uses the exact inverse of this matrix, computed in float64.
var rgbToYIQ = [3][3]float64{
	{0.299, 0.587, 0.114},
	{0.5959, -0.2746, -0.3213},
	{0.2115, -0.5227, 0.3112},
}

var yiqToRGB = inverse3(rgbToYIQ)

// inverse3 is the inverse of a 3x3 matrix by its adjugate.
func inverse3(m [3][3]float64) [3][3]float64 {
	var adj [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			// Cofactor of m[j][i], by cyclic indices (signs included).
			a, b := (j+1)%3, (j+2)%3
			c, d := (i+1)%3, (i+2)%3
			adj[i][j] = m[a][c]*m[b][d] - m[a][d]*m[b][c]
		}
	}
	det := m[0][0]*adj[0][0] + m[0][1]*adj[1][0] + m[0][2]*adj[2][0]
	for i := range adj {
		for j := range adj[i] {
			adj[i][j] /= det
		}
	}
	return adj
}

// apply maps every pixel of img through the 3x3 matrix m, in float64.
func apply(img Image, m *[3][3]float64) Image {
	n := img.W * img.H
	out := Image{H: img.H, W: img.W, Pix: make([]float32, 3*n)}
	a, b, c := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:3*n]
	for i := 0; i < n; i++ {
		x, y, z := float64(a[i]), float64(b[i]), float64(c[i])
		out.Pix[i] = float32(m[0][0]*x + m[0][1]*y + m[0][2]*z)
		out.Pix[n+i] = float32(m[1][0]*x + m[1][1]*y + m[1][2]*z)
		out.Pix[2*n+i] = float32(m[2][0]*x + m[2][1]*y + m[2][2]*z)
	}
	return out
}

// RGBToYIQ returns img's planes converted from R, G, B to Y, I, Q (see the
// matrix above). It panics if img's Pix does not hold 3*H*W samples.
func RGBToYIQ(img Image) Image {
	if err := check(img); err != nil {
		panic("imageio: RGBToYIQ: " + err.Error())
	}
	return apply(img, &rgbToYIQ)
}

// YIQToRGB is the inverse of RGBToYIQ. Its result is not clamped: Y, I, Q
// planes that came from no RGB image in [0,1] give samples outside it. It
// panics if img's Pix does not hold 3*H*W samples.
func YIQToRGB(img Image) Image {
	if err := check(img); err != nil {
		panic("imageio: YIQToRGB: " + err.Error())
	}
	return apply(img, &yiqToRGB)
}

// OriginalColors returns the RGB image whose luminance Y is generated's and
// whose chroma I, Q is content's: the stylised image in the content
// image's colours (luminance-only transfer). The two must be the same size.
// The result is not clamped, since a bright luminance with a saturated
// chroma can leave [0,1]; Save clamps, and a caller feeding it onward
// should clamp too.
func OriginalColors(content, generated Image) (Image, error) {
	if err := check(content); err != nil {
		return Image{}, fmt.Errorf("imageio: original colours: content: %w", err)
	}
	if err := check(generated); err != nil {
		return Image{}, fmt.Errorf("imageio: original colours: generated: %w", err)
	}
	if content.W != generated.W || content.H != generated.H {
		return Image{}, fmt.Errorf("imageio: original colours: content is %dx%d but generated is %dx%d; resize one to the other first",
			content.W, content.H, generated.W, generated.H)
	}
	n := content.W * content.H
	c, g := content.Pix, generated.Pix
	m, inv := &rgbToYIQ, &yiqToRGB
	out := Image{H: content.H, W: content.W, Pix: make([]float32, 3*n)}
	for k := 0; k < n; k++ {
		gr, gg, gb := float64(g[k]), float64(g[n+k]), float64(g[2*n+k])
		cr, cg, cb := float64(c[k]), float64(c[n+k]), float64(c[2*n+k])
		y := m[0][0]*gr + m[0][1]*gg + m[0][2]*gb
		i := m[1][0]*cr + m[1][1]*cg + m[1][2]*cb
		q := m[2][0]*cr + m[2][1]*cg + m[2][2]*cb
		out.Pix[k] = float32(inv[0][0]*y + inv[0][1]*i + inv[0][2]*q)
		out.Pix[n+k] = float32(inv[1][0]*y + inv[1][1]*i + inv[1][2]*q)
		out.Pix[2*n+k] = float32(inv[2][0]*y + inv[2][1]*i + inv[2][2]*q)
	}
	return out, nil
}
