package plan_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stylize/stylize/plan"
	"github.com/stylize/stylize/vgg"
)

// TestFormatSeed512 prints the seed preset's plan at 512² on lavapipe's
// limits (go test -v -run Format ./plan) and checks what it must say.
func TestFormatSeed512(t *testing.T) {
	p, err := plan.Make(plan.Request{Widths: vgg19, Content: plan.Size{W: 512, H: 512}, Styles: []plan.Size{{W: 512, H: 512}},
		ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
		Optimizer: "adam", LossReadback: true, ImageReadback: true}, lavapipe)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := p.Format(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	peak, _ := p.Peak()
	for _, want := range []string{
		"relu1_2", "relu1_1 (style)", "fused into relu5_2's backward", "in its own pass",
		fmt.Sprintf("(%d bytes", peak+p.WeightBytes), "stage iterate", "adam.m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the printout lacks %q", want)
		}
	}
	if n := strings.Count(out, "\n  "); n < len(p.Buffers) {
		t.Errorf("%d indented lines for %d buffers", n, len(p.Buffers))
	}
}

// Make refuses, naming the cause, what cannot run: before any GPU work.
func TestMakeRefuses(t *testing.T) {
	ok := plan.Request{Widths: vgg19, Content: plan.Size{W: 64, H: 64}, Styles: []plan.Size{{W: 64, H: 64}},
		ContentLayers: []string{"relu4_2"}, StyleLayers: []string{"relu1_1", "relu5_1"}}
	if _, err := plan.Make(ok, lavapipe); err != nil {
		t.Fatalf("the base request: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(r *plan.Request)
		want string
	}{
		{"unknown layer", func(r *plan.Request) { r.StyleLayers = []string{"relu1_1", "relu9_1"} }, "unknown layer"},
		{"no layers", func(r *plan.Request) { r.ContentLayers, r.StyleLayers = nil, nil }, "no content or style layers"},
		{"weights too shallow", func(r *plan.Request) { r.Widths = vgg19[:8] }, "deeper than the 8 convs"},
		{"content too small", func(r *plan.Request) { r.Content = plan.Size{W: 64, H: 15} }, "too small to reach relu5_1"},
		{"style too small", func(r *plan.Request) { r.Styles = []plan.Size{{W: 64, H: 64}, {W: 8, H: 80}} }, "style image 2, 8x80, is too small"},
		{"unknown optimiser", func(r *plan.Request) { r.Optimizer = "sgd" }, "unknown optimiser"},
		{"L-BFGS history 0", func(r *plan.Request) { r.Optimizer, r.History = "lbfgs", 0 }, "history 0"},
		{"content over the binding limit, tiling forbidden", func(r *plan.Request) { r.Content, r.Tile = plan.Size{W: 2000, H: 1500}, -1 }, "use -size"},
		{"a content image whose whole-image buffers exceed the limit", func(r *plan.Request) { r.Content = plan.Size{W: 6000, H: 4000} }, "use -size"},
		{"style over the binding limit", func(r *plan.Request) { r.Styles = []plan.Size{{W: 3000, H: 3000}} }, "use -style-size"},
	} {
		r := ok
		c.edit(&r)
		_, err := plan.Make(r, lavapipe)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one that says %q", c.name, err, c.want)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		// The size a FitError suggests must fit.
		var fe *plan.FitError
		if errors.As(err, &fe) {
			s := &r.Content
			if fe.Flag == "-style-size" {
				s = &r.Styles[0]
			}
			long := max(s.W, s.H)
			s.W, s.H = max(1, s.W*fe.Fit/long), max(1, s.H*fe.Fit/long)
			if _, err := plan.Make(r, lavapipe); err != nil {
				t.Errorf("%s: at the suggested %s %d (%s) the plan still fails: %v", c.name, fe.Flag, fe.Fit, s, err)
			}
			// And it is the largest that does, to 1%.
			bigger := *s
			bigger.W, bigger.H = bigger.W*101/100+1, bigger.H*101/100+1
			*s = bigger
			if _, err := plan.Make(r, lavapipe); err == nil && fe.Flag == "-size" {
				t.Errorf("%s: %s also fits: the suggested %s %d is not the largest", c.name, bigger, fe.Flag, fe.Fit)
			}
		}
	}
}

// maskGrads: every conv layer's gradient below the deepest is written
// masked, but where a loss adds its gradient in a pass of its own.
func TestMaskedGrads(t *testing.T) {
	for _, c := range []struct {
		name    string
		unfused bool
		want    string
	}{
		{"fused", false, "relu1_1 relu1_2 relu2_1 relu2_2 relu3_1 relu3_2 relu3_3 relu3_4 relu4_1 relu4_2 relu4_3 relu4_4 relu5_1"},
		{"unfused: not at the style layers", true, "relu1_2 relu2_2 relu3_2 relu3_3 relu3_4 relu4_2 relu4_3 relu4_4"},
	} {
		p, err := plan.Make(plan.Request{Widths: vgg19, Content: plan.Size{W: 64, H: 64}, Styles: []plan.Size{{W: 64, H: 64}},
			ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
			Unfused: c.unfused}, lavapipe)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for q, l := range p.Iterate.Layers {
			if l.MaskedGrad {
				got = append(got, vgg.Table[q].Name)
			}
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: masked on write: %s\nwant %s", c.name, strings.Join(got, " "), c.want)
		}
	}
}

// Make refuses a plan whose peak, weights included, exceeds the memory
// budget, and the sizes it suggests fit; a budget of the peak itself
// passes.
func TestMakeBudget(t *testing.T) {
	r := plan.Request{Widths: vgg19, Content: plan.Size{W: 512, H: 341}, Styles: []plan.Size{{W: 400, H: 349}},
		ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"},
		Optimizer: "adam", LossReadback: true, ImageReadback: true}
	r.Tile = -1 // untiled: the budget shrinks the content image too
	free, err := plan.Make(r, lavapipe)
	if err != nil {
		t.Fatal(err)
	}
	peak, _ := free.Peak()
	need := peak + free.WeightBytes
	l := lavapipe
	l.MaxMemory = need
	if _, err := plan.Make(r, l); err != nil {
		t.Errorf("a budget of the peak itself: %v", err)
	}
	l.MaxMemory = need * 2 / 3
	_, err = plan.Make(r, l)
	var be *plan.BudgetError
	if !errors.As(err, &be) || be.Need != need || be.Fit == 0 || be.StyleFit == 0 || !strings.Contains(err.Error(), "-size") {
		t.Fatalf("%d MiB for a %d MiB plan: %v", l.MaxMemory>>20, need>>20, err)
	}
	t.Log(err)
	shrink := func(s *plan.Size, long int) {
		m := max(s.W, s.H)
		s.W, s.H = s.W*long/m, s.H*long/m
	}
	shrink(&r.Content, be.Fit)
	shrink(&r.Styles[0], be.StyleFit)
	if _, err := plan.Make(r, l); err != nil {
		t.Errorf("at the suggested -size %d and -style-size %d: %v", be.Fit, be.StyleFit, err)
	}
	l.MaxMemory = free.WeightBytes / 2
	if _, err := plan.Make(r, l); err == nil || !strings.Contains(err.Error(), "weights alone") {
		t.Errorf("a budget under the weights: %v", err)
	}
	// With automatic tiling the content image fits in the budget as it
	// is; only the style image (never tiled) must shrink.
	r = plan.Request{Widths: vgg19, Content: plan.Size{W: 512, H: 341}, Styles: []plan.Size{{W: 400, H: 349}},
		ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}}
	l.MaxMemory = need * 2 / 3
	_, err = plan.Make(r, l)
	if !errors.As(err, &be) || be.Fit != 0 || be.StyleFit == 0 {
		t.Fatalf("tiled, %d MiB: %v; want only -style-size", l.MaxMemory>>20, err)
	}
	shrink(&r.Styles[0], be.StyleFit)
	p, err := plan.Make(r, l)
	if err != nil || !p.Tiled() {
		t.Errorf("at -style-size %d: %v (tiled %v)", be.StyleFit, err, err == nil && p.Tiled())
	} else {
		peak, _ := p.Peak()
		t.Logf("tiled into %d tiles of crop %dx%d: peak %d MiB in %d MiB", len(p.Tiles), p.Tiles[0].Crop.W(), p.Tiles[0].Crop.H(), (peak+p.WeightBytes)>>20, l.MaxMemory>>20)
	}
}

// A content image over the binding limit is tiled automatically: the
// plan fits, and every buffer within the limit.
func TestMakeTilesAutomatically(t *testing.T) {
	r := plan.Request{Widths: vgg19, Content: plan.Size{W: 2000, H: 1500}, Styles: []plan.Size{{W: 512, H: 512}},
		ContentLayers: []string{"relu5_2"}, StyleLayers: []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}, Optimizer: "adam"}
	p, err := plan.Make(r, lavapipe)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Tiled() {
		t.Fatalf("a 2000x1500 plan on a 128 MiB binding limit is not tiled")
	}
	for _, b := range p.Buffers {
		if !b.Readback && b.Bytes() > lavapipe.MaxBinding {
			t.Errorf("buffer %s (%s) has %d bytes, over the limit", b.Name, b.Owner, b.Bytes())
		}
	}
	peak, _ := p.Peak()
	t.Logf("%d tiles, crop %dx%d, peak %d MiB", len(p.Tiles), p.Tiles[0].Crop.W(), p.Tiles[0].Crop.H(), (peak+p.WeightBytes)>>20)
}
