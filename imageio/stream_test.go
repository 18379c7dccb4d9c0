//go:build unix

package imageio

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// An input that cannot seek, a FIFO (as a shell's <(...) gives) or
// standard input ("-"), is read into memory and decoded like a file; it
// was refused (issue 13, D6).
func TestLoadFromStreams(t *testing.T) {
	dir := t.TempDir()
	want := randImage(7, 5, 3)
	file := filepath.Join(dir, "a.png")
	if err := Save(file, want, 8); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, got Image) {
		t.Helper()
		ref, err := Load(file, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.W != ref.W || got.H != ref.H || len(got.Pix) != len(ref.Pix) {
			t.Fatalf("%s: %dx%d, want %dx%d", name, got.W, got.H, ref.W, ref.H)
		}
		for i := range ref.Pix {
			if got.Pix[i] != ref.Pix[i] {
				t.Fatalf("%s: sample %d is %v, want %v", name, i, got.Pix[i], ref.Pix[i])
			}
		}
	}
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Write(data)
			w.Close()
		}
	}()
	got, err := Load(fifo, 0)
	if err != nil {
		t.Fatalf("a FIFO: %v", err)
	}
	same("a FIFO", got)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(data)
		w.Close()
	}()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	got, err = Load(Stdin, 0)
	if err != nil {
		t.Fatalf("standard input: %v", err)
	}
	same("standard input", got)
}
