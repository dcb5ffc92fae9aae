package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStripEscapes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "ok  web 0.2s", "ok  web 0.2s"},
		{"tab kept", "a\tb", "a\tb"},
		{"unicode kept", "café ✓ 日本", "café ✓ 日本"},
		{"colour", "\x1b[31mFAIL\x1b[0m", "FAIL"},
		{"cursor up and erase line", "done\x1b[1A\x1b[2Kall good", "doneall good"},
		{"private mode", "\x1b[?1049hscreen", "screen"},
		{"window title, BEL", "\x1b]0;pwned\x07text", "text"},
		{"hyperlink, ST", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"unterminated OSC", "before\x1b]0;title to the end", "before"},
		{"DCS", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"reset terminal", "\x1bcclean", "clean"},
		{"charset", "\x1b(Bx", "x"},
		{"carriage return hides text", "rm -rf /\rls      ", "rm -rf /ls      "},
		{"backspace, bell, NUL, DEL", "a\bb\x07c\x00d\x7fe", "abcde"},
		{"8-bit CSI", "\u009b31mred", "red"},
		{"8-bit OSC", "\u009d0;t\u009cz", "z"},
		{"other C1", "a\u0085b", "ab"},
		{"raw 0x9b byte", "a\x9b31mb", "a\ufffd31mb"},
		{"lone ESC at end", "end\x1b", "end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripEscapes(tt.in); got != tt.want {
				t.Errorf("stripEscapes(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A log printed with --strip-escapes always (what a terminal gets) carries none of the step's escapes; with
// never (what a pipe gets) it is byte-exact.
func TestPrintLogStripsOnlyWhenAsked(t *testing.T) {
	const hostile = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m\rover"
	line := `{"time":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","step":"build/x","line":"\u001b]0;owned\u0007\u001b[2J\u001b[31mred\u001b[0m\rover"}` + "\n"
	for _, strip := range []bool{true, false} {
		var out bytes.Buffer
		a := &app{stdout: &out}
		if err := a.printLog(t.Context(), strings.NewReader(line), strip); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if strip && (strings.ContainsAny(got, "\x1b\x07\r") || !strings.HasSuffix(got, "[build/x] redover\n")) {
			t.Errorf("stripped log = %q", got)
		}
		if !strip && !strings.HasSuffix(got, "[build/x] "+hostile+"\n") {
			t.Errorf("raw log = %q, want the text byte-exact", got)
		}
	}
}
