package weights

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stylize/stylize/internal/term"
)

// progress is a download's progress bar. On a terminal it is one line
// redrawn with \r at most ten times a second; elsewhere (a log, a pipe) it
// prints a plain line at every 10% (every 10 s when the size is unknown).
type progress struct {
	w       io.Writer
	tty     bool
	label   string
	base    int64 // bytes already there when this transfer began
	done    int64
	total   int64 // -1: unknown
	start   time.Time
	last    time.Time
	nextPct int64
	width   int // of the last terminal line, to blank what is left of it
}

func newProgress(w io.Writer, label string, have, total int64) *progress {
	p := &progress{w: w, tty: term.IsTerminal(w), label: label, base: have, done: have, total: total, start: time.Now()}
	if total > 0 {
		p.nextPct = (100*have/total)/10*10 + 10
	}
	p.last = p.start
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	if p.w == io.Discard {
		return len(b), nil
	}
	p.done += int64(len(b))
	now := time.Now()
	switch {
	case p.tty:
		if now.Sub(p.last) >= 100*time.Millisecond {
			p.draw(now)
		}
	case p.total > 0:
		if 100*p.done/p.total >= p.nextPct && p.done < p.total {
			p.nextPct = (100*p.done/p.total)/10*10 + 10
			p.draw(now)
		}
	default:
		if now.Sub(p.last) >= 10*time.Second {
			p.draw(now)
		}
	}
	return len(b), nil
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p.w == io.Discard {
		return
	}
	p.draw(time.Now())
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(now time.Time) {
	p.last = now
	line := p.line(now)
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

func (p *progress) line(now time.Time) string {
	rate := ""
	if el := now.Sub(p.start).Seconds(); el > 0 {
		rate = "  " + humanBytes(float64(p.done-p.base)/el) + "/s"
	}
	if p.total <= 0 {
		return fmt.Sprintf("%s  %s%s", p.label, humanBytes(float64(p.done)), rate)
	}
	frac := float64(p.done) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	n := int(frac * width)
	bar := strings.Repeat("=", n)
	if n < width {
		bar += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("%s [%s] %3.0f%%  %s / %s%s", p.label, bar, 100*frac,
		humanBytes(float64(p.done)), humanBytes(float64(p.total)), rate)
}

// humanBytes formats a byte count in decimal units: 950 B, 12.3 kB, 80.1 MB.
func humanBytes(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", n/1e3)
	}
	return fmt.Sprintf("%.0f B", n)
}
