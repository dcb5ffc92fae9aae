package e2e

import (
	"fmt"
	"os"
	"os/exec"
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
	// On a real terminal (a pseudo-terminal made by util-linux's script), the default strips them too. The
	// terminal itself turns each "\n" into "\r\n": only those carriage returns may remain.
	cmd := exec.Command("script", "-qec", ferryBin+" logs "+fmt.Sprint(id), "/dev/null")
	cmd.Env = append(os.Environ(), "FERRY_SERVER=http://"+f.addr, "FERRY_TOKEN="+f.token)
	onTTY, err := cmd.Output()
	if err != nil {
		t.Fatalf("ferry logs on a terminal: %v\n%s", err, onTTY)
	}
	if text := strings.ReplaceAll(string(onTTY), "\r\n", "\n"); strings.ContainsAny(text, "\x1b\x07\r") ||
		!strings.Contains(text, "[build/noisy] red linkover") {
		t.Errorf("ferry logs on a terminal = %q, want the text without escapes", onTTY)
	}
	raw := f.mustCLI("logs", fmt.Sprint(id))
	if !strings.Contains(raw, "\x1b]0;owned\x07\x1b[2J\x1b[31mred") {
		t.Errorf("logs into a pipe = %q, want the step's bytes unchanged", raw)
	}
}
