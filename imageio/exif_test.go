package imageio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math/rand"
	"testing"
)

// The upright test picture: 3 x 2 cells of distinct greys, each cell an
// 8x8 block so that JPEG (whose blocks these align with) keeps it nearly
// exact.
var upright = [2][3]uint8{
	{0, 50, 100},
	{150, 200, 250},
}

const cell = 8

// grid is a small picture of cells, indexed [row][col].
type grid [][]uint8

func uprightGrid() grid {
	g := grid{}
	for _, r := range upright {
		g = append(g, append([]uint8(nil), r[:]...))
	}
	return g
}

func (g grid) h() int { return len(g) }
func (g grid) w() int { return len(g[0]) }

func newGrid(w, h int) grid {
	g := make(grid, h)
	for i := range g {
		g[i] = make([]uint8, w)
	}
	return g
}

// The picture operations, written from their geometric meaning.
func mirrorH(g grid) grid {
	o := newGrid(g.w(), g.h())
	for y := range g {
		for x := range g[y] {
			o[y][g.w()-1-x] = g[y][x]
		}
	}
	return o
}

func mirrorV(g grid) grid {
	o := newGrid(g.w(), g.h())
	for y := range g {
		o[g.h()-1-y] = append([]uint8(nil), g[y]...)
	}
	return o
}

func transpose(g grid) grid {
	o := newGrid(g.h(), g.w())
	for y := range g {
		for x := range g[y] {
			o[x][y] = g[y][x]
		}
	}
	return o
}

// rotCW turns a picture 90 degrees clockwise: its left column becomes the
// top row.
func rotCW(g grid) grid  { return mirrorH(transpose(g)) }
func rotCCW(g grid) grid { return mirrorV(transpose(g)) }

// storedFor returns what a camera stores, with orientation o, for a scene
// that is upright as u: the inverse of what a viewer applies. A viewer
// turns o=6 clockwise and o=8 anticlockwise; 5 and 7 are the transpose and
// transverse, their own inverses.
func storedFor(u grid, o int) grid {
	switch o {
	case 1:
		return u
	case 2:
		return mirrorH(u)
	case 3:
		return mirrorH(mirrorV(u))
	case 4:
		return mirrorV(u)
	case 5:
		return transpose(u)
	case 6:
		return rotCCW(u)
	case 7:
		return rotCW(rotCW(transpose(u)))
	case 8:
		return rotCW(u)
	}
	panic("bad orientation")
}

func gridJPEG(t *testing.T, g grid) []byte {
	t.Helper()
	m := image.NewGray(image.Rect(0, 0, g.w()*cell, g.h()*cell))
	for y := 0; y < g.h()*cell; y++ {
		for x := 0; x < g.w()*cell; x++ {
			m.Pix[y*m.Stride+x] = g[y/cell][x/cell]
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// exifTIFF builds a TIFF header and IFD0 holding the given entries (tag,
// type, count, 4-byte value field as an integer left-justified for SHORT).
func exifTIFF(bo binary.ByteOrder, entries [][4]uint32) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	binary.Write(&b, bo, uint16(42))
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(len(entries)))
	for _, e := range entries {
		binary.Write(&b, bo, uint16(e[0]))
		binary.Write(&b, bo, uint16(e[1]))
		binary.Write(&b, bo, e[2])
		if e[1] == 3 {
			binary.Write(&b, bo, uint16(e[3]))
			binary.Write(&b, bo, uint16(0))
		} else {
			binary.Write(&b, bo, e[3])
		}
	}
	binary.Write(&b, bo, uint32(0)) // no next IFD
	return b.Bytes()
}

// app1 is a JPEG APP1 segment with the given payload.
func app1(payload []byte) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegments inserts segments right after a JPEG's SOI marker.
func withSegments(j []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), j[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

func TestJPEGOrientation(t *testing.T) {
	u := uprightGrid()
	for o := 1; o <= 8; o++ {
		bo := binary.ByteOrder(binary.LittleEndian)
		if o%2 == 0 {
			bo = binary.BigEndian
		}
		stored := storedFor(u, o)
		exif := append([]byte("Exif\x00\x00"), exifTIFF(bo, [][4]uint32{
			{0x010F, 2, 4, 0x41424300}, // Make, an ASCII value inline
			{0x0112, 3, 1, uint32(o)},  // Orientation
			{0x011A, 5, 1, 0},          // XResolution, offset not followed
		})...)
		segs := [][]byte{app1(exif)}
		if o == 3 { // an XMP APP1 first must not hide the Exif one
			segs = [][]byte{app1([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>")), app1(exif)}
		}
		p := writeFile(t, "o.jpg", withSegments(gridJPEG(t, stored), segs...))
		got := mustLoad(t, p)
		if got.W != u.w()*cell || got.H != u.h()*cell {
			t.Fatalf("orientation %d: decoded %dx%d, want %dx%d", o, got.W, got.H, u.w()*cell, u.h()*cell)
		}
		worst := 0.0
		for cy := 0; cy < u.h(); cy++ {
			for cx := 0; cx < u.w(); cx++ {
				for dy := 1; dy < cell-1; dy++ {
					for dx := 1; dx < cell-1; dx++ {
						c := at(got, cx*cell+dx, cy*cell+dy)
						want := float64(u[cy][cx]) / 255
						for _, v := range c {
							worst = max(worst, abs(float64(v)-want))
						}
					}
				}
			}
		}
		if worst > 3.0/255 {
			t.Errorf("orientation %d: decoded picture is not upright (worst cell error %.1f/255)", o, worst*255)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestExifOrientationParse(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	long := exifTIFF(le, [][4]uint32{{0x0112, 4, 1, 6}})
	for _, c := range []struct {
		name string
		tiff []byte
		want int
	}{
		{"le short", exifTIFF(le, [][4]uint32{{0x0112, 3, 1, 8}}), 8},
		{"be short", exifTIFF(be, [][4]uint32{{0x0100, 4, 1, 640}, {0x0112, 3, 1, 5}}), 5},
		{"long type", long, 6},
		{"missing tag", exifTIFF(le, [][4]uint32{{0x0100, 4, 1, 640}}), 0},
		{"out of range", exifTIFF(be, [][4]uint32{{0x0112, 3, 1, 9}}), 0},
		{"zero", exifTIFF(be, [][4]uint32{{0x0112, 3, 1, 0}}), 0},
		{"wrong type", exifTIFF(le, [][4]uint32{{0x0112, 2, 1, 6}}), 0},
		{"zero count", exifTIFF(le, [][4]uint32{{0x0112, 3, 0, 6}}), 0},
		{"bad magic", append([]byte("II\x2b\x00"), long[4:]...), 0},
		{"bad order", append([]byte("XX"), long[2:]...), 0},
		{"truncated entry", long[:len(long)-8], 0},
		{"short", long[:7], 0},
		{"empty", nil, 0},
		{"IFD offset past end", append(append([]byte(nil), long[:4]...), 0xff, 0xff, 0xff, 0xff), 0},
		{"huge count", append(append([]byte(nil), long[:8]...), 0xff, 0xff), 0},
	} {
		if got := exifOrientation(c.tiff); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func TestJPEGOrientationScanRobust(t *testing.T) {
	j := gridJPEG(t, uprightGrid())
	exif := append([]byte("Exif\x00\x00"), exifTIFF(binary.BigEndian, [][4]uint32{{0x0112, 3, 1, 6}})...)
	full := withSegments(j, app1(exif))
	scan := func(b []byte) int { return jpegOrientation(bufio.NewReader(bytes.NewReader(b))) }
	if got := scan(full); got != 6 {
		t.Fatalf("full: got %d, want 6", got)
	}
	// Fill bytes before a marker are allowed.
	if got := scan(append([]byte{0xFF, 0xD8, 0xFF, 0xFF}, full[3:]...)); got != 6 {
		t.Errorf("fill bytes: got %d, want 6", got)
	}
	// Exif after the first scan is not looked for.
	if got := scan(append(append([]byte(nil), j...), app1(exif)...)); got != 1 {
		t.Errorf("Exif after the scan: got %d, want 1", got)
	}
	if got := scan(j); got != 1 {
		t.Errorf("no Exif: got %d, want 1", got)
	}
	// Every truncation and random corruption: no panic, a value in 1..8.
	for n := 0; n <= len(full); n++ {
		if got := scan(full[:n]); got < 1 || got > 8 {
			t.Fatalf("truncated at %d: got %d", n, got)
		}
	}
	rng := rand.New(rand.NewSource(6))
	for k := 0; k < 2000; k++ {
		b := append([]byte(nil), full...)
		for e := 0; e < 1+rng.Intn(4); e++ {
			b[2+rng.Intn(len(exif)+8)] = byte(rng.Intn(256))
		}
		if got := scan(b); got < 1 || got > 8 {
			t.Fatalf("corrupted: got %d", got)
		}
	}
}

func FuzzExifOrientation(f *testing.F) {
	f.Add(exifTIFF(binary.LittleEndian, [][4]uint32{{0x0112, 3, 1, 3}}))
	f.Add(exifTIFF(binary.BigEndian, [][4]uint32{{0x0100, 4, 1, 1}, {0x0112, 4, 1, 7}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 0 || o > 8 {
			t.Fatalf("got %d", o)
		}
		jpegOrientation(bufio.NewReader(bytes.NewReader(append([]byte{0xFF, 0xD8}, app1(append([]byte("Exif\x00\x00"), b...))...))))
	})
}
