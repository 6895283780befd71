package jose

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unsafe"
)

// The header and payload are walked member by member instead of decoded
// into maps: encoding/json keeps the last of duplicate names silently
// (RFC 7515 section 4 and RFC 7519 section 4 require rejecting them), and
// map decoding costs dozens of allocations per token on the hot path.
// Every walk runs after json.Valid, so it only has to find boundaries.

// ObjectIter steps through the top-level members of a valid JSON object.
type ObjectIter struct {
	data []byte
	pos  int
}

// NewObjectIter fails unless data is one valid JSON object.
func NewObjectIter(data []byte) (ObjectIter, bool) {
	if !json.Valid(data) {
		return ObjectIter{}, false
	}
	it := ObjectIter{data: data}
	it.skipSpace()
	if it.pos >= len(data) || data[it.pos] != '{' {
		return ObjectIter{}, false
	}
	it.pos++
	return it, true
}

func (it *ObjectIter) skipSpace() {
	for it.pos < len(it.data) {
		switch it.data[it.pos] {
		case ' ', '\t', '\n', '\r':
			it.pos++
		default:
			return
		}
	}
}

// Next returns the next member: its raw quoted key and its raw value.
func (it *ObjectIter) Next() (key, val []byte, ok bool) {
	it.skipSpace()
	if it.pos < len(it.data) && it.data[it.pos] == ',' {
		it.pos++
		it.skipSpace()
	}
	if it.pos >= len(it.data) || it.data[it.pos] != '"' {
		return nil, nil, false // '}' closes the object
	}
	start := it.pos
	it.pos = skipString(it.data, it.pos)
	key = it.data[start:it.pos]
	it.skipSpace()
	it.pos++ // ':'
	it.skipSpace()
	start = it.pos
	it.pos = skipValue(it.data, it.pos)
	return key, it.data[start:it.pos], true
}

// skipString returns the index after the string starting at data[i] == '"'.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at data[i]. Nesting
// depth costs nothing here: json.Valid already bounded it.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for ; i < len(data); i++ {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// BytesString views b as a string without copying. Callers only pass
// slices of the per-token decode buffer, which is never written again.
func BytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// UnsafeBytes views s as bytes for read-only decoding, without a copy.
func UnsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// String decodes a raw JSON string value. RFC 7519 section 7.3 compares
// names and values after unescaping, so "\u0065xp" is exp.
func String(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return BytesString(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Number decodes a JSON number; RFC 7519 section 2 NumericDate values
// are numbers, so a string ("1700000000") is not one.
func Number(raw []byte) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(BytesString(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// StringOrArray decodes a string or an array of strings.
func StringOrArray(raw []byte) (one string, many []string, isArray, ok bool) {
	if len(raw) > 0 && raw[0] == '[' {
		it := arrayIter{data: raw, pos: 1}
		for {
			v, more := it.next()
			if !more {
				return "", many, true, true
			}
			s, ok := String(v)
			if !ok {
				return "", nil, true, false
			}
			many = append(many, s)
		}
	}
	one, ok = String(raw)
	return one, nil, false, ok
}

// arrayIter steps through the elements of a valid JSON array.
type arrayIter struct {
	data []byte
	pos  int
}

func (it *arrayIter) next() ([]byte, bool) {
	o := ObjectIter{data: it.data, pos: it.pos}
	o.skipSpace()
	if o.pos < len(o.data) && o.data[o.pos] == ',' {
		o.pos++
		o.skipSpace()
	}
	if o.pos >= len(o.data) || o.data[o.pos] == ']' {
		return nil, false
	}
	start := o.pos
	o.pos = skipValue(o.data, o.pos)
	it.pos = o.pos
	return o.data[start:o.pos], true
}
