package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The fixtures come from testdata/gen/make_h5.py (h5py 3.7, HDF5 1.10.8).

var h5Good = []string{
	"tiny_vgg19_keras.h5",        // as Keras 2 writes it: superblock 0, v1 headers, contiguous
	"tiny_vgg19_keras1.h5",       // the same with Keras 1's names, as in the published files
	"tiny_vgg19_keras_gzip.h5",   // user block, superblock 1, deep B-trees, shuffle+gzip+fletcher32
	"tiny_vgg19_keras_latest.h5", // libver='latest': superblock 3, OHDR, dense links and attributes
	"tiny_vgg19_keras_model.h5",  // Model.save: /model_weights, variable-length strings
}

func readKerasRef(t testing.TB) *VGG19 {
	t.Helper()
	f, err := ReadSafetensors("../testdata/tiny_vgg19_keras_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	v, err := FromSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Convs) != 16 {
		t.Fatalf("reference has %d convs", len(v.Convs))
	}
	return v
}

// sameH5Convs checks got equals want bit for bit.
func sameH5Convs(t *testing.T, got, want []Conv) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d convs, want %d", len(got), len(want))
	}
	for i, c := range got {
		r := want[i]
		if c.Cout != r.Cout || c.Cin != r.Cin || len(c.W) != len(r.W) || len(c.B) != len(r.B) {
			t.Fatalf("conv %d: (%d,%d) with %d/%d values, want (%d,%d) with %d/%d", i, c.Cout, c.Cin, len(c.W), len(c.B), r.Cout, r.Cin, len(r.W), len(r.B))
		}
		for _, p := range [][2][]float32{{c.W, r.W}, {c.B, r.B}} {
			for j := range p[0] {
				if math.Float32bits(p[0][j]) != math.Float32bits(p[1][j]) {
					t.Fatalf("conv %d value %d: %v, want %v", i, j, p[0][j], p[1][j])
				}
			}
		}
	}
}

func TestReadKerasH5MatchesRef(t *testing.T) {
	ref := readKerasRef(t)
	for _, file := range h5Good {
		t.Run(file, func(t *testing.T) {
			path := "../testdata/" + file
			v, err := ReadKerasH5(path)
			if err != nil {
				t.Fatal(err)
			}
			if v.Source != path || v.Preprocess != "caffe" || v.Synthetic {
				t.Fatalf("Source %q Preprocess %q Synthetic %v", v.Source, v.Preprocess, v.Synthetic)
			}
			sameH5Convs(t, v.Convs, ref.Convs)
			if w := v.Widths(); len(w) != 5 || w[0] != 4 || w[1] != 8 || w[4] != 16 {
				t.Fatalf("widths %v", w)
			}
		})
	}
}

// TestH5FixturesExercise checks that the fixtures take the reader through
// every structure it claims to read.
func TestH5FixturesExercise(t *testing.T) {
	want := map[string][]string{
		"tiny_vgg19_keras.h5": {"superblock 0", "object header 1", "continuation", "symbol table group",
			"symbol table node", "attribute 1", "fixed-length strings", "contiguous", "float32"},
		"tiny_vgg19_keras_gzip.h5": {"superblock 1", "user block", "B-tree 0 internal node", "B-tree 1 internal node",
			"chunked, B-tree index", "filter 1", "filter 2", "filter 3", "contiguous"},
		"tiny_vgg19_keras_latest.h5": {"superblock 3", "object header 2", "link message", "dense links",
			"dense attributes", "v2 B-tree internal node", "fractal heap indirect block", "attribute 3",
			"variable-length strings", "compact", "contiguous", "chunked, fixed array index", "chunked, single chunk",
			"chunked, implicit index", "unfiltered edge chunk", "big-endian", "float64"},
		"tiny_vgg19_keras_model.h5":   {"superblock 0", "model_weights", "variable-length strings", "split attribute"},
		"tiny_vgg19_keras_fuzz_v0.h5": {"superblock 0", "chunked, B-tree index", "filter 1", "filter 2", "filter 3"},
		"tiny_vgg19_keras_fuzz_latest.h5": {"superblock 3", "object header 2", "link message", "compact",
			"chunked, fixed array index", "unfiltered edge chunk", "attribute creation order", "link creation order"},
	}
	for file, features := range want {
		path := "../testdata/" + file
		f, err := openH5(path, mustRead(t, path), h5DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kerasVGG19(f); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for k, n := range f.seen {
			seen = append(seen, k+"×"+itoa(n))
		}
		sort.Strings(seen)
		t.Logf("%s: %s", file, strings.Join(seen, ", "))
		for _, feat := range features {
			if f.seen[feat] == 0 {
				t.Errorf("%s does not exercise %q", file, feat)
			}
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// TestH5RootGroupSpansSeveralNodes checks the main fixture's root group
// (22 layers) needs several symbol table nodes, so that the B-tree walk
// and the local heap are exercised beyond one node.
func TestH5RootGroupSpansSeveralNodes(t *testing.T) {
	path := "../testdata/tiny_vgg19_keras.h5"
	f, err := openH5(path, mustRead(t, path), h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.links(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(g) != 22 {
		t.Errorf("%d links in the root group, want 22", len(g))
	}
	if f.sbVer != 0 {
		t.Errorf("superblock %d", f.sbVer)
	}
	if n := f.seen["symbol table node"]; n < 3 {
		t.Errorf("the root group has %d symbol table nodes, want several", n)
	}
	t.Logf("root: %d links in %d symbol table nodes", len(g), f.seen["symbol table node"])
}

func TestReadKerasH5BadFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		msgs []string
	}{
		{"tiny_vgg19_keras_unrelated.h5", []string{"no layer_names attribute", "not Keras VGG19 weights", "temperature"}},
		{"tiny_vgg19_keras_badshape.h5", []string{"block2_conv1", "shape (1, 1, 2, 2)", "want (3, 3, in, out)"}},
		{"tiny_vgg19_keras_missing.h5", []string{`"block3_conv2" is listed in layer_names`, "no group"}},
		{"tiny_vgg19_keras_nan.h5", []string{"features.23", "NaN"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := "../testdata/" + tc.file
			_, err := ReadKerasH5(path)
			wantFormatError(t, err, path, tc.msgs...)
			t.Log(err)
		})
	}
}

// patchEOF sets the superblock's end-of-file address to undefined, so that
// a truncated copy gets past that check and fails deeper in.
func patchEOF(b []byte) []byte {
	b = append([]byte(nil), b...)
	sb := bytes.Index(b, h5Signature)
	switch b[sb+8] {
	case 0:
		copy(b[sb+40:], bytes.Repeat([]byte{0xff}, 8))
	case 1:
		copy(b[sb+44:], bytes.Repeat([]byte{0xff}, 8))
	case 2, 3:
		copy(b[sb+28:], bytes.Repeat([]byte{0xff}, 8))
	}
	return b
}

func TestReadKerasH5Truncated(t *testing.T) {
	for _, file := range append(h5Good, "tiny_vgg19_keras_fuzz_v0.h5", "tiny_vgg19_keras_fuzz_latest.h5") {
		good := mustRead(t, "../testdata/"+file)
		n := len(good)
		cuts := []int{0, 1, 7, 8, 9, 40, 100, 512, 600, 1000, 3000, n / 8, n / 4, n / 3, n / 2, 2 * n / 3, n - 1000, n - 100, n - 1}
		for _, eof := range []bool{false, true} {
			data := good
			if eof {
				data = patchEOF(good)
			}
			refused := 0
			for _, c := range cuts {
				if c < 0 || c >= n {
					continue
				}
				// parseKerasH5, without the recover: a panic must fail the test.
				_, err := parseKerasH5(file, data[:c], h5DefaultLimits)
				if eof && err == nil {
					// The bytes cut off may be ones the reader does not need
					// (the model file ends with its optimizer's weights).
					continue
				}
				refused++
				wantFormatError(t, err, file)
				if c == n/2 {
					t.Logf("%s cut to %d bytes (EOF patched %v): %v", file, c, eof, err)
				}
			}
			if refused < len(cuts)-3 {
				t.Errorf("%s (EOF patched %v): only %d of %d cuts refused", file, eof, refused, len(cuts))
			}
		}
		// The patched but whole file still reads.
		if _, err := parseKerasH5(file, patchEOF(good), h5DefaultLimits); err != nil {
			t.Errorf("%s with its EOF address undefined: %v", file, err)
		}
	}
	// Through the file system too.
	dir := t.TempDir()
	p := filepath.Join(dir, "cut.h5")
	good := mustRead(t, "../testdata/tiny_vgg19_keras.h5")
	os.WriteFile(p, good[:len(good)/2], 0o644)
	_, err := ReadKerasH5(p)
	wantFormatError(t, err, p, "truncated")
}

func TestReadKerasH5NotHDF5(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	random := make([]byte, 8192)
	r.Read(random)
	hdfJunk := append(append([]byte(nil), h5Signature...), random[:200]...)
	for _, tc := range []struct {
		name string
		data []byte
		msgs []string
	}{
		{"empty", nil, []string{"empty file"}},
		{"tiny", []byte("\x89HD"), []string{"too short"}},
		{"text", []byte("hello, world, this is not an HDF5 file at all\n"), []string{"no HDF5 signature"}},
		{"random", random, []string{"no HDF5 signature"}},
		{"safetensors", mustRead(t, "../testdata/tiny_vgg19_keras_ref.safetensors"), []string{"no HDF5 signature"}},
		{"signature then junk", hdfJunk, nil},
		{"signature only", h5Signature, []string{"superblock is cut short"}},
		{"the cmd test's junk", []byte("\x89HDF\r\n\x1a\n and groups"), []string{"superblock version 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseKerasH5("junk.h5", tc.data, h5DefaultLimits)
			wantFormatError(t, err, "junk.h5", tc.msgs...)
			if !strings.Contains(err.Error(), "not a valid h5 file") {
				t.Errorf("%v", err)
			}
			t.Log(err)
		})
	}
	if _, err := ReadKerasH5(filepath.Join(t.TempDir(), "absent.h5")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadKerasH5Corrupt flips random bytes and overwrites random runs in
// every fixture: the reader may fail, but only with a *FormatError.
func TestReadKerasH5Corrupt(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	files := append(h5Good, "tiny_vgg19_keras_fuzz_v0.h5", "tiny_vgg19_keras_fuzz_latest.h5")
	iters := 150
	if testing.Short() {
		iters = 20
	}
	fails := 0
	for _, file := range files {
		good := mustRead(t, "../testdata/"+file)
		for i := 0; i < iters; i++ {
			b := append([]byte(nil), good...)
			// Mostly in the metadata, which h5py writes near the start
			// and between the datasets.
			for k := 0; k < 1+r.Intn(4); k++ {
				p := r.Intn(len(b))
				if r.Intn(2) == 0 {
					p = r.Intn(min(len(b), 8192))
				}
				switch r.Intn(3) {
				case 0:
					b[p] ^= byte(1 << r.Intn(8))
				case 1:
					b[p] = byte(r.Intn(256))
				default:
					for j := p; j < min(len(b), p+8); j++ {
						b[j] = 0xff
					}
				}
			}
			_, err := parseKerasH5(file, b, h5Limits{maxData: 64 << 20})
			if err != nil {
				fails++
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s mutation %d: not a *FormatError: %T %v", file, i, err, err)
				}
			}
		}
	}
	t.Logf("%d of %d corrupted files refused", fails, iters*len(files))
}

// TestH5Cycles makes structures point back at themselves.
func TestH5Cycles(t *testing.T) {
	path := "../testdata/tiny_vgg19_keras.h5"
	good := mustRead(t, path)
	f, err := openH5(path, good, h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	// The root's version 1 header: its first message is a continuation.
	root := int(f.root)
	if binary.LittleEndian.Uint16(good[root+16:]) != h5MsgContinuation {
		t.Fatalf("the root header's first message is of type %#x", binary.LittleEndian.Uint16(good[root+16:]))
	}
	b := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(b[root+24:], uint64(root+16)) // continue into itself
	_, err = parseKerasH5(path, b, h5DefaultLimits)
	wantFormatError(t, err, path, "used twice")
	t.Log(err)

	// A group B-tree node whose child is itself.
	o, err := f.object(f.root)
	if err != nil {
		t.Fatal(err)
	}
	bt := int(binary.LittleEndian.Uint64(o.find(h5MsgSymbolTable).data))
	b = append([]byte(nil), good...)
	b[bt+5] = 1                                            // level 1: its children are nodes
	binary.LittleEndian.PutUint64(b[bt+24+8:], uint64(bt)) // first child: itself
	_, err = parseKerasH5(path, b, h5DefaultLimits)
	wantFormatError(t, err, path, "B-tree node")
	t.Log(err)
}

// TestReadKerasH5Renamed checks the reader finds the convs by layer order and
// weight shapes, not by names: with Keras 1 style weight names, and without
// layer_names (the fixed block{b}_conv{k} names).
func TestReadKerasH5Renamed(t *testing.T) {
	ref := readKerasRef(t)
	good := mustRead(t, "../testdata/tiny_vgg19_keras.h5")
	renamed := bytes.ReplaceAll(good, []byte("kernel:0"), []byte("conv_W:0"))
	renamed = bytes.ReplaceAll(renamed, []byte("bias:0"), []byte("cb_1:0"))
	v, err := parseKerasH5("renamed.h5", renamed, h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameH5Convs(t, v.Convs, ref.Convs)

	noNames := bytes.Replace(good, []byte("layer_names"), []byte("layer_namez"), 1)
	f, err := openH5("nonames.h5", noNames, h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	v, err = kerasVGG19(f)
	if err != nil {
		t.Fatal(err)
	}
	sameH5Convs(t, v.Convs, ref.Convs)
	if f.seen["fixed layer names"] == 0 {
		t.Error("the fixed names were not used")
	}
	// The Keras 1 names of the published files are among the fixed names.
	k1 := mustRead(t, "../testdata/tiny_vgg19_keras1.h5")
	v, err = parseKerasH5("k1.h5", bytes.Replace(k1, []byte("layer_names"), []byte("layer_namez"), 1), h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	sameH5Convs(t, v.Convs, ref.Convs)
	// Without layer_names, the renamed weights are not found.
	_, err = parseKerasH5("x.h5", bytes.Replace(renamed, []byte("layer_names"), []byte("layer_namez"), 1), h5DefaultLimits)
	wantFormatError(t, err, "x.h5", "block1_conv1 has no weight_names attribute and no block1_conv1/kernel:0")
}

// TestReadKerasH5Limits checks the allocation limit is applied before
// anything is read.
func TestReadKerasH5Limits(t *testing.T) {
	for _, file := range []string{"tiny_vgg19_keras.h5", "tiny_vgg19_keras_gzip.h5", "tiny_vgg19_keras_latest.h5"} {
		_, err := parseKerasH5(file, mustRead(t, "../testdata/"+file), h5Limits{maxData: 64})
		wantFormatError(t, err, file, "exceed the limit of 64 bytes")
		t.Log(err)
	}
}

func TestH5Helpers(t *testing.T) {
	// fletcher32 against HDF5's own H5_checksum_fletcher32 (libhdf5 1.10.8
	// called through ctypes).
	long := make([]byte, 1280) // past the 360-word blocks
	for i := range long {
		long[i] = byte(i)
	}
	for _, tc := range []struct {
		in   []byte
		want uint32
	}{{[]byte("abcde"), 0x4ff029c7}, {[]byte("abcdef"), 0x50562a2d}, {long, 0xea0bc13e}} {
		if got := fletcher32(tc.in); got != tc.want {
			t.Errorf("fletcher32(%d bytes) = %#x, want %#x", len(tc.in), got, tc.want)
		}
	}
	// unshuffle undoes HDF5's shuffle: byte j of element i goes to j*n+i.
	in := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	shuffled := []byte{1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12, 13}
	if got := unshuffle(shuffled, 4); !bytes.Equal(got, in) {
		t.Errorf("unshuffle: %v", got)
	}
	// copyChunk: a 2x3 dataset of bytes from 2x2 chunks.
	out := make([]byte, 6)
	copyChunk(out, []byte{1, 2, 4, 5}, []uint64{2, 3}, []uint64{2, 2}, []uint64{0, 0}, 1)
	copyChunk(out, []byte{3, 9, 6, 9}, []uint64{2, 3}, []uint64{2, 2}, []uint64{0, 2}, 1)
	if !bytes.Equal(out, []byte{1, 2, 3, 4, 5, 6}) {
		t.Errorf("copyChunk: %v", out)
	}
}

func FuzzReadKerasH5(f *testing.F) {
	for _, file := range []string{"tiny_vgg19_keras_fuzz_v0.h5", "tiny_vgg19_keras_fuzz_latest.h5",
		"tiny_vgg19_keras_unrelated.h5", "tiny_vgg19_keras.h5", "tiny_vgg19_keras_gzip.h5",
		"tiny_vgg19_keras_latest.h5", "tiny_vgg19_keras_model.h5", "tiny_vgg19_keras_missing.h5"} {
		f.Add(mustRead(f, "../testdata/"+file))
	}
	f.Add(patchEOF(mustRead(f, "../testdata/tiny_vgg19_keras_fuzz_v0.h5")))
	f.Fuzz(func(t *testing.T, b []byte) {
		// parseKerasH5, not ParseKerasH5: the fuzzer must see panics, not
		// the recover that turns them into errors.
		if len(b) > 256<<10 {
			return // larger than any seed: only slower to mutate and minimize
		}
		t0 := time.Now()
		v, err := parseKerasH5("fuzz.h5", b, h5Limits{maxData: 16 << 20})
		if d := time.Since(t0); d > 5*time.Second {
			// Go's fuzzer has no per-input timeout; this catches slow inputs.
			t.Fatalf("took %v: %v", d, err)
		}
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("not a *FormatError: %T %v", err, err)
			}
			return
		}
		if err := v.Check("fuzz.h5"); err != nil {
			t.Fatalf("accepted weights fail Check: %v", err)
		}
	})
}

// TestH5Hardening covers inputs that review, not the fixtures, found
// dangerous.
func TestH5Hardening(t *testing.T) {
	good := mustRead(t, "../testdata/tiny_vgg19_keras.h5")
	f, err := openH5("h.h5", good, h5DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	// A fractal heap whose blocks are smaller than a block header.
	h := &h5FractalHeap{addr: 0, idLen: 8, width: 4, startBlock: 1, maxDirect: 1, offBytes: 4, lenBytes: 2}
	if _, err := f.directObject(h, 0, 0, 1, 0, 0); err == nil {
		t.Error("a 1-byte direct block was accepted")
	}
	// A global heap collection smaller than its header.
	b := append([]byte(nil), good...)
	copy(b[4096:], "GCOL\x01\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00")
	f, _ = openH5("h.h5", b, h5DefaultLimits)
	if _, err := f.globalObject(4096, 1); err == nil || !strings.Contains(err.Error(), "smaller than its header") {
		t.Errorf("global heap: %v", err)
	}
	// A kernel with no output channels and a huge input count must not
	// loop over the input channels.
	d := func(dims ...uint64) *h5Dataset {
		return &h5Dataset{path: "k", typ: &h5Type{class: 1, size: 4}, space: &h5Space{dims: dims},
			layout: []byte{3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}
	}
	_, _, err = kerasConv(f, "l", []*h5Dataset{d(3, 3, 1<<40, 0), d(0)})
	wantFormatError(t, err, "h.h5", "no channels")
}
