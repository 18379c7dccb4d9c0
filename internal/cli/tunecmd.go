package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stylize/stylize/bench"
	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/tune"
)

const tuneUsage = `Usage: stylize tune [flags]

Measures the kernel plans of the seed's iteration on this GPU: for every
conv pass (forward and backward_input) and Gram of an s x s image with an
s x s style image, at each of -sizes, it times the candidate plans
(direct or Winograd F(2x2,3x3), tile, split-K) and keeps the fastest one
whose output agrees with the heuristic plan's to a relative 1e-4. The
choices are cached per adapter, driver and backend; stylize run, bench
and stylize-live use them (-kernels auto, the default) and say so.

Passes already in the cache are not timed again (-force retimes them).
For a run whose images are not square, stylize run -tune measures that
run's own passes first and caches them too.

Examples:
  stylize tune                      the shapes of 512x512
  stylize tune -sizes 256,512,1024 -budget 20m
  stylize tune -match gram -force   the Grams of 512x512 again

Environment: STYLIZE_CACHE is the cache directory (default: the user cache
directory's stylize); the file is tune.json.

Flags:
`

// Tune runs 'stylize tune ARGS' until done or ctx is cancelled; a cancel
// keeps what was measured (the cache is saved after every pass).
func Tune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "512", "image sides whose passes to measure, comma-separated")
	budget := fs.Duration("budget", 10*time.Minute, "no candidate starts after this much time; passes not finished keep the heuristic's plans (0: no limit)")
	reps := fs.Int("reps", 3, "timed runs per candidate (the median counts)")
	force := fs.Bool("force", false, "measure again the passes the cache already holds (each choice is replaced once its pass is measured)")
	match := fs.String("match", "", "measure only the passes whose name holds this text (\"gram\", \"backward_input 64>64\")")
	device := fs.String("device", "", "adapter index or name substring (default: STYLIZE_DEVICE, else the fastest)")
	fs.Usage = func() { io.WriteString(fs.Output(), tuneUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tune: unexpected argument %q (see stylize tune -h)", fs.Arg(0))
	}
	ss, err := bench.ParseSizes(*sizes)
	if err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	if *reps < 1 || *budget < 0 {
		return errors.New("tune: need -reps >= 1 and -budget >= 0")
	}
	path, err := tune.DefaultPath()
	if err != nil {
		return err
	}
	d, err := gpu.Open(gpu.Options{Adapter: *device})
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(stderr, "adapter: %s\n", tune.AdapterKey(d.Info))
	// Load's errors all mean an empty cache to warn about (tune.ErrStale).
	c, err := tune.Load(path, tune.AdapterKey(d.Info))
	if err != nil {
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	l := plan.LimitsOf(d)
	var plans []*plan.Plan
	for _, s := range ss {
		p, err := bench.IterationPlan(l, s, nil)
		if err != nil {
			return fmt.Errorf("tune: %dx%d: %w", s, s, err)
		}
		plans = append(plans, p)
	}
	shapes := tune.Shapes(plans...)
	if *match != "" {
		var only []tune.Shape
		for _, s := range shapes {
			if strings.Contains(s.Key(), *match) {
				only = append(only, s)
			}
		}
		if len(only) == 0 {
			return fmt.Errorf("tune: no pass at %v matches -match %q", ss, *match)
		}
		shapes = only
	}
	fmt.Fprintf(stderr, "%d passes at %v (within %v; cached ones are not timed again)\n", len(shapes), ss, *budget)
	r, err := tune.Tune(ctx, d, shapes, c, tune.Options{Budget: *budget, Reps: *reps, Log: stdout, Force: *force})
	fmt.Fprintf(stderr, "tuned %d passes now, %d were cached, %d left to the heuristic (out of time or interrupted); cache %s\n", r.Tuned, r.Cached, r.Skipped, c.Path)
	if err == nil && ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}
