package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// writeFile writes b to name in a fresh temporary directory.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustLoad(t *testing.T, path string) Image {
	t.Helper()
	img, err := Load(path, 0)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return img
}

// at returns the (r, g, b) of img at (x, y).
func at(img Image, x, y int) [3]float32 {
	n := img.W * img.H
	i := y*img.W + x
	return [3]float32{img.Pix[i], img.Pix[n+i], img.Pix[2*n+i]}
}

func checkExact(t *testing.T, name string, got Image, w, h int, want func(x, y int) [3]float32) {
	t.Helper()
	if got.W != w || got.H != h || len(got.Pix) != 3*w*h {
		t.Fatalf("%s: got %dx%d (%d samples), want %dx%d", name, got.W, got.H, len(got.Pix), w, h)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if g, e := at(got, x, y), want(x, y); g != e {
				t.Fatalf("%s: pixel (%d,%d) = %v, want %v", name, x, y, g, e)
			}
		}
	}
}

func f8(v uint8) float32   { return float32(v) / 255 }
func f16(v uint16) float32 { return float32(v) / 65535 }

func TestLoadPNGVariants(t *testing.T) {
	const w, h = 5, 3
	t.Run("gray8", func(t *testing.T) {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for i := range m.Pix {
			m.Pix[i] = uint8(i * 17)
		}
		got := mustLoad(t, writeFile(t, "g.png", encodePNG(t, m)))
		checkExact(t, "gray8", got, w, h, func(x, y int) [3]float32 {
			v := f8(m.GrayAt(x, y).Y)
			return [3]float32{v, v, v}
		})
	})
	t.Run("gray16", func(t *testing.T) {
		m := image.NewGray16(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetGray16(x, y, color.Gray16{Y: uint16(x*13001 + y*4099 + 1)})
			}
		}
		got := mustLoad(t, writeFile(t, "g16.png", encodePNG(t, m)))
		checkExact(t, "gray16", got, w, h, func(x, y int) [3]float32 {
			v := f16(m.Gray16At(x, y).Y)
			return [3]float32{v, v, v}
		})
	})
	t.Run("rgb16", func(t *testing.T) {
		m := image.NewNRGBA64(image.Rect(0, 0, w, h))
		rng := rand.New(rand.NewSource(1))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetNRGBA64(x, y, color.NRGBA64{uint16(rng.Intn(65536)), uint16(rng.Intn(65536)), uint16(rng.Intn(65536)), 0xffff})
			}
		}
		got := mustLoad(t, writeFile(t, "c16.png", encodePNG(t, m)))
		checkExact(t, "rgb16", got, w, h, func(x, y int) [3]float32 {
			c := m.NRGBA64At(x, y)
			return [3]float32{f16(c.R), f16(c.G), f16(c.B)}
		})
	})
	t.Run("rgba16-alpha-dropped", func(t *testing.T) {
		m := image.NewNRGBA64(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 9000), uint16(y * 20000), 12345, uint16(x*10000 + 1)})
			}
		}
		got := mustLoad(t, writeFile(t, "a16.png", encodePNG(t, m)))
		checkExact(t, "rgba16", got, w, h, func(x, y int) [3]float32 {
			c := m.NRGBA64At(x, y)
			return [3]float32{f16(c.R), f16(c.G), f16(c.B)}
		})
	})
	t.Run("rgba8-alpha-dropped", func(t *testing.T) {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.SetNRGBA(x, y, color.NRGBA{uint8(40 * x), uint8(100 * y), 7, uint8(60 * x)})
			}
		}
		got := mustLoad(t, writeFile(t, "a8.png", encodePNG(t, m)))
		checkExact(t, "rgba8", got, w, h, func(x, y int) [3]float32 {
			c := m.NRGBAAt(x, y) // including x == 0, fully transparent
			return [3]float32{f8(c.R), f8(c.G), f8(c.B)}
		})
	})
	t.Run("palette-with-alpha", func(t *testing.T) {
		pal := color.Palette{
			color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 255, 0, 128},
			color.NRGBA{10, 20, 30, 255}, color.NRGBA{200, 150, 100, 255},
		}
		m := image.NewPaletted(image.Rect(0, 0, w, h), pal)
		for i := range m.Pix {
			m.Pix[i] = uint8(i % len(pal))
		}
		got := mustLoad(t, writeFile(t, "p.png", encodePNG(t, m)))
		checkExact(t, "palette", got, w, h, func(x, y int) [3]float32 {
			c := pal[m.ColorIndexAt(x, y)].(color.NRGBA)
			return [3]float32{f8(c.R), f8(c.G), f8(c.B)}
		})
	})
}

// pngHeader is a PNG signature and an IHDR chunk claiming w x h 8-bit RGB,
// with no image data after it.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	data := make([]byte, 13)
	binary.BigEndian.PutUint32(data[0:], w)
	binary.BigEndian.PutUint32(data[4:], h)
	data[8], data[9] = 8, 2 // depth 8, colour type RGB
	chunk := append([]byte("IHDR"), data...)
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestLoadTooLarge(t *testing.T) {
	cases := []struct {
		name      string
		data      []byte
		w, h      int
		maxPixels int
	}{
		{"png side over 65535", pngHeader(100000, 100000), 100000, 100000, 0},
		{"png one side over", pngHeader(65536, 1), 65536, 1, 1 << 40},
		{"png pixels over default", pngHeader(60000, 60000), 60000, 60000, 0},
		{"png pixels over given", pngHeader(1000, 1000), 1000, 1000, 999999},
		// SOI, SOF0 (8 bits, 65535x65535, one component), SOS header.
		{"jpeg", []byte("\xff\xd8\xff\xc0\x00\x0b\x08\xff\xff\xff\xff\x01\x01\x11\x00" +
			"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"), 65535, 65535, 0},
		// GIF89a logical screen 65535x65535, no colour table.
		{"gif", []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), 65535, 65535, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "huge.img", c.data)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Load(p, c.maxPixels)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			var tl *TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("Load: got %v, want *TooLargeError", err)
			}
			if tl.Path != p || tl.W != c.w || tl.H != c.h {
				t.Errorf("TooLargeError = %+v", tl)
			}
			if !strings.Contains(err.Error(), "downscale") || !strings.Contains(err.Error(), p) {
				t.Errorf("message %q should name the path and say to downscale", err)
			}
			max := c.maxPixels
			if max <= 0 {
				max = DefaultMaxPixels
			}
			fw, fh := FitLongSide(c.w, c.h, tl.FitLong())
			if fw > MaxSide || fh > MaxSide || int64(fw)*int64(fh) > int64(max) {
				t.Errorf("suggested long side %d gives %dx%d, still too large", tl.FitLong(), fw, fh)
			}
			if fw2, fh2 := FitLongSide(c.w, c.h, tl.FitLong()+1); fw2 <= MaxSide && fh2 <= MaxSide && int64(fw2)*int64(fh2) <= int64(max) {
				t.Errorf("suggested long side %d is not the largest that fits", tl.FitLong())
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("refused in %v, allocating %d bytes", elapsed, alloc)
			if alloc > 1<<20 {
				t.Errorf("allocated %d bytes refusing the image", alloc)
			}
			if elapsed > time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
	// The same limits, after a real decode-sized check, let a fitting image through.
	m := image.NewGray(image.Rect(0, 0, 10, 10))
	p := writeFile(t, "ok.png", encodePNG(t, m))
	if _, err := Load(p, 100); err != nil {
		t.Errorf("10x10 with max 100: %v", err)
	}
	var tl *TooLargeError
	if _, err := Load(p, 99); !errors.As(err, &tl) || tl.Max != 99 {
		t.Errorf("10x10 with max 99: got %v, want *TooLargeError{Max: 99}", err)
	}
}

func TestLoadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no-such.png")
	_, err := Load(p, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("message %q does not name %s", err, p)
	}
	if _, err := Load(t.TempDir(), 0); err == nil {
		t.Error("loading a directory: no error")
	}
}

func noise(w, h int, seed int64) *image.NRGBA {
	rng := rand.New(rand.NewSource(seed))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng.Read(m.Pix)
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 0xff
	}
	return m
}

func TestLoadTruncated(t *testing.T) {
	m := noise(64, 64, 2)
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	pb := encodePNG(t, m)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"half.png", pb[:len(pb)/2]},
		{"header-only.png", pb[:40]},
		{"half.jpg", jb.Bytes()[:jb.Len()/2]},
		{"header-only.jpg", jb.Bytes()[:300]},
		{"bad-crc.png", func() []byte {
			b := append([]byte(nil), pb...)
			b[len(b)/2] ^= 0xff
			return b
		}()},
	} {
		p := writeFile(t, c.name, c.data)
		_, err := Load(p, 0)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: got %v, want *DecodeError", c.name, err)
			continue
		}
		if de.Err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: message %q should name %s and wrap the decoder's error", c.name, err, p)
		}
	}
}

func TestLoadUnsupported(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	junk := make([]byte, 4096)
	rng.Read(junk)
	for name, data := range map[string][]byte{
		"random.png": junk,
		"empty.jpg":  nil,
		"text.png":   []byte("this is not an image\n"),
	} {
		p := writeFile(t, name, data)
		_, err := Load(p, 0)
		var ue *UnsupportedFormatError
		if !errors.As(err, &ue) {
			t.Errorf("%s: got %v, want *UnsupportedFormatError", name, err)
			continue
		}
		for _, f := range []string{"PNG", "JPEG", "GIF", "WebP", "BMP", "TIFF", p} {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("%s: message %q does not mention %s", name, err, f)
			}
		}
	}
}

// A tiny lossless WebP (VP8L), 4x3, made with cwebp -lossless -exact from
// the pattern in webpPattern.
const webpLossless = "\x52\x49\x46\x46\x2a\x00\x00\x00\x57\x45\x42\x50\x56\x50\x38\x4c\x1e\x00\x00\x00\x2f\x03\x80\x00\x00\x89\x8c\xe8\x7f\x40\x40\x92\x38\xbb\xff\xd0\x87\x81\x12\x0b\x26\xfe\x5e\x63\xea\x2d\x82\x25\xa5\x01"

// A tiny lossy WebP (VP8), 16x16 in four 8x8 quadrants: black, white /
// (220, 30, 30), (200, 100, 50); cwebp -q 95. libwebp's dwebp -nofancy
// decodes the quadrants to exactly the colours in webpQuads.
const webpLossy = "\x52\x49\x46\x46\x40\x00\x00\x00\x57\x45\x42\x50\x56\x50\x38\x20\x34\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x10\x00\x10\x00\x00\x80\x08\x25\xa0\x00\x03\x70\x00\xfe\xef\x38\x7f\xff\xf2\x10\x7f\xfd\x4e\x87\xff\xff\x3e\x92\x9f\xff\xfc\x56\xff\xff\xd5\x61\xff\xff\xf8\xb0\xaf\xff\xde\xc9\x00\x00"

var webpQuads = [4][3]uint8{{0, 0, 0}, {255, 255, 255}, {221, 30, 31}, {201, 100, 50}}

func webpPattern(x, y int) [3]float32 {
	return [3]float32{f8(uint8(x * 80)), f8(uint8(y * 120)), f8(uint8(255 - x*60 - y*10))}
}

func TestLoadOtherFormats(t *testing.T) {
	src := noise(7, 5, 4)
	want := func(x, y int) [3]float32 {
		c := src.NRGBAAt(x, y)
		return [3]float32{f8(c.R), f8(c.G), f8(c.B)}
	}

	t.Run("gif", func(t *testing.T) {
		pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 128, 255, 255}, color.RGBA{250, 250, 250, 255}}
		fr := image.NewPaletted(image.Rect(0, 0, 6, 4), pal)
		for i := range fr.Pix {
			fr.Pix[i] = uint8(i*7) % 4
		}
		second := image.NewPaletted(image.Rect(0, 0, 6, 4), pal) // all black
		var b bytes.Buffer
		if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{fr, second}, Delay: []int{10, 10}}); err != nil {
			t.Fatal(err)
		}
		got := mustLoad(t, writeFile(t, "a.gif", b.Bytes()))
		checkExact(t, "gif first frame", got, 6, 4, func(x, y int) [3]float32 {
			c := pal[fr.ColorIndexAt(x, y)].(color.RGBA)
			return [3]float32{f8(c.R), f8(c.G), f8(c.B)}
		})
	})
	t.Run("bmp", func(t *testing.T) {
		var b bytes.Buffer
		if err := bmp.Encode(&b, src); err != nil {
			t.Fatal(err)
		}
		checkExact(t, "bmp", mustLoad(t, writeFile(t, "a.bmp", b.Bytes())), 7, 5, want)
	})
	t.Run("tiff", func(t *testing.T) {
		var b bytes.Buffer
		if err := tiff.Encode(&b, src, &tiff.Options{Compression: tiff.Deflate}); err != nil {
			t.Fatal(err)
		}
		checkExact(t, "tiff", mustLoad(t, writeFile(t, "a.tiff", b.Bytes())), 7, 5, want)
	})
	t.Run("tiff16", func(t *testing.T) {
		m := image.NewRGBA64(image.Rect(0, 0, 3, 2))
		for i := range m.Pix {
			m.Pix[i] = uint8(i * 37)
		}
		for i := 6; i < len(m.Pix); i += 8 {
			m.Pix[i], m.Pix[i+1] = 0xff, 0xff
		}
		var b bytes.Buffer
		if err := tiff.Encode(&b, m, nil); err != nil {
			t.Fatal(err)
		}
		checkExact(t, "tiff16", mustLoad(t, writeFile(t, "b.tif", b.Bytes())), 3, 2, func(x, y int) [3]float32 {
			c := m.RGBA64At(x, y)
			return [3]float32{f16(c.R), f16(c.G), f16(c.B)}
		})
	})
	t.Run("webp-lossless", func(t *testing.T) {
		checkExact(t, "webp", mustLoad(t, writeFile(t, "a.webp", []byte(webpLossless))), 4, 3, webpPattern)
	})
	t.Run("webp-lossy", func(t *testing.T) {
		// Lossy WebP is limited-range YCbCr: black and white must come
		// back as 0 and 1, not 16/255 and 235/255.
		got := mustLoad(t, writeFile(t, "b.webp", []byte(webpLossy)))
		if got.W != 16 || got.H != 16 {
			t.Fatalf("size %dx%d", got.W, got.H)
		}
		worst := 0.0
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				c, q := at(got, x, y), webpQuads[(y/8)*2+x/8]
				for k := range c {
					worst = max(worst, math.Abs(float64(c[k])-float64(q[k])/255))
				}
			}
		}
		t.Logf("lossy WebP: max difference from libwebp's decode %.2f/255", worst*255)
		if worst > 2.0/255 {
			t.Errorf("lossy WebP differs from libwebp's decode by %.2f/255", worst*255)
		}
	})
}

// genericPlanar is a slow reference for toPlanar: the colour model's own
// conversion, except that straight-alpha colours are taken as stored.
func genericPlanar(m image.Image) Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	img := Image{H: h, W: w, Pix: make([]float32, 3*n)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.NRGBA64
			switch v := m.At(b.Min.X+x, b.Min.Y+y).(type) {
			case color.NRGBA: // straight alpha: the stored colour itself
				c = color.NRGBA64{uint16(v.R) * 0x101, uint16(v.G) * 0x101, uint16(v.B) * 0x101, 0}
			case color.NRGBA64:
				c = v
			default:
				c = color.NRGBA64Model.Convert(v).(color.NRGBA64)
			}
			i := y*w + x
			img.Pix[i], img.Pix[n+i], img.Pix[2*n+i] = f16(c.R), f16(c.G), f16(c.B)
		}
	}
	return img
}

func TestToPlanarFastPaths(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	r := image.Rect(3, 2, 12, 9) // a non-zero origin, as sub-images have
	fill := func(b []byte) []byte { rng.Read(b); return b }
	premul := func(pix []byte, bpp int) { // scale colour by alpha
		for i := 0; i+bpp <= len(pix); i += bpp {
			if bpp == 4 {
				for k := 0; k < 3; k++ {
					pix[i+k] = byte(int(pix[i+k]) * int(pix[i+3]) / 255)
				}
				continue
			}
			a := int(binary.BigEndian.Uint16(pix[i+6:]))
			for k := 0; k < 6; k += 2 {
				v := int(binary.BigEndian.Uint16(pix[i+k:]))
				binary.BigEndian.PutUint16(pix[i+k:], uint16(v*a/65535))
			}
		}
	}
	rgba := image.NewRGBA(r)
	fill(rgba.Pix)
	premul(rgba.Pix, 4)
	rgba64 := image.NewRGBA64(r)
	fill(rgba64.Pix)
	premul(rgba64.Pix, 8)
	nrgba := image.NewNRGBA(r)
	fill(nrgba.Pix)
	nrgba64 := image.NewNRGBA64(r)
	fill(nrgba64.Pix)
	gray := image.NewGray(r)
	fill(gray.Pix)
	gray16 := image.NewGray16(r)
	fill(gray16.Pix)
	pal := image.NewPaletted(r, color.Palette{color.NRGBA{1, 2, 3, 4}, color.RGBA{200, 100, 0, 255}, color.Gray{77}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.Intn(3))
	}
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	fill(ycc.Y)
	fill(ycc.Cb)
	fill(ycc.Cr)
	for _, m := range []image.Image{rgba, rgba64, nrgba, nrgba64, gray, gray16, pal, ycc,
		rgba.SubImage(image.Rect(4, 3, 9, 8)), ycc.SubImage(image.Rect(5, 3, 10, 8))} {
		got, want := toPlanar(m), genericPlanar(m)
		if got.W != want.W || got.H != want.H {
			t.Fatalf("%T: size %dx%d, want %dx%d", m, got.W, got.H, want.W, want.H)
		}
		for i := range want.Pix {
			if got.Pix[i] != want.Pix[i] {
				t.Fatalf("%T: sample %d = %v, want %v", m, i, got.Pix[i], want.Pix[i])
			}
		}
	}
}

// TestLoadCorruptNoPanic mutates small files of every format: Load must
// return an image or one of its errors, never panic.
func TestLoadCorruptNoPanic(t *testing.T) {
	src := noise(12, 9, 14)
	var samples [][]byte
	samples = append(samples, encodePNG(t, src), []byte(webpLossless), []byte(webpLossy))
	for _, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return jpeg.Encode(b, src, nil) },
		func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) },
		func(b *bytes.Buffer) error { return bmp.Encode(b, src) },
		func(b *bytes.Buffer) error { return tiff.Encode(b, src, nil) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, b.Bytes())
	}
	rng := rand.New(rand.NewSource(15))
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	for k := 0; k < 150*len(samples); k++ {
		b := append([]byte(nil), samples[k%len(samples)]...)
		for e := 0; e < 1+rng.Intn(3); e++ {
			b[rng.Intn(len(b))] = byte(rng.Intn(256))
		}
		if rng.Intn(4) == 0 {
			b = b[:rng.Intn(len(b))]
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Load(p, 1<<16)
		var de *DecodeError
		var ue *UnsupportedFormatError
		var tl *TooLargeError
		switch {
		case err == nil:
			if len(img.Pix) != 3*img.W*img.H || img.W < 1 || img.H < 1 {
				t.Fatalf("malformed result %dx%d, %d samples", img.W, img.H, len(img.Pix))
			}
		case errors.As(err, &de), errors.As(err, &ue), errors.As(err, &tl):
		default:
			t.Fatalf("untyped error %v", err)
		}
	}
}
