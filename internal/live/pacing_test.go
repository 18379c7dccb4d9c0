package live

import (
	"image"
	"math"
	"testing"
	"time"

	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/transfer"
)

// fakeDisplay is a window whose frames cost a fixed GPU and CPU time.
type fakeDisplay struct{ gpuSec, cpuSec float64 }

func (f *fakeDisplay) Size() (int, int, float64)           { return 480, 320, 1 }
func (f *fakeDisplay) CanDraw() bool                       { return true }
func (f *fakeDisplay) Draw(*Scene) (bool, error)           { return true, nil }
func (f *fakeDisplay) Capture(*Scene) (image.Image, error) { return nil, nil }
func (f *fakeDisplay) Poll() error                         { return nil }
func (f *fakeDisplay) Busy() bool                          { return false }
func (f *fakeDisplay) Cost() (float64, float64)            { return f.gpuSec, f.cpuSec }
func (f *fakeDisplay) Sync() (bool, error)                 { return false, nil }
func (f *fakeDisplay) Resize(int, int) error               { return nil }
func (f *fakeDisplay) ToggleFullscreen() (bool, error)     { return false, nil }
func (f *fakeDisplay) Rects() (Rect, Rect)                 { return Rect{}, Rect{} }

// pacingApp is an App that runs an engine whose iterations take tIt
// seconds of GPU time and tRec of CPU time to record, as measured.
func pacingApp(d Display, tIt, tRec float64) *App {
	return &App{
		cfg:  &Config{FPS: 60, Settings: &cli.Settings{RunFlags: &cli.RunFlags{}}},
		disp: d,
		s:    &Session{e: &transfer.Engine{}},
		run:  &runner{busy: make([]bool, 4), tIt: tIt, tRec: tRec},
	}
}

// TestPacingPolicy checks the pacing decisions (pacing.go) against a
// display whose frames cost 3 ms of GPU time: deterministic, where the
// frame rates they lead to are measured by BenchmarkPacing.
func TestPacingPolicy(t *testing.T) {
	d := &fakeDisplay{gpuSec: 0.003, cpuSec: 0.002}
	now := time.Now()
	budget := 1/runFPS - d.gpuSec // the cap is 60 fps, running draws at runFPS

	// Short iterations (2 ms): whole ones, batched to fill a frame's
	// budget, up to three batches queued.
	a := pacingApp(d, 0.002, 0.0001)
	a.nextDue = now.Add(time.Hour) // no frame due
	if a.slow() || a.splitting() || a.pieces() < 2 {
		t.Errorf("2 ms iterations: slow %v, splitting %v", a.slow(), a.splitting())
	}
	if got := a.budget(); math.Abs(got-budget) > 1e-12 {
		t.Errorf("budget %g s, want %g (a frame at %g fps less the drawing)", got, budget, runFPS)
	}
	k, ok := a.shouldSubmit(now)
	if want := int(budget / 0.002); !ok || k != want {
		t.Errorf("2 ms iterations: submit %d (%v), want a batch of %d filling the budget", k, ok, want)
	}
	if a.maxInflight() != 3 {
		t.Errorf("2 ms iterations: %d batches in flight, want 3", a.maxInflight())
	}
	// Recording is bounded too: at 1 ms of CPU per iteration, 8 per batch.
	a.run.tRec = 0.001
	if k, _ := a.shouldSubmit(now); k != int(maxRecord/0.001) {
		t.Errorf("1 ms to record an iteration: batches of %d, want %d", k, int(maxRecord/0.001))
	}
	if iv := a.minInterval().Seconds(); iv < 1/runFPS-1e-9 {
		t.Errorf("while running, frames every %g s, want at least 1/%g", iv, runFPS)
	}

	// Long iterations (200 ms): split into pieces of at most half a
	// budget, two in flight; a frame may go behind a piece but not behind
	// a whole iteration.
	a = pacingApp(d, 0.2, 0.001)
	a.nextDue = now.Add(time.Hour)
	if !a.slow() || !a.splitting() {
		t.Fatalf("200 ms iterations: slow %v, splitting %v", a.slow(), a.splitting())
	}
	if p := a.pieces(); p < 2 || 0.2/float64(p) > 0.5*budget+1e-12 {
		t.Errorf("200 ms iterations in %d pieces of %g s, want at most half the %g s budget", p, 0.2/float64(p), budget)
	}
	if k, ok := a.shouldSubmit(now); !ok || k != 1 {
		t.Errorf("200 ms iterations: submit %d (%v), want one piece", k, ok)
	}
	if a.maxInflight() != 2 {
		t.Errorf("pieces in flight: %d, want 2", a.maxInflight())
	}
	a.run.inflight = []batch{{k: 1, frac: 1 / float64(a.pieces()), at: now}}
	if !a.canDrawNow() {
		t.Errorf("a frame may not go behind one piece")
	}
	a.run.inflight = []batch{{k: 1, at: now}}
	if a.canDrawNow() {
		t.Errorf("a frame may go behind a whole 200 ms iteration")
	}
	// A frame is due and would wait behind the queue: nothing more goes
	// in until it is drawn.
	a.nextDue, a.dirty = now.Add(-time.Millisecond), true
	if _, ok := a.shouldSubmit(now); ok {
		t.Errorf("submitted behind a whole iteration while a frame was due")
	}

	// Before the first iteration is timed, new iterations wait for an
	// input to rest (one might take long), so the view answers at once.
	a = pacingApp(d, 0, 0)
	a.nextDue, a.lastInput = now.Add(time.Hour), now
	if _, ok := a.shouldSubmit(now); ok {
		t.Errorf("an untimed iteration went to the GPU right after an input")
	}
	if _, ok := a.shouldSubmit(now.Add(holdAfterInput)); !ok {
		t.Errorf("an untimed iteration still waited %v after an input", holdAfterInput)
	}
	// Iterations shorter than a frame do not wait for the input.
	a = pacingApp(d, 0.02, 0.001)
	a.nextDue, a.lastInput = now.Add(time.Hour), now
	if a.slow() {
		t.Fatalf("20 ms is under the %g s budget", budget)
	}
	if _, ok := a.shouldSubmit(now); !ok {
		t.Errorf("iterations shorter than a frame waited for an input to rest")
	}
	// Paused: nothing goes to the GPU.
	a.paused = true
	if _, ok := a.shouldSubmit(now); ok {
		t.Errorf("submitted while paused")
	}
}
