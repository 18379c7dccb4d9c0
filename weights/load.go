package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Sniff tells a weights file's format by its first bytes, falling
// back on its extension: "safetensors", "pth" (a zip or a legacy pickle)
// or "h5".
func Sniff(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a directory, not a weights file", path)
	}
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\x89HDF\r\n\x1a\n")):
		return "h5", nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		return "pth", nil
	case n >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= uint64(st.Size()-8):
		return "safetensors", nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return "safetensors", nil
	case ".pth", ".pt":
		return "pth", nil
	case ".h5", ".hdf5", ".keras":
		return "h5", nil
	}
	return "", fmt.Errorf("%s is not a weights file stylize knows: want safetensors, PyTorch .pth or Keras .h5", path)
}

// Load reads VGG19 weights from a file in any format stylize reads:
// safetensors, PyTorch .pth (zip or legacy) and Keras .h5.
func Load(path string) (*VGG19, error) {
	format, err := Sniff(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	switch format {
	case "safetensors":
		f, err := ReadSafetensors(path)
		if err != nil {
			return nil, err
		}
		return FromSafetensors(f)
	case "pth":
		v, err := ReadPth(path)
		if err != nil {
			return nil, err
		}
		if v.Preprocess == "" {
			v.Preprocess = PthPreprocessGuess(path)
		}
		return v, nil
	case "h5":
		return ReadKerasH5(path)
	}
	return nil, fmt.Errorf("weights: %s: unknown format %q", path, format)
}
