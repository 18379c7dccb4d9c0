package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// WriteSafetensors writes tensors and metadata as a safetensors file: an
// 8-byte little-endian header length, a JSON header with the keys sorted
// (and "__metadata__" when meta is not empty), padded with spaces so that
// the data starts on an 8-byte boundary, then each tensor's bytes in the
// order of the sorted names.
//
// The write is atomic: the file is written to a temporary file in the same
// directory, synced and renamed over path, so that path holds either the
// old contents or the complete new file, never a part. On error the
// temporary file is removed and path is untouched.
func WriteSafetensors(path string, tensors map[string]Tensor, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		if k == "__metadata__" {
			return fmt.Errorf("weights: %s: %q is reserved and cannot name a tensor", path, k)
		}
		names = append(names, k)
	}
	sort.Strings(names)

	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets []uint64 `json:"data_offsets"`
	}
	header := make(map[string]any, len(names)+1)
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off uint64
	for _, k := range names {
		t := tensors[k]
		sz := dtypeSize(t.DType)
		if sz == 0 {
			return fmt.Errorf("weights: %s: tensor %q has unknown dtype %q", path, k, t.DType)
		}
		for _, s := range t.Shape {
			if s < 0 {
				return fmt.Errorf("weights: %s: tensor %q has a negative dimension in %v", path, k, t.Shape)
			}
		}
		if want := t.Numel() * sz; len(t.Data) != want {
			return fmt.Errorf("weights: %s: tensor %q of shape %v and type %s needs %d bytes, has %d", path, k, t.Shape, t.DType, want, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: "shape": [] rather than null
		}
		header[k] = entry{DType: t.DType, Shape: shape, Offsets: []uint64{off, off + uint64(len(t.Data))}}
		off += uint64(len(t.Data))
	}
	var hb bytes.Buffer
	enc := json.NewEncoder(&hb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header); err != nil { // map keys come out sorted
		return fmt.Errorf("weights: %s: %w", path, err)
	}
	h := bytes.TrimRight(hb.Bytes(), "\n")
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	return writeAtomic(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(h); err != nil {
			return err
		}
		for _, k := range names {
			if _, err := w.Write(tensors[k].Data); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeAtomic writes a file through fill into a temporary file next to path,
// syncs it, and renames it to path; on any error it removes the temporary
// file. The new file has mode 0644, set explicitly since os.CreateTemp
// makes 0600 files.
func writeAtomic(path string, fill func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return fmt.Errorf("weights: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("weights: writing %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("weights: syncing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("weights: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the system allows it (it is
// best effort: Windows cannot open a directory for syncing).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// f32Bytes stores float32s little-endian.
func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// Tensors returns the convs as torchvision-named F32 tensors:
// features.{i}.weight (Cout,Cin,3,3) and features.{i}.bias (Cout), with i
// from TorchConvIndices. FromSafetensors reads them back.
func (v *VGG19) Tensors() map[string]Tensor {
	out := make(map[string]Tensor, 2*len(v.Convs))
	for i, c := range v.Convs {
		if i >= len(TorchConvIndices) {
			break
		}
		idx := TorchConvIndices[i]
		out[fmt.Sprintf("features.%d.weight", idx)] = Tensor{DType: "F32", Shape: []int{c.Cout, c.Cin, 3, 3}, Data: f32Bytes(c.W)}
		out[fmt.Sprintf("features.%d.bias", idx)] = Tensor{DType: "F32", Shape: []int{c.Cout}, Data: f32Bytes(c.B)}
	}
	return out
}

// FormatName is the "format" metadata value SaveSafetensors writes.
const FormatName = "stylize-vgg19"

// SaveSafetensors checks v and writes its convs (all that style transfer
// uses; a source's classifier is not kept) to path as F32 safetensors with
// the metadata source, preprocess, synthetic ("true" or "false") and
// format ("stylize-vgg19"). The write is atomic, as WriteSafetensors'.
func SaveSafetensors(path string, v *VGG19) error {
	if err := v.Check(path); err != nil {
		return err
	}
	meta := map[string]string{
		"source":     v.Source,
		"preprocess": v.Preprocess,
		"synthetic":  fmt.Sprint(v.Synthetic),
		"format":     FormatName,
	}
	return WriteSafetensors(path, v.Tensors(), meta)
}
