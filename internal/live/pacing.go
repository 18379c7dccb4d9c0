package live

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"
)

// Pacing. The optimisation and the display share one GPU queue: a frame
// submitted behind queued iterations waits for them, and so does the CPU,
// in the swap chain's acquire and present (measured on lavapipe). The App
// therefore
//   - submits iterations in batches of Engine.Step, each followed by a
//     marker that tells, without blocking, when it finished, what it cost
//     on the GPU and the losses (runner);
//   - keeps a batch or two queued behind the running one, so the GPU does
//     not idle while the CPU notices a batch's end (one at a time where an
//     iteration takes over 250 ms);
//   - sizes a batch to fill the frame budget when an iteration is shorter
//     than it, and makes it one iteration when it is longer;
//   - when a frame is due, stops submitting until the queue holds at most
//     one budget of work (nothing, where an iteration is longer than the
//     budget), then draws: a frame never waits behind more than that;
//   - holds new iterations back for a moment after each input where an
//     iteration is longer than the budget, so that zooming, panning and
//     the help answer at the frame rate;
//   - caps the frame rate (-fps) and, while iterating, draws at runFPS at
//     most, keeping the drawing's share of the GPU under renderShare (where
//     iterations are short, as long as that leaves runFPS; where they are
//     long, the display then shows every second or third iteration).
//     Presenting waits for the queue to empty (wgpu's present waits on the
//     last submission), so each frame also costs a refill gap.
const (
	runFPS         = 33.0 // frame rate while iterating (at most; -fps caps it too)
	renderShare    = 0.10
	maxRecord      = 0.008 // seconds of CPU time the loop spends recording one batch
	holdAfterInput = 300 * time.Millisecond
	rebuildDelay   = 150 * time.Millisecond // weight keys: wait for the last repeat
	hudEvery       = 250 * time.Millisecond
)

// splitting reports whether iterations go to the GPU in pieces: when one
// is longer than the frame budget, so that frames fit between the pieces
// (a frame queued behind a whole iteration would wait for all of it).
func (a *App) splitting() bool { return a.run.tIt > 0 && a.run.tIt > a.budget() }

// pieces is how many pieces an iteration is split into: each about half a
// frame budget of GPU time.
func (a *App) pieces() int {
	return max(2, int(math.Ceil(a.run.tIt/(0.5*a.budget()))))
}

// render draws and presents a frame.
func (a *App) render(now time.Time) error {
	a.updateHUD(now, false)
	ok, err := a.disp.Draw(a.scene())
	if err != nil {
		return err
	}
	a.dirty, a.imageDirty = false, false
	if ok {
		a.presented(now)
	}
	return nil
}

// presented books a frame presented at now.
func (a *App) presented(now time.Time) {
	a.frameCount++
	a.lastPresent = now
	a.scheduleNext(now)
	a.frameLog = append(a.frameLog, now)
	if len(a.frameLog) > 512 {
		a.frameLog = a.frameLog[len(a.frameLog)-512:]
	}
}

// scheduleNext sets when the next frame is due: a frame clock at the
// current interval, which catches up (by up to half an interval) on a
// frame that came late, so the rate holds on average.
func (a *App) scheduleNext(now time.Time) {
	iv := a.minInterval()
	next := a.nextDue.Add(iv)
	if earliest := now.Add(iv / 2); next.Before(earliest) {
		next = earliest
	}
	a.nextDue = next
}

// budget is the GPU time per frame that iterations may take: the frame
// interval while iterating less the drawing.
func (a *App) budget() float64 {
	frame := math.Max(1/a.cfg.FPS, 1/runFPS)
	gpuSec, _ := a.disp.Cost()
	return math.Max(frame-gpuSec, frame/2)
}

// slow reports whether an iteration takes longer than the frame budget
// (or has not been measured yet).
func (a *App) slow() bool { return a.run.tIt == 0 || a.run.tIt > a.budget() }

// holding reports whether new iterations wait for the user's input to rest.
func (a *App) holding(now time.Time) bool {
	return a.slow() && !a.splitting() && now.Sub(a.lastInput) < holdAfterInput
}

func (a *App) running() bool {
	return !a.paused && !a.done && a.s.e != nil && !a.pending && len(a.actions) == 0 && a.failed == nil
}

// minInterval is the shortest time between frames: the -fps cap and, while
// iterating, the drawing's share of the GPU.
func (a *App) minInterval() time.Duration {
	t := 1 / a.cfg.FPS
	if a.running() {
		// Each frame costs its drawing and, since presenting waits for the
		// queue to empty, a refill gap: while iterating, draw no more often
		// than runFPS, and keep drawing under renderShare of the GPU — where
		// iterations are short, or split into pieces, not at the price of
		// going below runFPS). A frame costs its GPU time, and the CPU
		// waits in present at least as long (on lavapipe longer: the copy
		// to the X server).
		share := math.Max(a.disp.Cost()) / renderShare
		if !a.slow() || a.splitting() {
			share = math.Min(share, 1/runFPS)
		}
		t = math.Max(t, math.Max(share, 1/runFPS))
	}
	return time.Duration(t * float64(time.Second))
}

// wantFrame reports whether a frame is due: something changed (the user,
// a finished batch, the HUD's text) and the frame interval has passed.
func (a *App) wantFrame(now time.Time) bool {
	if !a.disp.CanDraw() || now.Before(a.nextDue) {
		return false
	}
	if a.dirty || a.imageDirty {
		return true
	}
	if now.Sub(a.hudAt) < hudEvery {
		return false
	}
	if slices.Equal(a.hudText(now), a.hudLines) {
		a.hudAt = now // nothing new: look again in hudEvery
		return false
	}
	return true
}

// canDrawNow reports whether a frame submitted now would wait behind at
// most one frame budget of iterations. Presenting a frame queued behind
// longer work blocks the CPU in the swap chain (measured on lavapipe: as
// long as the work ahead), so the window would stop answering.
func (a *App) canDrawNow() bool {
	n := len(a.run.inflight)
	return n == 0 || (n == 1 && (!a.slow() || a.run.inflight[0].frac > 0))
}

// maxInflight is how many batches may be queued: one running and one
// behind it, so the GPU never idles while the CPU notices a batch's end;
// only one where an iteration is so long that one more would delay the
// next frame too much.
func (a *App) maxInflight() int {
	switch {
	case a.splitting():
		return 2 // pieces of half a budget each
	case a.run.tIt == 0 || a.run.tIt > 0.25:
		return 1
	case a.slow():
		return 2
	}
	return 3
}

func (a *App) shouldSubmit(now time.Time) (int, bool) {
	if !a.running() || !a.run.canSubmit() || len(a.run.inflight) >= a.maxInflight() || a.holding(now) {
		return 0, false
	}
	left := math.MaxInt
	if a.cfg.Iters > 0 {
		left = a.cfg.Iters - a.run.submitted
		if left <= 0 {
			return 0, false
		}
	}
	if n := a.cfg.SaveEvery; n > 0 {
		// -save-every writes the image of exactly each multiple: nothing
		// goes behind a multiple's iteration until it is saved, and a
		// batch stops at the next multiple.
		if a.run.submitted%n == 0 && a.run.submitted > a.savedAt {
			return 0, false
		}
		left = min(left, n-a.run.submitted%n)
	}
	if n := a.cfg.PrintEvery; n > 0 { // reports land on the multiples too
		left = min(left, n-a.run.submitted%n)
	}
	// A frame is due but would wait behind the queue: let the queue drain.
	if a.wantFrame(now) && !a.canDrawNow() {
		return 0, false
	}
	if a.slow() {
		return 1, true
	}
	// Recording an iteration costs CPU time too (on lavapipe about as much
	// as running it); the loop does nothing else meanwhile, so a batch is
	// recorded in at most maxRecord.
	k := max(1, min(int(a.budget()/a.run.tIt), 64, left))
	if a.run.tRec > 0 {
		k = max(1, min(k, int(maxRecord/a.run.tRec)))
	}
	// Short iterations: stop queueing in time for the next frame, so that
	// it finds at most one batch in flight when it is due.
	if a.running() && len(a.run.inflight) > 0 {
		due := a.nextDue
		end := now.Add(time.Duration((a.run.queued(now) + float64(k)*a.run.tIt) * float64(time.Second)))
		if end.After(due.Add(time.Duration(a.budget() * float64(time.Second)))) {
			return 0, false
		}
	}
	return k, true
}

// Step is one turn of the main loop, after the window's events: the
// script, the queued actions, the finished batches, a frame when one is
// due, and the next submission.
func (a *App) Step() error {
	now := time.Now()
	if a.script != nil {
		if err := a.script.step(a, now); err != nil {
			a.failed = err
			a.setMessage(textBad, "%v", err)
			a.quitting = true
			return nil
		}
	}
	if err := a.runActions(); err != nil {
		return err
	}
	if a.pending && time.Since(a.pendingAt) >= rebuildDelay {
		if err := a.flushPending(); err != nil {
			return err
		}
	}
	n, err := a.run.poll()
	if err != nil {
		return err
	}
	if n > 0 {
		a.imageDirty = true
	}
	// Also iterations that a drain (a capture, an action) booked.
	if a.run.completed != a.reported {
		if a.run.completed > a.reported {
			if err := a.periodic(a.reported); err != nil {
				return err
			}
		}
		a.reported = a.run.completed
	}
	if err := a.disp.Poll(); err != nil {
		return err
	}
	if a.cfg.Iters > 0 && !a.done && a.run.completed >= a.cfg.Iters {
		a.done = true
		if err := a.saveOut(); err != nil {
			return err
		}
		a.setMessage(textWhite, "done: %d iterations, saved %s", a.cfg.Iters, filepath.Base(a.cfg.Out))
		fmt.Fprintf(a.stdout, "{\"event\":\"saved\",\"path\":%q,\"iter\":%d}\n", a.cfg.Out, a.run.completed)
	}
	now = time.Now()
	if a.wantFrame(now) && a.canDrawNow() {
		if err := a.render(now); err != nil {
			return err
		}
	}
	if k, ok := a.shouldSubmit(time.Now()); ok {
		if a.firstSub.IsZero() {
			a.firstSub = time.Now()
		}
		if a.splitting() {
			if err := a.run.submitPiece(a.s, a.pieces()); err != nil {
				return err
			}
		} else {
			a.dropPartial()
			if err := a.run.submit(a.s, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// Idle is how long the loop may wait for events before the next Step.
func (a *App) Idle() time.Duration {
	now := time.Now()
	if len(a.actions) > 0 || a.quitting {
		return 0
	}
	wait := 250 * time.Millisecond
	if a.script != nil && !a.script.done() {
		wait = min(wait, max(a.script.waiting(now), 0))
	}
	if a.pending {
		wait = min(wait, max(time.Until(a.pendingAt.Add(rebuildDelay)), 0))
	}
	if len(a.run.inflight) > 0 || a.disp.Busy() {
		wait = min(wait, time.Millisecond)
	}
	if k, ok := a.shouldSubmit(now); ok && k > 0 {
		wait = 0
	}
	if a.running() && len(a.run.inflight) == 0 {
		wait = min(wait, max(time.Until(a.lastInput.Add(holdAfterInput)), 0))
	}
	if a.dirty || a.imageDirty {
		wait = min(wait, max(time.Until(a.nextDue), 0))
	}
	if a.running() {
		wait = min(wait, hudEvery)
	}
	return wait
}
