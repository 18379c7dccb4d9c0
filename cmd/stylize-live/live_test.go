package main

// The window's tests build the command, start a private Xvfb display and
// run it there on the GPU the gpu package picks (Mesa's lavapipe where
// there is no hardware GPU), driven by -script, with synthetic weights at
// a tiny size. They look at the frames it captures (the same commands as
// the presented frame, drawn offscreen and read back) and at the state and
// engine image written beside each frame. They never skip: without Xvfb
// they fail and name the package to install.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/live"
)

var (
	liveBin    string // the built command
	display    string // ":N" of the test's Xvfb
	setupErr   error
	testImages string // directory of the generated images
)

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "stylize-live-test")
		if err != nil {
			setupErr = err
			return m.Run()
		}
		defer os.RemoveAll(tmp)
		// The tuning cache of the tests' own (empty: the heuristic's
		// plans), never the user's.
		os.Setenv("STYLIZE_CACHE", filepath.Join(tmp, "cache"))
		if os.Getenv("XDG_RUNTIME_DIR") == "" { // lavapipe's WSI warns without one
			dir := filepath.Join(tmp, "xdg")
			if err := os.Mkdir(dir, 0o700); err == nil {
				os.Setenv("XDG_RUNTIME_DIR", dir)
			}
		}
		liveBin = filepath.Join(tmp, "stylize-live")
		build := exec.Command("go", "build", "-o", liveBin, ".")
		if out, err := build.CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("go build: %v\n%s", err, out)
			return m.Run()
		}
		testImages = filepath.Join(tmp, "images")
		if err := makeTestImages(testImages); err != nil {
			setupErr = err
			return m.Run()
		}
		stop, err := startXvfb()
		if err != nil {
			setupErr = err
			return m.Run()
		}
		defer stop()
		return m.Run()
	}()
	os.Exit(code)
}

// startXvfb starts a private Xvfb on a free display number.
func startXvfb() (func(), error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("the window tests need an X server and found no Xvfb: apt-get install -y xvfb")
	}
	for n := 90 + os.Getpid()%400; n < 1000; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		cmd := exec.Command(path, fmt.Sprintf(":%d", n), "-screen", "0", "1024x768x24", "-nolisten", "tcp")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start Xvfb: %w", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				display = fmt.Sprintf(":%d", n)
				return func() {
					cmd.Process.Signal(syscall.SIGTERM)
					select {
					case <-exited:
					case <-time.After(5 * time.Second):
						cmd.Process.Kill()
					}
				}, nil
			}
			select {
			case <-exited:
				deadline = time.Time{}
			case <-time.After(50 * time.Millisecond):
			}
		}
		cmd.Process.Kill()
		<-exited
		if !strings.Contains(stderr.String(), "already active") && !strings.Contains(stderr.String(), "Server is already") {
			return nil, fmt.Errorf("Xvfb :%d did not start: %s", n, stderr.String())
		}
	}
	return nil, fmt.Errorf("no free X display number for Xvfb")
}

func need(t testing.TB) {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

// makeTestImages writes the images the tests load and drop.
func makeTestImages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gen := func(name string, w, h int, f func(x, y int) color.NRGBA) error {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img.SetNRGBA(x, y, f(x, y))
			}
		}
		fl, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		defer fl.Close()
		return png.Encode(fl, img)
	}
	steps := []error{
		gen("content.png", 48, 32, func(x, y int) color.NRGBA {
			if (x-24)*(x-24)+(y-16)*(y-16) < 100 {
				return color.NRGBA{230, 200, 40, 255}
			}
			return color.NRGBA{uint8(x * 255 / 47), uint8(y * 255 / 31), uint8(128 + 100*math.Sin(float64(x)/5)), 255}
		}),
		gen("content2.png", 40, 40, func(x, y int) color.NRGBA {
			if x > 12 && x < 28 {
				return color.NRGBA{40, 60, 220, 255}
			}
			return color.NRGBA{200, uint8(100 + 3*y), 90, 255}
		}),
		gen("s1.png", 40, 40, func(x, y int) color.NRGBA {
			v := uint8(127 + 127*math.Sin(float64(x+y)*0.8))
			return color.NRGBA{v, 40, 255 - v, 255}
		}),
		gen("s2.png", 48, 40, func(x, y int) color.NRGBA {
			if (x/4+y/4)%2 == 0 {
				return color.NRGBA{255, 128, 200, 255}
			}
			return color.NRGBA{0, 0, 200, 255}
		}),
		gen("s3.png", 36, 36, func(x, y int) color.NRGBA {
			return color.NRGBA{uint8(x * 7), 255 - uint8(y*7), uint8((x * y) % 256), 255}
		}),
		gen("big.png", 200, 200, func(x, y int) color.NRGBA { return color.NRGBA{uint8(x), uint8(y), 0, 255} }),
		os.WriteFile(filepath.Join(dir, "notimage.png"), []byte("this is text, not a picture\n"), 0o644),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	return nil
}

func img(name string) string { return filepath.Join(testImages, name) }

// result is a finished run of the command.
type result struct {
	dir            string
	stdout, stderr string
	code           int
	events         []map[string]any
}

func (r *result) event(name string) map[string]any {
	for _, e := range r.events {
		if e["event"] == name {
			return e
		}
	}
	return nil
}

// baseArgs is a tiny, fast configuration: synthetic weights, narrow
// blocks, a 32-pixel image.
func baseArgs(dir string) []string {
	return []string{"-content", img("content.png"), "-style", img("s1.png") + "," + img("s2.png"),
		"-weights", "synthetic", "-widths", "4,8,16,32,32", "-size", "32",
		"-out", filepath.Join(dir, "out.png"), "-capture-dir", dir}
}

// runLive runs the command with args and a script (written to a file)
// on the test's display and waits for it.
func runLive(t testing.TB, args []string, script string, env ...string) *result {
	t.Helper()
	need(t)
	dir := t.TempDir()
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	if script != "" {
		p := filepath.Join(dir, "script.txt")
		if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-script", p)
	}
	return runIn(t, dir, args, env, nil)
}

func runIn(t testing.TB, dir string, args, env []string, onLine func(*exec.Cmd, string)) *result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, liveBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "DISPLAY="+display), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		stdout.WriteString(line + "\n")
		if onLine != nil {
			onLine(cmd, line)
		}
	}
	err = cmd.Wait()
	r := &result{dir: dir, stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("stylize-live timed out\nstderr:\n%s", r.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil {
			r.events = append(r.events, e)
		}
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("stylize-live panicked:\n%s", r.stderr)
	}
	t.Logf("exit %d; summary %v", r.code, r.event("done"))
	return r
}

func wantExit(t testing.TB, r *result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstderr:\n%s", r.code, code, r.stderr)
	}
}

// capture is one captured frame with what was written beside it.
type capture struct {
	name    string
	frame   *image.NRGBA
	st      live.State
	x       []float32 // the engine's image, (3,H,W)
	content []float32 // the content at the same size
}

func loadCapture(t testing.TB, r *result, name string) *capture {
	t.Helper()
	base := filepath.Join(r.dir, name)
	c := &capture{name: name}
	f, err := os.Open(base + ".png")
	if err != nil {
		t.Fatalf("capture %s: %v\nstderr:\n%s", name, err, r.stderr)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	c.frame = image.NewNRGBA(m.Bounds())
	for y := m.Bounds().Min.Y; y < m.Bounds().Max.Y; y++ {
		for x := m.Bounds().Min.X; x < m.Bounds().Max.X; x++ {
			c.frame.Set(x, y, m.At(x, y))
		}
	}
	js, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &c.st); err != nil {
		t.Fatal(err)
	}
	c.x = readF32(t, base+".image.f32")
	c.content = readF32(t, base+".content.f32")
	if len(c.x) != 3*c.st.ImageW*c.st.ImageH || len(c.content) != len(c.x) {
		t.Fatalf("%s: image of %d values for %dx%d", name, len(c.x), c.st.ImageW, c.st.ImageH)
	}
	return c
}

func readF32(t testing.TB, p string) []float32 {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func q8(v float64) float64 { return math.Round(math.Min(math.Max(v, 0), 1) * 255) }

// expectedPixels is what the display should show of x: the image itself,
// or in the content's colours (imageio.OriginalColors, as the saves do).
func (c *capture) expectedPixels(t *testing.T, orig bool) []float32 {
	if !orig {
		return c.x
	}
	W, H := c.st.ImageW, c.st.ImageH
	o, err := imageio.OriginalColors(imageio.Image{H: H, W: W, Pix: c.content}, imageio.Image{H: H, W: W, Pix: c.x})
	if err != nil {
		t.Fatal(err)
	}
	return o.Pix
}

// checkDisplay compares every displayed pixel of the image (outside the
// HUD and help, inside the area, away from the nearest-neighbour cell
// edges where rounding decides) with the engine's image, quantised to 8
// bits, and returns how many were compared.
func checkDisplay(t *testing.T, c *capture, tol float64) int {
	t.Helper()
	want := c.expectedPixels(t, c.st.OriginalColors)
	W, H := c.st.ImageW, c.st.ImageH
	n := W * H
	r := c.st.ImageRect
	area := c.st.ImageArea
	checked, bad := 0, 0
	for py := 0; py < c.st.Framebuffer[1]; py++ {
		for px := 0; px < c.st.Framebuffer[0]; px++ {
			fx, fy := float64(px)+0.5, float64(py)+0.5
			if !area.Contains(fx, fy) || c.st.HUDRect.Contains(fx, fy) || c.st.HelpRect.Contains(fx, fy) {
				continue
			}
			u := (fx - r[0]) / r.W() * float64(W)
			v := (fy - r[1]) / r.H() * float64(H)
			if u < 0 || v < 0 || u >= float64(W) || v >= float64(H) {
				continue
			}
			if fu, fv := u-math.Floor(u), v-math.Floor(v); fu < 0.02 || fu > 0.98 || fv < 0.02 || fv > 0.98 {
				continue
			}
			k := int(v)*W + int(u)
			o := c.frame.PixOffset(px, py)
			got := c.frame.Pix[o : o+3]
			checked++
			for ch := 0; ch < 3; ch++ {
				if d := math.Abs(q8(float64(want[ch*n+k])) - float64(got[ch])); d > tol {
					bad++
					if bad <= 3 {
						t.Errorf("%s: pixel (%d,%d) = image (%d,%d): channel %d shows %d, engine %.4f (%.0f)", c.name, px, py, int(u), int(v), ch, got[ch], want[ch*n+k], q8(float64(want[ch*n+k])))
					}
					break
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("%s: only %d image pixels on screen (rect %v)", c.name, checked, r)
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d displayed pixels differ from the engine's image", c.name, bad, checked)
	}
	t.Logf("%s: %d displayed pixels match the engine's image (iteration %d)", c.name, checked, c.st.Iter)
	return checked
}

// diffIn counts the pixels that differ between two frames inside r.
func diffIn(a, b *capture, r live.Rect) int {
	n := 0
	for py := int(r[1]); py < int(r[3]); py++ {
		for px := int(r[0]); px < int(r[2]); px++ {
			if px < 0 || py < 0 || px >= a.frame.Rect.Dx() || py >= a.frame.Rect.Dy() || px >= b.frame.Rect.Dx() || py >= b.frame.Rect.Dy() {
				continue
			}
			oa, ob := a.frame.PixOffset(px, py), b.frame.PixOffset(px, py)
			if !bytes.Equal(a.frame.Pix[oa:oa+3], b.frame.Pix[ob:ob+3]) {
				n++
			}
		}
	}
	return n
}

func sameF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func relClose(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b))
}

// hudHas reports whether the HUD's text (wrapped lines joined) has s.
func hudHas(c *capture, s string) bool {
	return strings.Contains(strings.Join(c.st.HUD, " "), s)
}

// TestDisplay: the window shows the engine's image (no CPU copy: the
// fragment shader reads the storage buffer), it changes while the run goes
// on and stops while paused, and the HUD is drawn.
func TestDisplay(t *testing.T) {
	r := runLive(t, baseArgs("$DIR"), `
wait-iter 3
capture run1.png
wait-iter +3
capture run2.png
key space
wait 200ms
capture pause1.png
wait 500ms
capture pause2.png
key space
wait-iter +2
capture run3.png
quit
`)
	wantExit(t, r, 0)
	run1, run2 := loadCapture(t, r, "run1"), loadCapture(t, r, "run2")
	p1, p2, run3 := loadCapture(t, r, "pause1"), loadCapture(t, r, "pause2"), loadCapture(t, r, "run3")
	for _, c := range []*capture{run1, run2, p1, p2, run3} {
		checkDisplay(t, c, 1)
	}
	if run2.st.Iter < run1.st.Iter+3 {
		t.Errorf("iterations %d then %d: want at least 3 more", run1.st.Iter, run2.st.Iter)
	}
	if sameF32(run1.x, run2.x) {
		t.Errorf("the engine's image did not change between iterations %d and %d", run1.st.Iter, run2.st.Iter)
	}
	if d := diffIn(run1, run2, run1.st.ImageRect); d < 100 {
		t.Errorf("only %d displayed pixels changed while running", d)
	}
	if !p1.st.Paused || !p2.st.Paused || run3.st.Paused {
		t.Errorf("paused: %v %v then %v, want true true false", p1.st.Paused, p2.st.Paused, run3.st.Paused)
	}
	if p1.st.Iter != p2.st.Iter || !sameF32(p1.x, p2.x) {
		t.Errorf("paused, the run went on: iterations %d then %d", p1.st.Iter, p2.st.Iter)
	}
	if d := diffIn(p1, p2, p1.st.ImageRect); d != 0 {
		t.Errorf("paused, %d displayed pixels changed", d)
	}
	if run3.st.Iter < p2.st.Iter+2 {
		t.Errorf("after resuming: iteration %d, was %d", run3.st.Iter, p2.st.Iter)
	}
	// The HUD: text pixels (bright on its dark background) in its rectangle,
	// and the values it is built from.
	hud := run2.st.HUDRect
	if hud.W() < 100 || hud.H() < 100 {
		t.Fatalf("HUD rectangle %v", hud)
	}
	bright := 0
	for py := int(hud[1]); py < int(hud[3]); py++ {
		for px := int(hud[0]); px < int(hud[2]); px++ {
			o := run2.frame.PixOffset(px, py)
			if run2.frame.Pix[o] > 150 && run2.frame.Pix[o+1] > 150 {
				bright++
			}
		}
	}
	if bright < 500 {
		t.Errorf("HUD: %d text pixels, want a few thousand", bright)
	}
	for _, s := range []string{"iter", "it/s", "frame", "loss", "content", "style", "GPU " + run2.st.GPU[:min(8, len(run2.st.GPU))]} {
		if !hudHas(run2, s) {
			t.Errorf("HUD lacks %q: %q", s, run2.st.HUD)
		}
	}
	if !hudHas(p1, "PAUSED") {
		t.Errorf("paused HUD: %q", p1.st.HUD)
	}
	if !run2.st.HaveLosses || run2.st.Losses[0] <= 0 || run2.st.LossIter < run1.st.Iter {
		t.Errorf("losses %v at iteration %d", run2.st.Losses, run2.st.LossIter)
	}
	if _, err := imageio.Load(filepath.Join(r.dir, "out.png"), 0); err != nil {
		t.Errorf("quit did not write -out: %v", err)
	}
	if os.Getenv("STYLIZE_LIVE_SCREENSHOT") != "" {
		writeScreenshot(t, run3, os.Getenv("STYLIZE_LIVE_SCREENSHOT"))
	}
}

func writeScreenshot(t *testing.T, c *capture, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, c.frame); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestWeightKeys: + - [ ] change the loss weights the engine uses. With a
// learning rate of 0 the image stays the content, so each loss must scale
// exactly with its weight once the change is applied; with Adam it is
// applied in place (no engine is rebuilt) and the iteration count goes on.
func TestWeightKeys(t *testing.T) {
	r := runLive(t, append(baseArgs("$DIR"), "-lr", "0"), `
wait-iter 2
capture w0.png
key +
wait-iter +2
capture w1.png
key -
key -
wait-iter +2
capture w2.png
key [
wait-iter +2
capture w3.png
key ]
key ]
wait-iter +2
capture w4.png
quit
`)
	wantExit(t, r, 0)
	w := []*capture{loadCapture(t, r, "w0"), loadCapture(t, r, "w1"), loadCapture(t, r, "w2"), loadCapture(t, r, "w3"), loadCapture(t, r, "w4")}
	cw, sw := w[0].st.ContentWeight, w[0].st.StyleWeight
	lc, ls := float64(w[0].st.Losses[1]), float64(w[0].st.Losses[2])
	cases := []struct {
		cw, sw float64 // weights, relative to the start
	}{{1, 1}, {1, 1.25}, {1, 1 / 1.25}, {1.25, 1 / 1.25}, {1 / 1.25, 1 / 1.25}}
	for i, c := range w {
		want := cases[i]
		if !relClose(c.st.ContentWeight, cw*want.cw, 1e-12) || !relClose(c.st.StyleWeight, sw*want.sw, 1e-12) {
			t.Errorf("%s: weights c %g s %g, want %g %g", c.name, c.st.ContentWeight, c.st.StyleWeight, cw*want.cw, sw*want.sw)
		}
		if c.st.LossIter <= w[0].st.LossIter && i > 0 {
			t.Errorf("%s: losses of iteration %d are not from the rebuilt engine", c.name, c.st.LossIter)
		}
		gc, gs := float64(c.st.Losses[1]), float64(c.st.Losses[2])
		if !relClose(gc, lc*want.cw, 1e-4) || !relClose(gs, ls*want.sw, 1e-4) {
			t.Errorf("%s: content loss %g (x%.4f), style loss %g (x%.4f); want x%.4f and x%.4f", c.name, gc, gc/lc, gs, gs/ls, want.cw, want.sw)
		}
		if !sameF32(c.x, c.content) {
			t.Errorf("%s: with lr 0 the image should still be the content", c.name)
		}
		if i > 0 && c.st.Iter <= w[i-1].st.Iter {
			t.Errorf("%s: iteration %d after %d: a rebuild must not reset the count", c.name, c.st.Iter, w[i-1].st.Iter)
		}
	}
	if w[4].st.Rebuilds != 0 || w[4].st.Changes < 4 || !hudHas(w[4], "in place") {
		t.Errorf("rebuilds %d, in-place changes %d, HUD %q; want 0 rebuilds and >= 4 changes", w[4].st.Rebuilds, w[4].st.Changes, w[4].st.HUD)
	}
	t.Logf("weight change applied in place on lavapipe in %.2f ms (CPU side); building the engine took %.0f ms", w[4].st.ApplyMS, w[4].st.BuildMS)
}

// TestStyleKeys: 1..n select one style, n+1 the blend.
func TestStyleKeys(t *testing.T) {
	r := runLive(t, append(baseArgs("$DIR"), "-lr", "0"), `
wait-iter 1
capture blend.png
key 1
wait-iter +1
capture one.png
key 2
wait-iter +1
capture two.png
key 3
wait-iter +1
capture blend2.png
key 9
capture bad.png
quit
`)
	wantExit(t, r, 0)
	blend, one, two, blend2, bad := loadCapture(t, r, "blend"), loadCapture(t, r, "one"), loadCapture(t, r, "two"), loadCapture(t, r, "blend2"), loadCapture(t, r, "bad")
	for _, c := range []struct {
		c   *capture
		sel int
	}{{blend, 0}, {one, 1}, {two, 2}, {blend2, 0}} {
		if c.c.st.StyleSel != c.sel {
			t.Errorf("%s: style selection %d, want %d", c.c.name, c.c.st.StyleSel, c.sel)
		}
	}
	s := func(c *capture) float64 { return float64(c.st.Losses[2]) }
	if relClose(s(one), s(two), 1e-3) || relClose(s(one), s(blend), 1e-3) {
		t.Errorf("style losses: blend %g, style 1 %g, style 2 %g: the targets did not change", s(blend), s(one), s(two))
	}
	if !relClose(s(blend), s(blend2), 1e-5) {
		t.Errorf("back to the blend: style loss %g, was %g", s(blend2), s(blend))
	}
	if !hudHas(one, "style 1 alone") {
		t.Errorf("HUD: %q", one.st.HUD)
	}
	if !strings.Contains(bad.st.Message, "no style 9") || bad.st.StyleSel != 0 {
		t.Errorf("key 9 with two styles: message %q, selection %d", bad.st.Message, bad.st.StyleSel)
	}
	// The selected thumbnails are framed: style 1's frame is gone when 2 is selected.
	if diffIn(one, two, one.st.StyleThumbs[0]) == 0 {
		t.Errorf("the selection frame did not move")
	}
}

// TestDrop: dropping an image on a thumbnail swaps it (targets recomputed,
// the run goes on); a file that is not an image or is too large leaves a
// message in the HUD and the run goes on.
func TestDrop(t *testing.T) {
	r := runLive(t, append(baseArgs("$DIR"), "-lr", "0", "-max-pixels", "20000"), fmt.Sprintf(`
wait-iter 1
capture d0.png
drop style 2 %s
wait-iter +1
capture d1.png
drop content %s
wait-iter +1
capture d2.png
drop content %s
wait-iter +2
capture d3.png
drop style 1 %s
wait-iter +2
capture d4.png
quit
`, img("s3.png"), img("content2.png"), img("notimage.png"), img("big.png")))
	wantExit(t, r, 0)
	d0, d1, d2, d3, d4 := loadCapture(t, r, "d0"), loadCapture(t, r, "d1"), loadCapture(t, r, "d2"), loadCapture(t, r, "d3"), loadCapture(t, r, "d4")
	// Style 2 swapped: new target, same content.
	if d1.st.Styles[1] != img("s3.png") || d1.st.Styles[0] != img("s1.png") {
		t.Errorf("styles after the drop: %v", d1.st.Styles)
	}
	if relClose(float64(d0.st.Losses[2]), float64(d1.st.Losses[2]), 1e-3) {
		t.Errorf("style loss %g then %g: the style targets were not recomputed", d0.st.Losses[2], d1.st.Losses[2])
	}
	if !relClose(float64(d0.st.Losses[1]), float64(d1.st.Losses[1]), 1e-4) {
		t.Errorf("content loss %g then %g: the content did not change", d0.st.Losses[1], d1.st.Losses[1])
	}
	if d1.st.Rebuilds != 0 || d1.st.Changes != 1 {
		t.Errorf("the style drop: %d rebuilds, %d in-place changes; want 0 and 1", d1.st.Rebuilds, d1.st.Changes)
	}
	t.Logf("style drop: targets recomputed in place in %.0f ms (engine build %.0f ms)", d1.st.ApplyMS, d1.st.BuildMS)
	if diffIn(d0, d1, d0.st.StyleThumbs[1]) < 50 || diffIn(d0, d1, d0.st.StyleThumbs[0]) != 0 {
		t.Errorf("thumbnails: style 2 should change, style 1 not")
	}
	// Content swapped: a square content makes a square image.
	if d2.st.Content != img("content2.png") || d2.st.ImageW != 32 || d2.st.ImageH != 32 {
		t.Errorf("after the content drop: %s, %dx%d", d2.st.Content, d2.st.ImageW, d2.st.ImageH)
	}
	if diffIn(d1, d2, d1.st.ContentThumb) < 50 {
		t.Errorf("the content thumbnail did not change")
	}
	checkDisplay(t, d2, 1)
	if d2.st.Iter <= d1.st.Iter {
		t.Errorf("iterations %d then %d: the run should go on", d1.st.Iter, d2.st.Iter)
	}
	// Errors: in the HUD, nothing swapped, the run goes on.
	if !strings.Contains(d3.st.Message, "not an image") || d3.st.Content != img("content2.png") || d3.st.Iter < d2.st.Iter+2 {
		t.Errorf("dropping a text file: message %q, content %s, iterations %d then %d", d3.st.Message, d3.st.Content, d2.st.Iter, d3.st.Iter)
	}
	if !hudHas(d3, "not an image") {
		t.Errorf("the HUD does not show the error: %q", d3.st.HUD)
	}
	if !strings.Contains(d4.st.Message, "too large") || d4.st.Styles[0] != img("s1.png") || d4.st.Iter < d3.st.Iter+2 {
		t.Errorf("dropping a large image: message %q, styles %v, iterations %d then %d", d4.st.Message, d4.st.Styles, d3.st.Iter, d4.st.Iter)
	}
}

// TestSnapshotRestartLR: S writes a timestamped snapshot, , and . change
// Adam's learning rate in the engine, R restarts from the initial image
// with the count at 0, Q quits writing -out.
func TestSnapshotRestartLR(t *testing.T) {
	r := runLive(t, baseArgs("$DIR"), `
wait-iter 3
key s
key ,
wait-iter +1
capture lr1.png
key .
key .
wait-iter +1
capture lr2.png
key space
key r
capture restart.png
key space
wait-iter 2
capture after.png
key q
`)
	wantExit(t, r, 0)
	lr1, lr2, rs, after := loadCapture(t, r, "lr1"), loadCapture(t, r, "lr2"), loadCapture(t, r, "restart"), loadCapture(t, r, "after")
	if !relClose(lr1.st.EngineLR, 0.02*1.25, 1e-6) || !relClose(lr2.st.EngineLR, 0.02/1.25, 1e-6) {
		t.Errorf("engine learning rates %g, %g; want %g, %g", lr1.st.EngineLR, lr2.st.EngineLR, 0.02*1.25, 0.02/1.25)
	}
	snaps, _ := filepath.Glob(filepath.Join(r.dir, "out-*.png"))
	if len(snaps) != 1 || len(lr1.st.Snapshots) != 1 || lr1.st.Snapshots[0] != snaps[0] {
		t.Fatalf("snapshots on disk %v, reported %v", snaps, lr1.st.Snapshots)
	}
	if base := filepath.Base(snaps[0]); len(base) != len("out-20060102-150405.png") {
		t.Errorf("snapshot name %s is not OUT-YYYYMMDD-HHMMSS.png", base)
	}
	s, err := imageio.Load(snaps[0], 0)
	if err != nil || s.W != 32 || s.H != 21 {
		t.Errorf("snapshot: %v, %dx%d", err, s.W, s.H)
	}
	if lr1.st.Iter < 4 {
		t.Fatalf("iteration %d before the restart", lr1.st.Iter)
	}
	if rs.st.Iter != 0 || !sameF32(rs.x, rs.content) {
		t.Errorf("after R: iteration %d, image is the content: %v", rs.st.Iter, sameF32(rs.x, rs.content))
	}
	checkDisplay(t, rs, 1)
	if after.st.Iter < 2 || sameF32(after.x, after.content) {
		t.Errorf("after resuming: iteration %d", after.st.Iter)
	}
	out, err := imageio.Load(filepath.Join(r.dir, "out.png"), 0)
	if err != nil || out.W != 32 || out.H != 21 {
		t.Errorf("Q did not write -out: %v", err)
	}
}

// TestOriginalColors: O shows the image in the content's colours (in the
// fragment shader) and S and the final save write the same.
func TestOriginalColors(t *testing.T) {
	// From random noise, so that the content's colours differ from the image's.
	r := runLive(t, append(baseArgs("$DIR"), "-init", "random"), `
wait-iter 4
key space
key o
capture o.png
key s
key esc
`)
	wantExit(t, r, 0)
	o := loadCapture(t, r, "o")
	if !o.st.OriginalColors || !hudHas(o, "original") {
		t.Fatalf("original colours off: %q", o.st.HUD)
	}
	checkDisplay(t, o, 2)
	want := o.expectedPixels(t, true)
	for _, p := range append(o.st.Snapshots, filepath.Join(r.dir, "out.png")) {
		got, err := imageio.Load(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(q8(float64(want[i]))-math.Round(float64(got.Pix[i])*255)) > 1 {
				t.Fatalf("%s: sample %d is %v, want %v (original colours)", p, i, got.Pix[i], want[i])
			}
		}
	}
	// Without O the display is the optimised image again.
	plain := *o
	plain.st.OriginalColors = false
	if diff := countDiffs(t, &plain); diff == 0 {
		t.Errorf("original colours look the same as the optimised image")
	}
}

// countDiffs counts the displayed image pixels that differ from the
// expected ones by more than 2.
func countDiffs(t *testing.T, c *capture) int {
	want := c.expectedPixels(t, c.st.OriginalColors)
	W, H := c.st.ImageW, c.st.ImageH
	r := c.st.ImageRect
	n := 0
	for iy := 0; iy < H; iy++ {
		for ix := 0; ix < W; ix++ {
			px := int(r[0] + (float64(ix)+0.5)/float64(W)*r.W())
			py := int(r[1] + (float64(iy)+0.5)/float64(H)*r.H())
			o := c.frame.PixOffset(px, py)
			for ch := 0; ch < 3; ch++ {
				if math.Abs(q8(float64(want[ch*W*H+iy*W+ix]))-float64(c.frame.Pix[o+ch])) > 2 {
					n++
					break
				}
			}
		}
	}
	return n
}

// TestViewControls: the wheel zooms about the cursor, a drag pans, 0
// resets, a resize keeps the aspect ratio, F toggles fullscreen and H
// the help.
func TestViewControls(t *testing.T) {
	r := runLive(t, baseArgs("$DIR"), `
wait-iter 1
key space
capture v0.png
mouse 200 250
scroll 2
capture zoom.png
drag 300 300 350 260
capture pan.png
key 0
resize 500 400
capture resized.png
key f
wait 500ms
capture full.png
key f
wait 500ms
capture windowed.png
key h
capture help.png
quit
`)
	wantExit(t, r, 0)
	v0, zoom, pan := loadCapture(t, r, "v0"), loadCapture(t, r, "zoom"), loadCapture(t, r, "pan")
	resized, full, windowed, help := loadCapture(t, r, "resized"), loadCapture(t, r, "full"), loadCapture(t, r, "windowed"), loadCapture(t, r, "help")
	for _, c := range []*capture{v0, zoom, pan, resized, full, windowed} {
		checkDisplay(t, c, 1)
		if ar, want := c.st.ImageRect.W()/c.st.ImageRect.H(), float64(c.st.ImageW)/float64(c.st.ImageH); math.Abs(ar-want) > 1e-6 {
			t.Errorf("%s: aspect %g, image's %g", c.name, ar, want)
		}
	}
	if !relClose(zoom.st.Zoom, 1.5625, 1e-9) || !relClose(zoom.st.ImageRect.W(), v0.st.ImageRect.W()*1.5625, 1e-9) {
		t.Errorf("zoom %g, width %g (was %g)", zoom.st.Zoom, zoom.st.ImageRect.W(), v0.st.ImageRect.W())
	}
	// The point under the cursor stays put.
	u0 := (200 - v0.st.ImageRect[0]) / v0.st.ImageRect.W()
	u1 := (200 - zoom.st.ImageRect[0]) / zoom.st.ImageRect.W()
	if math.Abs(u0-u1) > 1e-9 {
		t.Errorf("zooming moved the point under the cursor: %g -> %g", u0, u1)
	}
	if dx, dy := pan.st.ImageRect[0]-zoom.st.ImageRect[0], pan.st.ImageRect[1]-zoom.st.ImageRect[1]; math.Abs(dx-50) > 1e-9 || math.Abs(dy+40) > 1e-9 {
		t.Errorf("a drag by (50,-40) moved the image by (%g,%g)", dx, dy)
	}
	if resized.st.Framebuffer != [2]int{500, 400} || resized.st.Zoom != 1 {
		t.Errorf("after resize 500x400: framebuffer %v, zoom %g", resized.st.Framebuffer, resized.st.Zoom)
	}
	if !full.st.Fullscreen || full.st.Framebuffer != [2]int{1024, 768} {
		t.Errorf("fullscreen: %v, framebuffer %v (the screen is 1024x768)", full.st.Fullscreen, full.st.Framebuffer)
	}
	if windowed.st.Fullscreen || windowed.st.Framebuffer != [2]int{500, 400} {
		t.Errorf("back from fullscreen: %v, framebuffer %v", windowed.st.Fullscreen, windowed.st.Framebuffer)
	}
	if !help.st.Help || help.st.HelpRect.W() < 300 || diffIn(windowed, help, help.st.HelpRect) < 1000 {
		t.Errorf("help: %v, rect %v, %d pixels changed", help.st.Help, help.st.HelpRect, diffIn(windowed, help, help.st.HelpRect))
	}
}

// TestLBFGS: with L-BFGS the keys rebuild the engine too (its history
// starts over), and the run goes on.
func TestLBFGS(t *testing.T) {
	r := runLive(t, append(baseArgs("$DIR"), "-optimizer", "lbfgs"), `
wait-iter 2
capture b0.png
key +
key ,
wait-iter +2
capture b1.png
quit
`)
	wantExit(t, r, 0)
	b0, b1 := loadCapture(t, r, "b0"), loadCapture(t, r, "b1")
	if b1.st.Rebuilds < 2 || !relClose(b1.st.StyleWeight, 1.25*b0.st.StyleWeight, 1e-12) || !relClose(b1.st.EngineLR, 1.25*b0.st.EngineLR, 1e-12) {
		t.Errorf("L-BFGS: rebuilds %d, style weight %g -> %g, step %g -> %g", b1.st.Rebuilds, b0.st.StyleWeight, b1.st.StyleWeight, b0.st.EngineLR, b1.st.EngineLR)
	}
	if b1.st.Iter < b0.st.Iter+2 || !b1.st.HaveLosses || math.IsNaN(float64(b1.st.Losses[0])) {
		t.Errorf("L-BFGS run: iterations %d -> %d, losses %v", b0.st.Iter, b1.st.Iter, b1.st.Losses)
	}
	checkDisplay(t, b1, 1)
}

// TestItersAndEsc: -iters N stops at N and writes -out; Esc quits.
func TestItersAndEsc(t *testing.T) {
	r := runLive(t, append(baseArgs("$DIR"), "-iters", "3"), `
wait-iter 3
wait 300ms
capture done.png
key esc
`)
	wantExit(t, r, 0)
	d := loadCapture(t, r, "done")
	if !d.st.Done || d.st.Iter != 3 || !hudHas(d, "done") {
		t.Errorf("after -iters 3: done %v, iteration %d, HUD %q", d.st.Done, d.st.Iter, d.st.HUD)
	}
	if e := r.event("saved"); e == nil || e["iter"] != 3.0 {
		t.Errorf("no saved event at iteration 3: %v", r.events)
	}
	out, err := imageio.Load(filepath.Join(r.dir, "out.png"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out.Pix {
		if math.Abs(float64(out.Pix[i])-q8(float64(d.x[i]))/255) > 1e-6 {
			t.Fatalf("-out differs from the engine's image at sample %d", i)
		}
	}
}

// TestInterrupt: Ctrl-C (SIGINT) writes the image so far and exits 130,
// as stylize run does.
func TestInterrupt(t *testing.T) {
	need(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "script.txt")
	if err := os.WriteFile(script, []byte("wait-iter 2\ncapture c.png\nwait 10m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, append(baseArgs(dir), "-script", script), nil, func(cmd *exec.Cmd, line string) {
		if strings.Contains(line, `"capture"`) {
			cmd.Process.Signal(os.Interrupt)
		}
	})
	wantExit(t, r, 130)
	if _, err := imageio.Load(filepath.Join(dir, "out.png"), 0); err != nil {
		t.Errorf("no image after Ctrl-C: %v", err)
	}
	if e := r.event("done"); e == nil || e["interrupted"] != true {
		t.Errorf("summary: %v", e)
	}
}

// TestNoDisplay: without a display the command says why and exits 1,
// never panics.
func TestNoDisplay(t *testing.T) {
	need(t)
	for _, c := range []struct{ display, wayland, want string }{
		{"", "", "DISPLAY is not set"},
		{"", "wayland-0", "xvfb-run -a stylize-live"}, // Wayland alone: the hint too
		{":987", "", `cannot open a window on display ":987"`},
	} {
		dir := t.TempDir()
		cmd := exec.Command(liveBin, baseArgs(dir)...)
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "DISPLAY=") && !strings.HasPrefix(e, "WAYLAND_DISPLAY=") {
				env = append(env, e)
			}
		}
		cmd.Env = append(env, "DISPLAY="+c.display)
		if c.wayland != "" {
			cmd.Env = append(cmd.Env, "WAYLAND_DISPLAY="+c.wayland)
		}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("DISPLAY=%q: %v, want exit status 1\n%s", c.display, err, out)
		}
		if !strings.Contains(string(out), c.want) || strings.Contains(string(out), "panic") || strings.Contains(string(out), "goroutine") {
			t.Errorf("DISPLAY=%q: output lacks %q or panics:\n%s", c.display, c.want, out)
		}
	}
}

// BenchmarkPacing measures the window's cost at a small size, where an
// iteration is shorter than a frame: iterations per second with the window
// against the same engine headless (-headless, which loops as
// transfer.Run does), and the frame rate while iterating. It is a
// benchmark, not a test: on a shared machine the rates are not
// deterministic (internal/live's TestPacingPolicy checks the decisions
// they come from). make bench-live runs it.
func BenchmarkPacing(b *testing.B) {
	need(b)
	args := func(dir string) []string {
		return []string{"-content", img("content2.png"), "-style", img("s1.png"),
			"-weights", "synthetic", "-widths", "4,4,4,4,4", "-size", "16", "-window", "480x320",
			"-out", filepath.Join(dir, "out.png"), "-capture-dir", dir}
	}
	var fpsSum, ratioSum float64
	for i := 0; i < b.N; i++ {
		hdir := b.TempDir()
		h := runIn(b, hdir, append(args(hdir), "-headless", "200"), nil, nil)
		wantExit(b, h, 0)
		headless := h.event("headless")["it_per_sec"].(float64)
		r := runLive(b, args("$DIR"), `
wait 1500ms
capture p0.png
wait 4s
capture p1.png
quit
`)
		wantExit(b, r, 0)
		p0, p1 := loadCapture(b, r, "p0"), loadCapture(b, r, "p1")
		secs := p1.st.Time - p0.st.Time
		window := float64(p1.st.Iter-p0.st.Iter) / secs
		fps := float64(p1.st.Frames-p0.st.Frames-1) / secs // less p1's own frame
		b.Logf("%s, 16x16 image, 480x320 window: headless %.1f it/s; window %.1f it/s (%.0f%%), %.1f fps; %.2f ms per iteration, GPU per frame %.2f ms, CPU in present %.2f ms",
			p1.st.GPU, headless, window, 100*window/headless, fps, p1.st.IterMS, p1.st.DrawGPUMS, p1.st.PresentMS)
		fpsSum += fps
		ratioSum += window / headless
	}
	b.ReportMetric(fpsSum/float64(b.N), "fps")
	b.ReportMetric(100*ratioSum/float64(b.N), "%headless-it/s")
}

// BenchmarkPacingSlowIterations: where one iteration takes longer than a
// frame (here about 150-300 ms on lavapipe), it goes to the GPU in
// pieces, so that zooming draws at the frame rate while the iterations go
// on. It reports the frame rate and the iterations per second while
// zooming.
func BenchmarkPacingSlowIterations(b *testing.B) {
	need(b)
	var sb strings.Builder
	sb.WriteString("wait-iter 2\nmouse 200 150\ncapture z0.png\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&sb, "scroll %s\nwait 20ms\n", map[bool]string{true: "0.02", false: "-0.02"}[i < 150])
	}
	sb.WriteString("capture z1.png\nquit\n")
	var fpsSum, itSum float64
	for i := 0; i < b.N; i++ {
		r := runLive(b, []string{"-content", img("content2.png"), "-style", img("s1.png"),
			"-weights", "synthetic", "-widths", "16,32,64,128,128", "-size", "112", "-window", "480x320",
			"-out", "$DIR/out.png", "-capture-dir", "$DIR"}, sb.String())
		wantExit(b, r, 0)
		z0, z1 := loadCapture(b, r, "z0"), loadCapture(b, r, "z1")
		secs := z1.st.Time - z0.st.Time
		fps := float64(z1.st.Frames-z0.st.Frames-1) / secs
		its := float64(z1.st.Iter-z0.st.Iter) / secs
		b.Logf("%dx%d image, %.0f ms per iteration in %d pieces; while zooming for %.1f s: %.1f fps, %.2f it/s, zoom %.2f -> %.2f",
			z1.st.ImageW, z1.st.ImageH, z1.st.IterMS, z1.st.Pieces, secs, fps, its, z0.st.Zoom, z1.st.Zoom)
		if z1.st.IterMS < 40 || z1.st.Pieces < 2 {
			b.Fatalf("the iteration (%.0f ms, %d pieces) is not slower than a frame here: the benchmark does not measure what it says", z1.st.IterMS, z1.st.Pieces)
		}
		if z1.st.Zoom == z0.st.Zoom {
			b.Fatalf("the scrolls did not zoom (%.2f)", z1.st.Zoom)
		}
		fpsSum += fps
		itSum += its
	}
	b.ReportMetric(fpsSum/float64(b.N), "fps")
	b.ReportMetric(itSum/float64(b.N), "it/s")
}

// TestRunFlags: stylize run's -save-every, -print-every, -json and
// -adam-form work in the window too; -scales and -ema, which a live view
// cannot honour, are refused with a reason. Iterations are short here, so
// batches of many iterations are queued: -save-every must still write the
// image of exactly each multiple, as stylize run does.
func TestRunFlags(t *testing.T) {
	flags := []string{"-adam-form", "torch", "-widths", "4,4,4,4,4", "-size", "24"} // ~10 ms per iteration
	r := runLive(t, append(append(baseArgs("$DIR"), flags...), "-iters", "40", "-save-every", "10", "-print-every", "10", "-json"), `
wait-iter 40
wait 300ms
quit
`)
	wantExit(t, r, 0)
	var iters []float64
	for _, e := range r.events {
		if e["event"] == "progress" {
			iters = append(iters, e["iter"].(float64))
			if l, ok := e["loss"].(float64); !ok || !(l > 0) {
				t.Errorf("progress event without a positive loss: %v", e)
			}
		}
	}
	if fmt.Sprint(iters) != "[10 20 30 40]" {
		t.Errorf("progress events at iterations %v, want [10 20 30 40]", iters)
	}
	load := func(dir, name string) imageio.Image {
		t.Helper()
		img, err := imageio.Load(filepath.Join(dir, name), 0)
		if err != nil {
			t.Fatalf("-save-every 10: %v", err)
		}
		return img
	}
	saved := map[int]imageio.Image{}
	for _, k := range []int{10, 20, 30, 40} {
		saved[k] = load(r.dir, fmt.Sprintf("out_%04d.png", k))
	}
	same := func(a, b imageio.Image) bool { return a.W == b.W && a.H == b.H && reflect.DeepEqual(a.Pix, b.Pix) }
	if !same(saved[40], load(r.dir, "out.png")) {
		t.Error("out_0040.png differs from -out written at iteration 40")
	}
	if same(saved[10], saved[20]) {
		t.Error("out_0010.png and out_0020.png are the same image")
	}
	// The engine is deterministic: a run stopped at 10 ends on the image
	// that the first run saved at 10.
	r10 := runLive(t, append(append(baseArgs("$DIR"), flags...), "-iters", "10"), "wait-iter 10\nwait 300ms\nquit\n")
	wantExit(t, r10, 0)
	if !same(saved[10], load(r10.dir, "out.png")) {
		t.Error("out_0010.png is not the image of iteration 10")
	}
	for _, c := range []struct {
		flag []string
		want string
	}{{[]string{"-scales", "2"}, "one scale"}, {[]string{"-ema", "0.9"}, "-ema"}, {[]string{"-adam-form", "sgd"}, "adam-form"}} {
		bad := runLive(t, append(baseArgs("$DIR"), c.flag...), "quit\n")
		if bad.code != 1 || !strings.Contains(bad.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 (as stylize run's) and a message that mentions %q", c.flag, bad.code, bad.stderr, c.want)
		}
	}
}
