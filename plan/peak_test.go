package plan_test

import (
	"fmt"
	"testing"

	"github.com/stylize/stylize/plan"
)

// TestPeakTable prints the README's table of the seed's peak memory
// (go test -v -run PeakTable ./plan): VGG19, content and style both S²
// (1024² style past 2048), Adam, on a GPU with 2 GiB bindings so that
// every size can be planned untiled. It checks the two goals of the
// memory issue: 2048² untiled within 6 GiB, and 8192² tiled within an
// 8 GiB budget.
func TestPeakTable(t *testing.T) {
	big := lavapipe
	big.Adapter, big.Software = "test GPU with 2 GiB bindings", false
	big.MaxBinding, big.MaxBuffer = 2<<30, 2<<30
	gib := func(p *plan.Plan) float64 {
		peak, _ := p.Peak()
		return float64(peak+p.WeightBytes) / (1 << 30)
	}
	mk := func(s, style, tile int, budget uint64) (*plan.Plan, error) {
		l := big
		l.MaxMemory = budget
		return plan.Make(plan.Request{Widths: vgg19, Content: plan.Size{W: s, H: s}, Styles: []plan.Size{{W: style, H: style}},
			ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
			Optimizer: "adam", LossReadback: true, ImageReadback: true, Tile: tile}, l)
	}
	describe := func(p *plan.Plan, err error) string {
		switch {
		case err != nil:
			return "refused"
		case p.Tiled():
			return fmt.Sprintf("%.2f GiB (%d tiles)", gib(p), len(p.Tiles))
		}
		return fmt.Sprintf("%.2f GiB (untiled)", gib(p))
	}
	t.Log("| S | untiled | -max-memory 6GiB | -max-memory 8GiB |")
	for _, s := range []int{512, 1024, 2048, 4096, 8192} {
		style := min(s, 2048)
		if s > 2048 {
			style = 1024
		}
		untiled := "-"
		if s <= 2048 {
			p, err := mk(s, style, -1, 0)
			if err != nil {
				t.Fatalf("%d² untiled: %v", s, err)
			}
			untiled = fmt.Sprintf("%.2f GiB", gib(p))
			if s == 2048 && gib(p) > 6 {
				t.Errorf("2048² untiled needs %.2f GiB, over the 6 GiB goal", gib(p))
			}
		}
		six, err6 := mk(s, style, 0, 6<<30)
		eight, err8 := mk(s, style, 0, 8<<30)
		if s == 8192 && err8 != nil {
			t.Errorf("8192² tiled in 8 GiB: %v", err8)
		}
		t.Logf("| %d | %s | %s | %s |", s, untiled, describe(six, err6), describe(eight, err8))
	}
}
