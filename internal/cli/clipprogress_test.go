package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stylize/stylize/video"
)

// On a terminal, stylize video's bar covers the clip's iterations and
// names the frame's; frames an earlier run finished count as done; piped,
// only the -print-every iterations and the frames print lines.
func TestClipProgress(t *testing.T) {
	var tty bytes.Buffer
	c := newClipProgress(&progress{stderr: &tty, tty: true}, 3, 4, 2) // 4 + 2 + 2 iterations
	c.frame(video.Report{Frame: 0, Frames: 3, Resumed: true}, "f1.png")
	c.iteration(video.Iteration{Frame: 1, Frames: 3, Iter: 1, Iters: 2})
	out := tty.String()
	// Frame 1's 4 and this 1 of 8: 5/8 of 20 columns.
	if !strings.Contains(out, "\r\033[K[############........] frame 2/3  it 1/2  clip 5/8 it") {
		t.Errorf("the bar after a resumed frame and an iteration: %q", out)
	}
	c.iteration(video.Iteration{Frame: 1, Frames: 3, Iter: 2, Iters: 2, HasLoss: true, Loss: [5]float32{3, 1, 1, 0, 1}})
	c.frame(video.Report{Frame: 1, Frames: 3, Iters: 2, Loss: [5]float32{3, 1, 1, 0, 1}}, "f2.png")
	if out := tty.String(); !strings.Contains(out, "clip 6/8 it") || !strings.Contains(out, "\r\033[Kframe 2/3: 2 iterations, loss 3") {
		t.Errorf("the bar and the frame's line: %q", out)
	}

	var piped bytes.Buffer
	c = newClipProgress(&progress{stderr: &piped}, 2, 2, 2)
	c.iteration(video.Iteration{Frame: 0, Frames: 2, Iter: 1, Iters: 2})
	c.iteration(video.Iteration{Frame: 0, Frames: 2, Iter: 2, Iters: 2, HasLoss: true, Loss: [5]float32{2, 1, 1, 0, 0}})
	c.frame(video.Report{Frame: 0, Frames: 2, Iters: 2, Loss: [5]float32{2, 1, 1, 0, 0}}, "f1.png")
	lines := strings.Split(strings.TrimSpace(piped.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "frame 1/2  it 2/2  clip 2/4 it") || !strings.Contains(lines[0], "loss 2") ||
		!strings.HasPrefix(lines[1], "frame 1/2: 2 iterations") || !strings.Contains(lines[1], "ETA ") || strings.Contains(piped.String(), "\r") {
		t.Errorf("piped: %q", piped.String())
	}
}
