package imageio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// JPEGQuality is the quality Save writes JPEGs with.
const JPEGQuality = 95

// Save writes img to path in the format its extension names (any case):
// .png with depth 8 or 16 bits per channel (RGB, no alpha), or .jpg/.jpeg
// (baseline, quality JPEGQuality, 4:2:0 chroma as Go's encoder writes it)
// with depth 8. Samples are clamped to [0,1] (NaN reads as 0)
// and rounded to nearest: round(v*255) at 8 bits, round(v*65535) at 16.
//
// The write is atomic: the image goes to a temporary file in the same
// directory, which is synced, closed and renamed over path. On any error
// the temporary file is removed and an existing file at path is left as
// it was. A new file gets mode 0666 less the umask; a replaced one keeps
// its mode.
func Save(path string, img Image, depth int) error {
	enc, err := encoder(FormatOf(path), img, depth)
	if err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	return WriteAtomic(path, enc)
}

// Write encodes img in format ("png" or "jpeg", as FormatOf names them)
// and writes it to w in one piece: the whole file is encoded in memory
// first, so an encoding error writes nothing. It is how an image goes to
// a stream such as stdout, which cannot be written atomically.
func Write(w io.Writer, format string, img Image, depth int) error {
	enc, err := encoder(format, img, depth)
	if err != nil {
		return fmt.Errorf("imageio: write: %w", err)
	}
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		return fmt.Errorf("imageio: write: encode: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("imageio: write: %w", err)
	}
	return nil
}

// FormatOf is the output format that path's extension names (any case):
// "png" for .png, "jpeg" for .jpg and .jpeg, and "" for anything else.
func FormatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return "png"
	case ".jpg", ".jpeg":
		return "jpeg"
	}
	return ""
}

// encoder checks img and returns the function that encodes it in format
// at depth bits per channel.
func encoder(format string, img Image, depth int) (func(io.Writer) error, error) {
	if err := check(img); err != nil {
		return nil, err
	}
	switch format {
	case "png":
		switch depth {
		case 8:
			return func(w io.Writer) error { return png.Encode(w, toNRGBA(img)) }, nil
		case 16:
			return func(w io.Writer) error { return png.Encode(w, toNRGBA64(img)) }, nil
		}
		return nil, fmt.Errorf("PNG depth must be 8 or 16, not %d", depth)
	case "jpeg":
		if depth != 8 {
			return nil, fmt.Errorf("JPEG depth must be 8, not %d (use .png for 16 bits)", depth)
		}
		return func(w io.Writer) error {
			return jpeg.Encode(w, toRGBA(img), &jpeg.Options{Quality: JPEGQuality})
		}, nil
	}
	return nil, fmt.Errorf("unsupported format %q (supported: .png, .jpg, .jpeg)", format)
}

// check reports whether img is well formed.
func check(img Image) error {
	if img.W <= 0 || img.H <= 0 {
		return fmt.Errorf("empty image %dx%d", img.W, img.H)
	}
	if len(img.Pix) != 3*img.W*img.H {
		return fmt.Errorf("image %dx%d has %d samples, want %d", img.W, img.H, len(img.Pix), 3*img.W*img.H)
	}
	// A NaN would be written as black without a word: refuse it instead.
	for i, v := range img.Pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("the image holds a non-finite value (%v at sample %d): nothing written", v, i)
		}
	}
	return nil
}

// WriteAtomic writes through enc to a temporary file beside path and
// renames it over path, removing the temporary file on any error.
func WriteAtomic(path string, enc func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// A new file gets 0666 less the umask, as any program's would; a
	// file replaced keeps its mode.
	keep := fs.FileMode(0)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("imageio: save %s: exists and is not a regular file", path)
		}
		keep = fi.Mode().Perm()
	}
	f, err := createTemp(dir, "."+base+".tmp")
	if err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // a second Close only returns an error
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := enc(bw); err != nil {
		return fmt.Errorf("imageio: save %s: encode: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	if keep != 0 {
		if err := f.Chmod(keep); err != nil {
			return fmt.Errorf("imageio: save %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("imageio: save %s: %w", path, err)
	}
	// Make the rename itself durable; not every system can sync a
	// directory, and the file is in place either way.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// quant clamps v to [0,1] (NaN to 0) and rounds v*max to nearest.
func quant(v float32, max float64) uint32 {
	f := float64(v)
	if !(f > 0) { // also NaN
		return 0
	}
	if f >= 1 {
		return uint32(max)
	}
	return uint32(math.Floor(f*max + 0.5))
}

func toNRGBA(img Image) *image.NRGBA {
	n := img.W * img.H
	m := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < n; i++ {
		p := m.Pix[4*i : 4*i+4 : 4*i+4]
		p[0] = uint8(quant(img.Pix[i], 255))
		p[1] = uint8(quant(img.Pix[n+i], 255))
		p[2] = uint8(quant(img.Pix[2*n+i], 255))
		p[3] = 0xff
	}
	return m
}

// toRGBA is toNRGBA as the premultiplied type, which jpeg encodes fastest;
// with alpha 255 the two hold the same bytes.
func toRGBA(img Image) *image.RGBA {
	m := toNRGBA(img)
	return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
}

func toNRGBA64(img Image) *image.NRGBA64 {
	n := img.W * img.H
	m := image.NewNRGBA64(image.Rect(0, 0, img.W, img.H))
	for i := 0; i < n; i++ {
		p := m.Pix[8*i : 8*i+8 : 8*i+8]
		for c := 0; c < 3; c++ {
			v := quant(img.Pix[c*n+i], 65535)
			p[2*c], p[2*c+1] = uint8(v>>8), uint8(v)
		}
		p[6], p[7] = 0xff, 0xff
	}
	return m
}

// createTemp creates a new file prefix+random in dir with mode 0666 less
// the umask (os.CreateTemp's is 0600, which the rename would keep).
func createTemp(dir, prefix string) (*os.File, error) {
	for i := 0; ; i++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		return f, err
	}
}
