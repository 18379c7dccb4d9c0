package imageio

import (
	"math"
	"strings"
	"testing"
)

func TestYIQMatrixInverse(t *testing.T) {
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			var s float64
			for k := 0; k < 3; k++ {
				s += rgbToYIQ[i][k] * yiqToRGB[k][j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(s-want) > 1e-14 {
				t.Errorf("(M * M^-1)[%d][%d] = %v", i, j, s)
			}
		}
	}
	// The commonly quoted inverse, which was rounded independently of the
	// forward matrix: the exact inverse agrees to within 2e-3.
	approx := [3][3]float64{{1, 0.956, 0.619}, {1, -0.272, -0.647}, {1, -1.106, 1.703}}
	for i := range approx {
		for j := range approx[i] {
			if math.Abs(yiqToRGB[i][j]-approx[i][j]) > 2e-3 {
				t.Errorf("inverse[%d][%d] = %v, want about %v", i, j, yiqToRGB[i][j], approx[i][j])
			}
		}
	}
}

func TestYIQKnownColours(t *testing.T) {
	img := Image{H: 1, W: 4, Pix: []float32{
		1, 0.5, 0, 1, // R
		1, 0.5, 0, 0, // G
		1, 0.5, 0, 0, // B
	}}
	yiq := RGBToYIQ(img)
	want := []float32{
		1, 0.5, 0, 0.299, // Y
		0, 0, 0, 0.5959, // I
		0, 0, 0, 0.2115, // Q
	}
	for i, w := range want {
		if math.Abs(float64(yiq.Pix[i]-w)) > 1e-6 {
			t.Errorf("sample %d = %v, want %v", i, yiq.Pix[i], w)
		}
	}
}

func TestYIQRoundTrip(t *testing.T) {
	img := randImage(64, 48, 11)
	back := YIQToRGB(RGBToYIQ(img))
	worst := 0.0
	for i, v := range img.Pix {
		worst = max(worst, math.Abs(float64(back.Pix[i]-v)))
	}
	t.Logf("RGB -> YIQ -> RGB: max error %.2g", worst)
	if worst > 1e-6 {
		t.Errorf("round trip error %g", worst)
	}
}

func TestOriginalColors(t *testing.T) {
	content, generated := randImage(31, 17, 12), randImage(31, 17, 13)
	out, err := OriginalColors(content, generated)
	if err != nil {
		t.Fatal(err)
	}
	n := 31 * 17
	got, gen, con := RGBToYIQ(out), RGBToYIQ(generated), RGBToYIQ(content)
	worstY, worstIQ := 0.0, 0.0
	for i := 0; i < n; i++ {
		worstY = max(worstY, math.Abs(float64(got.Pix[i]-gen.Pix[i])))
		worstIQ = max(worstIQ, math.Abs(float64(got.Pix[n+i]-con.Pix[n+i])), math.Abs(float64(got.Pix[2*n+i]-con.Pix[2*n+i])))
	}
	t.Logf("OriginalColors: Y error %.2g, I/Q error %.2g", worstY, worstIQ)
	if worstY > 1e-6 || worstIQ > 1e-6 {
		t.Errorf("Y error %g, I/Q error %g", worstY, worstIQ)
	}

	// A grey content makes a grey result with generated's luminance.
	grey := constImage(31, 17, [3]float32{0.4, 0.4, 0.4})
	out, err = OriginalColors(grey, generated)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if d := math.Abs(float64(out.Pix[i] - out.Pix[n+i])); d > 1e-6 || math.Abs(float64(out.Pix[i]-out.Pix[2*n+i])) > 1e-6 {
			t.Fatalf("pixel %d not grey: %v %v %v", i, out.Pix[i], out.Pix[n+i], out.Pix[2*n+i])
		}
	}
}

func TestOriginalColorsErrors(t *testing.T) {
	a := randImage(4, 3, 1)
	for _, c := range []struct {
		name             string
		content, genered Image
		want             string
	}{
		{"sizes", a, randImage(3, 4, 2), "4x3 but generated is 3x4"},
		{"malformed content", Image{H: 3, W: 4, Pix: make([]float32, 2)}, a, "content"},
		{"malformed generated", a, Image{}, "generated"},
	} {
		_, err := OriginalColors(c.content, c.genered)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}
