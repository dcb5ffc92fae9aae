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

// lineSplitter turns a byte stream into lines with secrets replaced by "***". It keeps at most MaxLineBytes plus
// the longest secret in memory, and masks a secret even when it arrives split across writes.
type lineSplitter struct {
	buf     []byte
	secrets [][]byte // longest first, so a secret containing another is masked whole
	longest int
	emit    func(line []byte)
}

var mask = []byte("***")

func newLineSplitter(secrets []string, emit func([]byte)) *lineSplitter {
	ls := &lineSplitter{emit: emit}
	add := func(s string) {
		if len(s) >= minSecretLen {
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
	sort.Slice(ls.secrets, func(i, j int) bool { return len(ls.secrets[i]) > len(ls.secrets[j]) })
	return ls
}

func (ls *lineSplitter) maskAll(b []byte) []byte {
	for _, s := range ls.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, mask)
		}
	}
	return b
}

// Write splits p into lines; it never fails.
func (ls *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			ls.buf = append(ls.buf, p...)
			break
		}
		line := p[:i]
		if len(ls.buf) > 0 {
			ls.buf = append(ls.buf, line...)
			line = ls.buf
		}
		ls.emitLine(line)
		ls.buf = ls.buf[:0]
		p = p[i+1:]
	}
	if len(ls.buf) > MaxLineBytes {
		ls.cut()
	}
	return n, nil
}

// cut emits the front of an overlong partial line. Complete secrets are masked first; the tail kept back is
// long enough to hold the start of any secret not yet complete.
func (ls *lineSplitter) cut() {
	masked := ls.maskAll(ls.buf)
	keep := 0
	if ls.longest > 0 {
		keep = ls.longest - 1
	}
	at := len(masked) - keep
	ls.emit(masked[:at])
	rest := append([]byte(nil), masked[at:]...)
	ls.buf = append(ls.buf[:0], rest...)
}

func (ls *lineSplitter) emitLine(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	ls.emit(ls.maskAll(line))
}

// Close emits what is left as a last line.
func (ls *lineSplitter) Close() {
	if len(ls.buf) > 0 {
		ls.emitLine(ls.buf)
		ls.buf = ls.buf[:0]
	}
}
