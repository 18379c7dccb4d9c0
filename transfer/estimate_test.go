package transfer

import (
	"math"
	"testing"
	"time"

	"github.com/stylize/stylize/plan"
)

// work weights each scale's iterations by its pixels, and SizeFor inverts
// the time's proportion to the pixels.
func TestEstimateWork(t *testing.T) {
	plans := []*plan.Plan{{Request: plan.Request{Content: plan.Size{W: 100, H: 50}}}, {Request: plan.Request{Content: plan.Size{W: 200, H: 100}}}}
	if got := work(plans, []int{10, 5}); got != 10+5*4 {
		t.Errorf("work %g, want 30", got)
	}
	e := Estimate{PerIter: time.Second, Remaining: 398 * time.Second} // 400 s in all
	if got := e.SizeFor(1000, 100*time.Second); got != 500 {
		t.Errorf("SizeFor: %d, want 500 (a quarter of the time, half the side)", got)
	}
	if got := e.Total(2 * time.Second); got != 400*time.Second {
		t.Errorf("Total %v", got)
	}
	if math.IsNaN(float64(work(nil, nil))) || work(nil, nil) != 0 {
		t.Errorf("work of nothing")
	}
}
