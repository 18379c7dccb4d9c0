package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stylize/stylize/imageio"
	"github.com/stylize/stylize/internal/testgpu"
)

// TestDryRunPredictsPeakMemory: `stylize run -dry-run` on the seed preset
// at 512² prints the plan and the predicted peak GPU memory, and the same
// command without -dry-run then allocates exactly that many bytes at its
// peak (weights, buffers, uniforms and staging buffers; the run's "done"
// event reports the device's peak). VGG19's real widths, synthetic
// weights, one iteration; the style image is small so that its stage is
// cheap, and the iteration is the peak.
func TestDryRunPredictsPeakMemory(t *testing.T) {
	testgpu.Device(t)
	dir := t.TempDir()
	save := func(name string, w, h int, seed int64) string {
		p := filepath.Join(dir, name)
		img := imageio.Image{W: w, H: h, Pix: testgpu.F32(testgpu.Rand(seed, 3*w*h, 0, 1))}
		if err := imageio.Save(p, img, 8); err != nil {
			t.Fatal(err)
		}
		return p
	}
	content, style := save("content.png", 512, 512, 1), save("style.png", 96, 80, 2)
	args := []string{"-content", content, "-style", style, "-weights", "synthetic", "-size", "512",
		"-iters", "1", "-print-every", "1", "-out", filepath.Join(dir, "out.png")}
	run := func(extra ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := runStyle(context.Background(), append(append([]string(nil), args...), extra...), &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	text, _ := run("-dry-run")
	t.Log("\n" + text)
	for _, want := range []string{"iteration trunk, 512x512", "relu1_1 (style)", "fused into relu5_2's backward",
		"content targets", "image readback", "predicted peak GPU memory", "dry run, nothing was run"} {
		if !strings.Contains(text, want) {
			t.Errorf("the dry run's printout lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.png")); err == nil {
		t.Error("the dry run wrote an output image")
	}
	events := func(out string) map[string]map[string]any {
		ev := map[string]map[string]any{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ev[m["event"].(string)] = m
		}
		return ev
	}
	planOut, _ := run("-dry-run", "-json")
	p := events(planOut)["plan"]
	if p == nil {
		t.Fatalf("no plan event in %q", planOut)
	}
	predicted := int64(p["predicted_peak_bytes"].(float64))
	runOut, _ := run("-json")
	done := events(runOut)["done"]
	if done == nil {
		t.Fatalf("no done event in %q", runOut)
	}
	got := int64(done["gpu_peak_bytes"].(float64))
	t.Logf("predicted peak %d bytes (%.1f MiB); the run's peak %d bytes", predicted, float64(predicted)/(1<<20), got)
	if got != predicted {
		t.Errorf("the run's peak GPU memory was %d bytes; the dry run predicted %d (off by %d)", got, predicted, got-predicted)
	}
}
