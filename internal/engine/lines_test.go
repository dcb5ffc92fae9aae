package engine

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// splitLines feeds chunks to a lineSplitter with secrets, closes it and returns the lines it emitted.
func splitLines(secrets []string, chunks ...string) []string {
	var got []string
	ls := newLineSplitter(secrets, func(b []byte) { got = append(got, string(b)) })
	for _, c := range chunks {
		n, err := ls.Write([]byte(c))
		if n != len(c) || err != nil {
			panic(fmt.Sprintf("Write(%d bytes) = %d, %v", len(c), n, err))
		}
	}
	ls.Close()
	return got
}

func TestLineSplitter(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		chunks  []string
		want    []string
	}{
		{name: "nothing", chunks: []string{""}, want: nil},
		{name: "one line", chunks: []string{"hello\n"}, want: []string{"hello"}},
		{name: "last line without newline", chunks: []string{"a\nb"}, want: []string{"a", "b"}},
		{name: "empty lines kept", chunks: []string{"\n\na\n"}, want: []string{"", "", "a"}},
		{name: "crlf", chunks: []string{"a\r\nb\r\n"}, want: []string{"a", "b"}},
		{name: "crlf split between writes", chunks: []string{"a\r", "\nb"}, want: []string{"a", "b"}},
		{name: "lone cr inside a line kept", chunks: []string{"50%\r100%\n"}, want: []string{"50%\r100%"}},
		{name: "only the last cr is dropped", chunks: []string{"a\r\r\n"}, want: []string{"a\r"}},
		{name: "line split across writes", chunks: []string{"hel", "lo\nwor", "ld\n"}, want: []string{"hello", "world"}},
		{name: "many lines in one write", chunks: []string{"1\n2\n3\n"}, want: []string{"1", "2", "3"}},
		{
			name:    "secret masked",
			secrets: []string{"hunter2"},
			chunks:  []string{"password=hunter2\n"},
			want:    []string{"password=***"},
		},
		{
			name:    "every occurrence masked",
			secrets: []string{"hunter2"},
			chunks:  []string{"hunter2 hunter2hunter2\n"},
			want:    []string{"*** ******"},
		},
		{
			name:    "secret on the unterminated last line masked",
			secrets: []string{"hunter2"},
			chunks:  []string{"x hunter2"},
			want:    []string{"x ***"},
		},
		{
			name:    "secret before crlf masked",
			secrets: []string{"hunter2"},
			chunks:  []string{"hunter2\r\n"},
			want:    []string{"***"},
		},
		{
			name:    "several secrets",
			secrets: []string{"alpha-key", "beta-key"},
			chunks:  []string{"alpha-key and beta-key\n"},
			want:    []string{"*** and ***"},
		},
		{
			name:    "secrets shorter than 3 bytes not masked",
			secrets: []string{"a", "12", ""},
			chunks:  []string{"a 12 abc\n"},
			want:    []string{"a 12 abc"},
		},
		{
			name:    "secret of exactly 3 bytes masked",
			secrets: []string{"abc"},
			chunks:  []string{"xabcx\n"},
			want:    []string{"x***x"},
		},
		{
			name:    "overlapping secrets: longest wins",
			secrets: []string{"abc", "abcdef"},
			chunks:  []string{"xabcdefx abc\n"},
			want:    []string{"x***x ***"},
		},
		{
			name:    "overlapping secrets, longest given first",
			secrets: []string{"abcdef", "cde"},
			chunks:  []string{"abcdef cde\n"},
			want:    []string{"*** ***"},
		},
		{
			name:    "multi-line secret: each of its lines masked",
			secrets: []string{"-----BEGIN KEY-----\nMIIEsecretbody\n-----END KEY-----"},
			chunks:  []string{"-----BEGIN KEY-----\nMIIEsecretbody\n-----END KEY-----\nafter MIIEsecretbody\n"},
			want:    []string{"***", "***", "***", "after ***"},
		},
		{
			name:    "multi-line secret with crlf",
			secrets: []string{"first-part\r\nsecond-part"},
			chunks:  []string{"x first-part\r\nsecond-part y\r\n"},
			want:    []string{"x ***", "*** y"},
		},
		{
			name:    "short line of a multi-line secret not masked",
			secrets: []string{"ab\nlong-enough"},
			chunks:  []string{"ab\nlong-enough\n"},
			want:    []string{"ab", "***"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitLines(tt.secrets, tt.chunks...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineSplitterSecretSplitAcrossWrites(t *testing.T) {
	const secret = "s3cr3t-value"
	line := "token: " + secret + " end"
	want := []string{"token: *** end"}
	start := strings.Index(line, secret)
	end := start + len(secret)

	// Every split point inside the secret, as two writes.
	for i := start + 1; i < end; i++ {
		got := splitLines([]string{secret}, line[:i], line[i:]+"\n")
		if !slices.Equal(got, want) {
			t.Errorf("split at %d: lines = %q, want %q", i-start, got, want)
		}
	}
	// Every pair of split points inside the secret, as three writes.
	for i := start + 1; i < end; i++ {
		for j := i; j < end; j++ {
			got := splitLines([]string{secret}, line[:i], line[i:j], line[j:]+"\n")
			if !slices.Equal(got, want) {
				t.Errorf("split at %d and %d: lines = %q, want %q", i-start, j-start, got, want)
			}
		}
	}
	// One byte per write.
	chunks := strings.Split(line+"\n", "")
	if got := splitLines([]string{secret}, chunks...); !slices.Equal(got, want) {
		t.Errorf("one byte per write: lines = %q, want %q", got, want)
	}
}

// longLine returns a line of n bytes of filler without a newline.
func longLine(n int) string { return strings.Repeat("x", n) }

func TestLineSplitterCutsOverlongLine(t *testing.T) {
	secrets := []string{"a-secret-value"}
	longest := len(secrets[0])
	input := longLine(3*MaxLineBytes + 100)
	for _, chunk := range []int{1000, 4096, MaxLineBytes, 3*MaxLineBytes + 100} {
		t.Run(fmt.Sprintf("writes of %d", chunk), func(t *testing.T) {
			var got []string
			ls := newLineSplitter(secrets, func(b []byte) { got = append(got, string(b)) })
			for rest := input; rest != ""; {
				n := min(chunk, len(rest))
				ls.Write([]byte(rest[:n]))
				rest = rest[n:]
				if held := len(ls.raw) + len(ls.out); held > MaxLineBytes+longest {
					t.Fatalf("after a write, %d bytes are held back; want at most %d", held, MaxLineBytes+longest)
				}
			}
			ls.Close()
			if len(got) < 4 {
				t.Errorf("got %d lines for %d bytes without a newline; want at least 4", len(got), len(input))
			}
			if joined := strings.Join(got, ""); joined != input {
				t.Errorf("lines joined are %d bytes, want the %d input bytes unchanged", len(joined), len(input))
			}
			for i, l := range got {
				if len(l) > MaxLineBytes {
					t.Errorf("line %d is %d bytes, more than MaxLineBytes (%d)", i, len(l), MaxLineBytes)
				}
			}
		})
	}
}

// TestLineSplitterLongPartialThenNewline writes most of a long line, then the rest of it with its newline: the
// line stored must still be at most MaxLineBytes.
func TestLineSplitterLongPartialThenNewline(t *testing.T) {
	first, second := longLine(MaxLineBytes-10), longLine(100)
	got := splitLines(nil, first, second+"\nnext\n")
	if joined := strings.Join(got, ""); joined != first+second+"next" {
		t.Errorf("lines joined are %d bytes, want %d", len(joined), len(first+second+"next"))
	}
	for i, l := range got {
		if len(l) > MaxLineBytes {
			t.Errorf("line %d is %d bytes, more than MaxLineBytes (%d)", i, len(l), MaxLineBytes)
		}
	}
}

func TestLineSplitterSecretStraddlingCut(t *testing.T) {
	const secret = "straddling-secret"
	for k := 1; k < len(secret); k++ {
		// The first write makes the partial line overlong and ends with the first k bytes of the secret.
		filler := longLine(MaxLineBytes + 1 - k)
		got := splitLines([]string{secret}, filler+secret[:k], secret[k:]+" tail\n")
		for i, l := range got {
			if strings.Contains(l, secret) {
				t.Errorf("split %d: line %d holds the secret", k, i)
			}
		}
		if joined, want := strings.Join(got, ""), filler+"*** tail"; joined != want {
			t.Errorf("split %d: lines joined end in %q, want %q", k, joined[max(0, len(joined)-20):], want[len(want)-20:])
		}
		// The limit applies to the masked line: it needs cutting only when it is still overlong.
		if len(filler+"*** tail") > MaxLineBytes && len(got) < 2 {
			t.Errorf("split %d: got %d lines, want the overlong line cut", k, len(got))
		}
	}
}

// TestLineSplitterOverlappingSecretsAtCut checks that "longest wins" holds where an overlong line is cut: a
// short secret that is the start of a longer one must not be masked alone, leaking the rest of the longer one.
func TestLineSplitterOverlappingSecretsAtCut(t *testing.T) {
	secrets := []string{"prod", "prod-password-42"}
	filler := longLine(MaxLineBytes + 1 - len("prod"))
	got := splitLines(secrets, filler+"prod", "-password-42 tail\n")
	joined := strings.Join(got, "")
	if strings.Contains(joined, "password-42") {
		t.Errorf("part of the longer secret leaked: lines joined end in %q", joined[max(0, len(joined)-30):])
	}
	if want := filler + "*** tail"; joined != want {
		t.Errorf("lines joined end in %q, want %q", joined[max(0, len(joined)-30):], want[len(want)-30:])
	}
}

// referenceLines is what a lineSplitter should emit for input without overlong lines: each line, without its
// newline and one trailing "\r", with every occurrence of secret replaced.
func referenceLines(input []byte, secret []byte) [][]byte {
	parts := bytes.Split(input, []byte("\n"))
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = bytes.ReplaceAll(bytes.TrimSuffix(p, []byte("\r")), secret, mask)
	}
	return parts
}

// FuzzLineSplitter checks that however the output is cut into writes, the secret never appears in a line, and
// that nothing but the secret changes: lines are the input's lines with the secret replaced by "***". With
// reps > 0 the data is repeated past MaxLineBytes so that overlong lines are cut too; then the lines joined
// without separators must equal the input's lines masked and joined the same way.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("token=hunter2\n"), "hunter2", []byte{3}, uint8(0))
	f.Add([]byte("a\r\nhunter2\r\nb"), "hunter2", []byte{0, 1, 2}, uint8(0))
	f.Add([]byte("ababa\n"), "aba", []byte{1}, uint8(0))
	f.Add([]byte("xxhunter"), "hunter2x", []byte{7, 200, 3}, uint8(1))
	f.Add([]byte("sec"), "secsec", []byte{255}, uint8(3))
	f.Add([]byte("abcab\n"), "cabab", []byte{0}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, secret string, cuts []byte, reps uint8) {
		// A secret containing '*' can be formed again by the mask; one containing '\n' is masked line by line,
		// which this reference does not model.
		if len(secret) < minSecretLen || strings.ContainsAny(secret, "*\n") || len(data) == 0 || len(data) > 4096 {
			t.Skip()
		}
		input := data
		long := reps%4 != 0
		if long {
			input = bytes.Repeat(data, int(reps%4)*MaxLineBytes/len(data)+1)
		}
		if len(cuts) == 0 {
			cuts = []byte{255}
		}

		var got [][]byte
		ls := newLineSplitter([]string{secret}, func(b []byte) { got = append(got, bytes.Clone(b)) })
		for i, rest := 0, input; len(rest) > 0; i++ {
			n := 1 + int(cuts[i%len(cuts)])
			if long {
				n = 1 + int(cuts[i%len(cuts)])*1024
			}
			n = min(n, len(rest))
			ls.Write(rest[:n])
			rest = rest[n:]
		}
		ls.Close()

		for i, l := range got {
			if bytes.Contains(l, []byte(secret)) {
				t.Fatalf("line %d holds the secret %q: %q", i, secret, l)
			}
		}
		want := referenceLines(input, []byte(secret))
		if long {
			if g, w := bytes.Join(got, nil), bytes.Join(want, nil); !bytes.Equal(g, w) {
				t.Fatalf("lines joined (%d bytes) differ from the input masked (%d bytes)", len(g), len(w))
			}
			return
		}
		if g, w := bytes.Join(got, []byte("\n")), bytes.Join(want, []byte("\n")); !bytes.Equal(g, w) || len(got) != len(want) {
			t.Fatalf("input %q with secret %q: lines %q, want %q", input, secret, got, want)
		}
	})
}
