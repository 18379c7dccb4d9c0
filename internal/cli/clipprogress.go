package cli

import (
	"fmt"
	"time"

	"github.com/stylize/stylize/video"
)

// clipProgress is stylize video's progress over the whole clip: on a
// terminal a bar over the clip's iterations, redrawn after each one with
// the frame's own count; every -print-every iterations a line (a
// "progress" event with -json) with the losses; after each frame a line
// (a "frame" event). Its ETA comes from the iterations this run has run;
// frames an earlier run finished count as done.
type clipProgress struct {
	p           *progress
	first, next int // the first frame's iterations, and each later one's
	start       time.Time
	total, done int // the clip's iterations, and those finished
	ran         int // those this run has run
}

func newClipProgress(p *progress, frames, first, next int) *clipProgress {
	return &clipProgress{p: p, first: first, next: next, start: time.Now(), total: first + max(frames-1, 0)*next}
}

// rate is this run's iterations per second, 0 before the first.
func (c *clipProgress) rate() float64 {
	if c.ran == 0 {
		return 0
	}
	return float64(c.ran) / time.Since(c.start).Seconds()
}

// eta is the predicted time to the clip's end, "?" before any iteration.
func (c *clipProgress) eta() (time.Duration, string) {
	r := c.rate()
	if r == 0 {
		return 0, "?"
	}
	d := time.Duration(float64(c.total-c.done) / r * float64(time.Second))
	return d, roundDuration(d).String()
}

// iteration reports an iteration of a frame.
func (c *clipProgress) iteration(it video.Iteration) {
	c.done++
	c.ran++
	eta, etaText := c.eta()
	if c.p.json {
		if !it.HasLoss {
			return
		}
		c.p.event(map[string]any{"event": "progress", "frame": it.Frame + 1, "frames": it.Frames, "iter": it.Iter, "iters": it.Iters,
			"done": c.done, "total": c.total, "it_per_s": c.rate(), "eta_s": eta.Seconds(),
			"loss": it.Loss[0], "content": it.Loss[1], "style": it.Loss[2], "tv": it.Loss[3], "temporal": it.Loss[4]})
		return
	}
	msg := fmt.Sprintf("frame %d/%d  it %d/%d  clip %d/%d it  %.2f it/s  ETA %s", it.Frame+1, it.Frames, it.Iter, it.Iters, c.done, c.total, c.rate(), etaText)
	if it.HasLoss {
		msg += fmt.Sprintf("  loss %.4g (content %.3g style %.3g temporal %.3g)", it.Loss[0], it.Loss[1], it.Loss[2], it.Loss[4])
		if !c.p.tty {
			fmt.Fprintln(c.p.stderr, msg)
			return
		}
	}
	if c.p.tty {
		c.p.bar(c.done, c.total, msg)
	}
}

// frame reports a finished frame, written by this run or an earlier one
// (path is where it is).
func (c *clipProgress) frame(r video.Report, path string) {
	if r.Resumed {
		c.done += c.itersOf(r.Frame)
	}
	eta, etaText := c.eta()
	if c.p.json {
		c.p.event(map[string]any{"event": "frame", "frame": r.Frame + 1, "frames": r.Frames, "path": path,
			"resumed": r.Resumed, "iters": r.Iters, "loss": r.Loss[0], "content": r.Loss[1], "style": r.Loss[2],
			"tv": r.Loss[3], "temporal": r.Loss[4], "masked": r.Masked, "done": c.done, "total": c.total, "eta_s": eta.Seconds()})
		return
	}
	if r.Resumed {
		c.p.line(fmt.Sprintf("frame %d/%d: kept from an earlier run", r.Frame+1, r.Frames))
		return
	}
	if !r.Temporal {
		c.p.line(fmt.Sprintf("frame %d/%d: %d iterations, loss %.4g (content %.3g style %.3g); ETA %s",
			r.Frame+1, r.Frames, r.Iters, r.Loss[0], r.Loss[1], r.Loss[2], etaText))
		return
	}
	c.p.line(fmt.Sprintf("frame %d/%d: %d iterations, loss %.4g (content %.3g style %.3g temporal %.3g; the flow check leaves %.1f%% of pixels free); ETA %s",
		r.Frame+1, r.Frames, r.Iters, r.Loss[0], r.Loss[1], r.Loss[2], r.Loss[4], 100*r.Masked, etaText))
}

// itersOf is frame i's iterations.
func (c *clipProgress) itersOf(i int) int {
	if i == 0 {
		return c.first
	}
	return c.next
}
