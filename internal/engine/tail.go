package engine

// A failed step says what it printed last: "exit status 127" alone sends a user to the log to find
// "nonexistent-cmd: not found". The engine keeps the last lines of each attempt's output (masked, as the log
// is) and puts them in the step's reason.

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// tailLines and tailWidth bound what a reason carries of a step's output: its last lines, each cut short.
const (
	tailLines = 5
	tailWidth = 200
)

// lastLines is a ring of the last tailLines non-blank lines of an attempt's output.
type lastLines struct {
	lines []string
}

// escapes are terminal escape sequences (colors, cursor moves, titles), which a reason shown on a terminal or
// a page must not carry.
var escapes = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-_])`)

func (l *lastLines) add(text string) {
	text = escapes.ReplaceAllString(text, "")
	text = strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, text)
	text = strings.TrimRight(text, " ")
	if strings.TrimSpace(text) == "" {
		return
	}
	if len(text) > tailWidth {
		text = text[:tailWidth]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
		text += "…"
	}
	l.lines = append(l.lines, text)
	if len(l.lines) > tailLines {
		l.lines = l.lines[1:]
	}
}

// withOutput adds the last lines to a reason: the last one on its first line, which is what lists of runs and
// steps show, and all of them below it.
func withOutput(reason string, lines []string) string {
	switch len(lines) {
	case 0:
		return reason
	case 1:
		return reason + ": " + lines[0]
	}
	return reason + ": " + lines[len(lines)-1] + "\nlast lines of output:\n  " + strings.Join(lines, "\n  ")
}
