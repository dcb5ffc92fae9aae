package proxy

import (
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestFieldEncoderDecodes: what ferry's HPACK encoder writes, x/net's decoder (the one Go's clients use) reads
// back field for field: every status code, every static-table name (a wrong index would decode as another
// name), names outside the table, values long enough for multi-byte lengths, and credentials marked never
// indexed. A decoder whose client allowed no dynamic table at all (SETTINGS_HEADER_TABLE_SIZE 0) reads it too,
// block after block.
func TestFieldEncoderDecodes(t *testing.T) {
	var fields []hpack.HeaderField
	for name := range staticNames {
		fields = append(fields, hpack.HeaderField{Name: name, Value: "v-" + name})
	}
	fields = append(fields,
		hpack.HeaderField{Name: "x-request-id", Value: "0af7651916cd43dd8448eb211c80319c"},
		hpack.HeaderField{Name: "x-long", Value: strings.Repeat("é~\x01", 200)}, // not shorter in Huffman code
		hpack.HeaderField{Name: "x-empty", Value: ""},
		hpack.HeaderField{Name: strings.Repeat("n", 300), Value: strings.Repeat("a", 5000)},
	)
	for _, tableSize := range []uint32{4096, 0} {
		dec := hpack.NewDecoder(tableSize, nil)
		var e fieldEncoder
		for code := 100; code <= 599; code++ {
			e.begin()
			e.status(code)
			for _, f := range fields {
				e.field(f.Name, f.Value)
			}
			got, err := dec.DecodeFull(e.buf)
			if err != nil {
				t.Fatalf("table %d, status %d: %v", tableSize, code, err)
			}
			if len(got) != len(fields)+1 || got[0].Name != ":status" || got[0].Value != strconv.Itoa(code) {
				t.Fatalf("table %d: status %d decoded as %+v", tableSize, code, got[0])
			}
			for i, f := range fields {
				g := got[i+1]
				sensitive := f.Name == "set-cookie" || f.Name == "authorization" || f.Name == "proxy-authorization"
				if g.Name != f.Name || g.Value != f.Value || g.Sensitive != sensitive {
					t.Fatalf("table %d: %q: %q decoded as %q: %q (never indexed %v)", tableSize, f.Name, f.Value, g.Name, g.Value, g.Sensitive)
				}
			}
		}
	}
}

// TestFieldEncoderAddsNothingToTheTable: the same answer encodes to the same bytes every time (nothing was
// indexed for the next one to refer to), and only the connection's first block carries the size update.
func TestFieldEncoderAddsNothingToTheTable(t *testing.T) {
	var e fieldEncoder
	block := func() []byte {
		e.begin()
		e.status(200)
		e.field("content-type", "text/plain")
		e.field("x-trace", "abc")
		return append([]byte(nil), e.buf...)
	}
	first, second, third := block(), block(), block()
	if first[0] != 0x20 {
		t.Errorf("first block starts %#x, want a dynamic table size update to 0 (0x20)", first[0])
	}
	if string(first[1:]) != string(second) || string(second) != string(third) {
		t.Errorf("blocks differ: %x / %x / %x", first, second, third)
	}
	if second[0] != 0x88 {
		t.Errorf(":status 200 encoded as %#x, want the static index 8 (0x88)", second[0])
	}
}

// TestH2WriterRefusesCodesPastThreeDigits: a status the encoder cannot write as three digits panics, as
// net/http's writers do (runHandler then resets the stream), instead of going out as another code.
func TestH2WriterRefusesCodesPastThreeDigits(t *testing.T) {
	for _, code := range []int{99, 1000, 1200} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WriteHeader(%d) did not panic", code)
				}
			}()
			(&h2Writer{}).WriteHeader(code)
		}()
	}
	w := &h2Writer{}
	w.WriteHeader(999)
	if w.code != 999 {
		t.Errorf("WriteHeader(999) kept code %d", w.code)
	}
}
