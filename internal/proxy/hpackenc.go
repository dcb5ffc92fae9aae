package proxy

import (
	"golang.org/x/net/http2/hpack"
)

// fieldEncoder writes HPACK header blocks (RFC 7541) for ferry's HTTP/2 answers the way nginx does: a field
// found whole in the static table is one index, any other is a literal that names its field by the static
// table where it can, and nothing is ever added to the dynamic table. The encoder's dynamic table is set to
// size 0 at the start of the connection's first block, so no later SETTINGS_HEADER_TABLE_SIZE of the client's
// asks anything of it.
//
// Against x/net's hpack.Encoder, which indexes every field: no table search per field (about 2.5 % of the
// data plane's CPU time over HTTP/2) and no state shared between answers, so no answer's header can be
// guessed from the size of another's (the compression side channel HPACK's never-indexed literals exist
// for). The cost is a few bytes per repeated field.
type fieldEncoder struct {
	buf     []byte
	started bool // the size update that empties the dynamic table was sent
}

// begin starts a header block.
func (e *fieldEncoder) begin() {
	e.buf = e.buf[:0]
	if !e.started {
		e.started = true
		e.buf = appendInt(e.buf, 5, 0x20, 0) // dynamic table size update: 0
	}
}

// status writes the :status pseudo-field.
func (e *fieldEncoder) status(code int) {
	if i := staticStatus(code); i > 0 {
		e.buf = appendInt(e.buf, 7, 0x80, uint64(i)) // indexed
		return
	}
	var digits [3]byte
	digits[0], digits[1], digits[2] = byte('0'+code/100%10), byte('0'+code/10%10), byte('0'+code%10)
	e.buf = appendInt(e.buf, 4, 0x00, 8) // literal without indexing, name :status (index 8)
	e.buf = appendString(e.buf, string(digits[:]))
}

// field writes a field whose name is already lower case.
func (e *fieldEncoder) field(name, value string) {
	first := byte(0x00) // literal without indexing
	if name == "set-cookie" || name == "authorization" || name == "proxy-authorization" {
		first = 0x10 // never indexed: intermediaries that re-encode must not index it either
	}
	if i, ok := staticNames[name]; ok {
		e.buf = appendInt(e.buf, 4, first, uint64(i))
	} else {
		e.buf = append(e.buf, first)
		e.buf = appendString(e.buf, name)
	}
	e.buf = appendString(e.buf, value)
}

// appendInt writes v with an n-bit prefix after the bits in first (RFC 7541 section 5.1).
func appendInt(b []byte, n uint, first byte, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(limit))
	for v -= limit; v >= 128; v >>= 7 {
		b = append(b, byte(v&0x7f)|0x80)
	}
	return append(b, byte(v))
}

// appendString writes a string literal, Huffman-coded when that is shorter (RFC 7541 section 5.2).
func appendString(b []byte, s string) []byte {
	if h := hpack.HuffmanEncodeLength(s); h < uint64(len(s)) {
		b = appendInt(b, 7, 0x80, h)
		return hpack.AppendHuffmanString(b, s)
	}
	b = appendInt(b, 7, 0x00, uint64(len(s)))
	return append(b, s...)
}

// staticStatus is the static table's index of a :status field, 0 for a code it does not hold.
func staticStatus(code int) int {
	switch code {
	case 200:
		return 8
	case 204:
		return 9
	case 206:
		return 10
	case 304:
		return 11
	case 400:
		return 12
	case 404:
		return 13
	case 500:
		return 14
	}
	return 0
}

// staticNames are the static table's field names (RFC 7541 appendix A) after the pseudo-fields, each at
// its first index.
var staticNames = func() map[string]uint8 {
	names := []string{"accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept",
		"access-control-allow-origin", "age", "allow", "authorization", "cache-control", "content-disposition",
		"content-encoding", "content-language", "content-length", "content-location", "content-range",
		"content-type", "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match",
		"if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "link",
		"location", "max-forwards", "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh",
		"retry-after", "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent",
		"vary", "via", "www-authenticate"}
	m := make(map[string]uint8, len(names))
	for i, n := range names {
		m[n] = uint8(15 + i)
	}
	return m
}()
