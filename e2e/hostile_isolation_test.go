package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// attackScript is what a commit written by an attacker with push access to one project runs, as a step and as
// its app: every read and write of ferry's data that worked before steps were isolated. Each attack prints
// "LEAK name: what it got" when it worked and "BLOCKED name" when it did not; a missing tool prints MISSING, so
// an attack never passes for want of its tool. Arguments: the data folder (an attacker finds it in
// /proc/self/mountinfo or guesses it), the victim's run id, and two token hashes to insert.
const attackScript = `#!/bin/sh
D="$1"; VICTIM_RUN="$2"; HASH1="$3"; HASH2="$4"
for tool in sqlite3 python3 curl; do command -v $tool >/dev/null || echo "MISSING $tool"; done
try() {
	name=$1; shift
	if out=$("$@" 2>&1) && [ -n "$out" ]; then
		echo "LEAK $name: $(printf %s "$out" | head -c 60 | tr -c '[:print:]' '.')"
	else
		echo "BLOCKED $name"
	fi
}
try secret-key cat "$D/secret.key"
try secret-key-relative cat ../../secret.key
try database head -c 64 "$D/ferry.db"
try other-workspace cat "$D/work/$VICTIM_RUN/victim.txt"
try other-release ls -A "$D/releases/victim"
try mirrors ls -A "$D/mirrors"
try run-logs cat "$D/logs/$VICTIM_RUN.log"
try sqlite3-insert sqlite3 "$D/ferry.db" "INSERT INTO tokens(name, hash, created_at, role) VALUES ('evil1', '$HASH1', 0, 'admin'); SELECT 'inserted';"
try python-insert python3 -c "
import sqlite3
c = sqlite3.connect('file:$D/ferry.db?mode=rw', uri=True)
c.execute(\"INSERT INTO tokens(name, hash, created_at, role) VALUES ('evil2', '$HASH2', 0, 'admin')\")
c.commit()
print('inserted')"
try dataplane-socket curl -sS --max-time 3 -o /dev/null -w '%{http_code}' --unix-socket "$D/dataplane.sock" http://dataplane/
try proc-root sh -c 'for p in /proc/[0-9]*; do cat "$p/root'"$D"'/secret.key" 2>/dev/null && exit 0; done; exit 1'
try server-process sh -c 'for p in /proc/[0-9]*; do tr "\0" " " < $p/cmdline 2>/dev/null | grep -q "^[^ ]*ferry serve" && echo $p; done; true'
try plant sh -c "echo planted > '$D/planted' && echo planted"
try plant-relative sh -c 'echo planted > ../../planted-relative && echo planted'
try ssh-keys sh -c 'cat "$HOME"/.ssh/* 2>/dev/null'
echo "attacks done"
`

// attackApp serves the attack script's output, run once at start inside the release's instance.
const attackApp = `import http.server, os, subprocess, sys
results = ""
if len(sys.argv) > 1:
    results = subprocess.run(["sh", "attack.sh"] + sys.argv[1:], capture_output=True, text=True).stdout
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (results if self.path == "/results" else "ok\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

var attackNames = []string{"secret-key", "secret-key-relative", "database", "other-workspace", "other-release",
	"mirrors", "run-logs", "sqlite3-insert", "python-insert", "dataplane-socket", "proc-root", "server-process",
	"plant", "plant-relative", "ssh-keys"}

func pythonAppPipeline(steps, run, listen string) string {
	return fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
%s
      - name: bundle
        run: mkdir -p dist && cp app.py attack.sh dist/
        artifacts: [dist]
environments:
  - name: production
    service: {run: %q, listen: %q, instances: 1, health: {path: /, interval: 100ms}}
    strategy: direct
`, steps, run, listen)
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// checkAttacks fails the test for every attack that leaked or did not run.
func checkAttacks(t *testing.T, where, out string) {
	t.Helper()
	if !strings.Contains(out, "attacks done") {
		t.Fatalf("%s: the attack script did not finish:\n%s", where, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "LEAK ") || strings.Contains(line, "MISSING ") {
			t.Errorf("%s: %s", where, strings.TrimSpace(line))
		}
	}
	for _, name := range attackNames {
		if !strings.Contains(out, "BLOCKED "+name+"\n") {
			t.Errorf("%s: no BLOCKED %s", where, name)
		}
	}
}

func TestHostileRepositoryCannotReachFerrysData(t *testing.T) {
	f := startFerry(t, "--keep-workspaces")
	keyBefore, err := os.ReadFile(filepath.Join(f.data, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}

	// The victim: a project with a secret, a kept checkout and a release live in production.
	victim := newRemote(t)
	victimAddr := freeAddr(t)
	victim.commit("main", "victim", map[string]string{
		".ferry.yaml": pythonAppPipeline(`      - name: work
        run: echo VICTIM-CHECKOUT > victim.txt
        secrets: [VICTIM_SECRET]`, "cd dist && exec python3 app.py", victimAddr),
		"app.py": attackApp, "attack.sh": attackScript,
	})
	f.addProject("victim", victim.URL, "--poll", "0")
	if _, stderr, code := f.cli("VICTIM-SECRET-VALUE", "secret", "set", "victim", "VICTIM_SECRET"); code != 0 {
		t.Fatalf("secret set: %s", stderr)
	}
	vid := f.trigger("victim")
	if r := f.waitRun(vid); r.State != "passed" {
		t.Fatalf("victim run %s: %s\n%s", r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(vid)))
	}
	if ro := f.waitRollout("victim", "production", f.getRun(vid).ReleaseID); ro.State != "succeeded" {
		t.Fatalf("victim rollout %s: %s", ro.State, ro.Reason)
	}

	// The attacker: the same attacks as a step and as the app it deploys.
	evil := newRemote(t)
	evilAddr := freeAddr(t)
	args := fmt.Sprintf("%s %d %s %s", f.data, vid, sha256hex("ferry_evil_step_1"), sha256hex("ferry_evil_step_2"))
	appArgs := fmt.Sprintf("%s %d %s %s", f.data, vid, sha256hex("ferry_evil_app_1"), sha256hex("ferry_evil_app_2"))
	evil.commit("main", "evil", map[string]string{
		".ferry.yaml": pythonAppPipeline(`      - name: attack
        run: sh attack.sh `+args, "cd dist && exec python3 app.py "+appArgs, evilAddr),
		"app.py": attackApp, "attack.sh": attackScript,
	})
	f.addProject("evil", evil.URL, "--poll", "0")
	eid := f.trigger("evil")
	r := f.waitRun(eid)
	logs := f.mustCLI("logs", fmt.Sprint(eid), "--step", "attack")
	if r.State != "passed" {
		t.Fatalf("evil run %s: %s\n%s", r.State, r.Reason, logs)
	}
	checkAttacks(t, "step", logs)

	if ro := f.waitRollout("evil", "production", r.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("evil rollout %s: %s", ro.State, ro.Reason)
	}
	var results string
	waitFor(t, 30*time.Second, "the hostile app's results", func() bool {
		resp, err := http.Get("http://" + evilAddr + "/results")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		results = string(b)
		return strings.Contains(results, "attacks done")
	})
	checkAttacks(t, "app", results)

	// The server is as it was: no token the attacks tried to insert opens the API, the key is the same, nothing
	// was planted, and the victim still serves.
	for _, tok := range []string{"ferry_evil_step_1", "ferry_evil_step_2", "ferry_evil_app_1", "ferry_evil_app_2"} {
		req, _ := http.NewRequest("GET", f.url("/api/v1/projects"), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a token the attack tried to insert (%s) got HTTP %d, want 401", tok, resp.StatusCode)
		}
	}
	if keyAfter, _ := os.ReadFile(filepath.Join(f.data, "secret.key")); string(keyAfter) != string(keyBefore) {
		t.Error("secret.key changed")
	}
	for _, p := range []string{"planted", "planted-relative", "releases/planted-relative"} {
		if _, err := os.Stat(filepath.Join(f.data, p)); err == nil {
			t.Errorf("the attack planted %s in the data folder", p)
		}
	}
	if got := versionAtPath(victimAddr, "/"); got != "ok\n" {
		t.Errorf("the victim's production answers %q", got)
	}
	if logs := f.mustCLI("logs", fmt.Sprint(eid)); strings.Contains(logs, "VICTIM") {
		t.Errorf("the victim's data reached the attacker's log:\n%s", logs)
	}
	checkOwnerOnly(t, f.data)
}

// TestHostileRepositoryUnisolatedControl runs the attacks with --isolation=none: they must work, or the
// isolated test above would pass for the wrong reason.
func TestHostileRepositoryUnisolatedControl(t *testing.T) {
	f := startFerry(t, "--isolation", "none")
	evil := newRemote(t)
	args := fmt.Sprintf("%s 1 %s %s", f.data, sha256hex("ferry_control_1"), sha256hex("ferry_control_2"))
	evil.commit("main", "evil", map[string]string{
		".ferry.yaml": "version: 1\nstages:\n  - name: s\n    steps:\n      - {name: attack, run: sh attack.sh " + args + "}\n",
		"attack.sh":   attackScript,
	})
	f.addProject("evil", evil.URL, "--poll", "0")
	id := f.trigger("evil")
	f.waitRun(id)
	logs := f.mustCLI("logs", fmt.Sprint(id))
	for _, name := range []string{"secret-key", "secret-key-relative", "database", "sqlite3-insert", "python-insert", "server-process", "plant"} {
		if !strings.Contains(logs, "LEAK "+name) {
			t.Errorf("unisolated, the %s attack did not work: the probe cannot tell isolation from its absence\n%s", name, logs)
		}
	}
	// The inserted token opens the API: this is what isolation prevents.
	req, _ := http.NewRequest("GET", f.url("/api/v1/projects"), nil)
	req.Header.Set("Authorization", "Bearer ferry_control_1")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("unisolated, the token a step inserted does not work: %v %v", resp, err)
	}
}

func versionAtPath(addr, path string) string {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// checkOwnerOnly fails for anything in the data folder that its group or others may use.
func checkOwnerOnly(t *testing.T, dir string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		n++
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v: group or others may use it", path, info.Mode())
		}
		return nil
	})
	if n < 10 {
		t.Errorf("only %d entries in the data folder", n)
	}
}

// liveProcesses counts the machine's processes whose command line contains cmdline: how the tests find a
// step's processes, which live in its sandbox's own PID namespace.
func liveProcesses(cmdline string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), cmdline) && processAlive(atoi(e.Name())) {
			n++
		}
	}
	return n
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}
