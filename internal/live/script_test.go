package live

import (
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
