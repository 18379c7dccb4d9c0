package weights

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Known describes a published VGG19 weights file that Fetch can download
// and verify.
type Known struct {
	Name       string // "vgg19-keras", "vgg19-caffe", "vgg19-torch"
	URL        string
	MD5        string // hex MD5 of the whole file, or ""
	SHA256     string // hex SHA-256, or a prefix of it (torch.hub's file names carry one), or ""
	Preprocess string // "caffe" or "torch": what the weights were trained with
	Format     string // "h5" or "pth"
	ApproxMB   int    // the download's size, roughly, for messages
	About      string
}

// FileName is the name the file is cached under: the last element of its
// URL, as a browser would save it.
func (k Known) FileName() string {
	if u, err := url.Parse(k.URL); err == nil && u.Path != "" {
		return path.Base(u.Path)
	}
	return path.Base(k.URL)
}

// about is " (about N MB)", or "" when the size is not known.
func (k Known) about() string {
	if k.ApproxMB <= 0 {
		return ""
	}
	return fmt.Sprintf(" (about %d MB)", k.ApproxMB)
}

// registry lists the known files in order of preference (FindCached's).
// Tests replace it, or pass FetchOptions.Registry.
var registry = []Known{
	{
		Name:       "vgg19-keras",
		URL:        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
		MD5:        "253f8cb515780f3b799900260a226db6",
		Preprocess: "caffe",
		Format:     "h5",
		ApproxMB:   80,
		About:      "Keras Applications' VGG19 without the classifier: the original VGG (Caffe) weights",
	},
	{
		Name:       "vgg19-caffe",
		URL:        "https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth",
		SHA256:     "d01eb7cb",
		Preprocess: "caffe",
		Format:     "pth",
		ApproxMB:   550,
		About:      "the original VGG (Caffe) weights converted to PyTorch, as neural-style-pt uses",
	},
	{
		Name:       "vgg19-torch",
		URL:        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
		SHA256:     "dcbb9e9d",
		Preprocess: "torch",
		Format:     "pth",
		ApproxMB:   550,
		About:      "torchvision's VGG19 (ImageNet weights trained by PyTorch)",
	},
}

// KnownNames returns the names of the known files, in order of preference.
func KnownNames() []string {
	out := make([]string, len(registry))
	for i, k := range registry {
		out[i] = k.Name
	}
	return out
}

// Lookup returns the known file of that name.
func Lookup(name string) (Known, bool) {
	return lookupIn(registry, name)
}

func lookupIn(reg []Known, name string) (Known, bool) {
	for _, k := range reg {
		if k.Name == name {
			return k, true
		}
	}
	return Known{}, false
}

// CacheEnv names the environment variable that, when set, is the
// directory CacheDir returns.
const CacheEnv = "STYLIZE_CACHE"

// BaseURLEnv names the environment variable that Fetch uses as
// FetchOptions.BaseURL when that is empty: a mirror that serves the files
// under their base names (BaseURL/vgg19-dcbb9e9d.pth, ...).
const BaseURLEnv = "STYLIZE_WEIGHTS_BASEURL"

// CacheDir returns the directory downloaded weights live in:
// $STYLIZE_CACHE when set, else os.UserCacheDir()/stylize/weights
// (~/.cache/stylize/weights on Linux). It does not create it.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("weights: no cache directory (%v); set %s to one", err, CacheEnv)
	}
	return filepath.Join(base, "stylize", "weights"), nil
}

// FetchOptions adjusts Fetch. The zero value downloads from the official
// URLs into CacheDir with http.DefaultClient and no progress output.
type FetchOptions struct {
	// BaseURL, when set, replaces everything before the file name in the
	// known URL: the file is fetched from BaseURL + "/" + FileName(). When
	// empty, $STYLIZE_WEIGHTS_BASEURL is used if set.
	BaseURL string
	// Progress, when not nil, receives a progress bar (redrawn in place
	// with \r when it is a terminal, an occasional plain line otherwise).
	Progress io.Writer
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// Dir is the cache directory; "" means CacheDir().
	Dir string
	// Registry, when not nil, replaces the built-in list of known files.
	Registry []Known
}

func (o *FetchOptions) source(k Known) string {
	base := o.BaseURL
	if base == "" {
		base = os.Getenv(BaseURLEnv)
	}
	if base == "" {
		return k.URL
	}
	return strings.TrimRight(base, "/") + "/" + k.FileName()
}

// ChecksumError reports a file whose checksum is not the published one.
type ChecksumError struct {
	Name      string // the known file's name
	File      string // the file checked
	Algo      string // "MD5" or "SHA-256"
	Want, Got string // hex; Want may be a prefix
	Removed   bool   // the file (a download's .part) was deleted
}

func (e *ChecksumError) Error() string {
	want := e.Want
	if e.Algo == "SHA-256" && len(e.Want) < 64 {
		want = "one starting " + e.Want
	}
	s := fmt.Sprintf("weights: %s: %s has %s %s, expected %s", e.Name, e.File, e.Algo, e.Got, want)
	if e.Removed {
		s += " (the download was deleted; run again to download it afresh)"
	}
	return s
}

// HTTPError reports a download the server refused or failed.
type HTTPError struct {
	Name       string
	URL        string
	StatusCode int
	Status     string // "404 Not Found"
	Hint       string // how to install the file by hand
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("weights: downloading %s: GET %s: %s\n%s", e.Name, e.URL, e.Status, e.Hint)
}

// UnreachableError reports a download that could not start because the
// server could not be reached (no network, DNS, refused, TLS). Its message
// says how to put the file in place by hand.
type UnreachableError struct {
	Name string
	URL  string
	Dest string // where the file belongs
	Err  error
	Hint string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("weights: cannot download %s from %s: %v\n%s", e.Name, e.URL, e.Err, e.Hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// IncompleteError reports a download that stopped early. What arrived is
// kept in Part, and the next Fetch resumes from there.
type IncompleteError struct {
	Name string
	URL  string
	Part string
	Got  int64 // bytes in Part
	Want int64 // the whole file's size, or -1 when the server did not say
	Err  error // why it stopped, if known
}

func (e *IncompleteError) Error() string {
	of := ""
	if e.Want >= 0 {
		of = " of " + humanBytes(float64(e.Want))
	}
	why := ""
	if e.Err != nil {
		why = fmt.Sprintf(" (%v)", e.Err)
	}
	return fmt.Sprintf("weights: download of %s from %s stopped after %s%s%s; it is kept in %s: run again to resume",
		e.Name, e.URL, humanBytes(float64(e.Got)), of, why, e.Part)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// manualHint tells how to install a known file without Fetch.
func manualHint(k Known, src, dest string) string {
	sum := ""
	switch {
	case k.MD5 != "":
		sum = "Its MD5 is " + k.MD5
	case len(k.SHA256) < 64:
		sum = "Its SHA-256 starts with " + k.SHA256
	default:
		sum = "Its SHA-256 is " + k.SHA256
	}
	official := ""
	if src != k.URL {
		official = fmt.Sprintf("\n    (the official URL is %s)", k.URL)
	}
	return fmt.Sprintf(`To install it by hand, download%s
    %s%s
with a browser, or with
    curl -L -C - -o '%s' '%s'
so that it is at
    %s
%s; stylize checks it on first use.
Or convert weights you already have with
    stylize weights convert IN OUT.safetensors
or pass any VGG19 weights file with -weights FILE.`, k.about(), src, official, dest, src, dest, sum)
}

// okRecord is the sidecar <file>.ok: the size and modification time of a
// file when it was verified, and its digests, so that a later run can
// trust it without reading it again.
type okRecord struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	MD5     string `json:"md5,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// digests computes the digests a known file is checked with.
type digests struct{ md5, sha hash.Hash }

func newDigests(k Known) *digests {
	d := &digests{}
	if k.MD5 != "" {
		d.md5 = md5.New()
	}
	if k.SHA256 != "" {
		d.sha = sha256.New()
	}
	return d
}

func (d *digests) Write(p []byte) (int, error) {
	if d.md5 != nil {
		d.md5.Write(p)
	}
	if d.sha != nil {
		d.sha.Write(p)
	}
	return len(p), nil
}

func (d *digests) record() okRecord {
	var r okRecord
	if d.md5 != nil {
		r.MD5 = hex.EncodeToString(d.md5.Sum(nil))
	}
	if d.sha != nil {
		r.SHA256 = hex.EncodeToString(d.sha.Sum(nil))
	}
	return r
}

// check compares digests with the published ones.
func (k Known) check(file string, r okRecord) error {
	if k.MD5 == "" && k.SHA256 == "" {
		return fmt.Errorf("weights: %s has no published checksum to verify %s against", k.Name, file)
	}
	if k.MD5 != "" && !strings.EqualFold(r.MD5, k.MD5) {
		return &ChecksumError{Name: k.Name, File: file, Algo: "MD5", Want: strings.ToLower(k.MD5), Got: r.MD5}
	}
	if want := strings.ToLower(k.SHA256); want != "" && (r.SHA256 == "" || !strings.HasPrefix(r.SHA256, want)) {
		return &ChecksumError{Name: k.Name, File: file, Algo: "SHA-256", Want: want, Got: r.SHA256}
	}
	return nil
}

func hashFile(p string, k Known) (okRecord, error) {
	f, err := os.Open(p)
	if err != nil {
		return okRecord{}, err
	}
	defer f.Close()
	d := newDigests(k)
	if _, err := io.Copy(d, f); err != nil {
		return okRecord{}, err
	}
	return d.record(), nil
}

func readOK(p string) (okRecord, error) {
	var r okRecord
	b, err := os.ReadFile(p)
	if err != nil {
		return r, err
	}
	err = json.Unmarshal(b, &r)
	return r, err
}

// verifyCached reports whether dir holds k's file with the right checksum.
// A sidecar <file>.ok whose size and mtime match the file's vouches for
// it without rehashing; otherwise the file is hashed and, when right, the
// sidecar written. bad is the checksum error of a file that is present but
// wrong.
func verifyCached(dir string, k Known) (p string, ok bool, bad error) {
	p = filepath.Join(dir, k.FileName())
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return p, false, nil
	}
	if r, err := readOK(p + ".ok"); err == nil && r.Size == st.Size() && r.MtimeNs == st.ModTime().UnixNano() && k.check(p, r) == nil {
		return p, true, nil
	}
	r, err := hashFile(p, k)
	if err != nil {
		return p, false, fmt.Errorf("weights: %w", err)
	}
	if err := k.check(p, r); err != nil {
		return p, false, err
	}
	r.Size, r.MtimeNs = st.Size(), st.ModTime().UnixNano()
	writeOK(p, r)
	return p, true, nil
}

// writeOK writes the sidecar; failing to is not an error (the next run
// rehashes).
func writeOK(p string, r okRecord) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	writeAtomic(p+".ok", func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// Cached returns the path of the known file name in CacheDir when it is
// there and verified.
func Cached(name string) (string, bool) {
	k, ok := Lookup(name)
	if !ok {
		return "", false
	}
	dir, err := CacheDir()
	if err != nil {
		return "", false
	}
	p, ok, _ := verifyCached(dir, k)
	return p, ok
}

// FindCached returns the first known file, in order of preference
// (vgg19-keras, vgg19-caffe, vgg19-torch), that is in CacheDir and
// verified.
func FindCached() (path, name string, ok bool) {
	for _, k := range registry {
		if p, ok := Cached(k.Name); ok {
			return p, k.Name, true
		}
	}
	return "", "", false
}

// Fetch returns the path of the known weights file name in the cache,
// downloading it first when it is not there.
//
// A cached file that verifies is returned at once, without touching the
// network; its checksum is remembered in a sidecar <file>.ok (size, mtime
// and digest), so that it is rehashed only when its size or mtime change.
// Otherwise the file is downloaded to <file>.part, resuming with an HTTP
// Range request when a .part is there (and starting over when the server
// ignores the range), checked against the published checksum and only
// then renamed to its final name. A download that stops early keeps the
// .part (an *IncompleteError); one with the wrong checksum deletes it (a
// *ChecksumError); a server error is an *HTTPError and an unreachable
// server an *UnreachableError, whose message says how to put the file in
// place by hand.
//
// Two processes fetching the same file at once may spoil each other's
// .part; the checksum catches that and the next run starts over.
func Fetch(ctx context.Context, name string, opts FetchOptions) (string, error) {
	reg := opts.Registry
	if reg == nil {
		reg = registry
	}
	k, ok := lookupIn(reg, name)
	if !ok {
		names := make([]string, len(reg))
		for i, k := range reg {
			names[i] = k.Name
		}
		return "", fmt.Errorf("weights: no known weights named %q (known: %s)", name, strings.Join(names, ", "))
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = CacheDir(); err != nil {
			return "", err
		}
	}
	final, ok, bad := verifyCached(dir, k)
	if ok {
		return final, nil
	}
	pw := opts.Progress
	if pw == nil {
		pw = io.Discard
	}
	if bad != nil {
		fmt.Fprintf(pw, "%v\ndownloading it again\n", bad)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("weights: %w", err)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	src := opts.source(k)
	if err := download(ctx, client, k, src, final, pw); err != nil {
		if bad != nil {
			return "", fmt.Errorf("%w\n(the cached %s is not the published file: %v)", err, final, bad)
		}
		return "", err
	}
	return final, nil
}

// download fetches src into final+".part", resuming it, verifies it and
// renames it to final.
func download(ctx context.Context, client *http.Client, k Known, src, final string, pw io.Writer) (err error) {
	part := final + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	defer func() {
		if f == nil {
			return
		}
		// A failure that got no bytes leaves no empty .part behind.
		if st, serr := f.Stat(); err != nil && serr == nil && st.Size() == 0 {
			f.Close()
			os.Remove(part)
			return
		}
		f.Close()
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	have := st.Size()
	d := newDigests(k)
	if have > 0 {
		// Digest what is there, so that the rest only has to be added.
		if _, err := io.Copy(d, io.NewSectionReader(f, 0, have)); err != nil {
			return fmt.Errorf("weights: reading %s: %w", part, err)
		}
	}
	restart := func() error {
		have, d = 0, newDigests(k)
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		return nil
	}
	fmt.Fprintf(pw, "downloading %s%s from %s\n", k.Name, k.about(), src)
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			return fmt.Errorf("weights: downloading %s from %s: the server's answers to range requests do not add up", k.Name, src)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		// Byte offsets must be those of the file itself, so no transparent
		// gzip.
		req.Header.Set("Accept-Encoding", "identity")
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
			fmt.Fprintf(pw, "resuming after %s\n", humanBytes(float64(have)))
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("weights: downloading %s: %w", k.Name, ctx.Err())
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return &UnreachableError{Name: k.Name, URL: src, Dest: final, Err: err, Hint: manualHint(k, src, final)}
		}
		want := int64(-1)
		switch {
		case resp.StatusCode == http.StatusPartialContent:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if !ok || start != have {
				resp.Body.Close()
				fmt.Fprintf(pw, "the server answered the range request with %q; starting over\n", resp.Header.Get("Content-Range"))
				if err := restart(); err != nil {
					return err
				}
				continue
			}
			want = total
			if want < 0 && resp.ContentLength >= 0 {
				want = have + resp.ContentLength
			}
		case resp.StatusCode == http.StatusOK:
			if have > 0 {
				fmt.Fprintf(pw, "the server does not resume downloads; starting over\n")
				if err := restart(); err != nil {
					resp.Body.Close()
					return err
				}
			}
			want = resp.ContentLength
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
			// Perhaps the .part is already whole.
			resp.Body.Close()
			if r := d.record(); k.check(part, r) == nil {
				return finish(&f, r, part, final)
			}
			if err := restart(); err != nil {
				return err
			}
			continue
		default:
			resp.Body.Close()
			return &HTTPError{Name: k.Name, URL: src, StatusCode: resp.StatusCode, Status: resp.Status, Hint: manualHint(k, src, final)}
		}
		if _, err := f.Seek(have, io.SeekStart); err != nil {
			resp.Body.Close()
			return fmt.Errorf("weights: %w", err)
		}
		bar := newProgress(pw, k.Name, have, want)
		fw := &fileWriter{f: f}
		n, cerr := io.Copy(io.MultiWriter(fw, d, bar), resp.Body)
		resp.Body.Close()
		bar.finish()
		got := have + n
		serr := f.Sync()
		if fw.err != nil { // the disk, not the network
			return fmt.Errorf("weights: writing %s: %w", part, fw.err)
		}
		if cerr == nil && want >= 0 && got < want {
			cerr = io.ErrUnexpectedEOF
		}
		if cerr != nil {
			return &IncompleteError{Name: k.Name, URL: src, Part: part, Got: got, Want: want, Err: cerr}
		}
		if serr != nil {
			return fmt.Errorf("weights: syncing %s: %w", part, serr)
		}
		r := d.record()
		if err := k.check(part, r); err != nil {
			f.Close()
			f = nil
			os.Remove(part)
			if ce, ok := err.(*ChecksumError); ok {
				ce.Removed = true
			}
			return err
		}
		return finish(&f, r, part, final)
	}
}

// fileWriter remembers a write error, to tell it from a read error of
// io.Copy's.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// finish closes the verified .part, renames it to final and writes the
// sidecar with its digests r.
func finish(f **os.File, r okRecord, part, final string) error {
	err := (*f).Close()
	*f = nil
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if err := os.Rename(part, final); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	syncDir(filepath.Dir(final))
	if st, err := os.Stat(final); err == nil {
		r.Size, r.MtimeNs = st.Size(), st.ModTime().UnixNano()
		writeOK(final, r)
	}
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*",
// returned as -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	s, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot = strings.TrimSpace(tot); tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}
