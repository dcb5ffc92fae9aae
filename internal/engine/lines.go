package engine

import (
	"bytes"
	"sort"
)

// MaxLineBytes bounds one stored log line. Longer output without a newline is cut into several lines, so a
// step printing a gigabyte without a newline cannot grow the server's memory.
const MaxLineBytes = 64 << 10

// minSecretLen is the shortest value masked. Masking "a" or "1" would destroy every log without hiding anything
// an attacker could not guess.
const minSecretLen = 3

var mask = []byte("***")

// lineSplitter turns a byte stream into lines with secrets replaced by "***". Masking scans each line from
// the left: at each position the longest secret starting there is replaced. A secret is masked even when it
// arrives split across writes, and memory stays bounded: raw bytes wait only until it is known whether a secret
// starts at them (the longest secret less one byte), and no emitted line exceeds MaxLineBytes.
type lineSplitter struct {
	secrets [][]byte // longest first, so the longest secret starting at a position wins
	longest int
	emit    func(line []byte) // must not keep line after it returns

	raw     []byte // bytes of the current line not masked yet
	out     []byte // masked bytes of the current line not emitted yet
	emitted bool   // part of the current line was emitted already
}

func newLineSplitter(secrets []string, emit func([]byte)) *lineSplitter {
	ls := &lineSplitter{emit: emit}
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecretLen && !seen[s] {
			seen[s] = true
			ls.secrets = append(ls.secrets, []byte(s))
			ls.longest = max(ls.longest, len(s))
		}
	}
	for _, s := range secrets {
		add(s)
		// A multi-line secret is printed across lines; mask each of its lines too.
		if bytes.ContainsRune([]byte(s), '\n') {
			for _, part := range bytes.Split([]byte(s), []byte("\n")) {
				add(string(bytes.TrimRight(part, "\r")))
			}
		}
	}
	sort.SliceStable(ls.secrets, func(i, j int) bool { return len(ls.secrets[i]) > len(ls.secrets[j]) })
	return ls
}

// keep is how many raw bytes may have to wait for the rest of a secret.
func (ls *lineSplitter) keep() int { return max(ls.longest-1, 0) }

// Write splits p into lines; it never fails.
func (ls *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	limit := MaxLineBytes + ls.keep()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		for len(seg) > 0 {
			k := min(limit-len(ls.raw), len(seg))
			ls.raw = append(ls.raw, seg[:k]...)
			seg = seg[k:]
			if len(ls.raw) >= limit {
				ls.advance(false)
			}
		}
		if i < 0 {
			break
		}
		ls.endLine()
		p = p[i+1:]
	}
	return n, nil
}

// advance masks the raw bytes that can be decided (all of them at the end of a line) and emits full lines of
// MaxLineBytes from the masked output.
func (ls *lineSplitter) advance(final bool) {
	var used int
	ls.out, used = ls.mask(ls.out, ls.raw, final)
	ls.raw = ls.raw[:copy(ls.raw, ls.raw[used:])]
	for len(ls.out) >= MaxLineBytes {
		ls.emit(ls.out[:MaxLineBytes])
		ls.emitted = true
		ls.out = ls.out[:copy(ls.out, ls.out[MaxLineBytes:])]
	}
}

// mask appends b, masked, to out, and returns how many bytes of b it used. Unless final, it stops before the
// last keep() bytes, where a secret may start whose end has not arrived yet.
func (ls *lineSplitter) mask(out, b []byte, final bool) ([]byte, int) {
	stop := len(b)
	if !final {
		stop = max(len(b)-ls.keep(), 0)
	}
	j := 0
	for j < stop {
		next, which := -1, -1
		for k, s := range ls.secrets {
			if i := bytes.Index(b[j:], s); i >= 0 && (next < 0 || j+i < next) {
				next, which = j+i, k
			}
		}
		if next < 0 || next >= stop {
			out = append(out, b[j:stop]...)
			return out, stop
		}
		out = append(out, b[j:next]...)
		out = append(out, mask...)
		j = next + len(ls.secrets[which])
	}
	return out, j
}

func (ls *lineSplitter) endLine() {
	ls.raw = bytes.TrimSuffix(ls.raw, []byte("\r"))
	ls.advance(true)
	if len(ls.out) > 0 || !ls.emitted {
		ls.emit(ls.out)
	}
	ls.raw, ls.out, ls.emitted = ls.raw[:0], ls.out[:0], false
}

// Close emits what is left as a last line.
func (ls *lineSplitter) Close() {
	if len(ls.raw) > 0 || len(ls.out) > 0 {
		ls.endLine()
	}
}
