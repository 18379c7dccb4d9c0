package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The fixtures come from testdata/gen/make_pth.py (PyTorch 1.13).

func readRef(t testing.TB) *VGG19 {
	t.Helper()
	f, err := ReadSafetensors("../testdata/tiny_vgg19.safetensors")
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

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantFormatError checks err is a *FormatError naming file and saying each
// of msgs.
func wantFormatError(t *testing.T, err error, file string, msgs ...string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FormatError, got %T %v", err, err)
	}
	if fe.File != file || !strings.Contains(err.Error(), file) {
		t.Fatalf("error %q does not name %s", err, file)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Fatalf("error %q should say %q", err, m)
		}
	}
}

func TestReadPthMatchesSafetensors(t *testing.T) {
	ref := readRef(t)
	for _, tc := range []struct {
		file string
		tol  float64 // relative; 0 means bit-identical
	}{
		{"tiny_vgg19.pth", 0},                // zip, float32
		{"tiny_vgg19_legacy.pth", 0},         // legacy, float32
		{"tiny_vgg19_f64_features.pth", 0},   // zip, float64, "N.weight", strided
		{"tiny_vgg19_half_module.pth", 1e-3}, // legacy, float16, "module.features.N"
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := "../testdata/" + tc.file
			v, err := ReadPth(path)
			if err != nil {
				t.Fatal(err)
			}
			if v.Source != path || v.Preprocess != "" || v.Synthetic {
				t.Fatalf("Source %q Preprocess %q Synthetic %v", v.Source, v.Preprocess, v.Synthetic)
			}
			if len(v.Convs) != len(ref.Convs) {
				t.Fatalf("%d convs, want %d", len(v.Convs), len(ref.Convs))
			}
			for i, c := range v.Convs {
				r := ref.Convs[i]
				if c.Cout != r.Cout || c.Cin != r.Cin || len(c.W) != len(r.W) || len(c.B) != len(r.B) {
					t.Fatalf("conv %d: (%d,%d) with %d/%d values, want (%d,%d)", i, c.Cout, c.Cin, len(c.W), len(c.B), r.Cout, r.Cin)
				}
				for _, p := range [][2][]float32{{c.W, r.W}, {c.B, r.B}} {
					for j := range p[0] {
						got, want := p[0][j], p[1][j]
						if tc.tol == 0 && math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("conv %d value %d: %v, want %v", i, j, got, want)
						}
						if d := math.Abs(float64(got - want)); d > tc.tol*math.Abs(float64(want))+1e-7 {
							t.Fatalf("conv %d value %d: %v, want %v within %g", i, j, got, want, tc.tol)
						}
					}
				}
			}
			if w := v.Widths(); len(w) != 5 || w[0] != 4 || w[4] != 16 {
				t.Fatalf("widths %v", w)
			}
		})
	}
}

// TestPthBigEndianZip byte-swaps the zip fixture's storages and marks it
// byteorder "big", as PyTorch 2 does on big-endian machines.
func TestPthBigEndianZip(t *testing.T) {
	ref := readRef(t)
	big := rezip(t, mustRead(t, "../testdata/tiny_vgg19.pth"), func(name string, b []byte) ([]byte, bool) {
		if strings.Contains(name, "/data/") {
			b = append([]byte(nil), b...)
			for i := 0; i+4 <= len(b); i += 4 {
				b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
			}
		}
		return b, true
	}, map[string][]byte{"tiny_vgg19/byteorder": []byte("big")})
	v, err := ParsePth("big.pth", big)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range v.Convs {
		for j, x := range c.W {
			if x != ref.Convs[i].W[j] {
				t.Fatalf("conv %d weight %d: %v, want %v", i, j, x, ref.Convs[i].W[j])
			}
		}
	}
}

func TestPthRejectsMaliciousPickle(t *testing.T) {
	marker := "/tmp/stylize_pth_pwned" // what the fixture's command would write
	os.Remove(marker)
	path := "../testdata/malicious_os_system.pth"
	_, err := ReadPth(path)
	wantFormatError(t, err, path, "forbidden global os.system")
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("%s exists: something ran", marker)
	}
	t.Log(err)

	// The same attack through other opcodes and in the legacy layout.
	call := func(global []byte, arg string) []byte {
		p := &pk{}
		p.b = append(p.b, 0x80, 2)
		p.b = append(p.b, global...)
		p.str(arg)
		p.b = append(p.b, 0x85, 'R', '.')
		return p.b
	}
	stackGlobal := func(m, n string) []byte {
		p := &pk{}
		p.str(m)
		p.str(n)
		p.b = append(p.b, 0x93)
		return p.b
	}
	cases := []struct {
		name string
		data []byte
		msg  string
	}{
		{"legacy os.system", legacyFile(call([]byte("cos\nsystem\n"), "echo hi"), nil, nil), "forbidden global os.system"},
		{"legacy builtins.eval by STACK_GLOBAL", legacyFile(call(stackGlobal("builtins", "eval"), "1+1"), nil, nil), "forbidden global builtins.eval"},
		{"zip subprocess.Popen", zipFile("archive/", call([]byte("csubprocess\nPopen\n"), "ls"), nil), "forbidden global subprocess.Popen"},
		{"zip INST posix.system", zipFile("x/", append([]byte("\x80\x02(X\x02\x00\x00\x00lsiposix\nsystem\n"), '.'), nil), "forbidden global posix.system"},
		{"torch.load itself", zipFile("x/", call(stackGlobal("torch", "load"), "a.pth"), nil), "forbidden global torch.load"},
		{"storage class called", zipFile("x/", call([]byte("ctorch\nFloatStorage\n"), "x"), nil), "torch.FloatStorage cannot be called"},
		{"whole nn.Module", zipFile("x/", []byte("\x80\x02ctorchvision.models.vgg\nVGG\n)\x81."), nil), "forbidden global torchvision.models.vgg.VGG"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePth("evil.pth", tc.data)
			wantFormatError(t, err, "evil.pth", tc.msg)
			t.Log(err)
		})
	}
}

func TestPthBadLayers(t *testing.T) {
	for _, tc := range []struct {
		file string
		msgs []string
	}{
		{"tiny_vgg19_badshape.pth", []string{"features.5.weight", "[8 4 1 1]", "(Cout,Cin,3,3)"}},
		{"tiny_vgg19_missing.pth", []string{"features.10 is missing", "features.12 is present"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := "../testdata/" + tc.file
			_, err := ReadPth(path)
			wantFormatError(t, err, path, tc.msgs...)
			t.Log(err)
		})
	}
}

// A stored zip entry whose bytes were overwritten fails its CRC-32: the
// weights are refused, not read changed.
func TestPthDamagedCRC(t *testing.T) {
	good := mustRead(t, "../testdata/tiny_vgg19.pth")
	want, err := ParsePth("good.pth", good)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, f := range zr.File {
		if !strings.Contains(f.Name, "/data/") || f.Method != zip.Store || f.UncompressedSize64 < 64 {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), good...)
		for i := int64(0); i < 20; i++ {
			bad[off+16+i] ^= 0x5a
		}
		v, err := ParsePth("damaged.pth", bad)
		switch {
		case err != nil && strings.Contains(err.Error(), "CRC-32"):
			damaged++
			if damaged == 1 {
				t.Log(err)
			}
		case err != nil:
			t.Fatalf("%s with 20 bytes overwritten: %v, want a CRC-32 error", f.Name, err)
		case !reflect.DeepEqual(v.Convs, want.Convs):
			t.Fatalf("%s with 20 bytes overwritten was read, with changed weights", f.Name)
		}
		// Otherwise the record is one the reader does not use.
	}
	if damaged == 0 {
		t.Fatal("no stored data record in tiny_vgg19.pth to damage")
	}
}

func TestPthTruncated(t *testing.T) {
	for _, file := range []string{"tiny_vgg19.pth", "tiny_vgg19_legacy.pth", "tiny_vgg19_half_module.pth"} {
		good := mustRead(t, "../testdata/"+file)
		for _, n := range []int{0, 1, 2, 10, 15, 21, 100, 1000, len(good) / 3, len(good) / 2, len(good) - 1000, len(good) - 22, len(good) - 1} {
			_, err := ParsePth(file, good[:n])
			wantFormatError(t, err, file)
			if n == len(good)/2 {
				t.Logf("%s cut to %d bytes: %v", file, n, err)
			}
		}
	}
}

func TestPthGarbage(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	random := make([]byte, 4096)
	r.Read(random)
	random[0] = 0x37
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02")
	good := mustRead(t, "../testdata/tiny_vgg19.pth")

	// Rebuild the zip fixture without one storage record, and with NaN.
	dropOne := rezip(t, good, func(name string, b []byte) ([]byte, bool) {
		return b, !strings.HasSuffix(name, "/data/3")
	}, nil)
	withNaN := rezip(t, good, func(name string, b []byte) ([]byte, bool) {
		if strings.HasSuffix(name, "/data/0") {
			b = append([]byte(nil), b...)
			binary.LittleEndian.PutUint32(b[8:], math.Float32bits(float32(math.NaN())))
		}
		return b, true
	}, nil)
	short := rezip(t, good, func(name string, b []byte) ([]byte, bool) {
		if strings.HasSuffix(name, "/data/2") {
			b = b[:len(b)-4]
		}
		return b, true
	}, nil)
	noPkl := rezip(t, good, func(name string, b []byte) ([]byte, bool) {
		return b, !strings.HasSuffix(name, "data.pkl")
	}, nil)
	script := rezip(t, good, func(name string, b []byte) ([]byte, bool) { return b, true }, map[string][]byte{"tiny_vgg19/constants.pkl": nil})

	cases := []struct {
		name string
		data []byte
		msgs []string
	}{
		{"empty", nil, []string{"empty"}},
		{"png", png, []string{"not a PyTorch file", "PNG"}},
		{"random", random, []string{"not a PyTorch file"}},
		{"text", []byte("hello, world\n"), []string{"not a PyTorch file"}},
		{"random after PROTO", append([]byte{0x80, 2}, random...), []string{"pickle"}},
		{"plain pickle", []byte("\x80\x02}q\x00."), []string{"not a legacy torch.save file"}},
		{"zip without data.pkl", noPkl, []string{"without <name>/data.pkl"}},
		{"zip of something else", zipOf(t, map[string][]byte{"a.txt": []byte("hi")}), []string{"without <name>/data.pkl"}},
		{"missing storage record", dropOne, []string{"storage record tiny_vgg19/data/3 is missing"}},
		{"short storage record", short, []string{"tiny_vgg19/data/2", "truncated"}},
		{"NaN weight", withNaN, []string{"features.0: value 2 is NaN"}},
		{"TorchScript", script, []string{"TorchScript"}},
		{"legacy wrong protocol", append(legacyFile(nil, nil, nil)[:15], "\x80\x02M\xe8\x03."...), []string{"protocol version 1000"}},
		{"legacy missing storage data", legacyFile(tinyObject("FloatStorage", 2), []string{"0"}, tinyData(4, 2)[:8+2*27*4]), []string{`storage "1" is used but its data is missing`}},
		{"legacy wrong storage size", legacyFile(tinyObject("FloatStorage", 2), []string{"0", "1"}, make([]byte, 200)), []string{`storage "0" holds 0 elements, the pickle says 54`}},
		{"integer weights", legacyFile(tinyObject("LongStorage", 1), []string{"0", "1"}, tinyData(8, 1)), []string{"features.0.weight is of type I64"}},
		{"not a dict", zipFile("x/", []byte("\x80\x02]."), nil), []string{"is a list, not a state dict"}},
		{"no features", zipFile("x/", []byte("\x80\x02}X\x01\x00\x00\x00aK\x01s."), nil), []string{`no tensor named features.0.weight`, `"a"`}},
		{"stack underflow", zipFile("x/", []byte("\x80\x02R."), nil), []string{"stack underflow"}},
		{"bad memo", zipFile("x/", []byte("\x80\x02h\x05."), nil), []string{"memo entry 5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePth("junk.pth", tc.data)
			wantFormatError(t, err, "junk.pth", tc.msgs...)
			t.Log(err)
		})
	}
}

// TestPthTinyBuilt checks the hand-built files the fuzzer starts from.
func TestPthTinyBuilt(t *testing.T) {
	// A training checkpoint {"epoch": 3, "state_dict": OrderedDict(...)}.
	obj := tinyObject("FloatStorage", 2)
	ckpt := append([]byte("\x80\x02}(X\x05\x00\x00\x00epochK\x03X\x0a\x00\x00\x00state_dict"), obj[2:len(obj)-1]...)
	ckpt = append(ckpt, "u."...)
	for name, data := range map[string][]byte{
		"checkpoint": legacyFile(ckpt, []string{"0", "1"}, tinyData(4, 2)),
		"legacy":     legacyFile(tinyObject("FloatStorage", 2), []string{"0", "1"}, tinyData(4, 2)),
		"zip":        zipFile("t/", tinyObject("FloatStorage", 2), map[string][]byte{"0": tinyData(4, 2)[8 : 8+2*27*4], "1": tinyData(4, 2)[8+2*27*4+8:]}),
		"half":       legacyFile(tinyObject("HalfStorage", 2), []string{"0", "1"}, tinyData(2, 2)),
	} {
		v, err := ParsePth(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(v.Convs) != 1 || v.Convs[0].Cout != 2 || v.Convs[0].Cin != 3 {
			t.Fatalf("%s: %+v", name, v.Convs)
		}
	}
}

func TestPthPreprocessGuess(t *testing.T) {
	for path, want := range map[string]string{
		"/models/vgg19-dcbb9e9d.pth": "torch",
		"vgg19-d01eb7cb.pth":         "caffe",
		"../testdata/tiny_vgg19.pth": "",
	} {
		if got := PthPreprocessGuess(path); got != want {
			t.Errorf("PthPreprocessGuess(%q) = %q, want %q", path, got, want)
		}
	}
}

func FuzzParsePth(f *testing.F) {
	for _, file := range []string{"tiny_vgg19.pth", "tiny_vgg19_legacy.pth", "tiny_vgg19_half_module.pth", "malicious_os_system.pth"} {
		f.Add(mustRead(f, "../testdata/"+file))
	}
	f.Add(legacyFile(tinyObject("FloatStorage", 2), []string{"0", "1"}, tinyData(4, 2)))
	f.Add(legacyFile(tinyObject("HalfStorage", 2), []string{"0", "1"}, tinyData(2, 2)))
	f.Add(zipFile("t/", tinyObject("DoubleStorage", 1), map[string][]byte{"0": make([]byte, 27*8), "1": make([]byte, 8)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		// parsePth, not ParsePth: the fuzzer must see panics, not the
		// recover that turns them into errors.
		v, err := parsePth("fuzz.pth", b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("not a *FormatError: %T %v", err, err)
			}
			return
		}
		if err := v.Check("fuzz.pth"); err != nil {
			t.Fatalf("accepted weights fail Check: %v", err)
		}
	})
}

// pk writes pickle opcodes by hand, as torch.save does with protocol 2.
type pk struct{ b []byte }

func (p *pk) raw(s string) { p.b = append(p.b, s...) }
func (p *pk) str(s string) {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}
func (p *pk) int(n int) {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
}
func (p *pk) ints(ns ...int) {
	p.raw("(")
	for _, n := range ns {
		p.int(n)
	}
	p.raw("t")
}

// tinyObject pickles an OrderedDict with features.0.weight (cout,3,3,3) in
// storage "0" and features.0.bias (cout) in storage "1", both of the given
// storage class.
func tinyObject(storage string, cout int) []byte {
	p := &pk{}
	p.raw("\x80\x02ccollections\nOrderedDict\nq\x00)R(")
	tensor := func(key string, size, stride []int) {
		n := 1
		for _, s := range size {
			n *= s
		}
		p.raw("ctorch._utils\n_rebuild_tensor_v2\n((")
		p.str("storage")
		p.raw("ctorch\n" + storage + "\n")
		p.str(key)
		p.str("cpu")
		p.int(n)
		p.raw("tQ")
		p.int(0)
		p.ints(size...)
		p.ints(stride...)
		p.raw("\x89h\x00)RtR")
	}
	p.str("features.0.weight")
	tensor("0", []int{cout, 3, 3, 3}, []int{27, 9, 3, 1})
	p.str("features.0.bias")
	tensor("1", []int{cout}, []int{1})
	p.raw("u.")
	return p.b
}

// tinyData is the legacy storage section for tinyObject: element counts
// and small values of esize bytes each.
func tinyData(esize, cout int) []byte {
	var b []byte
	for _, n := range []int{cout * 27, cout} {
		b = binary.LittleEndian.AppendUint64(b, uint64(n))
		for i := 0; i < n; i++ {
			switch esize {
			case 2:
				b = binary.LittleEndian.AppendUint16(b, 0x3c00) // 1.0 in float16
			case 4:
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(i)/64))
			case 8:
				b = binary.LittleEndian.AppendUint64(b, uint64(i))
			}
		}
	}
	return b
}

// legacyFile lays out the pre-1.6 torch.save format around a pickled object.
func legacyFile(object []byte, keys []string, data []byte) []byte {
	b := []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.") // magic
	b = append(b, "\x80\x02M\xe9\x03."...)                                   // 1001
	b = append(b, "\x80\x02}(X\x0d\x00\x00\x00little_endian\x88u."...)       // sys_info
	if object == nil {
		return b
	}
	b = append(b, object...)
	p := &pk{}
	p.raw("\x80\x02](")
	for _, k := range keys {
		p.str(k)
	}
	p.raw("e.")
	b = append(b, p.b...)
	return append(b, data...)
}

// zipFile lays out the zip torch.save format: prefix+"data.pkl" and
// prefix+"data/"+key for each storage.
func zipFile(prefix string, object []byte, storages map[string][]byte) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		w.Write(b)
	}
	add(prefix+"data.pkl", object)
	for k, v := range storages {
		add(prefix+"data/"+k, v)
	}
	add(prefix+"version", []byte("3\n"))
	z.Close()
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip copies a zip, passing each entry through edit, and adds the
// entries in extra.
func rezip(t *testing.T, data []byte, edit func(name string, b []byte) ([]byte, bool), extra map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if nb, keep := edit(f.Name, b.Bytes()); keep {
			files[f.Name] = nb
		}
	}
	for name, b := range extra {
		files[name] = b
	}
	return zipOf(t, files)
}

// TestUnpickleValues decodes pickles that CPython 3 wrote with protocols
// 0, 2 and 5.
func TestUnpickleValues(t *testing.T) {
	r := &pthReader{name: "t", storages: map[string]*pthStorage{}}
	two70 := new(big.Int).Lsh(big.NewInt(1), 70)
	for _, tc := range []struct {
		name, data string
		want       string
	}{
		// [1, -5, 2**70, -2**70, 1.5, True, None, (1,2), {"a": 1}, b"\xffab", "é中"]
		{"protocol 2", "\x80\x02]q\x00(K\x01J\xfb\xff\xff\xff\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0G?\xf8\x00\x00\x00\x00\x00\x00\x88NK\x01K\x02\x86q\x01}q\x02X\x01\x00\x00\x00aq\x03K\x01sc_codecs\x0aencode\x0aq\x04X\x04\x00\x00\x00\xc3\xbfabq\x05X\x06\x00\x00\x00latin1q\x06\x86q\x07Rq\x08X\x05\x00\x00\x00\xc3\xa9\xe4\xb8\xadq\x09e.",
			`[1 -5 2^70 -2^70 1.5 true None (1 2) {a:1} b"\xffab" "é中"]`},
		// [1, -5, 2**70, 1.5, True, None, (1,2), {"a": 1}, b"ab", bytearray(b"cd"), OrderedDict(x=1), "中"]
		{"protocol 5", "\x80\x05\x95p\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01J\xfb\xff\xff\xff\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@G?\xf8\x00\x00\x00\x00\x00\x00\x88NK\x01K\x02\x86\x94}\x94\x8c\x01a\x94K\x01sC\x02ab\x94\x96\x02\x00\x00\x00\x00\x00\x00\x00cd\x94\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01x\x94K\x01s\x8c\x03\xe4\xb8\xad\x94e.",
			`[1 -5 2^70 1.5 true None (1 2) {a:1} b"ab" b"cd" {x:1} "中"]`},
		// [1, -5, 2**70, 1.5, True, None, (1,2), {"a": 1}, "é中"]
		{"protocol 0", "(lp0\x0aI1\x0aaI-5\x0aaL1180591620717411303424L\x0aaF1.5\x0aaI01\x0aaNa(I1\x0aI2\x0atp1\x0aa(dp2\x0aVa\x0ap3\x0aI1\x0asaV\xe9\x5cu4e2d\x0ap4\x0aa.",
			`[1 -5 2^70 1.5 true None (1 2) {a:1} "é中"]`},
	} {
		v, n, err := unpickle([]byte(tc.data), 0, r.rebuild, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != len(tc.data) {
			t.Fatalf("%s: stopped at %d of %d", tc.name, n, len(tc.data))
		}
		got := showValue(v, two70)
		if got != tc.want {
			t.Fatalf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// showValue prints a decoded pickle value compactly.
func showValue(v any, two70 *big.Int) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return strconv.Quote(v)
	case pyBytes:
		return "b" + strconv.Quote(string(v))
	case *big.Int:
		switch {
		case v.Cmp(two70) == 0:
			return "2^70"
		case new(big.Int).Neg(v).Cmp(two70) == 0:
			return "-2^70"
		}
		return v.String()
	case pyTuple:
		return "(" + showList(v, two70) + ")"
	case *pyList:
		return "[" + showList(v.items, two70) + "]"
	case *pyDict:
		var parts []string
		for i, k := range v.keys {
			ks, _ := k.(string)
			parts = append(parts, ks+":"+showValue(v.vals[i], two70))
		}
		return "{" + strings.Join(parts, " ") + "}"
	}
	return fmt.Sprint(v)
}

func showList(items []any, two70 *big.Int) string {
	parts := make([]string, len(items))
	for i, x := range items {
		parts[i] = showValue(x, two70)
	}
	return strings.Join(parts, " ")
}
