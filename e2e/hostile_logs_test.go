package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// A step prints escape sequences meant for the terminal of whoever reads the log (retitle the window, clear
// the screen, plant a hyperlink, hide a line behind a carriage return). ferry logs on a terminal strips them
// (--strip-escapes always stands for the terminal here); into a pipe the log stays byte-exact.
func TestLogsStripEscapeSequencesForTerminals(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "escapes", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: build
    steps:
      - name: noisy
        run: printf '\033]0;owned\007\033[2J\033[31mred\033[0m \033]8;;https://evil.example\033\\link\033]8;;\033\\\rover\n'
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	if r := f.waitRun(id); r.State != "passed" {
		t.Fatalf("run %s: %s", r.State, r.Reason)
	}
	stripped := f.mustCLI("logs", fmt.Sprint(id), "--strip-escapes", "always")
	if strings.ContainsAny(stripped, "\x1b\x07\r") || !strings.Contains(stripped, "[build/noisy] red linkover") {
		t.Errorf("logs for a terminal = %q, want the text without escapes", stripped)
	}
	raw := f.mustCLI("logs", fmt.Sprint(id))
	if !strings.Contains(raw, "\x1b]0;owned\x07\x1b[2J\x1b[31mred") {
		t.Errorf("logs into a pipe = %q, want the step's bytes unchanged", raw)
	}
}
