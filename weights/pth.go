package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PyTorch .pth files, read without running any of their code.
//
// Two layouts exist. torch.save writes a zip since PyTorch 1.6:
// <name>/data.pkl is the pickled object, <name>/data/<key> holds each
// storage's raw little-endian bytes (<name>/byteorder may say "big"), and
// <name>/version the format version. Older files (torchvision's
// vgg19-dcbb9e9d.pth, jcjohnson's vgg19-d01eb7cb.pth) are the legacy layout:
// consecutive pickles of the magic number 0x1950a86a20f9469cfc6c, the
// protocol version 1001, a sys_info dict and the object, then a pickled list
// of storage keys, then for each key an 8-byte little-endian element count
// followed by the raw data.
//
// In both, tensors are torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, hooks) calls whose storage is a persistent id
// ('storage', torch.FloatStorage, key, location, numel[, view]).

// legacyMagic is torch.serialization's MAGIC_NUMBER.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

const legacyProtocol = 1001

// pthStorage is one storage record: its element type, its length in
// elements, and its bytes once read.
type pthStorage struct {
	key    string
	dtype  string
	numel  int64
	data   []byte
	loaded bool
}

// pthStorageRef is what a persistent id resolves to: a storage, or in the
// legacy format possibly a view of one (offset and length in elements).
type pthStorageRef struct {
	root        *pthStorage
	off, numel  int64
	description string
}

// pthTensor is a rebuilt tensor: a strided view of a storage.
type pthTensor struct {
	ref    *pthStorageRef
	dtype  string
	offset int64
	size   []int64
	stride []int64
}

// pthReader holds the state of one parse.
type pthReader struct {
	name     string
	storages map[string]*pthStorage
	order    []string // storage keys in first-reference order
	legacy   bool
	bigEnd   bool
	encoded  int // bytes made by _codecs.encode, bounded by maxEncoded
	zipState
}

func (r *pthReader) bad(format string, a ...any) error {
	return &FormatError{File: r.name, Format: "pth", Msg: fmt.Sprintf(format, a...)}
}

// ReadPth reads a PyTorch .pth state dict of VGG19 (or of its features
// alone) in either torch.save layout.
func ReadPth(path string) (*VGG19, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return ParsePth(path, b)
}

// ParsePth parses the bytes of a .pth file named name. The pickled object
// must be a state dict, or a dict holding one (a checkpoint's
// "state_dict"). It accepts keys ending in features.{i}.weight and
// features.{i}.bias (any prefix, such as "module."), or plain {i}.weight and
// {i}.bias of a saved features Sequential, with torchvision's conv indices;
// other tensors are ignored. The convs must start at features.0 and may stop
// early, but not skip one. Tensors may be float32, float64, float16 or
// bfloat16, at any storage offset and with any strides.
// The pickle may only name OrderedDict, torch's tensor rebuild functions,
// storage types and dtypes; any other global is refused, by name. Source is
// set to name and Preprocess left empty: a .pth does not say which input
// normalisation its weights expect (see PthPreprocessGuess).
func ParsePth(name string, data []byte) (v *VGG19, err error) {
	defer func() {
		// A last resort: parsePth checks its input and must not panic, but a
		// bug on hostile input should still come back as an error.
		if p := recover(); p != nil {
			v, err = nil, &FormatError{File: name, Format: "pth", Msg: fmt.Sprintf("malformed file (internal error: %v)", p)}
		}
	}()
	return parsePth(name, data)
}

func parsePth(name string, data []byte) (*VGG19, error) {
	r := &pthReader{name: name, storages: map[string]*pthStorage{}}
	var obj any
	var err error
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		obj, err = r.readZip(data)
	case len(data) > 0 && data[0] == 0x80:
		r.legacy = true
		obj, err = r.readLegacy(data)
	case len(data) >= 262 && string(data[257:262]) == "ustar":
		return nil, r.bad("a tar archive: the tar layout of PyTorch before 0.1.10 is not supported; re-save it with a newer PyTorch")
	case len(data) == 0:
		return nil, r.bad("empty file")
	default:
		return nil, r.bad("not a PyTorch file: it starts with %q, neither a zip (torch.save since 1.6) nor a pickle (legacy torch.save)", head(data))
	}
	if err != nil {
		return nil, err
	}
	v, err := r.vgg(obj)
	if err != nil {
		return nil, err
	}
	v.Source = name
	if err := v.Check(name); err != nil {
		return nil, err
	}
	return v, nil
}

func head(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return string(b)
}

// pickleErr turns an unpickler error into a FormatError.
func (r *pthReader) pickleErr(what string, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	var fb *errForbidden
	if errors.As(err, &fb) {
		return r.bad("%s: %v", what, err)
	}
	if errors.Is(err, errPickleTruncated) {
		return r.bad("%s: %v", what, err)
	}
	return r.bad("%s is not a valid pickle: %v", what, err)
}

func (r *pthReader) readZip(data []byte) (any, error) {
	r.zipData = data
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, r.bad("a broken zip archive (truncated?): %v", err)
	}
	files := map[string]*zip.File{}
	var pkls []string
	for _, f := range zr.File {
		files[f.Name] = f
		if dir, base := pathSplit(f.Name); base == "data.pkl" && !strings.Contains(dir, "/") {
			pkls = append(pkls, f.Name)
		}
	}
	if len(pkls) == 0 {
		return nil, r.bad("a zip archive without <name>/data.pkl, so not written by torch.save")
	}
	if len(pkls) > 1 {
		sort.Strings(pkls)
		return nil, r.bad("a zip archive with several data.pkl (%s)", strings.Join(pkls, ", "))
	}
	prefix := strings.TrimSuffix(pkls[0], "data.pkl")
	if _, ok := files[prefix+"constants.pkl"]; ok {
		return nil, r.bad("a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead")
	}
	if f, ok := files[prefix+"byteorder"]; ok {
		b, err := r.zipRead(f, 16)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			r.bigEnd = true
		default:
			return nil, r.bad("%s says %q, neither little nor big", f.Name, trunc(string(b)))
		}
	}
	pkl, err := r.zipRead(files[pkls[0]], 1<<30)
	if err != nil {
		return nil, err
	}
	obj, _, err := unpickle(pkl, 0, r.rebuild, r.persistentLoad)
	if err != nil {
		return nil, r.pickleErr(pkls[0], err)
	}
	// Storages are read lazily: only those of the conv tensors are needed
	// (vgg calls r.load). Remember where they live.
	r.zipFiles, r.zipPrefix = files, prefix
	return obj, nil
}

func pathSplit(p string) (dir, base string) {
	i := strings.LastIndex(p, "/")
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// zipRead returns the bytes of one zip entry of at most max bytes, without
// copying when the entry is stored uncompressed, once they match the
// entry's CRC-32 (archive/zip checks it when it decompresses; a stored
// entry read in place is checked here).
func (r *pthReader) zipRead(f *zip.File, max uint64) ([]byte, error) {
	if f.UncompressedSize64 > max {
		return nil, r.bad("zip entry %s is %d bytes, more than the %d expected", f.Name, f.UncompressedSize64, max)
	}
	if f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 && r.zipData != nil {
		if off, err := f.DataOffset(); err == nil && off >= 0 && uint64(off) <= uint64(len(r.zipData)) &&
			f.UncompressedSize64 <= uint64(len(r.zipData))-uint64(off) {
			b := r.zipData[off : uint64(off)+f.UncompressedSize64]
			if sum := crc32.ChecksumIEEE(b); sum != f.CRC32 {
				return nil, r.bad("zip entry %s fails its CRC-32 check (%08x, the zip says %08x): the file is damaged", f.Name, sum, f.CRC32)
			}
			return b, nil
		}
		return nil, r.bad("zip entry %s runs past the end of the file (truncated)", f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, r.bad("zip entry %s: %v", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, r.bad("zip entry %s: %v (truncated?)", f.Name, err)
	}
	if uint64(len(b)) != f.UncompressedSize64 {
		return nil, r.bad("zip entry %s holds %d bytes, its header says %d", f.Name, len(b), f.UncompressedSize64)
	}
	return b, nil
}

// readLegacy reads the pre-1.6 layout.
func (r *pthReader) readLegacy(data []byte) (any, error) {
	magic, pos, err := unpickle(data, 0, nil, nil)
	if err != nil {
		return nil, r.pickleErr("the magic-number pickle", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, r.bad("a pickle, but not a legacy torch.save file: it starts with %s, not the magic number 0x1950a86a20f9469cfc6c", describe(magic))
	}
	proto, pos, err := unpickle(data, pos, nil, nil)
	if err != nil {
		return nil, r.pickleErr("the protocol-version pickle", err)
	}
	if p, ok := proto.(int64); !ok || p != legacyProtocol {
		return nil, r.bad("legacy protocol version %s, want %d", describe(proto), legacyProtocol)
	}
	sysInfo, pos, err := unpickle(data, pos, nil, nil)
	if err != nil {
		return nil, r.pickleErr("the sys_info pickle", err)
	}
	// sys_info's little_endian does not matter: legacy storages are
	// written little-endian whatever the machine.
	if _, ok := sysInfo.(*pyDict); !ok {
		return nil, r.bad("sys_info is a %s, not a dict", typeName(sysInfo))
	}
	obj, pos, err := unpickle(data, pos, r.rebuild, r.persistentLoad)
	if err != nil {
		return nil, r.pickleErr("the pickled object", err)
	}
	keys, pos, err := unpickle(data, pos, nil, nil)
	if err != nil {
		return nil, r.pickleErr("the list of storage keys", err)
	}
	kl, ok := keys.(*pyList)
	if !ok {
		return nil, r.bad("the list of storage keys is a %s", typeName(keys))
	}
	for i, k := range kl.items {
		key, ok := k.(string)
		if !ok {
			return nil, r.bad("storage key %d is a %s, not a string", i, typeName(k))
		}
		st := r.storages[key]
		if st == nil {
			return nil, r.bad("storage %q is listed but no tensor refers to it", key)
		}
		if st.loaded {
			return nil, r.bad("storage %q is listed twice", key)
		}
		if len(data)-pos < 8 {
			return nil, r.bad("file ends in the header of storage %q (%d of %d storages read; truncated)", key, i, len(kl.items))
		}
		n := binary.LittleEndian.Uint64(data[pos:])
		pos += 8
		if n != uint64(st.numel) {
			return nil, r.bad("storage %q holds %d elements, the pickle says %d", key, n, st.numel)
		}
		nb := n * uint64(dtypeSize(st.dtype))
		if nb > uint64(len(data)-pos) {
			return nil, r.bad("storage %q needs %d bytes, only %d remain (truncated)", key, nb, len(data)-pos)
		}
		st.data, st.loaded = data[pos:pos+int(nb)], true
		pos += int(nb)
	}
	for _, key := range r.order {
		if !r.storages[key].loaded {
			return nil, r.bad("storage %q is used but its data is missing", key)
		}
	}
	return obj, nil
}

// describe shows a small value in an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case int64:
		return strconv.FormatInt(v, 10)
	case *big.Int:
		return "0x" + trunc(v.Text(16))
	case string:
		return strconv.Quote(trunc(v))
	}
	return "a " + typeName(v)
}

func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// persistentLoad resolves ('storage', storage_type, key, location, numel
// [, view_metadata]).
func (r *pthReader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) == 0 {
		return nil, fmt.Errorf("persistent id is a %s, not a tuple", typeName(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		if s == "module" {
			return nil, fmt.Errorf("the file holds a whole pickled nn.Module, not a state dict; save model.state_dict() instead")
		}
		return nil, fmt.Errorf("persistent id of kind %s, not 'storage'", describe(t[0]))
	}
	if len(t) != 5 && len(t) != 6 {
		return nil, fmt.Errorf("storage persistent id with %d fields, want 5 or 6", len(t))
	}
	g, ok := t[1].(pyGlobal)
	if !ok || globalKindOf(g.module, g.name) != gStorage {
		return nil, fmt.Errorf("storage type is %s, not a torch storage class", typeName(t[1]))
	}
	dtype := storageDTypes[g.name]
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key is a %s, not a string", typeName(t[2]))
	}
	if _, ok := t[3].(string); !ok {
		return nil, fmt.Errorf("storage location is a %s, not a string", typeName(t[3]))
	}
	numel, ok := asInt(t[4])
	if !ok || numel < 0 || numel > maxStorageElems {
		return nil, fmt.Errorf("storage %q has size %s", key, describe(t[4]))
	}
	st := r.storages[key]
	if st == nil {
		st = &pthStorage{key: key, dtype: dtype, numel: numel}
		r.storages[key] = st
		r.order = append(r.order, key)
	} else if st.dtype != dtype || st.numel != numel {
		return nil, fmt.Errorf("storage %q is named twice, as %d of %s and %d of %s", key, st.numel, st.dtype, numel, dtype)
	}
	ref := &pthStorageRef{root: st, numel: numel, description: "storage " + strconv.Quote(key)}
	if len(t) == 6 && t[5] != nil {
		vm, ok := t[5].(pyTuple)
		if !ok || len(vm) != 3 {
			return nil, fmt.Errorf("storage %q: view metadata is a %s, not (key, offset, size)", key, typeName(t[5]))
		}
		off, ok1 := asInt(vm[1])
		n, ok2 := asInt(vm[2])
		if !ok1 || !ok2 || off < 0 || n < 0 || off > numel || n > numel-off {
			return nil, fmt.Errorf("storage %q: view (%s, %s) outside its %d elements", key, describe(vm[1]), describe(vm[2]), numel)
		}
		ref = &pthStorageRef{root: st, off: off, numel: n, description: fmt.Sprintf("view of storage %q", key)}
	}
	return ref, nil
}

// rebuild implements the whitelisted callables.
func (r *pthReader) rebuild(g pyGlobal, args pyTuple) (any, error) {
	switch g.String() {
	case "collections.OrderedDict":
		// Pickles build OrderedDicts empty and fill them with SETITEMS.
		// (Copying items passed as an argument would let a small file make
		// quadratic work by passing one list many times.)
		if len(args) != 0 {
			return nil, fmt.Errorf("OrderedDict called with %d arguments, want none", len(args))
		}
		return &pyDict{}, nil
	case "torch._utils._rebuild_tensor":
		if len(args) != 4 {
			return nil, fmt.Errorf("%s with %d arguments, want 4", g, len(args))
		}
		return r.tensor(args[0], args[1], args[2], args[3], nil)
	case "torch._utils._rebuild_tensor_v2":
		if len(args) != 6 && len(args) != 7 {
			return nil, fmt.Errorf("%s with %d arguments, want 6 or 7", g, len(args))
		}
		return r.tensor(args[0], args[1], args[2], args[3], nil)
	case "torch._utils._rebuild_tensor_v3":
		if len(args) != 7 && len(args) != 8 {
			return nil, fmt.Errorf("%s with %d arguments, want 7 or 8", g, len(args))
		}
		return r.tensor(args[0], args[1], args[2], args[3], args[6])
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		want := 3
		if g.name == "_rebuild_parameter_with_state" {
			want = 4
		}
		if len(args) != want {
			return nil, fmt.Errorf("%s with %d arguments, want %d", g, len(args), want)
		}
		t, ok := args[0].(*pthTensor)
		if !ok {
			return nil, fmt.Errorf("%s of a %s, not a tensor", g, typeName(args[0]))
		}
		return t, nil
	case "_codecs.encode":
		// How protocol 2 pickles Python 3 bytes: encode(str, 'latin1').
		if len(args) != 2 {
			return nil, fmt.Errorf("%s with %d arguments, want 2", g, len(args))
		}
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, fmt.Errorf("%s only supports (str, 'latin1')", g)
		}
		if r.encoded += len(s); r.encoded > maxEncoded {
			return nil, fmt.Errorf("%s: more than %d bytes decoded in all", g, maxEncoded)
		}
		b := make(pyBytes, 0, len(s))
		for _, c := range s {
			if c > 0xff {
				return nil, fmt.Errorf("%s: character %U is not latin1", g, c)
			}
			b = append(b, byte(c))
		}
		return b, nil
	}
	return nil, fmt.Errorf("global %s cannot be called", g)
}

// maxEncoded bounds the bytes objects a pickle may build with
// _codecs.encode, which a small file could otherwise repeat at will.
const maxEncoded = 64 << 20

// maxDims bounds a tensor's rank, maxStorageElems a storage's length (so
// that byte counts never overflow).
const (
	maxDims         = 16
	maxStorageElems = 1 << 50
)

func (r *pthReader) tensor(storage, offset, size, stride, dtype any) (any, error) {
	ref, ok := storage.(*pthStorageRef)
	if !ok {
		return nil, fmt.Errorf("tensor storage is a %s, not a storage", typeName(storage))
	}
	t := &pthTensor{ref: ref, dtype: ref.root.dtype}
	if dtype != nil {
		g, ok := dtype.(pyGlobal)
		if !ok || globalKindOf(g.module, g.name) != gDType {
			return nil, fmt.Errorf("tensor dtype is %s, not a torch dtype", typeName(dtype))
		}
		t.dtype = torchDTypes[g.name]
	}
	off, ok := asInt(offset)
	if !ok || off < 0 {
		return nil, fmt.Errorf("tensor storage offset is %s", describe(offset))
	}
	t.offset = off
	ints := func(v any, what string) ([]int64, error) {
		tp, ok := v.(pyTuple)
		if !ok {
			if l, ok := v.(*pyList); ok {
				tp = l.items
			} else {
				return nil, fmt.Errorf("tensor %s is a %s, not a tuple", what, typeName(v))
			}
		}
		if len(tp) > maxDims {
			return nil, fmt.Errorf("tensor %s has %d dimensions", what, len(tp))
		}
		out := make([]int64, len(tp))
		for i, x := range tp {
			n, ok := asInt(x)
			if !ok || n < 0 || n > 1<<40 {
				return nil, fmt.Errorf("tensor %s %d is %s", what, i, describe(x))
			}
			out[i] = n
		}
		return out, nil
	}
	var err error
	if t.size, err = ints(size, "size"); err != nil {
		return nil, err
	}
	if t.stride, err = ints(stride, "stride"); err != nil {
		return nil, err
	}
	if len(t.size) != len(t.stride) {
		return nil, fmt.Errorf("tensor has %d sizes but %d strides", len(t.size), len(t.stride))
	}
	return t, nil
}

// Zip state, set by readZip for lazy storage reads.
type zipState struct {
	zipData   []byte
	zipFiles  map[string]*zip.File
	zipPrefix string
}

// load makes sure a storage's bytes are present.
func (r *pthReader) load(st *pthStorage) error {
	if st.loaded {
		return nil
	}
	if r.legacy {
		return r.bad("storage %q has no data (truncated?)", st.key)
	}
	name := r.zipPrefix + "data/" + st.key
	f, ok := r.zipFiles[name]
	if !ok {
		return r.bad("storage record %s is missing from the archive", name)
	}
	sz := dtypeSize(st.dtype)
	if sz == 0 {
		return r.bad("storage %q has unknown dtype %s", st.key, st.dtype)
	}
	want := uint64(st.numel) * uint64(sz)
	if st.numel > 1<<50 || f.UncompressedSize64 < want {
		return r.bad("storage record %s holds %d bytes, %d elements of %s need %d (truncated?)", name, f.UncompressedSize64, st.numel, st.dtype, want)
	}
	if f.Method != zip.Store && want > 1100*f.CompressedSize64+1024 {
		// More than deflate can expand to: a corrupt or hostile header.
		return r.bad("storage record %s: %d compressed bytes cannot hold %d", name, f.CompressedSize64, want)
	}
	b, err := r.zipRead(f, want)
	if err != nil {
		return err
	}
	st.data, st.loaded = b[:want], true
	return nil
}

// contiguousBytes gathers a tensor's elements, in C order, as little-endian
// bytes, checking that every element lies inside its storage.
func (r *pthReader) contiguousBytes(key string, t *pthTensor) ([]byte, error) {
	if err := r.load(t.ref.root); err != nil {
		return nil, err
	}
	esz := int64(dtypeSize(t.dtype))
	ssz := int64(dtypeSize(t.ref.root.dtype))
	if esz == 0 || ssz == 0 {
		return nil, r.bad("%s: unknown dtype %s", key, t.dtype)
	}
	// The bytes the tensor may address.
	base := t.ref.off * ssz
	avail := t.ref.numel * ssz
	if base < 0 || avail < 0 || base > int64(len(t.ref.root.data)) || avail > int64(len(t.ref.root.data))-base {
		return nil, r.bad("%s: %s is shorter than declared", key, t.ref.description)
	}
	mem := t.ref.root.data[base : base+avail]
	availElems := avail / esz
	numel := int64(1)
	for _, s := range t.size {
		if s != 0 && numel > availElems/s+1 {
			numel = availElems + 1 // too big; reported below
			break
		}
		numel *= s
	}
	if numel == 0 {
		return []byte{}, nil
	}
	if numel > availElems {
		return nil, r.bad("%s: %d elements, more than the %d its %s holds", key, numel, availElems, t.ref.description)
	}
	// The largest element index addressed must lie inside the storage;
	// computed so that nothing overflows.
	past := r.bad("%s: size %v, stride %v and offset %d reach past the %d elements of its %s", key, t.size, t.stride, t.offset, availElems, t.ref.description)
	last := t.offset
	if last >= availElems {
		return nil, past
	}
	for i, s := range t.size {
		if s > 1 && t.stride[i] > 0 {
			if t.stride[i] > (availElems-1-last)/(s-1) {
				return nil, past
			}
			last += (s - 1) * t.stride[i]
		}
	}
	out := make([]byte, numel*esz)
	// Contiguous fast path.
	contig, want := true, int64(1)
	for i := len(t.size) - 1; i >= 0; i-- {
		if t.size[i] != 1 && t.stride[i] != want {
			contig = false
			break
		}
		want *= t.size[i]
	}
	if contig {
		copy(out, mem[t.offset*esz:(t.offset+numel)*esz])
	} else {
		idx := make([]int64, len(t.size))
		for n := int64(0); n < numel; n++ {
			e := t.offset
			for i := range idx {
				e += idx[i] * t.stride[i]
			}
			copy(out[n*esz:(n+1)*esz], mem[e*esz:(e+1)*esz])
			for i := len(idx) - 1; i >= 0; i-- {
				idx[i]++
				if idx[i] < t.size[i] {
					break
				}
				idx[i] = 0
			}
		}
	}
	if r.bigEnd && esz > 1 {
		for i := int64(0); i < int64(len(out)); i += esz {
			for a, b := i, i+esz-1; a < b; a, b = a+1, b-1 {
				out[a], out[b] = out[b], out[a]
			}
		}
	}
	return out, nil
}

var (
	featuresKey = regexp.MustCompile(`(?:^|\.)features\.(\d+)\.(weight|bias)$`)
	plainKey    = regexp.MustCompile(`^(\d+)\.(weight|bias)$`)
)

// stateDict finds the dict of tensors: the object itself, or a dict one
// level down (a checkpoint's "state_dict" or "model").
func (r *pthReader) stateDict(obj any) (*pyDict, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, r.bad("the pickled object is a %s, not a state dict", typeName(obj))
	}
	hasConv := func(d *pyDict) bool {
		for i, k := range d.keys {
			s, ok := k.(string)
			if _, isT := d.vals[i].(*pthTensor); ok && isT && (featuresKey.MatchString(s) || plainKey.MatchString(s)) {
				return true
			}
		}
		return false
	}
	if hasConv(d) {
		return d, nil
	}
	seen := map[*pyDict]bool{d: true} // the same dict may recur via the memo
	for _, v := range d.vals {
		if sub, ok := v.(*pyDict); ok && !seen[sub] {
			seen[sub] = true
			if hasConv(sub) {
				return sub, nil
			}
		}
	}
	var names []string
	for _, k := range d.keys {
		if s, ok := k.(string); ok && len(names) < 5 {
			names = append(names, strconv.Quote(s))
		}
	}
	return nil, r.bad("no tensor named features.0.weight (or 0.weight): not VGG19 weights in torchvision naming; keys are like %s", strings.Join(names, ", "))
}

type convEntry struct {
	wName, bName string
	w, b         *pthTensor
}

func (r *pthReader) vgg(obj any) (*VGG19, error) {
	d, err := r.stateDict(obj)
	if err != nil {
		return nil, err
	}
	// Later duplicates win, as in a Python dict.
	byName := map[string]*pthTensor{}
	var names []string
	batchNorm := false
	for i, k := range d.keys {
		s, ok := k.(string)
		if !ok {
			continue
		}
		if strings.HasSuffix(s, "running_mean") {
			batchNorm = true
		}
		t, ok := d.vals[i].(*pthTensor)
		if !ok {
			continue
		}
		if _, seen := byName[s]; !seen {
			names = append(names, s)
		}
		byName[s] = t
	}
	re := plainKey
	for _, s := range names {
		if featuresKey.MatchString(s) {
			re = featuresKey
			break
		}
	}
	isConv := map[int]int{}
	for i, idx := range TorchConvIndices {
		isConv[idx] = i
	}
	entries := map[int]*convEntry{}
	for _, s := range names {
		m := re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		idx, err := strconv.Atoi(m[1])
		if err != nil || idx > 1<<20 {
			return nil, r.bad("tensor %q: bad layer index", s)
		}
		if _, ok := isConv[idx]; !ok {
			hint := ""
			if batchNorm {
				hint = " (batch-norm VGG19, vgg19_bn, is not supported)"
			}
			return nil, r.bad("tensor %q: torchvision's VGG19 has no conv at features.%d%s", s, idx, hint)
		}
		e := entries[idx]
		if e == nil {
			e = &convEntry{}
			entries[idx] = e
		}
		if m[2] == "weight" {
			if e.w != nil {
				return nil, r.bad("tensors %q and %q are both features.%d.weight", e.wName, s, idx)
			}
			e.w, e.wName = byName[s], s
		} else {
			if e.b != nil {
				return nil, r.bad("tensors %q and %q are both features.%d.bias", e.bName, s, idx)
			}
			e.b, e.bName = byName[s], s
		}
	}
	v := &VGG19{}
	missing := -1
	for i, idx := range TorchConvIndices {
		e := entries[idx]
		if e == nil {
			if i == 0 {
				return nil, r.bad("no tensor features.0.weight: not VGG19 weights in torchvision naming")
			}
			if missing < 0 {
				missing = idx
			}
			continue
		}
		if missing >= 0 {
			return nil, r.bad("layer features.%d is missing, yet features.%d is present", missing, idx)
		}
		if e.w == nil || e.b == nil {
			have, lack := "weight", "bias"
			if e.w == nil {
				have, lack = lack, have
			}
			return nil, r.bad("layer features.%d has a %s but no %s", idx, have, lack)
		}
		if len(e.w.size) != 4 || e.w.size[2] != 3 || e.w.size[3] != 3 || e.w.size[0] == 0 {
			return nil, r.bad("%s has shape %v, want (Cout,Cin,3,3)", e.wName, e.w.size)
		}
		if len(e.b.size) != 1 || e.b.size[0] != e.w.size[0] {
			return nil, r.bad("%s has shape %v, want (%d)", e.bName, e.b.size, e.w.size[0])
		}
		w, err := r.floats(e.wName, e.w)
		if err != nil {
			return nil, err
		}
		b, err := r.floats(e.bName, e.b)
		if err != nil {
			return nil, err
		}
		v.Convs = append(v.Convs, Conv{Cout: int(e.w.size[0]), Cin: int(e.w.size[1]), W: w, B: b})
	}
	return v, nil
}

func (r *pthReader) floats(key string, t *pthTensor) ([]float32, error) {
	switch t.dtype {
	case "F32", "F64", "F16", "BF16":
	default:
		return nil, r.bad("%s is of type %s, not floating point", key, t.dtype)
	}
	b, err := r.contiguousBytes(key, t)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(t.size))
	for i, s := range t.size {
		shape[i] = int(s)
	}
	f, err := Tensor{DType: t.dtype, Shape: shape, Data: b}.Float32s()
	if err != nil {
		return nil, r.bad("%s: %v", key, err)
	}
	return f, nil
}

// PthPreprocessGuess returns the preprocessing the well-known VGG19 .pth
// downloads expect, judged by their file names: "torch" for torchvision's
// vgg19-dcbb9e9d.pth (RGB in [0,1], ImageNet mean/std), "caffe" for
// jcjohnson's Caffe conversion vgg19-d01eb7cb.pth (BGR in [0,255] minus the
// mean), and "" for any other file.
func PthPreprocessGuess(path string) string {
	base := filepath.Base(path)
	switch {
	case strings.Contains(base, "dcbb9e9d"):
		return "torch"
	case strings.Contains(base, "d01eb7cb"):
		return "caffe"
	}
	return ""
}
