package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file holds a small Python unpickler (protocols 0 to 5) that builds
// plain Go values and never runs anything: it resolves only the globals in
// pickleGlobals, and "calls" only the few of them that torch.save's state
// dicts need (OrderedDict and the tensor rebuild functions), implemented
// here in Go. Any other global is an error naming it. Every read is bounds
// checked; malformed input gives an error, never a panic.

// Values the unpickler builds. Python's None is nil, bool is bool, int is
// int64 (or *big.Int when it does not fit), float is float64, str is
// string, bytes is pyBytes.
type (
	pyTuple []any
	pyBytes []byte
	pyList  struct{ items []any }
	pySet   struct{ items []any }
	// pyDict keeps its items in insertion order; a key given twice keeps
	// both, and lookups (strDict) let the later one win, as Python would.
	pyDict struct{ keys, vals []any }
	// pyGlobal is a whitelisted global: a callable, a storage type or a dtype.
	pyGlobal struct{ module, name string }
)

func (g pyGlobal) String() string { return g.module + "." + g.name }

// pickleGlobals lists every global a .pth file may name, with its kind.
var pickleGlobals = map[string]globalKind{
	"collections.OrderedDict":                    gCallable,
	"torch._utils._rebuild_tensor":               gCallable,
	"torch._utils._rebuild_tensor_v2":            gCallable,
	"torch._utils._rebuild_tensor_v3":            gCallable,
	"torch._utils._rebuild_parameter":            gCallable,
	"torch._utils._rebuild_parameter_with_state": gCallable,
	"_codecs.encode":                             gCallable,
}

type globalKind int

const (
	gForbidden globalKind = iota
	gCallable
	gStorage
	gDType
)

// storageDTypes maps torch storage class names to safetensors dtype codes.
var storageDTypes = map[string]string{
	"FloatStorage":    "F32",
	"DoubleStorage":   "F64",
	"HalfStorage":     "F16",
	"BFloat16Storage": "BF16",
	"LongStorage":     "I64",
	"IntStorage":      "I32",
	"ShortStorage":    "I16",
	"CharStorage":     "I8",
	"ByteStorage":     "U8",
	"BoolStorage":     "BOOL",
	"UntypedStorage":  "U8",
}

// torchDTypes maps torch dtype names to safetensors dtype codes.
var torchDTypes = map[string]string{
	"float32": "F32", "float": "F32",
	"float64": "F64", "double": "F64",
	"float16": "F16", "half": "F16",
	"bfloat16": "BF16",
	"int64":    "I64", "long": "I64",
	"int32": "I32", "int": "I32",
	"int16": "I16", "short": "I16",
	"int8":  "I8",
	"uint8": "U8",
	"bool":  "BOOL",
}

func globalKindOf(module, name string) globalKind {
	if k, ok := pickleGlobals[module+"."+name]; ok {
		return k
	}
	if module == "torch" || module == "torch.cuda" || module == "torch.storage" {
		if _, ok := storageDTypes[name]; ok {
			return gStorage
		}
	}
	if module == "torch" {
		if _, ok := torchDTypes[name]; ok {
			return gDType
		}
	}
	return gForbidden
}

// errForbidden marks a refused global; its message names the global.
type errForbidden struct{ global string }

func (e *errForbidden) Error() string {
	return fmt.Sprintf("forbidden global %s: only state dicts of tensors can be read, nothing in the file is run", e.global)
}

// unpickler decodes one pickle from data starting at pos.
type unpickler struct {
	data   []byte
	pos    int
	stack  []any
	marks  []int
	memo   map[int64]any
	proto  int
	calls  func(g pyGlobal, args pyTuple) (any, error)
	persid func(pid any) (any, error)
}

// maxPickleDepth bounds MARK nesting, a cheap guard against silly inputs.
const maxPickleDepth = 1 << 16

func (u *unpickler) errf(format string, a ...any) error {
	return fmt.Errorf("pickle byte %d: %s", u.pos, fmt.Sprintf(format, a...))
}

var errPickleTruncated = errors.New("pickle ends early (truncated)")

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, errPickleTruncated
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) readByte() (byte, error) {
	if u.pos >= len(u.data) {
		return 0, errPickleTruncated
	}
	c := u.data[u.pos]
	u.pos++
	return c, nil
}

func (u *unpickler) readUint(n int) (uint64, error) {
	b, err := u.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// readLen reads an n-byte little-endian length and then that many bytes.
func (u *unpickler) readLen(n int) ([]byte, error) {
	l, err := u.readUint(n)
	if err != nil {
		return nil, err
	}
	if l > uint64(len(u.data)-u.pos) {
		return nil, errPickleTruncated
	}
	return u.read(int(l))
}

// readLine reads up to and without the next newline.
func (u *unpickler) readLine() (string, error) {
	for i := u.pos; i < len(u.data); i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", errPickleTruncated
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, u.errf("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items pushed since the last MARK and drops them.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	if m > len(u.stack) {
		return nil, u.errf("corrupt MARK")
	}
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoGet(i int64) error {
	v, ok := u.memo[i]
	if !ok {
		return u.errf("memo entry %d not defined", i)
	}
	u.push(v)
	return nil
}

func (u *unpickler) memoPut(i int64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if i < 0 {
		return u.errf("negative memo index %d", i)
	}
	u.memo[i] = v
	return nil
}

func (u *unpickler) global(module, name string) error {
	switch globalKindOf(module, name) {
	case gForbidden:
		return &errForbidden{global: module + "." + name}
	}
	u.push(pyGlobal{module, name})
	return nil
}

func (u *unpickler) call(f any, args any) (any, error) {
	g, ok := f.(pyGlobal)
	if !ok {
		return nil, u.errf("call of a %s, not of a whitelisted global", typeName(f))
	}
	if globalKindOf(g.module, g.name) != gCallable {
		return nil, u.errf("global %s cannot be called", g)
	}
	t, ok := args.(pyTuple)
	if !ok {
		return nil, u.errf("%s called with a %s, not a tuple of arguments", g, typeName(args))
	}
	if u.calls == nil {
		return nil, u.errf("%s cannot be called here", g)
	}
	return u.calls(g, t)
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(v<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

func parseIntText(s string) (any, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "L")
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if len(s) > 4096 { // decimal conversion is quadratic
		return nil, fmt.Errorf("integer of %d digits", len(s))
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad integer %q", trunc(s))
	}
	return n, nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape: \uXXXX and
// \UXXXXXXXX escapes, every other byte a Latin-1 character.
func rawUnicodeEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n <= len(s) {
				if c, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil && c <= 0x10ffff {
					b.WriteRune(rune(c))
					i += 1 + n
					continue
				}
			}
		}
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyBytes:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pySet:
		return "set"
	case pyGlobal:
		return v.String()
	case *pthStorageRef:
		return "storage"
	case *pthTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// load runs the pickle machine up to STOP and returns the result.
func (u *unpickler) load() (any, error) {
	if u.memo == nil {
		u.memo = map[int64]any{}
	}
	for {
		op, err := u.readByte()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80: // PROTO
			p, err := u.readByte()
			if err != nil {
				return nil, err
			}
			if p > 5 {
				return nil, u.errf("unsupported pickle protocol %d", p)
			}
			u.proto = int(p)
		case 0x95: // FRAME: advisory, the data follows inline
			if _, err := u.read(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '(': // MARK
			if len(u.marks) >= maxPickleDepth {
				return nil, u.errf("MARKs nested too deep")
			}
			u.marks = append(u.marks, len(u.stack))
		case '0': // POP
			if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
				// Python pops the mark itself here.
				u.marks = u.marks[:len(u.marks)-1]
			} else if _, err := u.pop(); err != nil {
				return nil, err
			}
		case '1': // POP_MARK
			if _, err := u.popMark(); err != nil {
				return nil, err
			}
		case '2': // DUP
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			u.push(v)

		case 'N':
			u.push(nil)
		case 0x88:
			u.push(true)
		case 0x89:
			u.push(false)
		case 'I': // INT (text); "00"/"01" are False/True
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			switch s {
			case "00":
				u.push(false)
			case "01":
				u.push(true)
			default:
				v, err := parseIntText(s)
				if err != nil {
					return nil, u.errf("INT: %v", err)
				}
				u.push(v)
			}
		case 'L': // LONG (text)
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			v, err := parseIntText(s)
			if err != nil {
				return nil, u.errf("LONG: %v", err)
			}
			u.push(v)
		case 'J': // BININT
			v, err := u.readUint(4)
			if err != nil {
				return nil, err
			}
			u.push(int64(int32(uint32(v))))
		case 'K': // BININT1
			v, err := u.readUint(1)
			if err != nil {
				return nil, err
			}
			u.push(int64(v))
		case 'M': // BININT2
			v, err := u.readUint(2)
			if err != nil {
				return nil, err
			}
			u.push(int64(v))
		case 0x8a: // LONG1
			b, err := u.readLen(1)
			if err != nil {
				return nil, err
			}
			u.push(decodeLong(b))
		case 0x8b: // LONG4
			l, err := u.readUint(4)
			if err != nil {
				return nil, err
			}
			if l > 1<<16 { // 2^(8*65536) is far beyond anything a .pth holds
				return nil, u.errf("LONG4 of %d bytes", l)
			}
			b, err := u.read(int(l))
			if err != nil {
				return nil, err
			}
			u.push(decodeLong(b))
		case 'F': // FLOAT (text)
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, u.errf("FLOAT %q", trunc(s))
			}
			u.push(f)
		case 'G': // BINFLOAT, big-endian
			b, err := u.read(8)
			if err != nil {
				return nil, err
			}
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))

		case 'T': // BINSTRING (Python 2 str, read as text like torch.load does)
			b, err := u.readLen(4)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 'U': // SHORT_BINSTRING
			b, err := u.readLen(1)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 'X': // BINUNICODE
			b, err := u.readLen(4)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 0x8c: // SHORT_BINUNICODE
			b, err := u.readLen(1)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 0x8d: // BINUNICODE8
			b, err := u.readLen(8)
			if err != nil {
				return nil, err
			}
			u.push(string(b))
		case 'B': // BINBYTES
			b, err := u.readLen(4)
			if err != nil {
				return nil, err
			}
			u.push(pyBytes(b))
		case 'C': // SHORT_BINBYTES
			b, err := u.readLen(1)
			if err != nil {
				return nil, err
			}
			u.push(pyBytes(b))
		case 0x8e, 0x96: // BINBYTES8, BYTEARRAY8
			b, err := u.readLen(8)
			if err != nil {
				return nil, err
			}
			u.push(pyBytes(b))
		case 'V': // UNICODE (protocol 0): raw-unicode-escape text
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			u.push(rawUnicodeEscape(line))
		case 'S': // STRING (protocol 0, a Python repr): never written by torch.save
			return nil, u.errf("protocol-0 STRING opcode is not supported")

		case ')':
			u.push(pyTuple{})
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(u.stack) < n || (len(u.marks) > 0 && len(u.stack)-n < u.marks[len(u.marks)-1]) {
				return nil, u.errf("stack underflow")
			}
			t := append(pyTuple(nil), u.stack[len(u.stack)-n:]...)
			u.stack = u.stack[:len(u.stack)-n]
			u.push(t)
		case 't': // TUPLE
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(pyTuple(items))
		case ']':
			u.push(&pyList{})
		case 'l': // LIST
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(&pyList{items: items})
		case 'a': // APPEND
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			l, err := u.top()
			if err != nil {
				return nil, err
			}
			pl, ok := l.(*pyList)
			if !ok {
				return nil, u.errf("APPEND to a %s", typeName(l))
			}
			pl.items = append(pl.items, v)
		case 'e': // APPENDS
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			l, err := u.top()
			if err != nil {
				return nil, err
			}
			pl, ok := l.(*pyList)
			if !ok {
				return nil, u.errf("APPENDS to a %s", typeName(l))
			}
			pl.items = append(pl.items, items...)
		case '}':
			u.push(&pyDict{})
		case 'd': // DICT
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if len(items)%2 != 0 {
				return nil, u.errf("DICT with an odd number of items")
			}
			d := &pyDict{}
			for i := 0; i < len(items); i += 2 {
				d.keys = append(d.keys, items[i])
				d.vals = append(d.vals, items[i+1])
			}
			u.push(d)
		case 's': // SETITEM
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			k, err := u.pop()
			if err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, u.errf("SETITEM on a %s", typeName(t))
			}
			d.keys = append(d.keys, k)
			d.vals = append(d.vals, v)
		case 'u': // SETITEMS
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if len(items)%2 != 0 {
				return nil, u.errf("SETITEMS with an odd number of items")
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, u.errf("SETITEMS on a %s", typeName(t))
			}
			for i := 0; i < len(items); i += 2 {
				d.keys = append(d.keys, items[i])
				d.vals = append(d.vals, items[i+1])
			}
		case 0x8f: // EMPTY_SET
			u.push(&pySet{})
		case 0x90: // ADDITEMS
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			s, ok := t.(*pySet)
			if !ok {
				return nil, u.errf("ADDITEMS on a %s", typeName(t))
			}
			s.items = append(s.items, items...)
		case 0x91: // FROZENSET
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(&pySet{items: items})

		case 'g': // GET
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, u.errf("GET %q", trunc(s))
			}
			if err := u.memoGet(i); err != nil {
				return nil, err
			}
		case 'h': // BINGET
			i, err := u.readUint(1)
			if err != nil {
				return nil, err
			}
			if err := u.memoGet(int64(i)); err != nil {
				return nil, err
			}
		case 'j': // LONG_BINGET
			i, err := u.readUint(4)
			if err != nil {
				return nil, err
			}
			if err := u.memoGet(int64(i)); err != nil {
				return nil, err
			}
		case 'p': // PUT
			s, err := u.readLine()
			if err != nil {
				return nil, err
			}
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, u.errf("PUT %q", trunc(s))
			}
			if err := u.memoPut(i); err != nil {
				return nil, err
			}
		case 'q': // BINPUT
			i, err := u.readUint(1)
			if err != nil {
				return nil, err
			}
			if err := u.memoPut(int64(i)); err != nil {
				return nil, err
			}
		case 'r': // LONG_BINPUT
			i, err := u.readUint(4)
			if err != nil {
				return nil, err
			}
			if err := u.memoPut(int64(i)); err != nil {
				return nil, err
			}
		case 0x94: // MEMOIZE
			if err := u.memoPut(int64(len(u.memo))); err != nil {
				return nil, err
			}

		case 'c': // GLOBAL module\nname\n
			module, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			if err := u.global(module, name); err != nil {
				return nil, err
			}
		case 0x93: // STACK_GLOBAL
			n, err := u.pop()
			if err != nil {
				return nil, err
			}
			m, err := u.pop()
			if err != nil {
				return nil, err
			}
			module, ok1 := m.(string)
			name, ok2 := n.(string)
			if !ok1 || !ok2 {
				return nil, u.errf("STACK_GLOBAL of a %s and a %s, not two strings", typeName(m), typeName(n))
			}
			if err := u.global(module, name); err != nil {
				return nil, err
			}
		case 'R': // REDUCE
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			f, err := u.pop()
			if err != nil {
				return nil, err
			}
			v, err := u.call(f, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 0x81: // NEWOBJ cls args
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			cls, err := u.pop()
			if err != nil {
				return nil, err
			}
			v, err := u.call(cls, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 0x92: // NEWOBJ_EX cls args kwargs
			kw, err := u.pop()
			if err != nil {
				return nil, err
			}
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			cls, err := u.pop()
			if err != nil {
				return nil, err
			}
			if d, ok := kw.(*pyDict); !ok || len(d.keys) != 0 {
				return nil, u.errf("NEWOBJ_EX with keyword arguments")
			}
			v, err := u.call(cls, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'i': // INST module\nname\n, args since MARK
			module, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			if globalKindOf(module, name) == gForbidden {
				return nil, &errForbidden{global: module + "." + name}
			}
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			v, err := u.call(pyGlobal{module, name}, pyTuple(items))
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'o': // OBJ: MARK cls args...
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if len(items) == 0 {
				return nil, u.errf("OBJ without a class")
			}
			v, err := u.call(items[0], pyTuple(items[1:]))
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'b': // BUILD: set state; only meaningful for objects we model
			if _, err := u.pop(); err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			switch t.(type) {
			case *pyDict, *pthTensor:
				// OrderedDict's attributes (state_dict's _metadata) and a
				// tensor's Python-side state do not matter here.
			default:
				return nil, u.errf("BUILD on a %s", typeName(t))
			}
		case 'Q': // BINPERSID
			pid, err := u.pop()
			if err != nil {
				return nil, err
			}
			if u.persid == nil {
				return nil, u.errf("persistent id in a pickle that must not have one")
			}
			v, err := u.persid(pid)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'P': // PERSID (text)
			return nil, u.errf("text persistent id (PERSID) is not used by torch.save")
		case 0x82, 0x83, 0x84: // EXT1, EXT2, EXT4
			return nil, u.errf("copyreg extension codes are not supported")
		case 0x97, 0x98: // NEXT_BUFFER, READONLY_BUFFER
			return nil, u.errf("out-of-band buffers are not supported")
		default:
			return nil, u.errf("unknown opcode 0x%02x", op)
		}
	}
}

// unpickle decodes the pickle at data[pos:] and returns it and the offset
// just past its STOP.
func unpickle(data []byte, pos int, calls func(pyGlobal, pyTuple) (any, error), persid func(any) (any, error)) (any, int, error) {
	u := &unpickler{data: data, pos: pos, calls: calls, persid: persid}
	v, err := u.load()
	return v, u.pos, err
}
