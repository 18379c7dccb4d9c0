package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stylize/stylize/internal/term"
	"github.com/stylize/stylize/transfer"
)

// progress prints a run's progress: a redrawn bar on a terminal, plain
// lines when piped, or JSON lines with -json.
type progress struct {
	stdout, stderr io.Writer
	json, tty      bool
	drawn          bool
}

func newProgress(stdout, stderr io.Writer, jsonOut bool) *progress {
	return &progress{stdout: stdout, stderr: stderr, json: jsonOut, tty: term.IsTerminal(stderr)}
}

func (p *progress) event(v map[string]any) {
	if p.json {
		b, _ := json.Marshal(v)
		fmt.Fprintln(p.stdout, string(b))
	} else if v["event"] == "saved" {
		p.line(fmt.Sprintf("saved %v", v["path"]))
	} else if v["event"] == "done" {
		msg := fmt.Sprintf("wrote %v (%vx%v) in %.1fs", v["path"], v["width"], v["height"], v["seconds"])
		if v["interrupted"] == true {
			msg = "interrupted: " + msg
		}
		p.line(msg)
	}
}

func (p *progress) line(s string) {
	if p.drawn {
		fmt.Fprint(p.stderr, "\r\033[K")
		p.drawn = false
	}
	fmt.Fprintln(p.stderr, s)
}

func (p *progress) report(r transfer.Progress) {
	if p.json {
		p.event(map[string]any{"event": "progress", "scale": r.Scale, "scales": r.Scales, "iter": r.Iter, "iters": r.Iters,
			"done": r.Done, "finished": r.Finished, "total": r.Total, "width": r.W, "height": r.H,
			"loss": r.Loss[0], "content": r.Loss[1], "style": r.Loss[2], "tv": r.Loss[3], "temporal": r.Loss[4],
			"it_per_s": r.ItPerSec, "elapsed_s": r.Elapsed.Seconds()})
		return
	}
	eta := "?"
	if r.ItPerSec > 0 {
		eta = (time.Duration(float64(r.Total-r.Finished)/r.ItPerSec) * time.Second).Round(time.Second).String()
	}
	// "it" counts the iterations run; the losses are of the image before
	// the last of them (Progress).
	msg := fmt.Sprintf("scale %d/%d %dx%d  it %d/%d  %.2f it/s  ETA %s  loss %.4g (content %.3g style %.3g tv %.3g)",
		r.Scale, r.Scales, r.W, r.H, r.Finished, r.Total, r.ItPerSec, eta, r.Loss[0], r.Loss[1], r.Loss[2], r.Loss[3])
	if p.tty {
		p.bar(r.Finished, r.Total, msg)
		return
	}
	fmt.Fprintln(p.stderr, msg)
}

// bar redraws the terminal's progress bar, done of total, followed by msg.
func (p *progress) bar(done, total int, msg string) {
	const width = 20
	n := min(width*done/max(total, 1), width)
	fmt.Fprintf(p.stderr, "\r\033[K[%s%s] %s", strings.Repeat("#", n), strings.Repeat(".", width-n), msg)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.stderr)
		p.drawn = false
	}
}

// estimate prints the run's predicted duration once its second iteration
// has been timed, and where the run would take over longRun, the -size
// that would take about quickRun. long is the output's long side.
func (p *progress) estimate(e transfer.Estimate, elapsed time.Duration, long int) {
	if p.json {
		p.event(map[string]any{"event": "estimate", "per_iter_s": e.PerIter.Seconds(), "width": e.W, "height": e.H,
			"iters": e.Iters, "remaining_s": e.Remaining.Seconds(), "total_s": e.Total(elapsed).Seconds()})
		return
	}
	msg := fmt.Sprintf("estimate: %s per iteration at %dx%d, so about %s for %d iterations (%s to go)",
		roundDuration(e.PerIter), e.W, e.H, roundDuration(e.Total(elapsed)), e.Iters, roundDuration(e.Remaining))
	if e.Remaining > longRun {
		if s := e.SizeFor(long, quickRun) / 16 * 16; s >= 64 && s < long {
			msg += fmt.Sprintf("; -size %d would take about %s", s, quickRun)
		}
	}
	p.line(msg)
}

// longRun and quickRun: a run predicted to take over longRun is told the
// size that would take about quickRun.
const (
	longRun  = 15 * time.Minute
	quickRun = 5 * time.Minute
)

// roundDuration rounds d for people: to the millisecond under a second,
// to the tenth under a minute, else to the second.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
