// Package weights reads and writes VGG19 weight files: safetensors (the
// project's own format), PyTorch .pth and Keras .h5. It runs no GPU code.
package weights

import "fmt"

// FormatError reports a weights file that is not what it claims to be,
// naming the file and what is wrong, like image/jpeg's FormatError.
type FormatError struct {
	File   string
	Format string // "safetensors", "pth", "h5"
	Msg    string
}

// Error names the file, the format and the problem.
func (e *FormatError) Error() string {
	return fmt.Sprintf("weights: %s: not a valid %s file: %s", e.File, e.Format, e.Msg)
}
