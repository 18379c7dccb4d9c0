package tune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
)

// Tolerance is how far, norm-wise and relative, a candidate's output may
// stand from the heuristic plan's on the same inputs: fp32 rounding in
// another summation order, or Winograd's transforms, stay near 1e-6 on
// these passes (TestConv3x3WinogradMatchesTwin); a wrong kernel is far
// beyond.
const Tolerance = 1e-4

// trial runs the candidates of one shape.
type trial interface {
	// candidates lists the plans to try, the heuristic's first.
	candidates() []Choice
	// refine lists the plans to try next given the fastest so far (split-K
	// of the fastest tile): a search in two stages, because each candidate
	// costs a compile. Nil when there are none.
	refine(best Choice) []Choice
	// run builds candidate c, runs it on the trial's inputs and returns
	// its output and its time per run in milliseconds.
	run(c Choice) (out []float32, ms float64, err error)
}

// Options are a tuning run's settings.
type Options struct {
	// Budget bounds the whole run (0: none): no candidate starts after it,
	// and a shape not finished by then keeps the heuristic. A candidate
	// under way runs to its end: one build and 1+Reps runs.
	Budget time.Duration
	// Reps is the timed runs per candidate (the median counts).
	Reps int
	// Log receives a line per shape (nil: none).
	Log io.Writer
	// Force measures again the shapes the cache holds, replacing each
	// choice only once its shape is measured.
	Force bool
}

// Result is what a tuning run did.
type Result struct {
	// Shapes measured now, found in the cache, and left to the heuristic
	// because the budget ran out or ctx was cancelled first.
	Tuned, Cached, Skipped int
}

// Tune measures the candidates of every shape the cache does not hold yet,
// on d, and records each shape's fastest candidate that agrees with the
// heuristic plan's output within Tolerance. Shapes already cached are not
// timed again (unless o.Force). It saves the cache after each shape it
// measures; cancelling ctx stops it between candidates, keeping them.
func Tune(ctx context.Context, d *gpu.Device, shapes []Shape, c *Cache, o Options) (Result, error) {
	l := plan.LimitsOf(d)
	return tuneWith(ctx, shapes, c, o, func(s Shape) (trial, error) { return newGPUTrial(d, l, s, o.Reps) })
}

// tuneWith is Tune over trials that newTrial makes (tests inject theirs).
func tuneWith(ctx context.Context, shapes []Shape, c *Cache, o Options, newTrial func(Shape) (trial, error)) (Result, error) {
	var r Result
	var stop func() bool
	if o.Budget > 0 {
		deadline := time.Now().Add(o.Budget)
		stop = func() bool { return ctx.Err() != nil || time.Now().After(deadline) }
	} else {
		stop = func() bool { return ctx.Err() != nil }
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format, a...)
		}
	}
	for _, s := range shapes {
		key := s.Key()
		if _, ok := c.Choices[key]; ok && !o.Force {
			r.Cached++
			continue
		}
		if stop() {
			r.Skipped++
			continue
		}
		t, err := newTrial(s)
		if err != nil {
			return r, fmt.Errorf("tune: %s: %w", key, err)
		}
		ch, done, err := choose(t, stop, func(format string, a ...any) { logf("  "+key+": "+format, a...) })
		if rel, ok := t.(interface{ release() }); ok {
			rel.release()
		}
		if err != nil {
			return r, fmt.Errorf("tune: %s: %w", key, err)
		}
		if !done {
			r.Skipped++
			continue
		}
		c.Choices[key] = ch
		r.Tuned++
		logf("%s: %s, %.3g ms (heuristic %.3g ms, %d candidates)\n", key, choiceString(ch), ch.MS, ch.HeuristicMS, ch.Candidates)
		// Saved after every pass, so that an interrupted run keeps what it
		// measured.
		if err := c.Save(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// choose runs t's candidates and returns the fastest whose output agrees
// with the heuristic's (the first candidate), which is the reference. It
// stops between candidates once stop says so, and then returns done
// false: a shape measured in part gets no choice.
func choose(t trial, stop func() bool, logf func(string, ...any)) (best Choice, done bool, err error) {
	cands := t.candidates()
	if len(cands) == 0 {
		return Choice{}, false, errors.New("no candidates")
	}
	ref, refMS, err := t.run(cands[0])
	if err != nil {
		return Choice{}, false, fmt.Errorf("the heuristic plan %s: %w", choiceString(cands[0]), err)
	}
	best = cands[0]
	best.MS, best.HeuristicMS, best.Candidates = refMS, refMS, 1
	tried := map[string]bool{choiceString(cands[0]): true}
	stopped := false
	try := func(cs []Choice) {
		for _, c := range cs {
			if stopped = stopped || stop(); stopped {
				return
			}
			if tried[choiceString(c)] {
				continue
			}
			tried[choiceString(c)] = true
			best.Candidates++
			out, ms, err := t.run(c)
			if err != nil {
				logf("%s: %v\n", choiceString(c), err)
				continue
			}
			if e := normRel(out, ref); !(e <= Tolerance) {
				logf("%s: refused, its output is %.3g from the heuristic's (tolerance %g)\n", choiceString(c), e, Tolerance)
				continue
			}
			if ms < best.MS {
				best.Conv, best.Gram, best.MS = c.Conv, c.Gram, ms
			}
		}
	}
	try(cands[1:])
	if !stopped {
		try(t.refine(best))
	}
	return best, !stopped, nil
}

// normRel is ‖a − b‖/‖b‖ (NaN for different lengths).
func normRel(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	var d, n float64
	for i := range a {
		e := float64(a[i]) - float64(b[i])
		d += e * e
		n += float64(b[i]) * float64(b[i])
	}
	if n == 0 {
		return math.Sqrt(d)
	}
	return math.Sqrt(d / n)
}

func choiceString(c Choice) string {
	if c.Gram != nil {
		return "gram " + c.Gram.String()
	}
	if c.Conv != nil {
		return c.Conv.String()
	}
	return "none"
}

// convChoice and gramChoice wrap plans as candidates.
func convChoice(p ops.ConvPlan) Choice { return Choice{Conv: &p} }
func gramChoice(p ops.GramPlan) Choice { return Choice{Gram: &p} }
