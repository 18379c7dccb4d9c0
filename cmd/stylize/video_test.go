package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/internal/testgpu"
)

// writeClip writes n frames of a translating texture (w×h) into a new
// directory.
func writeClip(t *testing.T, n, w, h int) string {
	t.Helper()
	dir := t.TempDir()
	tex := [3]testgpu.Texture{testgpu.NewTexture(1), testgpu.NewTexture(2), testgpu.NewTexture(3)}
	for i := 0; i < n; i++ {
		img := imageio.Image{W: w, H: h, Pix: make([]float32, 3*w*h)}
		for ch, tx := range tex {
			f := tx.Frame(h, w, func(x, y float64) (float64, float64) { return x - 1.5*float64(i), y - 0.5*float64(i) })
			for k, v := range f {
				img.Pix[ch*w*h+k] = float32(v)
			}
		}
		if err := imageio.Save(filepath.Join(dir, "f"+string(rune('a'+i))+".png"), img, 8); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// frameEvents are the -json frame events of a run's stdout.
func frameEvents(t *testing.T, out string) []map[string]any {
	t.Helper()
	return events(t, out, "frame")
}

// events are the -json events of a run's stdout of one kind.
func events(t *testing.T, out, kind string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if ev["event"] == kind {
			evs = append(evs, ev)
		}
	}
	return evs
}

// TestVideoFrames: stylize video writes one frame per input frame, with a
// -json event each, and a progress event with the losses every
// -print-every iterations of a frame, counting to the clip's total;
// interrupted after the first frame, it keeps that frame, and run again
// it continues from there to the very frames of an uninterrupted run,
// here with the long-term temporal loss, which reads the results of the
// two frames before each back from the output.
func TestVideoFrames(t *testing.T) {
	testgpu.Device(t)
	c := prepareOracle(t, "tiny_seed")
	in := writeClip(t, 4, 48, 40)
	args := func(out string) []string {
		return []string{"-in", in, "-style", c.styles[0], "-weights", c.weights, "-size", "0",
			"-iters", "6", "-iters-next", "3", "-out", out, "-json", "-print-every", "2", "-temporal-frames", "1,2"}
	}
	whole := filepath.Join(t.TempDir(), "whole")
	var stdout, stderr bytes.Buffer
	if err := runVideo(context.Background(), args(whole), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	evs := frameEvents(t, stdout.String())
	if len(evs) != 4 || evs[1]["temporal"].(float64) < 0 || evs[1]["iters"] != 3.0 {
		t.Fatalf("frame events %v", evs)
	}
	// Iterations 2, 4 and 6 of the first frame, 2 and 3 of each later one.
	prog := events(t, stdout.String(), "progress")
	if len(prog) != 9 {
		t.Fatalf("%d progress events, want 9: %v", len(prog), prog)
	}
	for k, want := range []struct{ frame, iter, done float64 }{{1, 2, 2}, {1, 4, 4}, {1, 6, 6}, {2, 2, 8}, {2, 3, 9}, {4, 3, 15}} {
		ev := prog[[]int{0, 1, 2, 3, 4, 8}[k]]
		if ev["frame"] != want.frame || ev["iter"] != want.iter || ev["done"] != want.done || ev["total"] != 15.0 || !(ev["loss"].(float64) > 0) || !(ev["eta_s"].(float64) >= 0) {
			t.Errorf("progress event %v, want frame %v iteration %v, %v of 15 done, with a loss", ev, want.frame, want.iter, want.done)
		}
	}
	read := func(dir string, i int) []byte {
		b, err := os.ReadFile(filepath.Join(dir, []string{"frame_00001.png", "frame_00002.png", "frame_00003.png", "frame_00004.png"}[i]))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Interrupted after the first frame, then run again.
	parts := filepath.Join(t.TempDir(), "parts")
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelOn{marker: `"event":"frame"`, cancel: cancel}
	err := runVideo(ctx, args(parts), w, &bytes.Buffer{})
	cancel()
	if !errors.Is(err, cli.ErrInterrupted) {
		t.Fatalf("interrupted run: %v, want ErrInterrupted", err)
	}
	done, _ := filepath.Glob(filepath.Join(parts, "frame_*.png"))
	if len(done) < 1 || len(done) > 2 {
		t.Fatalf("after the interrupt: %v", done)
	}
	stdout.Reset()
	if err := runVideo(context.Background(), args(parts), &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	evs = frameEvents(t, stdout.String())
	if len(evs) != 4 || evs[0]["resumed"] != true || evs[3]["resumed"] != false || evs[3]["done"] != 15.0 {
		t.Errorf("resumed run's events: %v", evs)
	}
	for i := 0; i < 4; i++ {
		if !bytes.Equal(read(whole, i), read(parts, i)) {
			t.Errorf("frame %d of the resumed run differs from the uninterrupted run's", i+1)
		}
	}
}

// Bad clips are refused before any GPU work, with nothing written.
func TestVideoRejectsBadInput(t *testing.T) {
	c := prepareOracle(t, "tiny_seed")
	empty := t.TempDir()
	good := writeClip(t, 2, 40, 32)
	mixed := writeClip(t, 2, 40, 32)
	if err := imageio.Save(filepath.Join(mixed, "zz.png"), imageio.Image{W: 20, H: 10, Pix: make([]float32, 600)}, 8); err != nil {
		t.Fatal(err)
	}
	notVideo := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(notVideo, []byte("not a video at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no frames", []string{"-in", empty, "-out", out}, "no frames"},
		{"frames of two sizes", []string{"-in", mixed, "-out", out}, "one size"},
		{"a file that is no video", []string{"-in", notVideo, "-out", out}, "not a video"},
		{"no -in", []string{"-out", out}, "no -in"},
		{"unwritable -out", []string{"-in", good, "-out", "/proc/stylize-frames"}, "-out"},
		{"negative temporal weight", []string{"-in", empty, "-out", out, "-temporal-weight", "-1"}, "temporal-weight"},
		{"temporal frames out of order", []string{"-in", good, "-out", out, "-temporal-frames", "1,20,10"}, "-temporal-frames 1,20,10"},
		{"temporal frame 0", []string{"-in", good, "-out", out, "-temporal-frames", "0"}, "-temporal-frames 0"},
		{"temporal frames not numbers", []string{"-in", good, "-out", out, "-temporal-frames", "1,x"}, "not a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-style", c.styles[0], "-weights", c.weights}, tc.args...)
			err := runVideo(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one that says %q", err, tc.want)
			}
			if frames, _ := filepath.Glob(filepath.Join(out, "frame_*")); len(frames) > 0 {
				t.Fatalf("frames were written: %v", frames)
			}
			t.Log(err)
		})
	}
}

// Without ffmpeg, a video file in or out is refused, saying what to
// install and that frame directories work without it.
func TestVideoWithoutFFmpeg(t *testing.T) {
	c := prepareOracle(t, "tiny_seed")
	clip := writeClip(t, 2, 40, 32)
	t.Setenv("PATH", t.TempDir())
	for _, args := range [][]string{{"-in", filepath.Join(clip, "fa.png"), "-out", t.TempDir()}, {"-in", clip, "-out", filepath.Join(t.TempDir(), "o.mp4")}} {
		err := runVideo(context.Background(), append([]string{"-style", c.styles[0], "-weights", c.weights}, args...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "apt-get install ffmpeg") || !strings.Contains(err.Error(), "directory of frames") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// A video file in, a video file out: ffmpeg decodes the clip, and the
// stylised frames are encoded into the output, which has as many frames.
func TestVideoFiles(t *testing.T) {
	testgpu.Device(t)
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not installed: apt-get install ffmpeg (make deps installs it)")
	}
	c := prepareOracle(t, "tiny_seed")
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	frames := writeClip(t, 4, 48, 40)
	mk := exec.Command(ff, "-v", "error", "-framerate", "10", "-pattern_type", "glob", "-i", filepath.Join(frames, "*.png"), "-c:v", "libx264", "-pix_fmt", "yuv420p", clip)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("making the clip: %v\n%s", err, out)
	}
	styled := filepath.Join(dir, "styled.mp4")
	var stdout, stderr bytes.Buffer
	args := []string{"-in", clip, "-style", c.styles[0], "-weights", c.weights, "-size", "0", "-iters", "4", "-iters-next", "2", "-out", styled, "-json"}
	if err := runVideo(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if n := len(frameEvents(t, stdout.String())); n != 4 {
		t.Errorf("%d frame events, want 4", n)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", styled).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "48,40,4" {
		t.Errorf("the output video: %q, want 48x40 and 4 frames", got)
	}
}
