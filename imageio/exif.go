package imageio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
)

// jpegOrientation scans a JPEG's marker segments up to the first scan for
// an APP1 Exif segment and returns its IFD0 Orientation (1-8), or 1 when
// there is none or it cannot be read. It reads at most one segment (64 KiB)
// into memory and never fails: a bad Exif block only loses the rotation.
func jpegOrientation(r *bufio.Reader) int {
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 1
	}
	for {
		c, err := r.ReadByte()
		if err != nil || c != 0xFF {
			return 1
		}
		marker := byte(0xFF)
		for marker == 0xFF { // fill bytes
			if marker, err = r.ReadByte(); err != nil {
				return 1
			}
		}
		switch {
		case marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7):
			continue // no length
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return 1
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(lb[:])) - 2
		if n < 0 {
			return 1
		}
		if marker != 0xE1 {
			if _, err := r.Discard(n); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		// Another APP1 (XMP, say) or an Exif block without the tag: go on.
	}
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF structure (the
// Exif payload after "Exif\0\0"), little or big endian. It returns 0 when
// the structure is malformed or the tag is missing or out of range 1-8.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	count := uint64(bo.Uint16(t[off:]))
	for i := uint64(0); i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > uint64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if n < 1 {
			return 0
		}
		var v uint32
		switch typ {
		case 3: // SHORT, the type the standard gives
			v = uint32(bo.Uint16(t[e+8:]))
		case 4: // LONG, from writers that get it wrong
			v = bo.Uint32(t[e+8:])
		default:
			return 0
		}
		if v >= 1 && v <= 8 {
			return int(v)
		}
		return 0
	}
	return 0
}

// orient returns img as a viewer shows it given the EXIF orientation o of
// the stored pixels (1 or an unknown value: unchanged). For each o the
// stored 0th row and 0th column end up at:
//
//	1 top, left     2 top, right    3 bottom, right   4 bottom, left
//	5 left, top     6 right, top    7 right, bottom   8 left, bottom
//
// so 6 is a turn of 90 degrees clockwise and 8 one of 90 anticlockwise.
func orient(img Image, o int) Image {
	if o < 2 || o > 8 {
		return img
	}
	W, H := img.W, img.H
	ow, oh := W, H
	if o >= 5 {
		ow, oh = H, W
	}
	// src gives the stored (x, y) shown at output (x, y).
	var src func(x, y int) (int, int)
	switch o {
	case 2:
		src = func(x, y int) (int, int) { return W - 1 - x, y }
	case 3:
		src = func(x, y int) (int, int) { return W - 1 - x, H - 1 - y }
	case 4:
		src = func(x, y int) (int, int) { return x, H - 1 - y }
	case 5:
		src = func(x, y int) (int, int) { return y, x }
	case 6:
		src = func(x, y int) (int, int) { return y, H - 1 - x }
	case 7:
		src = func(x, y int) (int, int) { return W - 1 - y, H - 1 - x }
	case 8:
		src = func(x, y int) (int, int) { return W - 1 - y, x }
	}
	n := W * H
	out := Image{H: oh, W: ow, Pix: make([]float32, 3*n)}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := src(x, y)
			si, di := sy*W+sx, y*ow+x
			out.Pix[di] = img.Pix[si]
			out.Pix[n+di] = img.Pix[n+si]
			out.Pix[2*n+di] = img.Pix[2*n+si]
		}
	}
	return out
}
