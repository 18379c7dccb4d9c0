package imageio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func randImage(w, h int, seed int64) Image {
	rng := rand.New(rand.NewSource(seed))
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	for i := range img.Pix {
		img.Pix[i] = rng.Float32()
	}
	return img
}

// smoothImage is a photo-like image: smooth gradients in each channel.
func smoothImage(w, h int) Image {
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	n := w * h
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w-1), float64(y)/float64(h-1)
			i := y*w + x
			img.Pix[i] = float32(0.1 + 0.8*fx)
			img.Pix[n+i] = float32(0.5 + 0.4*math.Sin(3*fy+fx))
			img.Pix[2*n+i] = float32(0.2 + 0.6*fx*fy)
		}
	}
	return img
}

func TestSavePNG8RoundTrip(t *testing.T) {
	// Every 8-bit value in every channel, in different orders.
	const w, h = 32, 8
	img := Image{H: h, W: w, Pix: make([]float32, 3*w*h)}
	n := w * h
	for i := 0; i < n; i++ {
		img.Pix[i] = float32(i) / 255
		img.Pix[n+i] = float32(255-i) / 255
		img.Pix[2*n+i] = float32((i*7)%256) / 255
	}
	p := filepath.Join(t.TempDir(), "a.PNG")
	if err := Save(p, img, 8); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, p)
	for i := range img.Pix {
		if got.Pix[i] != img.Pix[i] {
			t.Fatalf("sample %d: %v, want %v", i, got.Pix[i], img.Pix[i])
		}
	}

	// Arbitrary values come back as round(v*255)/255.
	r := randImage(17, 9, 7)
	if err := Save(p, r, 8); err != nil {
		t.Fatal(err)
	}
	got = mustLoad(t, p)
	worst := 0.0
	for i, v := range r.Pix {
		want := float32(math.Round(float64(v)*255)) / 255
		if got.Pix[i] != want {
			t.Fatalf("sample %d = %v: got %v, want %v", i, v, got.Pix[i], want)
		}
		worst = max(worst, math.Abs(float64(got.Pix[i]-v)))
	}
	t.Logf("PNG 8-bit: max error %.3g (%.3f/255)", worst, worst*255)
	if worst > 0.5/255+1e-7 {
		t.Errorf("max error %g over half a step", worst)
	}
}

func TestSavePNG16RoundTrip(t *testing.T) {
	r := randImage(41, 23, 8)
	// And some exact 16-bit values, edges included.
	for i, k := range []int{0, 1, 2, 255, 256, 257, 32767, 32768, 65534, 65535} {
		r.Pix[i] = float32(k) / 65535
	}
	p := filepath.Join(t.TempDir(), "a.png")
	if err := Save(p, r, 16); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, p)
	worst := 0.0
	for i, v := range r.Pix {
		want := float32(math.Round(float64(v)*65535)) / 65535
		if got.Pix[i] != want {
			t.Fatalf("sample %d = %v: got %v, want %v", i, v, got.Pix[i], want)
		}
		worst = max(worst, math.Abs(float64(got.Pix[i]-v)))
	}
	t.Logf("PNG 16-bit: max error %.3g (%.3f/65535)", worst, worst*65535)
	if worst > 0.5/65535+1e-7 {
		t.Errorf("max error %g over half a step", worst)
	}
	for i := 0; i < 10; i++ {
		if got.Pix[i] != r.Pix[i] {
			t.Errorf("exact value %v came back as %v", r.Pix[i], got.Pix[i])
		}
	}
}

func TestSaveJPEGRoundTrip(t *testing.T) {
	img := smoothImage(64, 48)
	for _, ext := range []string{".jpg", ".jpeg", ".JPG"} {
		p := filepath.Join(t.TempDir(), "a"+ext)
		if err := Save(p, img, 8); err != nil {
			t.Fatal(err)
		}
		got := mustLoad(t, p)
		if got.W != img.W || got.H != img.H {
			t.Fatalf("%s: size %dx%d", ext, got.W, got.H)
		}
		var sum, worst float64
		for i, v := range img.Pix {
			d := math.Abs(float64(got.Pix[i] - v))
			sum += d
			worst = max(worst, d)
		}
		mean := sum / float64(len(img.Pix))
		t.Logf("JPEG q%d %s: mean error %.2f/255, max %.2f/255", JPEGQuality, ext, mean*255, worst*255)
		if mean > 3.0/255 || worst > 12.0/255 {
			t.Errorf("%s: mean error %.2f/255, max %.2f/255", ext, mean*255, worst*255)
		}
	}
}

func TestSaveClamps(t *testing.T) {
	img := Image{H: 1, W: 5, Pix: []float32{
		-0.5, 1.5, -3, 2, -1e-9,
		0.5, 0.5 / 255, 1.5 / 255, 1, 0,
		0, 0, 0, 0, 0,
	}}
	p := filepath.Join(t.TempDir(), "c.png")
	if err := Save(p, img, 8); err != nil {
		t.Fatal(err)
	}
	got := mustLoad(t, p)
	want := []float32{0, 1, 0, 1, 0, 128.0 / 255, 1.0 / 255, 2.0 / 255, 1, 0}
	for i, w := range want {
		if got.Pix[i] != w {
			t.Errorf("sample %d (%v): got %v, want %v", i, img.Pix[i], got.Pix[i], w)
		}
	}
}

// A non-finite sample (a diverged run's) is refused, not written as
// black or white, and an existing file stays as it was.
func TestSaveRefusesNonFinite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "n.png")
	if err := os.WriteFile(p, []byte("before"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		img := Image{H: 1, W: 2, Pix: []float32{0, 0.5, 1, 0, float32(v), 0}}
		if err := Save(p, img, 8); err == nil || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("%v: %v, want a non-finite error", v, err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "before" {
		t.Errorf("the existing file was replaced")
	}
}

func TestSaveBadArguments(t *testing.T) {
	dir := t.TempDir()
	img := randImage(4, 3, 9)
	for _, c := range []struct {
		name  string
		img   Image
		depth int
		want  string
	}{
		{"a.gif", img, 8, ".png, .jpg, .jpeg"},
		{"noext", img, 8, ".png, .jpg, .jpeg"},
		{"a.jpg", img, 16, "depth must be 8"},
		{"a.png", img, 12, "8 or 16"},
		{"a.png", Image{H: 3, W: 4, Pix: make([]float32, 5)}, 8, "samples"},
		{"a.png", Image{}, 8, "empty"},
	} {
		err := Save(filepath.Join(dir, c.name), c.img, c.depth)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s depth %d: got %v, want an error mentioning %q", c.name, c.depth, err, c.want)
		}
	}
	assertOnly(t, dir)
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

func TestSaveAtomic(t *testing.T) {
	img := randImage(8, 8, 10)

	t.Run("missing directory", func(t *testing.T) {
		parent := t.TempDir()
		err := Save(filepath.Join(parent, "nope", "out.png"), img, 8)
		if err == nil {
			t.Fatal("no error")
		}
		assertOnly(t, parent)
	})

	t.Run("parent is a file", func(t *testing.T) {
		dir := t.TempDir()
		f := filepath.Join(dir, "file")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Save(filepath.Join(f, "out.png"), img, 8); err == nil {
			t.Fatal("no error")
		}
		assertOnly(t, dir, "file")
	})

	t.Run("read-only directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if f, err := os.CreateTemp(dir, "probe"); err == nil { // root ignores the mode
			f.Close()
			os.Remove(f.Name())
			t.Skip("running with permission to write into a read-only directory (root)")
		}
		if err := Save(filepath.Join(dir, "out.png"), img, 8); err == nil {
			t.Fatal("no error")
		}
		assertOnly(t, dir)
	})

	t.Run("failed encode keeps existing output", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.png")
		orig := []byte("the previous output")
		if err := os.WriteFile(p, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := WriteAtomic(p, func(w io.Writer) error {
			w.Write(bytes.Repeat([]byte{1}, 200000)) // past the buffer: the temp file has data
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the encoder's error", err)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, orig) {
			t.Errorf("existing output changed to %q", b)
		}
		// Save's own refusals leave it too.
		if err := Save(p, Image{H: 2, W: 2, Pix: make([]float32, 3)}, 8); err == nil {
			t.Error("malformed image: no error")
		}
		if err := Save(p, img, 7); err == nil {
			t.Error("depth 7: no error")
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, orig) {
			t.Errorf("existing output changed to %q", b)
		}
		assertOnly(t, dir, "out.png")
	})

	t.Run("replace keeps mode", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.jpg")
		if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Save(p, img, 8); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
		mustLoad(t, p)
		assertOnly(t, dir, "out.jpg")
	})

	t.Run("new file in the working directory", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := Save("rel.png", img, 16); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, "rel.png"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o644 != 0o644 {
			t.Errorf("mode %v, want 0644", fi.Mode().Perm())
		}
		assertOnly(t, dir, "rel.png")
	})

	t.Run("output is a directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "x.png"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Save(filepath.Join(dir, "x.png"), img, 8); err == nil {
			t.Error("no error")
		}
		assertOnly(t, dir, "x.png")
	})
}

// Write encodes to a stream the same bytes Save writes to a file, and
// writes nothing when it refuses the image.
func TestWriteStream(t *testing.T) {
	dir := t.TempDir()
	img := randImage(5, 4, 3)
	for _, c := range []struct {
		name, format string
		depth        int
	}{{"a.png", "png", 8}, {"b.png", "png", 16}, {"c.jpg", "jpeg", 8}} {
		p := filepath.Join(dir, c.name)
		if err := Save(p, img, c.depth); err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(p)
		var b bytes.Buffer
		if err := Write(&b, c.format, img, c.depth); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s: Write gave %d bytes, Save %d", c.name, b.Len(), len(want))
		}
	}
	var b bytes.Buffer
	bad := img
	bad.Pix = append([]float32(nil), img.Pix...)
	bad.Pix[7] = float32(math.NaN())
	for _, c := range []struct {
		format string
		img    Image
		depth  int
	}{{"jpeg", img, 16}, {"gif", img, 8}, {"png", bad, 8}} {
		if err := Write(&b, c.format, c.img, c.depth); err == nil || b.Len() != 0 {
			t.Errorf("%s depth %d: err %v, %d bytes written", c.format, c.depth, err, b.Len())
		}
	}
}
