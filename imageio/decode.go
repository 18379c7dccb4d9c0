// Package imageio reads and writes the images of `stylize run`: decoding
// (PNG, JPEG with its EXIF orientation, GIF, WebP, BMP, TIFF) into planar
// float32 RGB, atomic PNG/JPEG encoding, high-quality resizing on the
// float planes, and the YIQ colour space for luminance-only ("original
// colours") transfer.
package imageio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"strings"

	// Decoders, registered with the image package.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Image is an RGB image in [0,1], planar (3,H,W): all H*W red values row
// by row, then all green, then all blue, so the sample of channel c at
// (x, y) is Pix[c*H*W + y*W + x]. It has the layout of transfer.Image, to
// which a caller converts with transfer.Image{H: m.H, W: m.W, Pix: m.Pix}.
// The colour functions of this package use the same layout for the Y, I
// and Q planes.
type Image struct {
	H, W int
	Pix  []float32
}

// MaxSide is the largest width or height Load accepts, whatever maxPixels.
const MaxSide = 65535

// DefaultMaxPixels is the pixel limit Load applies when given maxPixels <= 0
// (64 Mi pixels: a 48-megapixel phone photo passes).
const DefaultMaxPixels = 64 << 20

// MaxStreamBytes is the most Load reads from an input it cannot seek (a
// pipe, a FIFO, standard input), which it reads into memory first.
const MaxStreamBytes = 512 << 20

// Stdin is the path that names standard input.
const Stdin = "-"

// openInput opens path for decoding, which seeks: a regular file as it
// is; standard input ("-"), a pipe or a FIFO read into memory, within
// MaxStreamBytes.
func openInput(path string) (io.ReadSeeker, func() error, error) {
	var f *os.File
	if path == Stdin {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(path); err != nil {
			return nil, nil, fmt.Errorf("imageio: cannot read image: %w", err)
		}
	}
	closeF := f.Close
	if path == Stdin {
		closeF = func() error { return nil }
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		closeF()
		return nil, nil, fmt.Errorf("imageio: %s is a directory, not an image", path)
	}
	if err == nil && fi.Mode().IsRegular() {
		return f, closeF, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxStreamBytes+1))
	closeF()
	if err != nil {
		return nil, nil, fmt.Errorf("imageio: cannot read %s: %w", path, err)
	}
	if len(data) > MaxStreamBytes {
		return nil, nil, fmt.Errorf("imageio: %s holds more than %d MiB, the limit of an input read from a pipe", path, MaxStreamBytes>>20)
	}
	return bytes.NewReader(data), func() error { return nil }, nil
}

// SupportedFormats are the names of the formats Load decodes, as the image
// package names them.
var SupportedFormats = []string{"png", "jpeg", "gif", "webp", "bmp", "tiff"}

// TooLargeError is Load's refusal of an image whose header gives more than
// Max pixels or a side over MaxSide. It is returned before any pixel data
// is read or allocated.
type TooLargeError struct {
	Path string
	W, H int // as the file's header claims
	Max  int // the pixel limit in force
}

func (e *TooLargeError) Error() string {
	why := fmt.Sprintf("%d pixels, over the limit of %d", int64(e.W)*int64(e.H), e.Max)
	if e.W > MaxSide || e.H > MaxSide {
		why = fmt.Sprintf("a side over the limit of %d", MaxSide)
	}
	return fmt.Sprintf("imageio: %s is %dx%d, %s: downscale it first, to at most %d pixels on the long side",
		e.Path, e.W, e.H, why, e.FitLong())
}

// FitLong is the longest long side to which the image could be scaled,
// aspect kept, to pass the limits.
func (e *TooLargeError) FitLong() int {
	w, h := float64(max(e.W, 1)), float64(max(e.H, 1))
	long := max(w, h)
	s := min(math.Sqrt(float64(e.Max)/(w*h)), MaxSide/long, 1)
	for n := int(long * s); n >= 1; n-- {
		if fw, fh := FitLongSide(e.W, e.H, n); fw <= MaxSide && fh <= MaxSide && int64(fw)*int64(fh) <= int64(e.Max) {
			return n
		}
	}
	return 1
}

// UnsupportedFormatError is Load's answer to a file whose content is not
// one of SupportedFormats (the extension is not looked at).
type UnsupportedFormatError struct {
	Path   string
	Format string // the image package's name, "" when nothing recognised it
}

func (e *UnsupportedFormatError) Error() string {
	what := "not a recognised image format"
	if e.Format != "" {
		what = fmt.Sprintf("format %q is not supported", e.Format)
	}
	return fmt.Sprintf("imageio: %s: %s (supported: PNG, JPEG, GIF, WebP, BMP, TIFF)", e.Path, what)
}

// DecodeError is a corrupt or truncated file of a supported format: Err is
// the decoder's error.
type DecodeError struct {
	Path   string
	Format string // the image package's name, "" when not known
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Format == "" {
		return fmt.Sprintf("imageio: %s: corrupt or truncated image data: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("imageio: %s: corrupt or truncated %s data: %v", e.Path, strings.ToUpper(e.Format), e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Load decodes the image at path into planar float32 RGB in [0,1].
//
// The format is found from the content: PNG (8 or 16 bits, grey, palette,
// RGB, with or without alpha), JPEG (grey, YCbCr, CMYK), GIF (its first
// frame), WebP (lossy or lossless), BMP and TIFF. 16-bit samples keep their
// precision (v/65535). Alpha is dropped, not composited: each pixel keeps
// its un-premultiplied colour, so a fully transparent pixel gives whatever
// colour the file stored there (black where the format premultiplies).
// A JPEG's EXIF Orientation (1-8) is applied, so the result is upright as a
// viewer shows it (the width and height are then those shown). Lossy WebP
// is converted from its limited-range BT.601 YCbCr, as libwebp does.
//
// path may be "-" (Stdin), a FIFO or a pipe such as /dev/stdin or a
// shell's <(...): what cannot seek is read into memory first, within
// MaxStreamBytes.
//
// Before decoding, the header's size is checked: more than maxPixels pixels
// (DefaultMaxPixels when maxPixels <= 0) or a side over MaxSide gives a
// *TooLargeError without reading the pixels. A missing or unreadable file
// gives the wrapped *os.PathError (errors.Is(err, fs.ErrNotExist) holds for
// a missing one), unrecognised content an *UnsupportedFormatError, and a
// corrupt or truncated file a *DecodeError.
func Load(path string, maxPixels int) (Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	f, closeF, err := openInput(path)
	if err != nil {
		return Image{}, err
	}
	defer closeF()

	cfg, format, err := decodeConfig(f)
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return Image{}, &UnsupportedFormatError{Path: path}
		}
		return Image{}, &DecodeError{Path: path, Format: format, Err: err}
	}
	if !supported(format) {
		return Image{}, &UnsupportedFormatError{Path: path, Format: format}
	}
	if err := checkSize(path, cfg.Width, cfg.Height, maxPixels); err != nil {
		return Image{}, err
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Image{}, fmt.Errorf("imageio: %s: %w", path, err)
	}
	m, err := decode(f)
	if err != nil {
		return Image{}, &DecodeError{Path: path, Format: format, Err: err}
	}
	b := m.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return Image{}, &DecodeError{Path: path, Format: format, Err: errors.New("empty image")}
	}
	if err := checkSize(path, b.Dx(), b.Dy(), maxPixels); err != nil {
		return Image{}, err
	}
	var img Image
	switch yc := m.(type) {
	case *image.YCbCr:
		if format == "webp" {
			img = videoRangeToPlanar(yc)
		}
	case *image.NYCbCrA:
		if format == "webp" {
			img = videoRangeToPlanar(&yc.YCbCr)
		}
	}
	if img.Pix == nil {
		img = toPlanar(m)
	}

	if format == "jpeg" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Image{}, fmt.Errorf("imageio: %s: %w", path, err)
		}
		img = orient(img, jpegOrientation(bufio.NewReader(f)))
	}
	return img, nil
}

// decodeConfig and decode call the image package, turning a decoder's
// panic on hostile data into an error.
func decodeConfig(r io.Reader) (cfg image.Config, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	return image.DecodeConfig(bufio.NewReader(r))
}

func decode(r io.Reader) (m image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	m, _, err = image.Decode(bufio.NewReader(r))
	return m, err
}

func supported(format string) bool {
	for _, s := range SupportedFormats {
		if s == format {
			return true
		}
	}
	return false
}

func checkSize(path string, w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return &DecodeError{Path: path, Err: fmt.Errorf("header gives a size of %dx%d", w, h)}
	}
	if w > MaxSide || h > MaxSide || int64(w)*int64(h) > int64(maxPixels) {
		return &TooLargeError{Path: path, W: w, H: h, Max: maxPixels}
	}
	return nil
}

// toPlanar converts any image to planar float32 RGB, dropping alpha
// (colours un-premultiplied), with fast paths for the decoders' types.
func toPlanar(m image.Image) Image {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	img := Image{H: h, W: w, Pix: make([]float32, 3*n)}
	r, g, bl := img.Pix[:n], img.Pix[n:2*n], img.Pix[2*n:]
	set8 := func(i int, cr, cg, cb uint8) {
		r[i], g[i], bl[i] = float32(cr)/255, float32(cg)/255, float32(cb)/255
	}
	set16 := func(i int, cr, cg, cb uint32) {
		r[i], g[i], bl[i] = float32(cr)/65535, float32(cg)/65535, float32(cb)/65535
	}

	switch m := m.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				set8(y*w+x, p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				if p[3] == 0xff {
					set8(y*w+x, p[0], p[1], p[2])
				} else {
					cr, cg, cb := unpremul(uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101, uint32(p[3])*0x101)
					set16(y*w+x, cr, cg, cb)
				}
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				set8(y*w+x, v, v, v)
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := 0; x < w; x++ {
				v := uint32(row[2*x])<<8 | uint32(row[2*x+1])
				set16(y*w+x, v, v, v)
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				set16(y*w+x, uint32(p[0])<<8|uint32(p[1]), uint32(p[2])<<8|uint32(p[3]), uint32(p[4])<<8|uint32(p[5]))
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8 : 8*x+8]
				cr, cg, cb := unpremul(uint32(p[0])<<8|uint32(p[1]), uint32(p[2])<<8|uint32(p[3]),
					uint32(p[4])<<8|uint32(p[5]), uint32(p[6])<<8|uint32(p[7]))
				set16(y*w+x, cr, cg, cb)
			}
		}
	case *image.Paletted:
		type rgb struct{ r, g, b float32 }
		var pal [256]rgb
		for i, c := range m.Palette {
			if i >= len(pal) {
				break
			}
			cr, cg, cb := straight(c)
			pal[i] = rgb{float32(cr) / 65535, float32(cg) / 65535, float32(cb) / 65535}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, idx := range row {
				// An index past the palette (which decoders reject
				// anyway) reads as black.
				c := pal[idx]
				r[y*w+x], g[y*w+x], bl[y*w+x] = c.r, c.g, c.b
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				cr, cg, cb, _ := color.YCbCr{Y: m.Y[yi], Cb: m.Cb[ci], Cr: m.Cr[ci]}.RGBA()
				set16(y*w+x, cr, cg, cb)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				cr, cg, cb := straight(m.At(b.Min.X+x, b.Min.Y+y))
				set16(y*w+x, cr, cg, cb)
			}
		}
	}
	return img
}

// straight returns c's un-premultiplied 16-bit colour, exactly for the
// straight-alpha types (a round trip through premultiplied colour would
// lose precision under a small alpha).
func straight(c color.Color) (r, g, b uint32) {
	switch c := c.(type) {
	case color.NRGBA:
		return uint32(c.R) * 0x101, uint32(c.G) * 0x101, uint32(c.B) * 0x101
	case color.NRGBA64:
		return uint32(c.R), uint32(c.G), uint32(c.B)
	}
	return unpremul(c.RGBA())
}

// unpremul turns premultiplied 16-bit colour into straight colour, as
// color.NRGBA64Model does.
func unpremul(r, g, b, a uint32) (uint32, uint32, uint32) {
	switch a {
	case 0xffff:
		return r, g, b
	case 0:
		return 0, 0, 0
	}
	return r * 0xffff / a, g * 0xffff / a, b * 0xffff / a
}

// videoRangeToPlanar converts YCbCr in the limited ("video", 16-235 and
// 16-240) range of ITU-R BT.601, which lossy WebP (VP8) stores, to RGB.
// golang.org/x/image/webp hands those planes back as an image.YCbCr, whose
// own conversion assumes JPEG's full range and so lifts blacks and dims
// whites (golang/go#40173). Chroma is sampled nearest, as image.YCbCr does.
func videoRangeToPlanar(m *image.YCbCr) Image {
	const (
		ys = 255.0 / 219
		cs = 255.0 / 224
		vr = 1.402 * cs
		ug = 0.114 * 1.772 / 0.587 * cs
		vg = 0.299 * 1.402 / 0.587 * cs
		ub = 1.772 * cs
	)
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	img := Image{H: h, W: w, Pix: make([]float32, 3*n)}
	clamp := func(v float64) float32 { return float32(min(max(v/255, 0), 1)) }
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
			ci := m.COffset(b.Min.X+x, b.Min.Y+y)
			l := ys * (float64(m.Y[yi]) - 16)
			u, v := float64(m.Cb[ci])-128, float64(m.Cr[ci])-128
			i := y*w + x
			img.Pix[i] = clamp(l + vr*v)
			img.Pix[n+i] = clamp(l - ug*u - vg*v)
			img.Pix[2*n+i] = clamp(l + ub*u)
		}
	}
	return img
}

// Size is the width and height Load would give path's image, read from
// its header (and a JPEG's EXIF orientation) without decoding the pixels,
// with Load's errors for what Load would refuse before decoding.
func Size(path string, maxPixels int) (w, h int, err error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	f, closeF, err := openInput(path)
	if err != nil {
		return 0, 0, err
	}
	defer closeF()
	cfg, format, err := decodeConfig(f)
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return 0, 0, &UnsupportedFormatError{Path: path}
		}
		return 0, 0, &DecodeError{Path: path, Format: format, Err: err}
	}
	if !supported(format) {
		return 0, 0, &UnsupportedFormatError{Path: path, Format: format}
	}
	if err := checkSize(path, cfg.Width, cfg.Height, maxPixels); err != nil {
		return 0, 0, err
	}
	w, h = cfg.Width, cfg.Height
	if format == "jpeg" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, 0, fmt.Errorf("imageio: %s: %w", path, err)
		}
		if jpegOrientation(bufio.NewReader(f)) >= 5 {
			w, h = h, w
		}
	}
	return w, h, nil
}
