package weights

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strings"
)

// A small HDF5 reader, restricted to what Keras weight files need. It
// follows the HDF5 file format specification version 3
// (https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html) and reads:
//
//   - superblocks of versions 0 to 3 (2- 4- or 8-byte offsets and lengths),
//     found at 0 or after a user block at 512, 1024, 2048, ...;
//   - object headers of version 1 and 2 ("OHDR"), with every continuation
//     block ("OCHK" in version 2);
//   - groups of the old style (symbol table message: a version 1 B-tree of
//     "SNOD" symbol table nodes naming their links in a local heap) and of
//     the new style (link messages in the header, or dense storage: a
//     fractal heap of link messages indexed by a version 2 B-tree);
//   - attribute messages of versions 1 to 3, in the header or in dense
//     storage, holding fixed-length strings, variable-length strings (from
//     the global heap), or anything with no elements;
//   - datasets of IEEE floats (16, 32 or 64 bits, either byte order) in
//     compact or contiguous storage, or chunked with a version 1 B-tree
//     (layout version 3) or, in layout version 4, a single chunk, implicit
//     or (unpaged) fixed-array index; with the deflate, shuffle and
//     fletcher32 filters.
//
// Everything else it refuses with a *FormatError saying what it met:
// shared or committed messages, external and soft links, other filters
// (szip, lzf, ...), extensible-array and version 2 B-tree chunk indexes,
// virtual datasets, huge fractal heap objects, filtered fractal heaps.
// It does not verify the Jenkins checksums of version 2 structures.
//
// The file is untrusted: every address and length is checked against the
// file, B-tree and heap walks remember the nodes they visited and bound
// their depth, the total work is bounded by a multiple of the file size,
// and no allocation is larger than the file or h5Limits.maxData.

// h5Limits bounds what one parse may allocate.
type h5Limits struct {
	maxData uint64 // bytes one dataset or attribute may decode to
}

var h5DefaultLimits = h5Limits{maxData: 1 << 30}

const (
	h5MaxDepth   = 64 // B-tree levels, indirect blocks, nested types, path components
	h5MaxRank    = 32 // HDF5's own limit on dimensions
	h5MaxFilters = 32
)

// Message types used here.
const (
	h5MsgNil          = 0x0000
	h5MsgDataspace    = 0x0001
	h5MsgLinkInfo     = 0x0002
	h5MsgDatatype     = 0x0003
	h5MsgLink         = 0x0006
	h5MsgExternal     = 0x0007
	h5MsgLayout       = 0x0008
	h5MsgFilters      = 0x000B
	h5MsgAttribute    = 0x000C
	h5MsgContinuation = 0x0010
	h5MsgSymbolTable  = 0x0011
	h5MsgAttrInfo     = 0x0015
)

// h5File is one parse of one file.
type h5File struct {
	name    string
	b       []byte
	base    uint64 // added to every address
	o, l    int    // sizes of offsets and lengths, in bytes
	undef   uint64 // the undefined address
	sbVer   int
	root    uint64 // the root group's object header
	lim     h5Limits
	decoded uint64 // bytes of dataset data decoded so far, at most lim.maxData
	zr      io.ReadCloser
	work    uint64 // bytes of structure parsed so far
	maxWork uint64
	objects map[uint64]*h5Object
	groups  map[uint64]map[string]uint64
	gheaps  map[uint64]map[uint32][]byte
	fheaps  map[uint64]*h5FractalHeap
	attrs   map[uint64]h5Attrs
	// seen counts the features met, for the tests to check what the
	// fixtures exercise.
	seen map[string]int
}

func (f *h5File) note(feature string) { f.seen[feature]++ }

func (f *h5File) bad(format string, a ...any) error {
	return &FormatError{File: f.name, Format: "h5", Msg: fmt.Sprintf(format, a...)}
}

// spend counts n bytes of parsing against the work budget, which defeats
// structures that make the reader go over the same bytes again and again.
func (f *h5File) spend(n int) error {
	if n < 0 {
		n = 0
	}
	f.work += uint64(n) + 16
	if f.work > f.maxWork {
		return f.bad("the file's structure is too large for its size (cyclic or overlapping?)")
	}
	return nil
}

// at returns n bytes at address addr, or an error naming what was there.
func (f *h5File) at(addr, n uint64, what string) ([]byte, error) {
	if addr == f.undef {
		return nil, f.bad("%s: undefined address", what)
	}
	a := addr + f.base
	size := uint64(len(f.b))
	if a < addr || a > size || n > size-a {
		return nil, f.bad("%s at address %d (%d bytes) lies outside the file of %d bytes (truncated?)", what, addr, n, size)
	}
	return f.b[a : a+n], nil
}

// from returns the bytes from address addr to the end of the file, for
// structures whose size is only known once they are read.
func (f *h5File) from(addr uint64, what string) ([]byte, error) {
	if addr == f.undef {
		return nil, f.bad("%s: undefined address", what)
	}
	a := addr + f.base
	if a < addr || a >= uint64(len(f.b)) {
		return nil, f.bad("%s at address %d lies outside the file of %d bytes (truncated?)", what, addr, len(f.b))
	}
	return f.b[a:], nil
}

// rd reads little-endian fields from a byte slice; reading past its end
// sets short and returns zeros, so that a parser checks once at the end.
type rd struct {
	b     []byte
	p     int
	short bool
	o, l  int
}

func (f *h5File) reader(b []byte) *rd { return &rd{b: b, o: f.o, l: f.l} }

func (r *rd) u(n int) uint64 {
	if r.short || n < 0 || n > 8 || n > len(r.b)-r.p {
		r.short = true
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.b[r.p+i])
	}
	r.p += n
	return v
}

func (r *rd) u8() uint64     { return r.u(1) }
func (r *rd) u16() uint64    { return r.u(2) }
func (r *rd) u32() uint64    { return r.u(4) }
func (r *rd) u64() uint64    { return r.u(8) }
func (r *rd) addr() uint64   { return r.u(r.o) }
func (r *rd) length() uint64 { return r.u(r.l) }
func (r *rd) rem() int       { return len(r.b) - r.p }

func (r *rd) bytes(n uint64) []byte {
	if r.short || n > uint64(len(r.b)-r.p) {
		r.short = true
		return nil
	}
	s := r.b[r.p : r.p+int(n)]
	r.p += int(n)
	return s
}

func (r *rd) skip(n uint64) { r.bytes(n) }

// sig reads a 4-byte signature and says whether it is s.
func (r *rd) sig(s string) bool { return string(r.bytes(4)) == s }

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// encSize is H5VM_limit_enc_size: the bytes needed to encode n.
func encSize(n uint64) int { return log2floor(n)/8 + 1 }

func log2floor(n uint64) int {
	if n == 0 {
		return 0
	}
	return bits.Len64(n) - 1
}

func isPow2(n uint64) bool { return n != 0 && n&(n-1) == 0 }

var h5Signature = []byte("\x89HDF\r\n\x1a\n")

// openH5 finds and reads the superblock.
func openH5(name string, b []byte, lim h5Limits) (*h5File, error) {
	f := &h5File{name: name, b: b, lim: lim,
		objects: map[uint64]*h5Object{}, groups: map[uint64]map[string]uint64{},
		gheaps: map[uint64]map[uint32][]byte{}, fheaps: map[uint64]*h5FractalHeap{}, attrs: map[uint64]h5Attrs{}, seen: map[string]int{}}
	f.maxWork = 64*uint64(len(b)) + 1<<20
	if len(b) == 0 {
		return nil, f.bad("empty file")
	}
	sb := -1
	for off := 0; off+8 <= len(b); {
		if bytes.Equal(b[off:off+8], h5Signature) {
			sb = off
			break
		}
		if off == 0 {
			off = 512
		} else {
			off *= 2
		}
	}
	if sb < 0 {
		if len(b) < 8 {
			return nil, f.bad("%d bytes, too short for an HDF5 superblock (truncated?)", len(b))
		}
		return nil, f.bad("no HDF5 signature (the file starts with %q)", head(b))
	}
	f.base = uint64(sb)
	r := f.reader(b[sb+8:])
	f.sbVer = int(r.u8())
	f.note(fmt.Sprintf("superblock %d", f.sbVer))
	if sb > 0 {
		f.note("user block")
	}
	var eof uint64
	switch f.sbVer {
	case 0, 1:
		r.skip(4) // free-space, root symbol table entry and shared header versions, reserved
		f.o, f.l = int(r.u8()), int(r.u8())
		r.skip(1)
		r.skip(4) // group leaf and internal node K
		r.skip(4) // file consistency flags
		if f.sbVer == 1 {
			r.skip(4) // indexed storage internal node K, reserved
		}
		if r.short {
			return nil, f.bad("the superblock is cut short: the file has only %d bytes (truncated?)", len(b))
		}
		if err := f.checkSizes(); err != nil {
			return nil, err
		}
		r.o, r.l = f.o, f.l
		r.addr() // base address: the superblock's own position is used, as HDF5 does
		r.addr() // free-space info
		eof = r.addr()
		r.addr() // driver info
		// Root group symbol table entry.
		r.addr() // link name offset
		f.root = r.addr()
	case 2, 3:
		f.o, f.l = int(r.u8()), int(r.u8())
		r.skip(1) // flags
		if r.short {
			return nil, f.bad("the superblock is cut short: the file has only %d bytes (truncated?)", len(b))
		}
		if err := f.checkSizes(); err != nil {
			return nil, err
		}
		r.o, r.l = f.o, f.l
		r.addr() // base address
		r.addr() // superblock extension
		eof = r.addr()
		f.root = r.addr()
		r.skip(4) // checksum
	default:
		return nil, f.bad("superblock version %d; this reader knows versions 0 to 3", f.sbVer)
	}
	if r.short {
		return nil, f.bad("the superblock is cut short: the file has only %d bytes (truncated?)", len(b))
	}
	// The end-of-file address is absolute (with a user block, HDF5 writes
	// the whole file's size), so it is compared with the file's own size.
	if eof != f.undef && eof > uint64(len(b)) {
		return nil, f.bad("truncated: the superblock says the file ends at byte %d, but it has %d", eof, len(b))
	}
	return f, nil
}

func (f *h5File) checkSizes() error {
	for _, s := range []int{f.o, f.l} {
		if s != 2 && s != 4 && s != 8 {
			return f.bad("superblock gives offsets of %d and lengths of %d bytes; this reader knows 2, 4 and 8", f.o, f.l)
		}
	}
	if f.o == 8 {
		f.undef = math.MaxUint64
	} else {
		f.undef = 1<<(8*f.o) - 1
	}
	return nil
}

// ---- Object headers ----

type h5Message struct {
	typ   uint16
	flags byte
	data  []byte
}

type h5Object struct {
	addr uint64
	msgs []h5Message
}

// find returns the first message of type typ.
func (o *h5Object) find(typ uint16) *h5Message {
	for i := range o.msgs {
		if o.msgs[i].typ == typ {
			return &o.msgs[i]
		}
	}
	return nil
}

// object reads the object header at addr, with all its continuation
// blocks, and returns all its messages but NIL and continuations.
func (f *h5File) object(addr uint64) (*h5Object, error) {
	if o, ok := f.objects[addr]; ok {
		return o, nil
	}
	if len(f.objects) > 1<<16 {
		return nil, f.bad("too many objects")
	}
	o := &h5Object{addr: addr}
	what := fmt.Sprintf("object header at %d", addr)
	hb, err := f.from(addr, what)
	if err != nil {
		return nil, err
	}
	type block struct{ addr, size uint64 }
	var blocks []block
	v2 := len(hb) >= 4 && string(hb[:4]) == "OHDR"
	var hflags uint64
	if v2 {
		r := f.reader(hb)
		r.skip(4)
		if ver := r.u8(); ver != 2 && !r.short {
			return nil, f.bad("%s: version %d after OHDR, want 2", what, ver)
		}
		hflags = r.u8()
		if hflags&0x04 != 0 {
			f.note("attribute creation order")
		}
		if hflags&0x20 != 0 {
			r.skip(16) // access, modification, change and birth times
		}
		if hflags&0x10 != 0 {
			r.skip(4) // attribute phase change values
		}
		size := r.u(1 << (hflags & 3))
		if r.short {
			return nil, f.bad("%s is cut short (truncated?)", what)
		}
		blocks = append(blocks, block{addr + uint64(r.p), size})
		f.note("object header 2")
	} else {
		r := f.reader(hb)
		ver := r.u8()
		r.skip(1) // reserved
		r.u16()   // number of messages: not trusted, every block is read to its end
		r.u32()   // reference count
		size := r.u32()
		if r.short {
			return nil, f.bad("%s is cut short (truncated?)", what)
		}
		if ver != 1 {
			return nil, f.bad("%s has version %d; this reader knows 1 and 2 (OHDR)", what, ver)
		}
		blocks = append(blocks, block{addr + 16, size})
		f.note("object header 1")
	}
	seen := map[uint64]bool{addr: true}
	for i := 0; i < len(blocks); i++ {
		blk := blocks[i]
		data, err := f.at(blk.addr, blk.size, what+" (messages)")
		if err != nil {
			return nil, err
		}
		if err := f.spend(len(data)); err != nil {
			return nil, err
		}
		if v2 && i > 0 {
			if len(data) < 8 || string(data[:4]) != "OCHK" {
				return nil, f.bad("%s: continuation block at %d lacks its OCHK signature", what, blk.addr)
			}
			data = data[4 : len(data)-4]
		}
		r := f.reader(data)
		for {
			var typ, size, mflags uint64
			if v2 {
				hsize := 4
				if hflags&0x04 != 0 {
					hsize = 6
				}
				if r.rem() < hsize {
					break // a gap at the end of the block
				}
				typ, size, mflags = r.u8(), r.u16(), r.u8()
				if hflags&0x04 != 0 {
					r.u16() // creation order
				}
			} else {
				if r.rem() < 8 {
					break
				}
				typ, size, mflags = r.u16(), r.u16(), r.u8()
				r.skip(3)
			}
			body := r.bytes(size)
			if r.short {
				return nil, f.bad("%s: message of type 0x%04x and %d bytes overruns its block of %d bytes", what, typ, size, len(data))
			}
			switch typ {
			case h5MsgNil:
			case h5MsgContinuation:
				cr := f.reader(body)
				ca, cl := cr.addr(), cr.length()
				if cr.short {
					return nil, f.bad("%s: short continuation message", what)
				}
				if seen[ca] {
					return nil, f.bad("%s: continuation block at %d is used twice (a cycle)", what, ca)
				}
				seen[ca] = true
				if v2 && cl < 8 {
					return nil, f.bad("%s: continuation block of %d bytes is too short", what, cl)
				}
				blocks = append(blocks, block{ca, cl})
				f.note("continuation")
			default:
				o.msgs = append(o.msgs, h5Message{typ: uint16(typ), flags: byte(mflags), data: body})
			}
		}
	}
	f.objects[addr] = o
	return o, nil
}

// unshared checks a message the reader needs is stored in place.
func (f *h5File) unshared(m *h5Message, what string) error {
	if m.flags&0x02 != 0 {
		return f.bad("%s is a shared message (stored elsewhere in the file), which this reader does not follow", what)
	}
	return nil
}

// ---- Groups ----

// links returns a group's links: name to object header address. Only hard
// links are returned; soft and external links are reported when looked up.
func (f *h5File) links(addr uint64) (map[string]uint64, error) {
	if g, ok := f.groups[addr]; ok {
		return g, nil
	}
	o, err := f.object(addr)
	if err != nil {
		return nil, err
	}
	g := map[string]uint64{}
	found := false
	if m := o.find(h5MsgSymbolTable); m != nil {
		found = true
		r := f.reader(m.data)
		bt, hp := r.addr(), r.addr()
		if r.short {
			return nil, f.bad("group at %d: short symbol table message", addr)
		}
		f.note("symbol table group")
		if err := f.symbolTable(addr, bt, hp, g); err != nil {
			return nil, err
		}
	}
	for i := range o.msgs {
		m := &o.msgs[i]
		switch m.typ {
		case h5MsgLink:
			found = true
			f.note("link message")
			if err := f.linkMessage(m.data, g); err != nil {
				return nil, err
			}
		case h5MsgLinkInfo:
			found = true
			r := f.reader(m.data)
			r.u8() // version
			fl := r.u8()
			if fl&1 != 0 {
				r.u64() // maximum creation index
			}
			heap, names := r.addr(), r.addr()
			if r.short {
				return nil, f.bad("group at %d: short link info message", addr)
			}
			if heap == f.undef {
				continue // links are in link messages
			}
			f.note("dense links")
			h, err := f.fractalHeap(heap)
			if err != nil {
				return nil, err
			}
			err = f.btree2(names, 5, func(rec []byte) error {
				if len(rec) < 4+h.idLen {
					return f.bad("group at %d: link name index records of %d bytes are too short", addr, len(rec))
				}
				obj, err := f.heapObject(h, rec[4:4+h.idLen])
				if err != nil {
					return err
				}
				return f.linkMessage(obj, g)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if !found {
		return nil, f.bad("object at %d is not a group", addr)
	}
	f.groups[addr] = g
	return g, nil
}

// badLink marks names whose link is not a hard link.
const badLink = math.MaxUint64 - 1

func (f *h5File) linkMessage(b []byte, g map[string]uint64) error {
	r := f.reader(b)
	ver, fl := r.u8(), r.u8()
	typ := uint64(0)
	if fl&0x08 != 0 {
		typ = r.u8()
	}
	if fl&0x04 != 0 {
		r.u64() // creation order
		f.note("link creation order")
	}
	if fl&0x10 != 0 {
		r.u8() // character set
	}
	n := r.u(1 << (fl & 3))
	name := string(r.bytes(n))
	var target uint64 = badLink
	if typ == 0 {
		target = r.addr()
	}
	if r.short || ver != 1 {
		return f.bad("a link message is short or of an unknown version (%d)", ver)
	}
	g[name] = target
	return nil
}

// symbolTable walks an old-style group's B-tree and symbol table nodes.
func (f *h5File) symbolTable(gaddr, btree, heapAddr uint64, g map[string]uint64) error {
	hb, err := f.at(heapAddr, uint64(8+2*f.l+f.o), fmt.Sprintf("local heap of the group at %d", gaddr))
	if err != nil {
		return err
	}
	r := f.reader(hb)
	if !r.sig("HEAP") {
		return f.bad("group at %d: no local heap (HEAP) at %d", gaddr, heapAddr)
	}
	r.skip(4) // version, reserved
	size := r.length()
	r.length() // free list
	daddr := r.addr()
	heap, err := f.at(daddr, size, fmt.Sprintf("local heap data of the group at %d", gaddr))
	if err != nil {
		return err
	}
	entry := 2*f.o + 24
	return f.btree1(btree, 0, 0, func(_ []byte, child uint64) error {
		what := fmt.Sprintf("symbol table node at %d", child)
		hdr, err := f.at(child, 8, what)
		if err != nil {
			return err
		}
		f.note("symbol table node")
		if string(hdr[:4]) != "SNOD" {
			return f.bad("group at %d: no symbol table node (SNOD) at %d", gaddr, child)
		}
		n := uint64(binary.LittleEndian.Uint16(hdr[6:]))
		body, err := f.at(child+8, n*uint64(entry), what)
		if err != nil {
			return err
		}
		if err := f.spend(len(body)); err != nil {
			return err
		}
		er := f.reader(body)
		for i := uint64(0); i < n; i++ {
			noff, oaddr := er.addr(), er.addr()
			ctype := er.u32()
			er.skip(20) // reserved, scratch pad
			if noff >= uint64(len(heap)) {
				return f.bad("%s: link name at %d outside its local heap of %d bytes", what, noff, len(heap))
			}
			end := bytes.IndexByte(heap[noff:], 0)
			if end < 0 {
				return f.bad("%s: link name at %d is not terminated in its local heap", what, noff)
			}
			name := string(heap[noff : noff+uint64(end)])
			if ctype == 2 { // a soft link: its value is in the scratch pad
				oaddr = badLink
			}
			g[name] = oaddr
		}
		return nil
	})
}

// btree1 walks a version 1 B-tree of the given type (0 groups, 1 chunks,
// whose keys have ndims 8-byte offsets), calling leaf for every child of
// every leaf node with the key before it.
func (f *h5File) btree1(addr uint64, typ int, ndims int, leaf func(key []byte, child uint64) error) error {
	ksize := f.l
	if typ == 1 {
		ksize = 8 + 8*ndims
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, level int) error
	walk = func(addr uint64, level int) error {
		what := fmt.Sprintf("B-tree node at %d", addr)
		if seen[addr] {
			return f.bad("%s is reached twice (a cycle)", what)
		}
		seen[addr] = true
		hb, err := f.at(addr, uint64(8+2*f.o), what)
		if err != nil {
			return err
		}
		if string(hb[:4]) != "TREE" {
			return f.bad("no B-tree node (TREE) at %d", addr)
		}
		if int(hb[4]) != typ {
			return f.bad("%s has type %d, want %d", what, hb[4], typ)
		}
		lv := int(hb[5])
		if level >= 0 && lv != level {
			return f.bad("%s has level %d, want %d", what, lv, level)
		}
		if lv > h5MaxDepth {
			return f.bad("%s has level %d", what, lv)
		}
		if lv > 0 {
			f.note(fmt.Sprintf("B-tree %d internal node", typ))
		}
		n := uint64(binary.LittleEndian.Uint16(hb[6:]))
		body, err := f.at(addr+uint64(len(hb)), n*uint64(ksize+f.o)+uint64(ksize), what)
		if err != nil {
			return err
		}
		if err := f.spend(len(body)); err != nil {
			return err
		}
		r := f.reader(body)
		for i := uint64(0); i < n; i++ {
			key := r.bytes(uint64(ksize))
			child := r.addr()
			if lv == 0 {
				err = leaf(key, child)
			} else {
				err = walk(child, lv-1)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(addr, -1)
}

// ---- Version 2 B-trees and fractal heaps (dense links and attributes) ----

// btree2 calls visit for every record of the version 2 B-tree at addr.
func (f *h5File) btree2(addr uint64, typ int, visit func(rec []byte) error) error {
	what := fmt.Sprintf("v2 B-tree at %d", addr)
	hb, err := f.at(addr, uint64(4+1+1+4+2+2+1+1+f.o+2+f.l+4), what)
	if err != nil {
		return err
	}
	r := f.reader(hb)
	if !r.sig("BTHD") {
		return f.bad("no v2 B-tree header (BTHD) at %d", addr)
	}
	r.u8() // version
	if t := int(r.u8()); t != typ {
		return f.bad("%s has type %d, want %d", what, t, typ)
	}
	nodeSize, recSize, depth := r.u32(), r.u16(), int(r.u16())
	r.skip(2) // split and merge percentages
	root, rootN := r.addr(), r.u16()
	if nodeSize < 10 || nodeSize > uint64(len(f.b)) || recSize == 0 || depth > h5MaxDepth {
		return f.bad("%s: node size %d, record size %d, depth %d", what, nodeSize, recSize, depth)
	}
	if root == f.undef {
		return nil // empty
	}
	// Per-level record counts and the sizes of the fields that hold them,
	// as H5B2__hdr_init computes them.
	maxNrec := make([]uint64, depth+1)
	cumMax := make([]uint64, depth+1)
	cumSize := make([]int, depth+1)
	maxNrec[0] = (nodeSize - 10) / recSize
	cumMax[0] = maxNrec[0]
	nrecSize := encSize(maxNrec[0])
	if depth > 0 {
		f.note("v2 B-tree internal node")
	}
	for d := 1; d <= depth; d++ {
		ptr := uint64(f.o + nrecSize + cumSize[d-1])
		if nodeSize < 10+ptr {
			return f.bad("%s: nodes of %d bytes are too small", what, nodeSize)
		}
		maxNrec[d] = (nodeSize - 10 - ptr) / (recSize + ptr)
		hi, lo := bits.Mul64(maxNrec[d]+1, cumMax[d-1])
		cumMax[d] = lo + maxNrec[d]
		if hi != 0 || cumMax[d] < lo {
			cumMax[d] = math.MaxUint64
		}
		cumSize[d] = encSize(cumMax[d])
	}
	for d := range maxNrec {
		if maxNrec[d] == 0 {
			return f.bad("%s: nodes of %d bytes cannot hold a record of %d bytes", what, nodeSize, recSize)
		}
	}
	seen := map[uint64]bool{}
	var walk func(addr uint64, d int, n uint64) error
	walk = func(addr uint64, d int, n uint64) error {
		nw := fmt.Sprintf("v2 B-tree node at %d", addr)
		if seen[addr] {
			return f.bad("%s is reached twice (a cycle)", nw)
		}
		seen[addr] = true
		if n > maxNrec[d] {
			return f.bad("%s holds %d records, at most %d fit", nw, n, maxNrec[d])
		}
		nb, err := f.at(addr, nodeSize, nw)
		if err != nil {
			return err
		}
		if err := f.spend(len(nb)); err != nil {
			return err
		}
		r := f.reader(nb)
		want := "BTLF"
		if d > 0 {
			want = "BTIN"
		}
		if !r.sig(want) {
			return f.bad("%s: no %s signature", nw, want)
		}
		r.skip(2) // version, type
		recs := r.bytes(n * recSize)
		type child struct {
			addr, n uint64
		}
		var kids []child
		if d > 0 {
			for i := uint64(0); i <= n; i++ {
				a := r.addr()
				c := r.u(nrecSize)
				if d > 1 {
					r.u(cumSize[d-1])
				}
				kids = append(kids, child{a, c})
			}
		}
		if r.short {
			return f.bad("%s overruns its %d bytes", nw, nodeSize)
		}
		for i := uint64(0); i < n; i++ {
			if err := visit(recs[i*recSize : (i+1)*recSize]); err != nil {
				return err
			}
		}
		for _, k := range kids {
			if err := walk(k.addr, d-1, k.n); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, depth, rootN)
}

type h5FractalHeap struct {
	addr             uint64
	idLen            int
	checksummed      bool
	width            uint64
	startBlock       uint64
	maxDirect        uint64
	maxDirectRows    int
	offBytes         int
	lenBytes         int
	root             uint64
	rootRows         int
	startBits, wBits int
}

func (f *h5File) fractalHeap(addr uint64) (*h5FractalHeap, error) {
	if h, ok := f.fheaps[addr]; ok {
		return h, nil
	}
	what := fmt.Sprintf("fractal heap at %d", addr)
	hb, err := f.from(addr, what)
	if err != nil {
		return nil, err
	}
	r := f.reader(hb)
	if !r.sig("FRHP") {
		return nil, f.bad("no fractal heap header (FRHP) at %d", addr)
	}
	r.u8() // version
	h := &h5FractalHeap{addr: addr}
	h.idLen = int(r.u16())
	filterLen := r.u16()
	flags := r.u8()
	h.checksummed = flags&0x02 != 0
	maxMan := r.u32()
	r.length() // next huge object id
	r.addr()   // huge object B-tree
	r.length() // free space
	r.addr()   // free space manager
	r.length() // managed space
	r.length() // allocated managed space
	r.length() // direct block allocation iterator
	r.length() // managed objects
	r.length() // huge objects size
	r.length() // huge objects count
	r.length() // tiny objects size
	r.length() // tiny objects count
	h.width = r.u16()
	h.startBlock = r.length()
	h.maxDirect = r.length()
	maxHeapBits := r.u16()
	r.u16() // starting rows of the root indirect block
	h.root = r.addr()
	h.rootRows = int(r.u16())
	if r.short {
		return nil, f.bad("%s is cut short (truncated?)", what)
	}
	if filterLen != 0 {
		return nil, f.bad("%s is filtered (compressed), which this reader does not support", what)
	}
	if h.idLen < 1 || h.idLen > 64 || !isPow2(h.width) || !isPow2(h.startBlock) || !isPow2(h.maxDirect) ||
		h.maxDirect < h.startBlock || maxHeapBits == 0 || maxHeapBits > 64 || h.rootRows > 64 {
		return nil, f.bad("%s: implausible parameters (id length %d, width %d, blocks %d to %d, %d bits)",
			what, h.idLen, h.width, h.startBlock, h.maxDirect, maxHeapBits)
	}
	h.startBits, h.wBits = log2floor(h.startBlock), log2floor(h.width)
	h.maxDirectRows = log2floor(h.maxDirect) - h.startBits + 2
	h.offBytes = int(maxHeapBits+7) / 8
	// H5HF: heap_len_size = MIN(max_dir_blk_off_size, H5VM_limit_enc_size(max_man_size)),
	// where max_dir_blk_off_size is the bytes for log2(max direct block size) bits.
	h.lenBytes = min((log2floor(h.maxDirect)+7)/8, encSize(maxMan))
	f.fheaps[addr] = h
	return h, nil
}

// rowSize is the size of the blocks of row r of a doubling table.
func (h *h5FractalHeap) rowSize(r int) (uint64, bool) {
	shift := h.startBits
	if r > 1 {
		shift += r - 1
	}
	if shift >= 63 {
		return 0, false
	}
	return 1 << shift, true
}

// heapObject returns the object a heap ID names.
func (f *h5File) heapObject(h *h5FractalHeap, id []byte) ([]byte, error) {
	what := fmt.Sprintf("fractal heap at %d", h.addr)
	if len(id) == 0 || id[0]>>6 != 0 {
		return nil, f.bad("%s: heap ID of an unknown version", what)
	}
	switch (id[0] >> 4) & 3 {
	case 0: // managed
	case 2: // tiny: the object is in the ID
		if h.idLen <= 18 {
			n := int(id[0]&0x0f) + 1
			if 1+n > len(id) {
				return nil, f.bad("%s: tiny object of %d bytes in a %d-byte ID", what, n, len(id))
			}
			return id[1 : 1+n], nil
		}
		if len(id) < 2 {
			return nil, f.bad("%s: short heap ID", what)
		}
		n := (int(id[0]&0x0f)<<8 | int(id[1])) + 1
		if 2+n > len(id) {
			return nil, f.bad("%s: tiny object of %d bytes in a %d-byte ID", what, n, len(id))
		}
		return id[2 : 2+n], nil
	default:
		return nil, f.bad("%s: a huge object, which this reader does not support", what)
	}
	if 1+h.offBytes+h.lenBytes > len(id) {
		return nil, f.bad("%s: heap IDs of %d bytes cannot hold an offset and length", what, len(id))
	}
	off := leUint(id[1 : 1+h.offBytes])
	n := leUint(id[1+h.offBytes : 1+h.offBytes+h.lenBytes])
	if h.rootRows == 0 {
		f.note("fractal heap direct root")
		return f.directObject(h, h.root, 0, h.startBlock, off, n)
	}
	return f.indirectObject(h, h.root, 0, h.rootRows, off, n, 0)
}

func (f *h5File) indirectObject(h *h5FractalHeap, addr, blockOff uint64, nrows int, off, n uint64, depth int) ([]byte, error) {
	what := fmt.Sprintf("fractal heap indirect block at %d", addr)
	f.note("fractal heap indirect block")
	if depth > h5MaxDepth || nrows > 64 {
		return nil, f.bad("%s: too deep", what)
	}
	if err := f.spend(64); err != nil {
		return nil, err
	}
	hdr := uint64(4 + 1 + f.o + h.offBytes)
	rel := off - blockOff
	if off < blockOff {
		return nil, f.bad("%s: object offset %d before the block", what, off)
	}
	var start uint64
	for row := 0; row < nrows; row++ {
		size, ok := h.rowSize(row)
		if !ok {
			break
		}
		if size > math.MaxUint64/h.width {
			break
		}
		span := size * h.width
		if rel >= span {
			rel -= span
			start += span
			continue
		}
		col := rel / size
		var entry uint64
		direct := row < h.maxDirectRows
		if direct {
			entry = hdr + uint64(row)*h.width*uint64(f.o) + col*uint64(f.o)
		} else {
			entry = hdr + uint64(min(nrows, h.maxDirectRows))*h.width*uint64(f.o) + (uint64(row-h.maxDirectRows)*h.width+col)*uint64(f.o)
		}
		eb, err := f.at(addr, entry+uint64(f.o), what)
		if err != nil {
			return nil, err
		}
		if string(eb[:4]) != "FHIB" {
			return nil, f.bad("no fractal heap indirect block (FHIB) at %d", addr)
		}
		child := leUint(eb[entry:])
		cOff := blockOff + start + col*size
		if direct {
			return f.directObject(h, child, cOff, size, off, n)
		}
		// A child indirect block spanning size bytes has this many rows.
		rows := log2floor(size) - h.startBits - h.wBits + 1
		if rows <= 0 || rows >= nrows {
			return nil, f.bad("%s: child of %d rows under one of %d", what, rows, nrows)
		}
		return f.indirectObject(h, child, cOff, rows, off, n, depth+1)
	}
	return nil, f.bad("%s: object offset %d beyond the heap", what, off)
}

func (f *h5File) directObject(h *h5FractalHeap, addr, blockOff, size, off, n uint64) ([]byte, error) {
	what := fmt.Sprintf("fractal heap direct block at %d", addr)
	blk, err := f.at(addr, size, what)
	if err != nil {
		return nil, err
	}
	hdr := uint64(4 + 1 + f.o + h.offBytes)
	if h.checksummed {
		hdr += 4
	}
	if size < hdr || string(blk[:4]) != "FHDB" {
		return nil, f.bad("no fractal heap direct block (FHDB) at %d", addr)
	}
	rel := off - blockOff
	if off < blockOff || rel < hdr || rel > size || n > size-rel {
		return nil, f.bad("%s: object at heap offset %d (%d bytes) outside the block", what, off, n)
	}
	if err := f.spend(int(n)); err != nil {
		return nil, err
	}
	return blk[rel : rel+n], nil
}

// ---- Datatypes and dataspaces ----

type h5Type struct {
	class  int
	size   uint64
	be     bool
	strPad int     // class 3: 0 null-terminated, 1 null-padded, 2 space-padded
	vlen   int     // class 9: 0 sequence, 1 string
	base   *h5Type // class 9
}

func (t *h5Type) String() string {
	switch t.class {
	case 0:
		return fmt.Sprintf("%d-byte integers", t.size)
	case 1:
		return fmt.Sprintf("%d-bit floats", 8*t.size)
	case 3:
		return fmt.Sprintf("%d-byte strings", t.size)
	case 9:
		if t.vlen == 1 {
			return "variable-length strings"
		}
		return "variable-length sequences"
	}
	names := map[int]string{2: "time", 4: "bitfield", 5: "opaque", 6: "compound", 7: "reference", 8: "enum", 10: "array"}
	if n, ok := names[t.class]; ok {
		return n + " values"
	}
	return fmt.Sprintf("datatype class %d", t.class)
}

// parseType reads a datatype message.
func (f *h5File) parseType(b []byte, depth int) (*h5Type, error) {
	if depth > 4 {
		return nil, f.bad("datatype nested too deeply")
	}
	r := f.reader(b)
	cv := r.u8()
	bf := r.u(3)
	t := &h5Type{class: int(cv & 0x0f), size: r.u32()}
	if r.short {
		return nil, f.bad("short datatype message")
	}
	switch t.class {
	case 0: // fixed point
		t.be = bf&1 != 0
	case 1:
		t.be = bf&1 != 0
		bitOff, prec := r.u16(), r.u16()
		eLoc, eSize, mLoc, mSize := r.u8(), r.u8(), r.u8(), r.u8()
		bias := r.u32()
		sign := (bf >> 8) & 0xff
		norm := (bf >> 4) & 3
		if r.short {
			return nil, f.bad("short float datatype")
		}
		ok := bf&0x40 == 0 && bitOff == 0 && prec == 8*t.size && norm == 2 && mLoc == 0
		switch t.size {
		case 2:
			ok = ok && sign == 15 && eLoc == 10 && eSize == 5 && mSize == 10 && bias == 15
		case 4:
			ok = ok && sign == 31 && eLoc == 23 && eSize == 8 && mSize == 23 && bias == 127
		case 8:
			ok = ok && sign == 63 && eLoc == 52 && eSize == 11 && mSize == 52 && bias == 1023
		default:
			ok = false
		}
		if !ok {
			return nil, f.bad("a %d-byte float that is not IEEE 754 binary16/32/64 (sign bit %d, exponent %d bits at %d, mantissa %d bits, bias %d)",
				t.size, sign, eSize, eLoc, mSize, bias)
		}
	case 3:
		t.strPad = int(bf & 0x0f)
	case 9:
		t.vlen = int(bf & 0x0f)
		base, err := f.parseType(b[r.p:], depth+1)
		if err != nil {
			return nil, err
		}
		t.base = base
	}
	return t, nil
}

type h5Space struct {
	dims []uint64
	null bool
}

// count is the number of elements.
func (s *h5Space) count() (uint64, bool) {
	if s.null {
		return 0, true
	}
	n := uint64(1)
	for _, d := range s.dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

func (f *h5File) parseSpace(b []byte) (*h5Space, error) {
	r := f.reader(b)
	ver, rank, flags := r.u8(), int(r.u8()), r.u8()
	s := &h5Space{}
	switch ver {
	case 1:
		r.skip(5)
	case 2:
		if r.u8() == 2 {
			s.null = true
		}
	default:
		if !r.short {
			return nil, f.bad("dataspace message of version %d", ver)
		}
	}
	if rank > h5MaxRank {
		return nil, f.bad("dataspace of rank %d", rank)
	}
	for i := 0; i < rank; i++ {
		s.dims = append(s.dims, r.length())
	}
	_ = flags
	if r.short {
		return nil, f.bad("short dataspace message")
	}
	return s, nil
}

// ---- Attributes ----

type h5Attr struct {
	name   string
	tb, sb []byte // datatype and dataspace messages, parsed when used
	data   []byte
	err    error // set when the message itself is malformed
}

// parseAttr splits an attribute message into its name, datatype,
// dataspace and data.
func (f *h5File) parseAttr(b []byte) *h5Attr {
	r := f.reader(b)
	ver, flags := r.u8(), r.u8()
	nsize, tsize, ssize := r.u16(), r.u16(), r.u16()
	f.note(fmt.Sprintf("attribute %d", ver))
	pad := func(n uint64) uint64 { return n }
	switch ver {
	case 1:
		pad = func(n uint64) uint64 { return (n + 7) &^ 7 }
	case 2:
	case 3:
		r.u8() // name character set
	default:
		if !r.short {
			return &h5Attr{err: f.bad("attribute message of version %d", ver)}
		}
	}
	name := r.bytes(pad(nsize))
	tb := r.bytes(pad(tsize))
	sb := r.bytes(pad(ssize))
	if r.short {
		return &h5Attr{err: f.bad("attribute message cut short")}
	}
	name = name[:min(uint64(len(name)), nsize)]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	a := &h5Attr{name: string(name), tb: tb[:tsize], sb: sb[:ssize], data: b[r.p:]}
	if ver > 1 && flags&0x03 != 0 {
		a.err = f.bad("attribute %s has a shared datatype or dataspace, which this reader does not follow", a.name)
	}
	return a
}

// attributes returns the attributes of the object at addr, by name, and
// the first error met parsing them, if any.
func (f *h5File) attributes(addr uint64) (h5Attrs, error) {
	if c, ok := f.attrs[addr]; ok {
		return c, nil
	}
	o, err := f.object(addr)
	if err != nil {
		return h5Attrs{}, err
	}
	c := h5Attrs{byName: map[string]*h5Attr{}}
	add := func(a *h5Attr) {
		if a.name == "" && a.err != nil {
			if c.err == nil {
				c.err = a.err
			}
			return
		}
		if _, dup := c.byName[a.name]; !dup {
			c.byName[a.name] = a
		}
	}
	for i := range o.msgs {
		if m := &o.msgs[i]; m.typ == h5MsgAttribute {
			add(f.parseAttr(m.data))
		}
	}
	if m := o.find(h5MsgAttrInfo); m != nil {
		r := f.reader(m.data)
		r.u8() // version
		if r.u8()&1 != 0 {
			r.u16() // maximum creation index
		}
		heap, names := r.addr(), r.addr()
		if r.short {
			return h5Attrs{}, f.bad("object at %d: short attribute info message", addr)
		}
		if heap != f.undef {
			f.note("dense attributes")
			h, err := f.fractalHeap(heap)
			if err != nil {
				return h5Attrs{}, err
			}
			err = f.btree2(names, 8, func(rec []byte) error {
				if len(rec) < h.idLen+1 {
					return f.bad("object at %d: attribute name index records of %d bytes are too short", addr, len(rec))
				}
				if rec[h.idLen]&0x02 != 0 {
					return f.bad("object at %d: a shared attribute, which this reader does not follow", addr)
				}
				b, err := f.heapObject(h, rec[:h.idLen])
				if err != nil {
					return err
				}
				add(f.parseAttr(b))
				return nil
			})
			if err != nil {
				return h5Attrs{}, err
			}
		}
	}
	f.attrs[addr] = c
	return c, nil
}

type h5Attrs struct {
	byName map[string]*h5Attr
	err    error
}

// attribute finds the attribute called name on the object at addr.
func (f *h5File) attribute(addr uint64, name string) (*h5Attr, bool, error) {
	c, err := f.attributes(addr)
	if err != nil {
		return nil, false, err
	}
	if a, ok := c.byName[name]; ok {
		if a.err != nil {
			return nil, false, a.err
		}
		return a, true, nil
	}
	if c.err != nil {
		// It may be the one that could not be read.
		return nil, false, c.err
	}
	return nil, false, nil
}

// strings decodes an attribute of strings (fixed or variable length), or
// of anything with no elements, as a list.
func (f *h5File) attrStrings(a *h5Attr) ([]string, error) {
	typ, err := f.parseType(a.tb, 0)
	if err != nil {
		return nil, f.bad("attribute %s: %v", a.name, msgOf(err))
	}
	space, err := f.parseSpace(a.sb)
	if err != nil {
		return nil, f.bad("attribute %s: %v", a.name, msgOf(err))
	}
	n, ok := space.count()
	if !ok || n > uint64(len(f.b)) {
		return nil, f.bad("attribute %s: implausible dimensions %v", a.name, space.dims)
	}
	if n == 0 {
		return []string{}, nil
	}
	switch {
	case typ.class == 3:
		f.note("fixed-length strings")
		sz := typ.size
		if sz == 0 || n > uint64(len(a.data))/sz {
			return nil, f.bad("attribute %s: %d strings of %d bytes do not fit in %d bytes", a.name, n, sz, len(a.data))
		}
		out := make([]string, n)
		for i := range out {
			s := a.data[uint64(i)*sz : uint64(i+1)*sz]
			if typ.strPad == 2 {
				s = bytes.TrimRight(s, " ")
			} else if j := bytes.IndexByte(s, 0); j >= 0 {
				s = s[:j]
			}
			out[i] = string(s)
		}
		return out, nil
	case typ.class == 9 && (typ.vlen == 1 || typ.base.size == 1):
		f.note("variable-length strings")
		esz := uint64(4 + f.o + 4)
		if n > uint64(len(a.data))/esz {
			return nil, f.bad("attribute %s: %d variable-length strings do not fit in %d bytes", a.name, n, len(a.data))
		}
		out := make([]string, n)
		r := f.reader(a.data)
		for i := range out {
			ln, coll, idx := r.u32(), r.addr(), uint32(r.u32())
			if ln == 0 {
				continue
			}
			s, err := f.globalObject(coll, idx)
			if err != nil {
				return nil, f.bad("attribute %s: %v", a.name, msgOf(err))
			}
			if ln > uint64(len(s)) {
				return nil, f.bad("attribute %s: string of %d bytes in a heap object of %d", a.name, ln, len(s))
			}
			out[i] = string(s[:ln])
		}
		return out, nil
	}
	return nil, f.bad("attribute %s holds %s, not strings", a.name, typ)
}

// globalObject returns object idx of the global heap collection at addr.
func (f *h5File) globalObject(addr uint64, idx uint32) ([]byte, error) {
	coll, ok := f.gheaps[addr]
	if !ok {
		what := fmt.Sprintf("global heap at %d", addr)
		hb, err := f.at(addr, uint64(8+f.l), what)
		if err != nil {
			return nil, err
		}
		if string(hb[:4]) != "GCOL" {
			return nil, f.bad("no global heap collection (GCOL) at %d", addr)
		}
		size := leUint(hb[8 : 8+f.l])
		if size < uint64(len(hb)) {
			return nil, f.bad("%s: collection of %d bytes is smaller than its header", what, size)
		}
		cb, err := f.at(addr, size, what)
		if err != nil {
			return nil, err
		}
		if err := f.spend(len(cb)); err != nil {
			return nil, err
		}
		coll = map[uint32][]byte{}
		r := f.reader(cb[len(hb):])
		for r.rem() >= 8+f.l {
			id := uint32(r.u16())
			r.skip(6) // reference count, reserved
			n := r.length()
			if id == 0 {
				break // free space
			}
			data := r.bytes(n)
			r.skip(min((8-n%8)%8, uint64(r.rem())))
			if r.short {
				return nil, f.bad("%s: object %d of %d bytes overruns the collection", what, id, n)
			}
			coll[id] = data
		}
		f.gheaps[addr] = coll
	}
	s, ok := coll[idx]
	if !ok {
		return nil, f.bad("global heap at %d has no object %d", addr, idx)
	}
	return s, nil
}

// ---- Datasets ----

type h5Filter struct {
	id    uint64
	flags uint64
	name  string
	cd    []uint32
}

type h5Dataset struct {
	path    string
	typ     *h5Type
	space   *h5Space
	layout  []byte
	filters []h5Filter
}

// dataset reads a dataset's header: its type, shape, layout and filters.
func (f *h5File) dataset(addr uint64, path string) (*h5Dataset, error) {
	o, err := f.object(addr)
	if err != nil {
		return nil, err
	}
	d := &h5Dataset{path: path}
	need := func(typ uint16, what string) (*h5Message, error) {
		m := o.find(typ)
		if m == nil {
			return nil, f.bad("%s has no %s message (not a dataset?)", path, what)
		}
		return m, f.unshared(m, path+"'s "+what)
	}
	m, err := need(h5MsgDatatype, "datatype")
	if err != nil {
		return nil, err
	}
	if d.typ, err = f.parseType(m.data, 0); err != nil {
		return nil, f.bad("%s: %s", path, msgOf(err))
	}
	if m, err = need(h5MsgDataspace, "dataspace"); err != nil {
		return nil, err
	}
	if d.space, err = f.parseSpace(m.data); err != nil {
		return nil, f.bad("%s: %s", path, msgOf(err))
	}
	if m, err = need(h5MsgLayout, "data layout"); err != nil {
		return nil, err
	}
	d.layout = m.data
	if o.find(h5MsgExternal) != nil {
		return nil, f.bad("%s keeps its data in external files", path)
	}
	if m := o.find(h5MsgFilters); m != nil {
		if err := f.unshared(m, path+"'s filter pipeline"); err != nil {
			return nil, err
		}
		if d.filters, err = f.parseFilters(m.data, path); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (f *h5File) parseFilters(b []byte, path string) ([]h5Filter, error) {
	r := f.reader(b)
	ver, n := r.u8(), r.u8()
	if ver == 1 {
		r.skip(6)
	} else if ver != 2 {
		return nil, f.bad("%s: filter pipeline message of version %d", path, ver)
	}
	if n > h5MaxFilters {
		return nil, f.bad("%s: %d filters", path, n)
	}
	var out []h5Filter
	for i := uint64(0); i < n; i++ {
		var flt h5Filter
		flt.id = r.u16()
		var nlen uint64
		if ver == 1 || flt.id >= 256 {
			nlen = r.u16()
		}
		flt.flags = r.u16()
		ncd := r.u16()
		if ver == 1 {
			nlen = (nlen + 7) &^ 7
		}
		name := r.bytes(nlen)
		if j := bytes.IndexByte(name, 0); j >= 0 {
			name = name[:j]
		}
		flt.name = string(name)
		for j := uint64(0); j < ncd && !r.short; j++ {
			flt.cd = append(flt.cd, uint32(r.u32()))
		}
		if ver == 1 && ncd%2 == 1 {
			r.skip(4)
		}
		out = append(out, flt)
	}
	if r.short {
		return nil, f.bad("%s: filter pipeline message cut short", path)
	}
	return out, nil
}

// chunkRef is one stored chunk: where it is in the dataset (element
// offsets), where its bytes are, and which filters were skipped.
type chunkRef struct {
	offs []uint64
	addr uint64
	size uint64
	mask uint32
}

// readFloats reads a float dataset, converted to float32, in C order.
func (f *h5File) readFloats(d *h5Dataset) ([]float32, error) {
	if d.typ.class != 1 {
		return nil, f.bad("%s holds %s, not floats", d.path, d.typ)
	}
	raw, err := f.readRaw(d)
	if err != nil {
		return nil, err
	}
	es := int(d.typ.size)
	out := make([]float32, len(raw)/es)
	var bo binary.ByteOrder = binary.LittleEndian
	if d.typ.be {
		bo = binary.BigEndian
		f.note("big-endian")
	}
	f.note(fmt.Sprintf("float%d", 8*es))
	for i := range out {
		p := raw[i*es:]
		switch es {
		case 2:
			out[i] = halfToFloat(bo.Uint16(p))
		case 4:
			out[i] = math.Float32frombits(bo.Uint32(p))
		case 8:
			out[i] = float32(math.Float64frombits(bo.Uint64(p)))
		}
	}
	return out, nil
}

// readRaw returns a dataset's bytes, in C order.
func (f *h5File) readRaw(d *h5Dataset) ([]byte, error) {
	n, ok := d.space.count()
	es := d.typ.size
	if !ok || es == 0 || n > f.lim.maxData/es {
		return nil, f.bad("%s: %s elements of %d bytes exceed the limit of %d bytes", d.path, shape(d.space.dims), es, f.lim.maxData)
	}
	total := n * es
	if f.decoded += total; f.decoded > f.lim.maxData {
		return nil, f.bad("%s: the datasets read add up to more than the limit of %d bytes", d.path, f.lim.maxData)
	}
	r := f.reader(d.layout)
	ver, class := r.u8(), r.u8()
	if r.short {
		return nil, f.bad("%s: short data layout message", d.path)
	}
	if ver < 3 || ver > 4 {
		return nil, f.bad("%s: data layout message of version %d; this reader knows 3 and 4", d.path, ver)
	}
	switch class {
	case 0: // compact
		f.note("compact")
		size := r.u16()
		data := r.bytes(size)
		if r.short || size != total {
			return nil, f.bad("%s: compact data of %d bytes, want %d", d.path, size, total)
		}
		return data, nil
	case 1: // contiguous
		f.note("contiguous")
		addr, size := r.addr(), r.length()
		if r.short {
			return nil, f.bad("%s: short data layout message", d.path)
		}
		if size != total {
			return nil, f.bad("%s: contiguous data of %d bytes, want %d for %v elements of %d bytes", d.path, size, total, d.space.dims, es)
		}
		if total == 0 {
			return []byte{}, nil
		}
		if addr == f.undef {
			return nil, f.bad("%s: no data stored (never written)", d.path)
		}
		return f.at(addr, size, d.path+"'s data")
	case 2:
		return f.readChunked(d, r, ver, total)
	case 3:
		return nil, f.bad("%s is a virtual dataset, which this reader does not support", d.path)
	}
	return nil, f.bad("%s: data layout class %d", d.path, class)
}

func (f *h5File) readChunked(d *h5Dataset, r *rd, ver uint64, total uint64) ([]byte, error) {
	rank := len(d.space.dims)
	var flags uint64
	var ndims int
	if ver == 4 {
		flags = r.u8()
	}
	ndims = int(r.u8())
	if ndims != rank+1 {
		return nil, f.bad("%s: chunks of %d dimensions for data of %d", d.path, ndims-1, rank)
	}
	var btree uint64
	if ver == 3 {
		btree = r.addr()
	}
	enc := 4
	if ver == 4 {
		enc = int(r.u8())
		if enc < 1 || enc > 8 {
			return nil, f.bad("%s: chunk dimensions encoded in %d bytes", d.path, enc)
		}
	}
	cdims := make([]uint64, ndims)
	for i := range cdims {
		cdims[i] = r.u(enc)
	}
	if r.short {
		return nil, f.bad("%s: short data layout message", d.path)
	}
	es := cdims[rank]
	if es != d.typ.size {
		return nil, f.bad("%s: chunks of %d-byte elements for a %d-byte type", d.path, es, d.typ.size)
	}
	// The chunk grid, and the size of the dataset padded to whole chunks,
	// which bounds how much chunk data is decoded.
	chunkBytes, padded, nchunks := es, es, uint64(1)
	grid := make([]uint64, rank)
	for i := 0; i < rank; i++ {
		c, dim := cdims[i], d.space.dims[i]
		if c == 0 {
			return nil, f.bad("%s: a chunk dimension is 0", d.path)
		}
		grid[i] = dim/c + min(dim%c, 1)
		var hi uint64
		if hi, chunkBytes = bits.Mul64(chunkBytes, c); hi != 0 || chunkBytes > f.lim.maxData {
			return nil, f.bad("%s: chunks of %v exceed the limit of %d bytes", d.path, cdims[:rank], f.lim.maxData)
		}
		hi, span := bits.Mul64(grid[i], c)
		if hi != 0 || span < dim {
			return nil, f.bad("%s: %v elements in chunks of %v exceed the limit of %d bytes", d.path, d.space.dims, cdims[:rank], f.lim.maxData)
		}
		if hi, padded = bits.Mul64(padded, span); hi != 0 || padded > f.lim.maxData {
			return nil, f.bad("%s: %v elements in chunks of %v exceed the limit of %d bytes", d.path, d.space.dims, cdims[:rank], f.lim.maxData)
		}
		nchunks *= grid[i]
	}
	out := make([]byte, total)
	if total == 0 {
		return out, nil
	}
	var chunks []chunkRef
	var err error
	switch ver {
	case 3:
		f.note("chunked, B-tree index")
		err = f.btree1(btree, 1, ndims, func(key []byte, child uint64) error {
			kr := f.reader(key)
			c := chunkRef{size: kr.u32(), mask: uint32(kr.u32()), addr: child}
			for i := 0; i < rank; i++ {
				c.offs = append(c.offs, kr.u64())
			}
			chunks = append(chunks, c)
			return nil
		})
	case 4:
		chunks, err = f.chunkIndexV4(d, r, flags, cdims[:rank], grid, nchunks, chunkBytes)
	}
	if err != nil {
		return nil, err
	}
	done := map[uint64]bool{}
	for _, c := range chunks {
		lin := uint64(0)
		partial := false
		for i := 0; i < rank; i++ {
			if c.offs[i]%cdims[i] != 0 || c.offs[i] >= d.space.dims[i] {
				return nil, f.bad("%s: a chunk at %v does not fit chunks of %v in %v", d.path, c.offs, cdims[:rank], d.space.dims)
			}
			if c.offs[i]+cdims[i] > d.space.dims[i] {
				partial = true
			}
			lin = lin*grid[i] + c.offs[i]/cdims[i]
		}
		if done[lin] {
			return nil, f.bad("%s: the chunk at %v is stored twice", d.path, c.offs)
		}
		done[lin] = true
		stored, err := f.at(c.addr, c.size, fmt.Sprintf("%s's chunk at %v", d.path, c.offs))
		if err != nil {
			return nil, err
		}
		mask := c.mask
		if partial && ver == 4 && flags&1 != 0 {
			mask = ^uint32(0) // edge chunks are stored unfiltered
			f.note("unfiltered edge chunk")
		}
		data, err := f.unfilter(d, stored, mask, chunkBytes, c.offs)
		if err != nil {
			return nil, err
		}
		copyChunk(out, data, d.space.dims, cdims[:rank], c.offs, es)
	}
	if uint64(len(done)) != nchunks {
		return nil, f.bad("%s: %d of its %d chunks are stored; the rest were never written", d.path, len(done), nchunks)
	}
	return out, nil
}

// chunkIndexV4 lists the chunks of a layout version 4 dataset.
func (f *h5File) chunkIndexV4(d *h5Dataset, r *rd, flags uint64, cdims, grid []uint64, nchunks, chunkBytes uint64) ([]chunkRef, error) {
	rank := len(cdims)
	offsOf := func(lin uint64) []uint64 {
		offs := make([]uint64, rank)
		for i := rank - 1; i >= 0; i-- {
			offs[i] = lin % grid[i] * cdims[i]
			lin /= grid[i]
		}
		return offs
	}
	itype := r.u8()
	switch itype {
	case 1: // single chunk
		f.note("chunked, single chunk")
		c := chunkRef{offs: make([]uint64, rank), size: chunkBytes}
		if flags&2 != 0 {
			c.size, c.mask = r.length(), uint32(r.u32())
		}
		c.addr = r.addr()
		if r.short {
			return nil, f.bad("%s: short data layout message", d.path)
		}
		if nchunks != 1 {
			return nil, f.bad("%s: a single-chunk index for %d chunks", d.path, nchunks)
		}
		return []chunkRef{c}, nil
	case 2: // implicit: unfiltered chunks one after another
		f.note("chunked, implicit index")
		addr := r.addr()
		if r.short {
			return nil, f.bad("%s: short data layout message", d.path)
		}
		if len(d.filters) > 0 {
			return nil, f.bad("%s: an implicit chunk index with filters", d.path)
		}
		if hi, lo := bits.Mul64(nchunks, chunkBytes); hi != 0 || lo > uint64(len(f.b)) {
			return nil, f.bad("%s: %d implicit chunks of %d bytes are larger than the file", d.path, nchunks, chunkBytes)
		}
		var out []chunkRef
		for i := uint64(0); i < nchunks; i++ {
			out = append(out, chunkRef{offs: offsOf(i), addr: addr + i*chunkBytes, size: chunkBytes})
		}
		return out, nil
	case 3: // fixed array
		f.note("chunked, fixed array index")
		r.u8() // page bits
		addr := r.addr()
		if r.short {
			return nil, f.bad("%s: short data layout message", d.path)
		}
		return f.fixedArray(d, addr, nchunks, chunkBytes, offsOf)
	case 4:
		return nil, f.bad("%s is chunked with an extensible-array index (a resizable dataset), which this reader does not support", d.path)
	case 5:
		return nil, f.bad("%s is chunked with a version 2 B-tree index (a resizable dataset), which this reader does not support", d.path)
	}
	return nil, f.bad("%s: chunk index type %d", d.path, itype)
}

func (f *h5File) fixedArray(d *h5Dataset, addr, nchunks, chunkBytes uint64, offsOf func(uint64) []uint64) ([]chunkRef, error) {
	what := fmt.Sprintf("%s's fixed array index at %d", d.path, addr)
	hb, err := f.at(addr, uint64(4+4+f.l+f.o), what)
	if err != nil {
		return nil, err
	}
	r := f.reader(hb)
	if !r.sig("FAHD") {
		return nil, f.bad("%s: no FAHD signature", what)
	}
	r.u8() // version
	client, esize, pageBits := r.u8(), r.u8(), r.u8()
	n, dblk := r.length(), r.addr()
	if n != nchunks {
		return nil, f.bad("%s: %d entries for %d chunks", what, n, nchunks)
	}
	if pageBits < 64 && n > 1<<pageBits {
		return nil, f.bad("%s is paged (%d chunks), which this reader does not support", what, n)
	}
	minSize := uint64(f.o)
	if client == 1 {
		minSize += 1 + 4
	}
	if esize < minSize || esize > uint64(f.o)+8+4 || n > uint64(len(f.b))/esize {
		return nil, f.bad("%s: %d entries of %d bytes", what, n, esize)
	}
	pre := uint64(4 + 1 + 1 + f.o)
	db, err := f.at(dblk, pre+n*esize, what+" (data block)")
	if err != nil {
		return nil, err
	}
	if string(db[:4]) != "FADB" {
		return nil, f.bad("%s: no FADB signature at %d", what, dblk)
	}
	if err := f.spend(len(db)); err != nil {
		return nil, err
	}
	er := f.reader(db[pre:])
	var out []chunkRef
	for i := uint64(0); i < n; i++ {
		c := chunkRef{offs: offsOf(i), size: chunkBytes}
		c.addr = er.addr()
		if client == 1 {
			c.size = er.u(int(esize) - f.o - 4)
			c.mask = uint32(er.u32())
		} else {
			er.skip(esize - uint64(f.o))
		}
		if c.addr == f.undef {
			continue // never written; reported as missing
		}
		out = append(out, c)
	}
	return out, nil
}

// unfilter undoes a dataset's filter pipeline on one chunk, in reverse
// order, skipping the filters mask says were not applied.
func (f *h5File) unfilter(d *h5Dataset, data []byte, mask uint32, want uint64, offs []uint64) ([]byte, error) {
	what := fmt.Sprintf("%s's chunk at %v", d.path, offs)
	limit := want + 4*uint64(len(d.filters)) // fletcher32 adds 4 bytes
	for i := len(d.filters) - 1; i >= 0; i-- {
		flt := d.filters[i]
		if i < 32 && mask&(1<<i) != 0 {
			continue
		}
		f.note(fmt.Sprintf("filter %d", flt.id))
		switch flt.id {
		case 1: // deflate
			var err error
			if f.zr == nil {
				f.zr, err = zlib.NewReader(bytes.NewReader(data))
			} else {
				err = f.zr.(zlib.Resetter).Reset(bytes.NewReader(data), nil)
			}
			if err != nil {
				return nil, f.bad("%s: not deflate data: %v", what, err)
			}
			zr := f.zr
			buf := make([]byte, limit+1)
			n, err := io.ReadFull(zr, buf)
			switch {
			case err == nil:
				return nil, f.bad("%s inflates to more than its %d bytes", what, want)
			case err == io.EOF || err == io.ErrUnexpectedEOF:
			default:
				return nil, f.bad("%s: corrupt deflate data: %v", what, err)
			}
			if err := f.spend(n / 64); err != nil {
				return nil, err
			}
			data = buf[:n]
		case 2: // shuffle
			if len(flt.cd) < 1 || flt.cd[0] == 0 {
				return nil, f.bad("%s: shuffle filter without an element size", what)
			}
			data = unshuffle(data, int(flt.cd[0]))
		case 3: // fletcher32
			if len(data) < 4 {
				return nil, f.bad("%s: too short for its fletcher32 checksum", what)
			}
			body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
			c := fletcher32(body)
			// HDF5 before 1.6.? stored the checksum byte-swapped; it accepts both.
			rc := c>>24 | (c>>8)&0xff00 | (c<<8)&0xff0000 | c<<24
			if sum != c && sum != rc {
				return nil, f.bad("%s: fletcher32 checksum mismatch (corrupt data)", what)
			}
			data = body
		default:
			name := map[uint64]string{4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf", 32001: "blosc",
				32004: "lz4", 32008: "bitshuffle", 32015: "zstd"}[flt.id]
			if name == "" {
				name = flt.name
			}
			return nil, f.bad("%s is compressed with filter %d (%s); this reader knows deflate (gzip), shuffle and fletcher32 only", d.path, flt.id, name)
		}
	}
	if uint64(len(data)) != want {
		return nil, f.bad("%s holds %d bytes after its filters, want %d", what, len(data), want)
	}
	return data, nil
}

func unshuffle(b []byte, size int) []byte {
	if size <= 1 || len(b) < size {
		return b
	}
	n := len(b) / size
	out := make([]byte, len(b))
	for j := 0; j < size; j++ {
		for i := 0; i < n; i++ {
			out[i*size+j] = b[j*n+i]
		}
	}
	copy(out[n*size:], b[n*size:])
	return out
}

// fletcher32 is H5_checksum_fletcher32.
func fletcher32(b []byte) uint32 {
	var s1, s2 uint32
	for len(b) >= 2 {
		n := min(len(b)/2, 360)
		for i := 0; i < n; i++ {
			s1 += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
			s2 += s1
		}
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	if len(b) == 1 {
		s1 += uint32(b[0]) << 8
		s2 += s1
		s1 = (s1 & 0xffff) + (s1 >> 16)
		s2 = (s2 & 0xffff) + (s2 >> 16)
	}
	s1 = (s1 & 0xffff) + (s1 >> 16)
	s2 = (s2 & 0xffff) + (s2 >> 16)
	return s2<<16 | s1
}

// copyChunk copies the part of a chunk inside the dataset into out.
func copyChunk(out, chunk []byte, dims, cdims, offs []uint64, es uint64) {
	rank := len(dims)
	if rank == 0 {
		copy(out, chunk)
		return
	}
	ext := make([]uint64, rank) // the chunk's extent inside the dataset
	for i := range ext {
		ext[i] = min(cdims[i], dims[i]-offs[i])
	}
	row := ext[rank-1] * es
	idx := make([]uint64, rank-1)
	for {
		var src, dst uint64
		for i := 0; i < rank-1; i++ {
			src = src*cdims[i] + idx[i]
			dst = dst*dims[i] + offs[i] + idx[i]
		}
		src = src * cdims[rank-1] * es
		dst = (dst*dims[rank-1] + offs[rank-1]) * es
		copy(out[dst:dst+row], chunk[src:src+row])
		k := rank - 2
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < ext[k] {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// ---- Paths ----

// lookup follows a slash-separated path from the group at addr.
func (f *h5File) lookup(addr uint64, path string) (uint64, error) {
	parts := strings.Split(path, "/")
	if len(parts) > h5MaxDepth {
		return 0, f.bad("path %q is too deep", path)
	}
	sofar := ""
	for _, p := range parts {
		if p == "" || p == "." {
			continue
		}
		g, err := f.links(addr)
		if err != nil {
			if sofar != "" {
				return 0, f.bad("%s: %s", sofar, msgOf(err))
			}
			return 0, err
		}
		sofar += "/" + p
		next, ok := g[p]
		if !ok {
			return 0, errNoLink{sofar}
		}
		if next == badLink {
			return 0, f.bad("%s is a soft or external link, which this reader does not follow", sofar)
		}
		addr = next
	}
	return addr, nil
}

// errNoLink says a path does not exist; the Keras layer turns it into a
// FormatError with context.
type errNoLink struct{ path string }

func (e errNoLink) Error() string { return "no object " + e.path }

// names lists a group's links, sorted, for error messages.
func (f *h5File) names(addr uint64) []string {
	g, err := f.links(addr)
	if err != nil {
		return nil
	}
	var out []string
	for k := range g {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// msgOf returns a FormatError's message, or any other error's text.
func msgOf(err error) string {
	var fe *FormatError
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return err.Error()
}
