package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stylize/stylize/internal/cli"
	"github.com/stylize/stylize/internal/testgpu"
)

// TestTuneCommand runs `stylize tune` twice into a cache of its own: the
// first measures the Gram of relu1_1 at 32x32, the second all the Grams
// at 32x32 and finds that one cached; stylize run then says it uses the
// cache's measured plans.
func TestTuneCommand(t *testing.T) {
	testgpu.Device(t)
	dir := t.TempDir()
	t.Setenv("STYLIZE_CACHE", dir)
	summary := regexp.MustCompile(`tuned (\d+) passes now, (\d+) were cached, (\d+) left`)
	tuneOnce := func(match string) []string {
		var stdout, stderr bytes.Buffer
		if err := cli.Tune(context.Background(), []string{"-sizes", "32", "-reps", "1", "-match", match}, &stdout, &stderr); err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		t.Logf("stylize tune -sizes 32 -reps 1 -match %q\n%s%s", match, stdout.String(), stderr.String())
		m := summary.FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("no summary line in:\n%s", stderr.String())
		}
		return m[1:]
	}
	if got := tuneOnce("gram 64 over 1024"); got[0] != "1" || got[1] != "0" {
		t.Fatalf("first run: tuned %s, cached %s; want 1 and 0", got[0], got[1])
	}
	if got := tuneOnce("gram"); got[0] != "4" || got[1] != "1" {
		t.Fatalf("second run: tuned %s, cached %s; want 4 and 1 (the first run's pass)", got[0], got[1])
	}
	if err := cli.Tune(context.Background(), []string{"-sizes", "32", "-match", "nothing like it"}, io.Discard, io.Discard); err == nil {
		t.Errorf("-match of no pass: no error")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tune.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Adapters map[string]struct {
			Choices map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Adapters) != 1 {
		t.Fatalf("tune.json: %v, %d adapters", err, len(f.Adapters))
	}
	for a, e := range f.Adapters {
		if len(e.Choices) != 5 {
			t.Fatalf("%s holds %d choices, want 5", a, len(e.Choices))
		}
	}
	c := prepareOracle(t, "tiny_seed")
	var stdout, stderr bytes.Buffer
	args := []string{"-dry-run", "-content", c.content, "-style", c.styles[0], "-weights", c.weights, "-out", filepath.Join(c.dir, "o.png")}
	if err := runStyle(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if want := "kernels: tuned (5 measured passes in " + filepath.Join(dir, "tune.json"); !strings.Contains(stderr.String(), want) {
		t.Errorf("stylize run does not say %q:\n%s", want, stderr.String())
	}
}
