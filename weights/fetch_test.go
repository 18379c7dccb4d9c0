package weights

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// payload is a fake weights file.
func payload(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// fakeKnown registers a payload the way the real files are: by full MD5
// (like the Keras .h5) or by a SHA-256 prefix in the file name (torch.hub).
func fakeKnown(name string, data []byte, bySHA bool) Known {
	k := Known{Name: name, Preprocess: "caffe", Format: "h5", ApproxMB: 1}
	if bySHA {
		s := sha256.Sum256(data)
		k.SHA256 = hex.EncodeToString(s[:])[:8]
		k.URL = "https://models.example/deep/path/" + name + "-" + k.SHA256 + ".pth"
		k.Format = "pth"
	} else {
		s := md5.Sum(data)
		k.MD5 = hex.EncodeToString(s[:])
		k.URL = "https://models.example/deep/path/" + name + "_notop.h5"
	}
	return k
}

// fakeServer serves files by base name. Each request is recorded; the
// mode of the n-th request (1-based) says how to answer it.
type fakeServer struct {
	*httptest.Server
	files map[string][]byte

	mu    sync.Mutex
	reqs  []*http.Request
	paths []string
	sent  []int64 // body bytes sent per request
	modes map[int]string
	hold  chan struct{} // mode "hold" waits on it halfway
	half  chan struct{} // closed when a "hold" request is halfway
}

const (
	modeNormal   = ""         // http.ServeContent: full file or a Range
	modeTruncate = "truncate" // declare the full length, send 40%, drop the connection
	modeNoRange  = "norange"  // 200 and the whole file, whatever the Range says
	modeError500 = "500"
	modeHold     = "hold" // send half, flush, wait for hold, send the rest
	modeBadRange = "badrange"
)

func newFakeServer(t *testing.T, files map[string][]byte) *fakeServer {
	s := &fakeServer{files: files, modes: map[int]string{}, hold: make(chan struct{}), half: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// countingWriter adds what it writes to the server's count for request i
// as it goes, so that the count is complete when the client has the body.
type countingWriter struct {
	http.ResponseWriter
	s *fakeServer
	i int
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.s.mu.Lock()
	c.s.sent[c.i] += int64(n)
	c.s.mu.Unlock()
	return n, err
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.paths = append(s.paths, r.URL.Path)
	s.sent = append(s.sent, 0)
	i := len(s.reqs)
	mode := s.modes[i]
	s.mu.Unlock()
	cw := countingWriter{w, s, i - 1}
	data, ok := s.files[filepath.Base(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch mode {
	case modeTruncate:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		cut := len(data) * 4 / 10
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", len(data))
		buf.Write(data[:cut])
		buf.Flush()
	case modeNoRange:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		cw.Write(data)
	case modeError500:
		http.Error(w, "upstream on fire", http.StatusInternalServerError)
	case modeBadRange: // 206, but not from where the client asked
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 1-%d/%d", len(data)-1, len(data)))
		w.Header().Set("Content-Length", fmt.Sprint(len(data)-1))
		w.WriteHeader(http.StatusPartialContent)
		cw.Write(data[1:])
	case modeHold:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		h := len(data) / 2
		cw.Write(data[:h])
		w.(http.Flusher).Flush()
		close(s.half)
		<-s.hold
		cw.Write(data[h:])
	default:
		http.ServeContent(cw, r, filepath.Base(r.URL.Path), time.Time{}, bytes.NewReader(data))
	}
}

func (s *fakeServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// header returns request i's (0-based) header.
func (s *fakeServer) header(i int, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[i].Header.Get(key)
}

// bytesSent returns the body bytes sent for request i (0-based).
func (s *fakeServer) bytesSent(i int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[i]
}

// setup serves one fake file and returns its registry entry and options
// that fetch it into a fresh cache directory.
func setup(t *testing.T, bySHA bool) (*fakeServer, Known, FetchOptions, []byte) {
	data := payload(200_000, 1)
	k := fakeKnown("fake", data, bySHA)
	srv := newFakeServer(t, map[string][]byte{k.FileName(): data})
	var progress bytes.Buffer
	return srv, k, FetchOptions{BaseURL: srv.URL + "/mirror/", Dir: t.TempDir(), Registry: []Known{k}, Progress: &progress}, data
}

func mustNotExist(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (%v)", p, err)
	}
}

func TestFetchDownloadsAndVerifies(t *testing.T) {
	for _, bySHA := range []bool{false, true} {
		t.Run(map[bool]string{false: "md5", true: "sha256-prefix"}[bySHA], func(t *testing.T) {
			srv, k, opts, data := setup(t, bySHA)
			p, err := Fetch(context.Background(), "fake", opts)
			if err != nil {
				t.Fatal(err)
			}
			if p != filepath.Join(opts.Dir, k.FileName()) {
				t.Errorf("path %s, want the URL's base name in the cache", p)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
				t.Fatal("the file differs from what was served")
			}
			mustNotExist(t, p+".part")
			r, err := readOK(p + ".ok")
			if err != nil || r.Size != int64(len(data)) || (r.MD5 == "") == (k.MD5 != "") || (r.SHA256 == "") == (k.SHA256 != "") {
				t.Errorf("sidecar %+v, %v", r, err)
			}
			srv.mu.Lock()
			got := srv.paths[0]
			srv.mu.Unlock()
			if got != "/mirror/"+k.FileName() {
				t.Errorf("requested %s: BaseURL should replace all before the base name", got)
			}
			if ae := srv.header(0, "Accept-Encoding"); ae != "identity" {
				t.Errorf("Accept-Encoding %q: a gzipped body would spoil byte offsets", ae)
			}
			out := opts.Progress.(*bytes.Buffer).String()
			if !strings.Contains(out, "100%") || strings.Contains(out, "\r") {
				t.Errorf("progress to a non-terminal should be plain lines ending at 100%%:\n%s", out)
			}
			t.Logf("progress:\n%s", out)
		})
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	for _, bySHA := range []bool{false, true} {
		t.Run(map[bool]string{false: "md5", true: "sha256-prefix"}[bySHA], func(t *testing.T) {
			srv, k, opts, _ := setup(t, bySHA)
			// The server now has other bytes under the same name.
			srv.files[k.FileName()] = payload(200_000, 2)
			_, err := Fetch(context.Background(), "fake", opts)
			var ce *ChecksumError
			if !errors.As(err, &ce) {
				t.Fatalf("want a *ChecksumError, got %v", err)
			}
			want := k.MD5
			if bySHA {
				want = k.SHA256
			}
			if ce.Want != want || ce.Got == "" || strings.HasPrefix(ce.Got, want) || !ce.Removed {
				t.Errorf("ChecksumError %+v", ce)
			}
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ce.Got) || !strings.Contains(err.Error(), "expected") {
				t.Errorf("message should say expected vs got: %v", err)
			}
			final := filepath.Join(opts.Dir, k.FileName())
			mustNotExist(t, final)
			mustNotExist(t, final+".part")
			t.Log(err)
		})
	}
}

func TestFetchResumesAfterTruncation(t *testing.T) {
	srv, k, opts, data := setup(t, false)
	srv.modes[1] = modeTruncate
	final := filepath.Join(opts.Dir, k.FileName())
	_, err := Fetch(context.Background(), "fake", opts)
	var ie *IncompleteError
	if !errors.As(err, &ie) {
		t.Fatalf("want an *IncompleteError, got %v", err)
	}
	cut := int64(len(data) * 4 / 10)
	if ie.Got != cut || ie.Want != int64(len(data)) || ie.Part != final+".part" || !strings.Contains(err.Error(), "resume") {
		t.Errorf("IncompleteError %+v: %v", ie, err)
	}
	t.Log(err)
	mustNotExist(t, final)
	if st, err := os.Stat(final + ".part"); err != nil || st.Size() != cut {
		t.Fatalf(".part should keep the %d bytes that came: %v %v", cut, st, err)
	}

	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatal("the resumed file differs from what was served")
	}
	if srv.requests() != 2 {
		t.Fatalf("%d requests, want 2", srv.requests())
	}
	if rg := srv.header(1, "Range"); rg != fmt.Sprintf("bytes=%d-", cut) {
		t.Errorf("second request's Range %q, want bytes=%d-", rg, cut)
	}
	if srv.bytesSent(1) != int64(len(data))-cut {
		t.Errorf("second response sent %d bytes, want only the remaining %d", srv.bytesSent(1), int64(len(data))-cut)
	}
	mustNotExist(t, final+".part")
}

func TestFetchServerIgnoresRange(t *testing.T) {
	srv, _, opts, data := setup(t, true)
	srv.modes[1] = modeTruncate
	srv.modes[2] = modeNoRange
	if _, err := Fetch(context.Background(), "fake", opts); err == nil {
		t.Fatal("a truncated download succeeded")
	}
	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if srv.header(1, "Range") == "" {
		t.Error("the second request did not ask for a range")
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatalf("got %d bytes, want the %d served (a 200 must restart, not append)", len(b), len(data))
	}
	if !strings.Contains(opts.Progress.(*bytes.Buffer).String(), "starting over") {
		t.Error("progress does not say the download started over")
	}
}

func TestFetchWrongContentRangeRestarts(t *testing.T) {
	srv, _, opts, data := setup(t, false)
	srv.modes[1] = modeTruncate
	srv.modes[2] = modeBadRange
	Fetch(context.Background(), "fake", opts)
	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatal("file differs")
	}
	if n := srv.requests(); n != 3 || srv.header(2, "Range") != "" {
		t.Fatalf("%d requests; the third should ask for the whole file", n)
	}
}

// A .part that is already complete (the process died before the rename)
// gets a 416 for its range and is verified and kept.
func TestFetchCompletePart(t *testing.T) {
	_, k, opts, data := setup(t, true)
	final := filepath.Join(opts.Dir, k.FileName())
	if err := os.WriteFile(final+".part", data, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatal("file differs")
	}
	mustNotExist(t, final+".part")
}

func TestFetchServerError(t *testing.T) {
	srv, k, opts, _ := setup(t, false)
	srv.modes[1] = modeError500
	_, err := Fetch(context.Background(), "fake", opts)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 500 || !strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Fatalf("want an *HTTPError with status 500, got %v", err)
	}
	mustNotExist(t, filepath.Join(opts.Dir, k.FileName()))
	mustNotExist(t, filepath.Join(opts.Dir, k.FileName()+".part"))

	delete(srv.files, k.FileName())
	_, err = Fetch(context.Background(), "fake", opts)
	if !errors.As(err, &he) || he.StatusCode != 404 || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "by hand") {
		t.Fatalf("want an *HTTPError with status 404 and the manual hint, got %v", err)
	}
	t.Log(err)
}

func TestFetchCacheHitNoNetwork(t *testing.T) {
	srv, _, opts, data := setup(t, false)
	p1, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	opts.Progress.(*bytes.Buffer).Reset()
	p2, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatalf("a cached file needed the network: %v", err)
	}
	if p1 != p2 || srv.requests() != 1 {
		t.Fatalf("paths %s %s, %d requests", p1, p2, srv.requests())
	}
	if out := opts.Progress.(*bytes.Buffer).String(); out != "" {
		t.Errorf("a cache hit printed %q", out)
	}

	// The sidecar vouches for the file while its size and mtime stand:
	// the same-size change below goes unnoticed (by design: no rehash)...
	st, _ := os.Stat(p1)
	bad := append([]byte{}, data...)
	bad[0] ^= 1
	os.WriteFile(p1, bad, 0o644)
	os.Chtimes(p1, st.ModTime(), st.ModTime())
	if _, err := Fetch(context.Background(), "fake", opts); err != nil {
		t.Fatalf("sidecar not trusted: %v", err)
	}
	// ...until the mtime moves, when the file is hashed again, found wrong,
	// and (the server being down) the error says so.
	os.Chtimes(p1, st.ModTime().Add(time.Second), st.ModTime().Add(time.Second))
	_, err = Fetch(context.Background(), "fake", opts)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not the published file") {
		t.Fatalf("a changed cached file was not re-verified: %v", err)
	}
	if b, _ := os.ReadFile(p1); !bytes.Equal(b, bad) {
		t.Error("the cached file was removed before a good one replaced it")
	}

	// A right file without a sidecar (placed by hand) is hashed once and
	// gets one.
	os.WriteFile(p1, data, 0o644)
	os.Remove(p1 + ".ok")
	if _, err := Fetch(context.Background(), "fake", opts); err != nil {
		t.Fatalf("a file placed by hand was not accepted: %v", err)
	}
	if _, err := readOK(p1 + ".ok"); err != nil {
		t.Errorf("no sidecar after verifying: %v", err)
	}
}

// A wrong file in the cache is replaced by a verified download.
func TestFetchReplacesBadCachedFile(t *testing.T) {
	_, k, opts, data := setup(t, false)
	final := filepath.Join(opts.Dir, k.FileName())
	os.WriteFile(final, []byte("an HTML error page saved by a browser"), 0o644)
	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatal("the bad file was not replaced")
	}
	if !strings.Contains(opts.Progress.(*bytes.Buffer).String(), "downloading it again") {
		t.Error("progress does not say why it downloads")
	}
}

func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestFetchOffline(t *testing.T) {
	_, k, opts, _ := setup(t, false)
	opts.BaseURL = closedURL(t)
	_, err := Fetch(context.Background(), "fake", opts)
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("want an *UnreachableError, got %v", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Errorf("the dial error is not kept: %v", err)
	}
	final := filepath.Join(opts.Dir, k.FileName())
	msg := err.Error()
	for _, want := range []string{opts.BaseURL + "/" + k.FileName(), k.URL, final, "curl", "browser", "stylize weights convert", "-weights FILE", k.MD5} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not mention %q", want)
		}
	}
	t.Log(msg)
	mustNotExist(t, final)
	mustNotExist(t, final+".part")
}

// While the body streams in, only the .part exists; the final name appears
// after verification.
func TestFetchPartNeverFinal(t *testing.T) {
	srv, k, opts, data := setup(t, false)
	srv.modes[1] = modeHold
	final := filepath.Join(opts.Dir, k.FileName())
	done := make(chan error, 1)
	go func() {
		_, err := Fetch(context.Background(), "fake", opts)
		done <- err
	}()
	<-srv.half
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, err := os.Stat(final + ".part"); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no .part while downloading")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustNotExist(t, final)
	close(srv.hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(final); !bytes.Equal(b, data) {
		t.Fatal("file differs")
	}
	mustNotExist(t, final+".part")
}

func TestFetchCanceledKeepsPart(t *testing.T) {
	srv, k, opts, _ := setup(t, false)
	srv.modes[1] = modeHold
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Fetch(ctx, "fake", opts)
		done <- err
	}()
	<-srv.half
	final := filepath.Join(opts.Dir, k.FileName())
	for i := 0; i < 2000; i++ {
		if st, err := os.Stat(final + ".part"); err == nil && st.Size() > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	err := <-done
	close(srv.hold)
	var ie *IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want an *IncompleteError wrapping context.Canceled, got %v", err)
	}
	if st, err := os.Stat(final + ".part"); err != nil || st.Size() == 0 {
		t.Fatalf("the .part was not kept: %v", err)
	}
	mustNotExist(t, final)
}

func TestFetchBaseURLFromEnv(t *testing.T) {
	_, _, opts, data := setup(t, true)
	t.Setenv(BaseURLEnv, opts.BaseURL)
	opts.BaseURL = ""
	p, err := Fetch(context.Background(), "fake", opts)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, data) {
		t.Fatal("file differs")
	}
}

func TestFetchUnknownName(t *testing.T) {
	_, err := Fetch(context.Background(), "vgg16", FetchOptions{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "vgg19-keras") {
		t.Fatalf("error %v should list the known names", err)
	}
}

func TestRegistry(t *testing.T) {
	if got := strings.Join(KnownNames(), " "); got != "vgg19-keras vgg19-caffe vgg19-torch" {
		t.Fatalf("KnownNames %q", got)
	}
	want := map[string][3]string{ // file name, preprocess, format
		"vgg19-keras": {"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "caffe", "h5"},
		"vgg19-caffe": {"vgg19-d01eb7cb.pth", "caffe", "pth"},
		"vgg19-torch": {"vgg19-dcbb9e9d.pth", "torch", "pth"},
	}
	for name, w := range want {
		k, ok := Lookup(name)
		if !ok || k.FileName() != w[0] || k.Preprocess != w[1] || k.Format != w[2] || !strings.HasPrefix(k.URL, "https://") {
			t.Errorf("%s: %+v", name, k)
		}
		if k.MD5 == "" && (len(k.SHA256) < 8 || !strings.Contains(k.FileName(), k.SHA256)) {
			t.Errorf("%s: a .pth is verified by the SHA-256 prefix in its name (torch.hub's convention)", name)
		}
	}
	if k, _ := Lookup("vgg19-keras"); k.MD5 != "253f8cb515780f3b799900260a226db6" {
		t.Errorf("keras MD5 %s", k.MD5)
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup found an unknown name")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv(CacheEnv, "/somewhere/else")
	if d, err := CacheDir(); err != nil || d != "/somewhere/else" {
		t.Fatalf("CacheDir %q %v with %s set", d, err, CacheEnv)
	}
	t.Setenv(CacheEnv, "")
	d, err := CacheDir()
	if err != nil {
		t.Skipf("no user cache directory here: %v", err)
	}
	if !strings.HasSuffix(d, filepath.Join("stylize", "weights")) {
		t.Fatalf("CacheDir %q", d)
	}
}

func TestFindCached(t *testing.T) {
	a, b := payload(1000, 5), payload(1000, 6)
	reg := []Known{fakeKnown("first", a, false), fakeKnown("second", b, true)}
	old := registry
	registry = reg
	t.Cleanup(func() { registry = old })
	dir := t.TempDir()
	t.Setenv(CacheEnv, dir)
	if _, _, ok := FindCached(); ok {
		t.Fatal("found something in an empty cache")
	}
	os.WriteFile(filepath.Join(dir, reg[1].FileName()), b, 0o644)
	os.WriteFile(filepath.Join(dir, reg[0].FileName()), b, 0o644) // wrong bytes
	p, name, ok := FindCached()
	if !ok || name != "second" || p != filepath.Join(dir, reg[1].FileName()) {
		t.Fatalf("FindCached = %s %s %v, want the verified second", p, name, ok)
	}
	os.WriteFile(filepath.Join(dir, reg[0].FileName()), a, 0o644)
	if _, name, _ := FindCached(); name != "first" {
		t.Fatalf("FindCached = %s, want the preferred first", name)
	}
	if p, ok := Cached("second"); !ok || !strings.HasSuffix(p, reg[1].FileName()) {
		t.Fatalf("Cached(second) = %s %v", p, ok)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
		{"bytes x-1/2", 0, 0, false},
	} {
		s, tot, ok := parseContentRange(tc.in)
		if ok != tc.ok || (ok && (s != tc.start || tot != tc.total)) {
			t.Errorf("%q: %d %d %v", tc.in, s, tot, ok)
		}
	}
}

func TestProgressTerminalStyle(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "x", 0, 1000)
	p.tty = true
	p.Write(make([]byte, 1000))
	p.finish()
	out := b.String()
	if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100%") || !strings.Contains(out, "/s") {
		t.Fatalf("terminal progress %q", out)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		t.Logf("%q", sc.Text())
	}
	if humanBytes(80_134_624) != "80.1 MB" || humanBytes(999) != "999 B" {
		t.Errorf("humanBytes: %s %s", humanBytes(80_134_624), humanBytes(999))
	}
}
