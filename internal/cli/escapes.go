package cli

import (
	"strings"
	"unicode/utf8"
)

// stripEscapes removes from s what a terminal would act on rather than show: ANSI escape sequences (CSI such
// as colours and cursor moves, OSC such as window titles and hyperlinks, DCS, APC and the like), the C1
// controls, and the C0 controls but tab (a carriage return or backspace can hide text behind other text).
// Bytes that are not UTF-8 become U+FFFD, since a terminal in an 8-bit mode reads 0x9B as CSI. A step's
// output is the commit's to choose: printed raw on a terminal it could retitle the window, plant a link or
// rewrite what the screen shows of earlier lines.
func stripEscapes(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			i = skipEscape(s, i+1)
			continue
		case c == '\t' || c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
			i++
			continue
		case c < 0x80: // C0 controls and DEL
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r >= 0x80 && r <= 0x9f: // C1 controls, 0x9B (CSI) among them
			if r == 0x9b {
				i = skipCSI(s, i+size)
				continue
			}
			if r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f { // OSC, DCS, SOS, PM, APC
				i = skipString(s, i+size)
				continue
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// skipEscape returns the index after the escape sequence whose ESC is just before i.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC: a string up to its terminator
		return skipString(s, i+1)
	}
	// Other sequences: intermediate bytes, then one final byte.
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipCSI returns the index after a control sequence's parameters, intermediates and final byte.
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString returns the index after a control string ended by BEL, ESC \ or the 8-bit ST; one without an
// end runs to the end of s (the line).
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}
