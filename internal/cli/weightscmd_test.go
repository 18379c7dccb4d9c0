package cli

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stylize/stylize/weights"
)

const tinySeed = "../../testdata/tiny_seed.safetensors"

func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = Weights(args, &o, &e)
	return o.String(), e.String(), err
}

var layerLine = regexp.MustCompile(`(?m)^\s*relu\d_\d\s+features\.\d+\s+block\d_conv\d\s`)

func TestWeightsInfoTinySeed(t *testing.T) {
	out, _, err := run(t, "info", tinySeed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out)
	if n := len(layerLine.FindAllString(out, -1)); n != 16 {
		t.Errorf("%d layer lines, want 16", n)
	}
	b, _ := os.ReadFile(tinySeed)
	sha, md := sha256.Sum256(b), md5.Sum(b)
	for _, want := range []string{
		hex.EncodeToString(sha[:]), hex.EncodeToString(md[:]),
		"format           safetensors", "synthetic        false", "preprocess       not stated",
		"16 convs, block widths [8 16 32 64 64]", "[64 32 3 3]", "ref.grad0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("info does not print %q", want)
		}
	}
}

func TestWeightsConvertRoundTrip(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.safetensors")
	stdout, stderr, err := run(t, "convert", "-preprocess", "torch", "-source", "the oracle", tinySeed, out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, "16 convs") || stderr != "" {
		t.Errorf("stdout %q stderr %q", stdout, stderr)
	}
	f, err := weights.ReadSafetensors(tinySeed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := weights.FromSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := weights.ReadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := weights.FromSafetensors(g)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Convs, want.Convs) {
		t.Fatal("the converted convs differ from the original")
	}
	if got.Preprocess != "torch" || got.Source != "the oracle" || got.Synthetic || g.Metadata["format"] != "stylize-vgg19" || len(g.Tensors) != 32 {
		t.Errorf("converted: preprocess %q source %q synthetic %v metadata %v, %d tensors", got.Preprocess, got.Source, got.Synthetic, g.Metadata, len(g.Tensors))
	}
	// Converting the converted file changes nothing.
	out2 := filepath.Join(dir, "again.safetensors")
	if _, _, err := run(t, "convert", out, out2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("a second conversion is not byte-identical")
	}
	info, _, err := run(t, "info", out2)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"preprocess       torch", "source           the oracle", "stylize-vgg19"} {
		if !strings.Contains(info, want) {
			t.Errorf("info of the converted file lacks %q:\n%s", want, info)
		}
	}
	if len(layerLine.FindAllString(info, -1)) != 16 || strings.Contains(info, "not used") {
		t.Errorf("converted file should hold exactly the 16 convs:\n%s", info)
	}
	// Without -preprocess, a file that does not say gets a warning.
	_, stderr, err = run(t, "convert", tinySeed, filepath.Join(dir, "w.safetensors"))
	if err != nil || !strings.Contains(stderr, "-preprocess") {
		t.Errorf("no warning about the missing preprocessing: %q %v", stderr, err)
	}
}

func TestWeightsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pth := write("model.pth", []byte("PK\x03\x04 a zip of tensors"))
	h5 := write("model.h5", []byte("\x89HDF\r\n\x1a\n and groups"))
	junk := write("notes.txt", []byte("hello"))
	out := filepath.Join(dir, "out.safetensors")
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"convert", pth, out}, "not a valid pth file"},
		{[]string{"convert", h5, out}, "not a valid h5 file"},
		{[]string{"info", h5}, "not a valid h5 file"},
		{[]string{"convert", junk, out}, "not a weights file"},
		{[]string{"convert", filepath.Join(dir, "missing.safetensors"), out}, "no such file"},
		{[]string{"convert", tinySeed, filepath.Join(dir, "out.bin")}, "must end in .safetensors"},
		{[]string{"convert", "-preprocess", "rgb", tinySeed, out}, "want caffe or torch"},
		{[]string{"convert", tinySeed}, "give IN and OUT"},
		{[]string{"info"}, "give one FILE"},
		{[]string{"info", pth}, "not a valid pth file"},
		{[]string{"info", junk}, "not a weights file"},
		{[]string{"info", dir}, "directory"},
		{[]string{"fetch", "a", "b"}, "one NAME"},
		{[]string{"list", "x"}, "no arguments"},
		{[]string{"frobnicate"}, "unknown command"},
		{nil, "no command"},
	}
	for _, tc := range cases {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: error %v, want one saying %q", tc.args, err, tc.msg)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed convert wrote OUT")
	}
	for _, args := range [][]string{{"-h"}, {"info", "-h"}, {"convert", "-h"}, {"fetch", "-h"}, {"list", "-help"}} {
		if _, _, err := run(t, args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: %v, want flag.ErrHelp (exit 0)", args, err)
		}
	}
	_, stderr, _ := run(t, "convert", "-h")
	if !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "-preprocess") {
		t.Errorf("convert -h: %q", stderr)
	}
}

func TestSniffFormat(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"a.bin", "PK\x03\x04...", "pth"},
		{"a.bin", "\x80\x02\x8a\x0alegacy", "pth"},
		{"a.bin", "\x89HDF\r\n\x1a\n....", "h5"},
		{"a.weights", "\x02\x00\x00\x00\x00\x00\x00\x00{}", "safetensors"},
		{"b.safetensors", "short", "safetensors"}, // by name; the reader will say what is wrong
		{"b.keras", "x", "h5"},
		{"b.pt", "x", "pth"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o644)
		if got, err := weights.Sniff(p); got != tc.want {
			t.Errorf("%s %q: %q %v, want %s", tc.name, tc.content, got, err, tc.want)
		}
	}
	if got, _ := weights.Sniff(tinySeed); got != "safetensors" {
		t.Errorf("tiny_seed: %s", got)
	}
}

// mirror serves files by base name and counts the requests.
type mirror struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newMirror(t *testing.T, files map[string][]byte) *mirror {
	m := &mirror{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.paths = append(m.paths, r.URL.Path)
		m.mu.Unlock()
		b, ok := files[filepath.Base(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *mirror) requested() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string{}, m.paths...)
}

func TestWeightsFetchFromMirror(t *testing.T) {
	data := bytes.Repeat([]byte("not really VGG19 "), 10000)
	sum := md5.Sum(data)
	k := weights.Known{Name: "fake", URL: "https://example.invalid/models/fake_vgg19.h5", MD5: hex.EncodeToString(sum[:]), Preprocess: "caffe", Format: "h5", ApproxMB: 1}
	fetchRegistry = []weights.Known{k}
	t.Cleanup(func() { fetchRegistry = nil })
	m := newMirror(t, map[string][]byte{"fake_vgg19.h5": data})
	cache := t.TempDir()
	t.Setenv(weights.CacheEnv, cache)
	t.Setenv(weights.BaseURLEnv, m.URL+"/models")

	stdout, stderr, err := run(t, "fetch", "fake")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, "fake_vgg19.h5")
	if stdout != want+"\n" {
		t.Errorf("stdout %q, want the path %s", stdout, want)
	}
	if b, _ := os.ReadFile(want); !bytes.Equal(b, data) {
		t.Error("the fetched file differs")
	}
	if !strings.Contains(stderr, "100%") || !strings.Contains(stderr, m.URL+"/models/fake_vgg19.h5") {
		t.Errorf("progress on stderr: %q", stderr)
	}
	// Cached: no request, no progress, even with the mirror gone.
	m.Close()
	stdout, stderr, err = run(t, "fetch", "-q", "fake")
	if err != nil || stdout != want+"\n" || stderr != "" || len(m.requested()) != 1 {
		t.Errorf("second fetch: %q %q %v, requests %v", stdout, stderr, err, m.requested())
	}
}

// The env var also redirects the real registry's files: the default name
// is vgg19-keras, fetched by its base name and held to its real MD5.
func TestWeightsFetchDefaultUsesMirror(t *testing.T) {
	m := newMirror(t, map[string][]byte{"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5": []byte("an impostor")})
	cache := t.TempDir()
	t.Setenv(weights.CacheEnv, cache)
	t.Setenv(weights.BaseURLEnv, m.URL)
	_, _, err := run(t, "fetch", "-q")
	var ce *weights.ChecksumError
	if !errors.As(err, &ce) || ce.Want != "253f8cb515780f3b799900260a226db6" {
		t.Fatalf("want a checksum error against the Keras MD5, got %v", err)
	}
	if p := m.requested(); len(p) != 1 || p[0] != "/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" {
		t.Errorf("requests %v", p)
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 0 {
		t.Errorf("a bad download left %d files in the cache", len(ents))
	}
}

func TestWeightsFetchOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	l.Close()
	cache := t.TempDir()
	t.Setenv(weights.CacheEnv, cache)
	t.Setenv(weights.BaseURLEnv, base)
	_, _, err = run(t, "fetch", "-q", "vgg19-torch")
	if err == nil {
		t.Fatal("fetched from a closed port")
	}
	for _, want := range []string{base + "/vgg19-dcbb9e9d.pth", "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
		filepath.Join(cache, "vgg19-dcbb9e9d.pth"), "curl", "stylize weights convert", "-weights FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("offline message lacks %q", want)
		}
	}
	t.Log(err)
}

func TestWeightsList(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(weights.CacheEnv, cache)
	out, _, err := run(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range weights.KnownNames() {
		k, _ := weights.Lookup(name)
		if !strings.Contains(out, name) || !strings.Contains(out, k.URL) {
			t.Errorf("list lacks %s or its URL", name)
		}
	}
	if strings.Count(out, "not cached") != 3 || !strings.Contains(out, cache) {
		t.Errorf("list:\n%s", out)
	}
}
