package live

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSnapshotName(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	a := snapshotName(out, at)
	if filepath.Base(a) != "out-20260102-030405.png" {
		t.Fatalf("name %s", a)
	}
	os.WriteFile(a, nil, 0o644)
	if b := snapshotName(out, at); filepath.Base(b) != "out-20260102-030405-2.png" {
		t.Errorf("second name in the same second: %s", b)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("content: notimage.png: not an image (or not PNG, JPEG)", 20)
	for _, l := range got {
		if len(l) > 20 {
			t.Errorf("line %q longer than 20", l)
		}
	}
	if strings.Join(got, " ") != "content: notimage.png: not an image (or not PNG, JPEG)" {
		t.Errorf("wrap lost text: %q", got)
	}
}
