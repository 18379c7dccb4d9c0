package gpu

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ensureRuntimeDir gives the process an XDG_RUNTIME_DIR where it has
// none (a plain shell, a container, cron): Mesa's window-system code,
// lavapipe's included, prints "error: XDG_RUNTIME_DIR is invalid or not
// set in the environment." for each instance otherwise, though a compute
// program never needs the directory. It makes a private one, as the XDG
// Base Directory spec asks (owned by the user, mode 0700), under the
// temporary directory, and leaves the variable alone if it cannot.
func ensureRuntimeDir() {
	if runtime.GOOS != "linux" || os.Getenv("XDG_RUNTIME_DIR") != "" {
		return
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("stylize-xdg-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 || !ownedByUs(st) {
		return // another user's, or not private: better the warning than that
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
}
