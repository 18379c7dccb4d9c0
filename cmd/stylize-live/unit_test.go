package main

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseScript(t *testing.T) {
	s, err := parseScript(strings.NewReader(`
# a comment
wait 250ms
wait-iter 5
wait-iter +2
wait-frames 3
key space
key +
key esc
drop content /tmp/a.png
drop style 2 /tmp/b.png
drop 10 20 /tmp/c.png
mouse 1 2
scroll -1.5
drag 1 2 3 4
resize 640 480
capture x.png   # trailing comment
quit
`))
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, c := range s.cmds {
		ops = append(ops, c.op)
	}
	want := "wait wait-iter wait-iter wait-frames key key key drop drop drop mouse scroll drag resize capture quit"
	if got := strings.Join(ops, " "); got != want {
		t.Fatalf("ops %q, want %q", got, want)
	}
	if s.cmds[0].dur != 250*time.Millisecond || s.cmds[1].n != 5 || s.cmds[1].rel || !s.cmds[2].rel || s.cmds[8].n != 2 || s.cmds[9].f[1] != 20 || s.cmds[11].f[0] != -1.5 {
		t.Errorf("arguments parsed wrong: %+v", s.cmds)
	}
	for _, bad := range []string{"wait", "wait soon", "key", "key ab", "drop style x a.png", "drop a.png", "scroll", "mouse 1", "fly 1", "capture", "quit now", "wait-iter -1"} {
		if _, err := parseScript(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

type fakeHost struct {
	iters, nframes int
	ran            []string
}

func (h *fakeHost) iterations() int { return h.iters }
func (h *fakeHost) frames() int     { return h.nframes }
func (h *fakeHost) settle() error   { return nil }
func (h *fakeHost) exec(c command) error {
	h.ran = append(h.ran, c.op+" "+strings.Join(c.args, " "))
	return nil
}

func TestScriptStep(t *testing.T) {
	s, err := parseScript(strings.NewReader("key a\nwait 1s\nkey b\nwait-iter +3\nkey c\nquit\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{iters: 10}
	t0 := time.Unix(100, 0)
	s.step(h, t0)
	if len(h.ran) != 1 {
		t.Fatalf("ran %v before the wait", h.ran)
	}
	s.step(h, t0.Add(500*time.Millisecond))
	if len(h.ran) != 1 {
		t.Fatalf("the wait ended early: %v", h.ran)
	}
	s.step(h, t0.Add(time.Second))
	if len(h.ran) != 2 {
		t.Fatalf("after the wait: %v", h.ran)
	}
	h.iters = 12
	s.step(h, t0.Add(time.Second))
	if len(h.ran) != 2 {
		t.Fatalf("wait-iter +3 from 10 ended at 12: %v", h.ran)
	}
	h.iters = 13
	s.step(h, t0.Add(time.Second))
	if len(h.ran) != 4 || !s.done() {
		t.Fatalf("at the end: %v", h.ran)
	}
}

func TestFitKeepsAspect(t *testing.T) {
	for _, c := range []struct {
		box  rect
		w, h int
	}{{rect{0, 0, 600, 560}, 32, 21}, {rect{0, 0, 100, 500}, 64, 64}, {rect{10, 20, 310, 120}, 3, 400}} {
		r := fit(c.box, c.w, c.h)
		if math.Abs(r.w()/r.h()-float64(c.w)/float64(c.h)) > 1e-9 {
			t.Errorf("%v %dx%d: aspect %g", c.box, c.w, c.h, r.w()/r.h())
		}
		if r[0] < c.box[0]-1e-9 || r[1] < c.box[1]-1e-9 || r[2] > c.box[2]+1e-9 || r[3] > c.box[3]+1e-9 {
			t.Errorf("%v %dx%d: %v outside the box", c.box, c.w, c.h, r)
		}
		if math.Abs(r.w()-c.box.w()) > 1e-9 && math.Abs(r.h()-c.box.h()) > 1e-9 {
			t.Errorf("%v %dx%d: %v does not fill the box", c.box, c.w, c.h, r)
		}
	}
}

func TestZoomAtKeepsPoint(t *testing.T) {
	area := rect{0, 0, 636, 560}
	var v view
	v.reset()
	for _, z := range []struct{ x, y, f float64 }{{100, 200, 1.25}, {400, 300, 2}, {50, 50, 0.5}, {600, 500, 3}} {
		before := v.imageRect(area, 32, 21)
		ux, uy := (z.x-before[0])/before.w(), (z.y-before[1])/before.h()
		v.zoomAt(area, 32, 21, z.x, z.y, z.f)
		after := v.imageRect(area, 32, 21)
		if math.Abs((z.x-after[0])/after.w()-ux) > 1e-9 || math.Abs((z.y-after[1])/after.h()-uy) > 1e-9 {
			t.Errorf("zoom %g at (%g,%g) moved the point", z.f, z.x, z.y)
		}
	}
}

func TestLayout(t *testing.T) {
	l := newLayout(860, 560, 1, 3)
	if l.area[2] != 860-sidebarW || len(l.styles) != 3 {
		t.Fatalf("layout %+v", l)
	}
	boxes := append([]rect{l.content}, l.styles...)
	for i, a := range boxes {
		if a[0] < l.area[2] || a[2] > 860 {
			t.Errorf("box %d %v leaves the sidebar", i, a)
		}
		for j, b := range boxes[i+1:] {
			if a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3] {
				t.Errorf("boxes %d and %d overlap", i, i+1+j)
			}
		}
		if l.hud[1] < a[3] {
			t.Errorf("the HUD starts at %g, inside box %d", l.hud[1], i)
		}
	}
}

func TestSnapshotName(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	a := snapshotName(out, at)
	if filepath.Base(a) != "out-20260102-030405.png" {
		t.Fatalf("name %s", a)
	}
	os.WriteFile(a, nil, 0o644)
	if b := snapshotName(out, at); filepath.Base(b) != "out-20260102-030405-2.png" {
		t.Errorf("second name in the same second: %s", b)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("content: notimage.png: not an image (or not PNG, JPEG)", 20)
	for _, l := range got {
		if len(l) > 20 {
			t.Errorf("line %q longer than 20", l)
		}
	}
	if strings.Join(got, " ") != "content: notimage.png: not an image (or not PNG, JPEG)" {
		t.Errorf("wrap lost text: %q", got)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"c.png", "s.png", "t.png"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	c, s, s2 := filepath.Join(dir, "c.png"), filepath.Join(dir, "s.png"), filepath.Join(dir, "t.png")
	parse := func(args ...string) (*options, error) {
		o := &options{}
		fs := newFlags(o)
		fs.SetOutput(io.Discard)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return o, resolve(fs, o)
	}
	o, err := parse("-content", c, "-style", s, "-style", s2)
	if err != nil {
		t.Fatal(err)
	}
	if o.Size != 512 || o.set.Config.ContentWeight != 1e4 || o.set.Config.Adam.LR != 0.02 || o.iters != 0 || len(o.set.Blend) != 2 || o.set.Blend[0] != 0.5 {
		t.Errorf("seed preset: %+v", o)
	}
	o, err = parse("-preset", "neural-style", "-content", c, "-style", s, "-style-weight", "7", "-size", "64")
	if err != nil {
		t.Fatal(err)
	}
	if c := o.set.Config; c.Optimizer != "lbfgs" || c.StyleWeight != 7 || c.TVWeight != 1e-3 || o.Size != 64 || o.Init != "random" {
		t.Errorf("neural-style preset with overrides: %+v", c)
	}
	for _, bad := range [][]string{
		{"-style", s},
		{"-content", c},
		{"-content", c, "-style", s, "-preset", "nope"},
		{"-content", c, "-style", s, "-style-blend", "1,2"},
		{"-content", c, "-style", s, "-iters", "-1"},
		{"-content", c, "-style", s, "-out", "x.gif"},
		{"-content", c, "-style", s, "-window", "10x10"},
		{"-content", c, "-style", s, "-widths", "4,4,4,4,4"},
		{"-content", c, "-style", s, "-lr", "-1"},
		{"-content", filepath.Join(dir, "missing.png"), "-style", s},
	} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestUsageHidesTestFlags(t *testing.T) {
	fs := newFlags(&options{})
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	if err := fs.Parse([]string{"-h"}); err != flag.ErrHelp {
		t.Fatal(err)
	}
	out := buf.String()
	for _, f := range []string{"-content", "-script", "-capture-dir", "-iters", "Space", "Esc / Q"} {
		if !strings.Contains(out, f) {
			t.Errorf("usage lacks %q", f)
		}
	}
	for _, f := range hidden {
		if strings.Contains(out, "-"+f+" ") || strings.Contains(out, "-"+f+"\n") {
			t.Errorf("usage shows the hidden flag -%s", f)
		}
	}
}
