//go:build unix

package imageio

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A new output honours the umask, as any program's file would (it was
// always 0644, even under umask 077); a replaced one keeps its mode.
func TestSaveHonoursUmask(t *testing.T) {
	img := Image{W: 2, H: 1, Pix: make([]float32, 6)}
	dir := t.TempDir()
	for _, tc := range []struct {
		umask int
		want  os.FileMode
	}{{0o077, 0o600}, {0o022, 0o644}, {0o002, 0o664}} {
		old := syscall.Umask(tc.umask)
		path := filepath.Join(dir, "new.png")
		os.Remove(path)
		err := Save(path, img, 8)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != tc.want {
			t.Errorf("umask %03o: the new file's mode is %v, want %v", tc.umask, st.Mode().Perm(), tc.want)
		}
	}
	path := filepath.Join(dir, "kept.png")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, img, 8); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("a replaced file's mode became %v, want 0640", st.Mode().Perm())
	}
}
