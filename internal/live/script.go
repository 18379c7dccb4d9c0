package live

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// A script (-script FILE) drives the window as a user would, one command a
// line ('#' starts a comment):
//
//	wait 500ms                 let the run go on for a while
//	wait-iter N | +N           until N iterations are done (+N: N more than now)
//	wait-frames N              until N more frames were presented
//	key NAME                   a key: a character (space, +, s, 1, ...) or
//	                           esc, enter, f11, left, right, up, down
//	drop content PATH          drop a file on the content thumbnail
//	drop style N PATH          drop a file on style N's thumbnail
//	drop X Y PATH              drop a file at a framebuffer position
//	mouse X Y                  move the cursor
//	scroll DY                  turn the wheel at the cursor (+ zooms in)
//	drag X0 Y0 X1 Y1           drag with the left button (pans)
//	resize W H                 resize the window
//	capture FILE.png           save the frame as drawn, and beside it
//	                           FILE.json (state), FILE.image.f32 and
//	                           FILE.content.f32 (the engine's image and the
//	                           content, planar float32)
//	quit                       what Esc does
//
// Keys, drops and the mouse go through the same controls as the window's.
type command struct {
	line int
	op   string
	args []string
	dur  time.Duration
	n    int
	rel  bool
	f    [4]float64
}

// Script is a parsed -script: its commands and how far it has got.
type Script struct {
	cmds []command
	pc   int

	until      time.Time // wait
	untilIter  int       // wait-iter, -1 when not waiting
	untilFrame int       // wait-frames, -1 when not waiting
	deadline   time.Time // for wait-iter and wait-frames
	started    bool
}

// scriptTimeout bounds a wait-iter or wait-frames.
const scriptTimeout = 5 * time.Minute

// loadScript reads and parses a script file.
func loadScript(path string) (*Script, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-script: %w", err)
	}
	defer f.Close()
	s, err := parseScript(f)
	if err != nil {
		return nil, fmt.Errorf("-script %s: %w", path, err)
	}
	return s, nil
}

func parseScript(r io.Reader) (*Script, error) {
	s := &Script{untilIter: -1, untilFrame: -1}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(line), "key #") {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		c := command{line: n, op: strings.ToLower(fields[0]), args: fields[1:]}
		bad := func(want string) error { return fmt.Errorf("line %d: %s: want %s", n, c.op, want) }
		nums := func(k int) error {
			if len(c.args) != k {
				return bad(fmt.Sprintf("%d numbers", k))
			}
			for i, a := range c.args {
				v, err := strconv.ParseFloat(a, 64)
				if err != nil {
					return bad(fmt.Sprintf("%d numbers", k))
				}
				c.f[i] = v
			}
			return nil
		}
		switch c.op {
		case "wait", "sleep":
			if len(c.args) != 1 {
				return nil, bad("a duration (500ms, 2s)")
			}
			d, err := time.ParseDuration(c.args[0])
			if err != nil || d < 0 {
				return nil, bad("a duration (500ms, 2s)")
			}
			c.op, c.dur = "wait", d
		case "wait-iter", "wait-frames":
			if len(c.args) != 1 {
				return nil, bad("a count")
			}
			a := c.args[0]
			c.rel = strings.HasPrefix(a, "+")
			v, err := strconv.Atoi(strings.TrimPrefix(a, "+"))
			if err != nil || v < 0 {
				return nil, bad("a count")
			}
			c.n = v
			if c.op == "wait-frames" {
				c.rel = true
			}
		case "key":
			if len(c.args) != 1 {
				return nil, bad("one key")
			}
			k := c.args[0]
			if _, named := keyNames[strings.ToLower(k)]; len([]rune(k)) != 1 && !named && !strings.EqualFold(k, "space") {
				return nil, bad("a character or one of space, esc, enter, f11, left, right, up, down")
			}
		case "drop":
			switch {
			case len(c.args) == 2 && c.args[0] == "content":
			case len(c.args) == 3 && c.args[0] == "style":
				v, err := strconv.Atoi(c.args[1])
				if err != nil || v < 1 {
					return nil, bad("style N PATH")
				}
				c.n = v
			case len(c.args) == 3:
				x, err1 := strconv.ParseFloat(c.args[0], 64)
				y, err2 := strconv.ParseFloat(c.args[1], 64)
				if err1 != nil || err2 != nil {
					return nil, bad("content PATH, style N PATH or X Y PATH")
				}
				c.f[0], c.f[1] = x, y
			default:
				return nil, bad("content PATH, style N PATH or X Y PATH")
			}
		case "mouse", "resize":
			if err := nums(2); err != nil {
				return nil, err
			}
		case "scroll":
			if err := nums(1); err != nil {
				return nil, err
			}
		case "drag":
			if err := nums(4); err != nil {
				return nil, err
			}
		case "capture":
			if len(c.args) != 1 {
				return nil, bad("a file name")
			}
		case "quit":
			if len(c.args) != 0 {
				return nil, bad("nothing")
			}
		default:
			return nil, fmt.Errorf("line %d: unknown command %q (want wait, wait-iter, wait-frames, key, drop, mouse, scroll, drag, resize, capture, quit)", n, c.op)
		}
		s.cmds = append(s.cmds, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// done reports whether every command has run.
func (s *Script) done() bool { return s == nil || s.pc >= len(s.cmds) }

// scriptHost is what a script acts on (the App).
type scriptHost interface {
	iterations() int
	frames() int
	settle() error // run the queued actions and rebuilds
	exec(c command) error
}

// step runs commands until one has to wait; it returns an error for a
// command that failed or a wait that timed out.
func (s *Script) step(h scriptHost, now time.Time) error {
	for !s.done() {
		c := s.cmds[s.pc]
		switch c.op {
		case "wait":
			if !s.started {
				s.started, s.until = true, now.Add(c.dur)
			}
			if now.Before(s.until) {
				return nil
			}
		case "wait-iter":
			if !s.started {
				if err := h.settle(); err != nil {
					return fmt.Errorf("script line %d: %w", c.line, err)
				}
				s.started, s.untilIter, s.deadline = true, c.n, now.Add(scriptTimeout)
				if c.rel {
					s.untilIter += h.iterations()
				}
			}
			if h.iterations() < s.untilIter {
				if now.After(s.deadline) {
					return fmt.Errorf("script line %d: wait-iter: still %d of %d iterations after %v", c.line, h.iterations(), s.untilIter, scriptTimeout)
				}
				return nil
			}
		case "wait-frames":
			if !s.started {
				s.started, s.untilFrame, s.deadline = true, h.frames()+c.n, now.Add(scriptTimeout)
			}
			if h.frames() < s.untilFrame {
				if now.After(s.deadline) {
					return fmt.Errorf("script line %d: wait-frames timed out", c.line)
				}
				return nil
			}
		default:
			if err := h.exec(c); err != nil {
				s.pc++
				return fmt.Errorf("script line %d (%s): %w", c.line, c.op, err)
			}
		}
		s.pc++
		s.started = false
	}
	return nil
}

// waiting reports how long the script can sleep before its next check.
func (s *Script) waiting(now time.Time) time.Duration {
	if s.done() {
		return time.Hour
	}
	c := s.cmds[s.pc]
	if c.op == "wait" && s.started {
		return s.until.Sub(now)
	}
	if c.op == "wait-iter" || c.op == "wait-frames" {
		return 5 * time.Millisecond
	}
	return 0
}

// The App is the scripts' host.

func (a *App) iterations() int { return a.run.completed }
func (a *App) frames() int     { return a.frameCount }

// exec runs a command that does not wait, through the same controls as
// the window's input.
func (a *App) exec(c command) error {
	switch c.op {
	case "key":
		k := c.args[0]
		if key, ok := keyNames[strings.ToLower(k)]; ok {
			a.Key(key)
		} else if strings.EqualFold(k, "space") {
			a.Char(' ')
		} else {
			a.Char([]rune(k)[0])
		}
	case "drop":
		var x, y float64
		var path string
		switch {
		case c.args[0] == "content":
			r := a.lay.Content
			x, y, path = (r[0]+r[2])/2, (r[1]+r[3])/2, c.args[1]
		case c.args[0] == "style":
			if c.n > len(a.lay.Styles) {
				return fmt.Errorf("no style %d", c.n)
			}
			r := a.lay.Styles[c.n-1]
			x, y, path = (r[0]+r[2])/2, (r[1]+r[3])/2, c.args[2]
		default:
			x, y, path = c.f[0], c.f[1], c.args[2]
		}
		a.Cursor(x, y)
		a.Drop(x, y, []string{path})
	case "mouse":
		a.Cursor(c.f[0], c.f[1])
	case "scroll":
		a.Scroll(c.f[0])
	case "drag":
		a.Cursor(c.f[0], c.f[1])
		a.Button(true)
		a.Cursor(c.f[2], c.f[3])
		a.Button(false)
	case "resize":
		if err := a.disp.Resize(int(c.f[0]), int(c.f[1])); err != nil {
			return err
		}
		return a.syncSize()
	case "capture":
		return a.capture(c.args[0])
	case "quit":
		a.quitting = true
	}
	return nil
}
