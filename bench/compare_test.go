package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCompareRatios checks the matching rules without a GPU.
func TestBenchCompareRatios(t *testing.T) {
	row := func(name, kind string, ms float64) Row {
		return Row{Name: name, Kind: kind, MSMedian: f64p(ms), MSMin: f64p(ms), MSMax: f64p(ms)}
	}
	old := &Report{Rows: []Row{row("a", "op", 10), row("b", "op", 10), row("c", "iteration", 10), row("gone", "op", 1),
		{Name: "skipped", Kind: "op", Skipped: true, Reason: "x"}}}
	p := row("peak.fma", "peak", 10)
	p.TFlops = f64p(2)
	old.Rows = append(old.Rows, p)
	cur := &Report{Rows: []Row{row("a", "op", 10.5), row("b", "op", 12), row("c", "iteration", 5), row("new", "op", 1),
		row("skipped", "op", 1)}}
	p2 := row("peak.fma", "peak", 1) // calibrated to less work: compare throughput, not ms
	p2.TFlops = f64p(1)
	cur.Rows = append(cur.Rows, p2)
	c := Compare(old, cur, "old.json", 0.10)
	got := map[string]Ratio{}
	for _, x := range c.Rows {
		got[x.Name] = x
	}
	if len(got) != 4 || c.Regressions != 2 {
		t.Fatalf("matched %v, %d regressions", got, c.Regressions)
	}
	for name, want := range map[string]float64{"a": 1.05, "b": 1.2, "c": 0.5, "peak.fma": 2} {
		if math.Abs(got[name].Ratio-want) > 1e-9 || got[name].Regression != (want > 1.1) {
			t.Errorf("%s: %+v, want ratio %v", name, got[name], want)
		}
	}
	if len(c.OnlyOld) != 1 || c.OnlyOld[0] != "gone" {
		t.Errorf("only-old %v", c.OnlyOld)
	}
	if _, err := LoadReport(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"other/2","rows":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadReport(bad); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("wrong schema: %v", err)
	}
}

// TestBenchResultsLoad reads every report kept in bench/results, which
// -compare must keep accepting, and prints each with WriteText.
func TestBenchResultsLoad(t *testing.T) {
	files, err := filepath.Glob("results/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no results/*.json: %v", err)
	}
	for _, f := range files {
		r, err := LoadReport(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(r.Rows) == 0 || r.Adapter.Name == "" {
			t.Errorf("%s: %d rows, adapter %q", f, len(r.Rows), r.Adapter.Name)
		}
		var text strings.Builder
		if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), r.Rows[0].Name) {
			t.Errorf("%s: WriteText: %v\n%s", f, err, text.String())
		}
	}
}

// TestBenchWriteTextGolden reprints results/lavapipe-quick.json, a -quick
// -compare run, and checks it against the table that run printed, kept
// in results/lavapipe-quick.txt between notes of its own.
func TestBenchWriteTextGolden(t *testing.T) {
	r, err := LoadReport("results/lavapipe-quick.json")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("results/lavapipe-quick.txt")
	if err != nil {
		t.Fatal(err)
	}
	txt := string(data)
	from := strings.Index(txt, "stylize bench\n")
	to := strings.Index(txt, "\ncompared with ")
	if from < 0 || to < from {
		t.Fatal("results/lavapipe-quick.txt holds no table")
	}
	to += strings.Index(txt[to+1:], "\n") + 2
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if want := withoutStartupLines(txt[from:to]); b.String() != want {
		t.Errorf("WriteText differs from the table of the run:\n--- WriteText\n%s\n--- the run\n%s", b.String(), want)
	}
}
