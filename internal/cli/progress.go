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
			"done": r.Done, "total": r.Total, "width": r.W, "height": r.H,
			"loss": r.Loss[0], "content": r.Loss[1], "style": r.Loss[2], "tv": r.Loss[3],
			"it_per_s": r.ItPerSec, "elapsed_s": r.Elapsed.Seconds()})
		return
	}
	eta := "?"
	if r.ItPerSec > 0 {
		eta = (time.Duration(float64(r.Total-r.Done)/r.ItPerSec) * time.Second).Round(time.Second).String()
	}
	msg := fmt.Sprintf("scale %d/%d %dx%d  it %d/%d  %.2f it/s  ETA %s  loss %.4g (content %.3g style %.3g tv %.3g)",
		r.Scale, r.Scales, r.W, r.H, r.Done, r.Total, r.ItPerSec, eta, r.Loss[0], r.Loss[1], r.Loss[2], r.Loss[3])
	if p.tty {
		const width = 20
		n := width * r.Done / max(r.Total, 1)
		fmt.Fprintf(p.stderr, "\r\033[K[%s%s] %s", strings.Repeat("#", n), strings.Repeat(".", width-n), msg)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.stderr, msg)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.stderr)
		p.drawn = false
	}
}
