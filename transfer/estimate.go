package transfer

import (
	"math"
	"time"

	"github.com/stylize/stylize/plan"
)

// Estimate is a run's predicted duration, made from its second
// iteration's time (the first also pays for the pipelines' first use), so
// that a user learns within seconds whether a run takes minutes or hours.
// Later scales are predicted to cost in proportion to their pixels, as
// every pass of the network does untiled; a later scale that is tiled
// costs more (two forwards per tile, halos), so there the estimate is low.
type Estimate struct {
	PerIter   time.Duration // one iteration at the first scale
	W, H      int           // the first scale's size
	Iters     int           // iterations in the whole run
	Remaining time.Duration // predicted time to the end of the run
}

// Total is the run's predicted duration, the iterations done included.
func (e Estimate) Total(elapsed time.Duration) time.Duration { return elapsed + e.Remaining }

// SizeFor is the long side that a run of the same scales and iterations
// at long side long would have to shrink to, to take about d in all:
// the time scales with the pixels.
func (e Estimate) SizeFor(long int, d time.Duration) int {
	total := e.Remaining + 2*e.PerIter
	if total <= 0 {
		return long
	}
	return int(float64(long) * math.Sqrt(d.Seconds()/total.Seconds()))
}

// work is a run's cost in iterations of its first scale: each scale's
// iterations weighted by its pixels over the first scale's.
func work(plans []*plan.Plan, iters []int) float64 {
	if len(plans) == 0 {
		return 0
	}
	p0 := float64(plans[0].Content.W * plans[0].Content.H)
	sum := 0.0
	for i, p := range plans {
		sum += float64(iters[i]) * float64(p.Content.W*p.Content.H) / p0
	}
	return sum
}
