package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stylize/stylize/gpu"
	"github.com/stylize/stylize/ops"
	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/tune"
)

// KernelModes are -kernels' values: the tuning cache's measured plans
// where it has them (auto), the heuristic's, or one conv algorithm on
// every pass it supports (plan.Forced).
var KernelModes = []string{"auto", "heuristic", "direct", "winograd", "winograd4"}

// CheckKernels checks -kernels.
func CheckKernels(mode string) error {
	for _, m := range KernelModes {
		if mode == m {
			return nil
		}
	}
	return fmt.Errorf("unknown -kernels %q (want %s)", mode, strings.Join(KernelModes, ", "))
}

// LoadKernels returns the kernel plans a command runs with on d: with
// -kernels auto, the tuning cache's measured choices for this adapter
// where it has any (tune.Kernels), else the heuristic (nil); with
// direct, winograd or winograd4, that algorithm wherever it applies. It says
// which on w, and warns there of a cache it had to ignore (damaged, or
// measured with other kernels).
func LoadKernels(mode string, d *gpu.Device, w io.Writer) (plan.Kernels, *tune.Cache, error) {
	switch mode {
	case "heuristic":
		fmt.Fprintln(w, "kernels: heuristic (-kernels heuristic)")
		return nil, nil, nil
	case "direct", "winograd", "winograd4":
		k := plan.Forced{Algo: ops.Direct}
		switch mode {
		case "winograd":
			k.Algo = ops.Winograd2
		case "winograd4":
			k.Algo = ops.Winograd4
		}
		fmt.Fprintf(w, "kernels: %s on every conv pass it supports (-kernels %s)\n", mode, mode)
		return k, nil, nil
	}
	path, err := tune.DefaultPath()
	if err != nil {
		fmt.Fprintf(w, "kernels: heuristic (%v)\n", err)
		return nil, nil, nil
	}
	// Load's errors all mean an empty cache to warn about (tune.ErrStale).
	c, err := tune.Load(path, tune.AdapterKey(d.Info))
	if err != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
	if len(c.Choices) == 0 {
		fmt.Fprintf(w, "kernels: heuristic (no kernels measured on this GPU yet: stylize tune, or -tune, measures them)\n")
		return nil, c, nil
	}
	k := tune.Kernels{Cache: c}
	fmt.Fprintf(w, "kernels: %s\n", k.Name())
	return k, c, nil
}

// TuneFirst measures, within budget, the passes of plans that c does not
// hold yet (stylize run -tune), logging to w, and returns the Kernels of
// the cache.
func TuneFirst(ctx context.Context, d *gpu.Device, plans []*plan.Plan, c *tune.Cache, budget time.Duration, w io.Writer) (plan.Kernels, error) {
	shapes := tune.Shapes(plans...)
	fmt.Fprintf(w, "tuning %d passes (within %v; cached ones are not timed again)\n", len(shapes), budget)
	r, err := tune.Tune(ctx, d, shapes, c, tune.Options{Budget: budget, Reps: 3, Log: w})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "tuned %d passes now, %d were cached, %d left to the heuristic (out of time or interrupted); cache %s\n", r.Tuned, r.Cached, r.Skipped, c.Path)
	if len(c.Choices) == 0 {
		return nil, nil
	}
	return tune.Kernels{Cache: c}, nil
}
