package twin_test

import (
	"slices"
	"testing"

	"github.com/stylize/stylize/internal/twin"
)

// Each pixel is held to the nearest earlier frame whose flow is
// consistent there, and to none where no frame's is: Ruder et al.'s
// c_long weights, which are disjoint.
func TestHold(t *testing.T) {
	// 4 pixels, 3 channels; frames 1, 2 and 3 back, their masks:
	// pixel 0: all consistent -> frame 1; pixel 1: 2 and 3 -> frame 2;
	// pixel 2: only 3 -> frame 3; pixel 3: none.
	keep := [][]bool{{true, false, false, false}, {true, true, false, false}, {true, true, true, false}}
	target := make([]float64, 12)
	weights := make([]float64, 4)
	for j, c := range keep {
		warped := make([]float64, 12)
		for i := range warped {
			warped[i] = float64(10*(j+1) + i%4) // frame j+1 back, pixel i%4
		}
		twin.Hold(target, weights, warped, c)
	}
	if want := []float64{1, 1, 1, 0}; !slices.Equal(weights, want) {
		t.Errorf("weights %v, want %v", weights, want)
	}
	want := []float64{10, 21, 32, 0}
	for ch := 0; ch < 3; ch++ {
		if got := target[4*ch : 4*ch+4]; !slices.Equal(got, want) {
			t.Errorf("channel %d: target %v, want %v", ch, got, want)
		}
	}
}
