//go:build unix

package gpu

import (
	"os"
	"syscall"
)

// ownedByUs says whether the file st describes belongs to this process's
// user.
func ownedByUs(st os.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(s.Uid) == os.Getuid()
}
