//go:build !unix

package gpu

import "os"

// ownedByUs is false where ownership cannot be read: ensureRuntimeDir
// runs on Linux only.
func ownedByUs(os.FileInfo) bool { return false }
