package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run runs script with sh in the sandbox and returns its combined output.
func run(t *testing.T, s *Sandbox, m Mounts, dir, script string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	p, err := s.Start(cmd, m)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	err = p.Wait()
	return out.String(), err
}

func TestHiddenFolderIsEmptyAndWritableOnesAreBoundBack(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret.key"), []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(data, "work", "1")
	other := filepath.Join(data, "work", "2")
	for _, d := range []string{ws, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(other, "private.txt"), []byte("OTHER"), 0o600)
	s := &Sandbox{Hide: []string{data}}

	out, err := run(t, s, Mounts{Writable: []string{ws}}, ws, `
cat ../../secret.key 2>&1 || echo "no key"
cat `+other+`/private.txt 2>&1 || echo "no other"
echo mine > out.txt && echo wrote
touch `+data+`/planted 2>&1 || echo "data read-only"
ls -A `+data+`
`)
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	for _, leak := range []string{"TOPSECRET", "OTHER"} {
		if strings.Contains(out, leak) {
			t.Errorf("the sandbox read %s:\n%s", leak, out)
		}
	}
	for _, want := range []string{"no key", "no other", "wrote", "data read-only"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(ws, "out.txt")); err != nil || string(b) != "mine\n" {
		t.Errorf("the checkout was not writable through the sandbox: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(data, "planted")); err == nil {
		t.Error("a file was planted in the data folder")
	}
}

func TestOwnProcessesOnlyAndNoPrivileges(t *testing.T) {
	out, err := run(t, &Sandbox{}, Mounts{}, "/", `
ls /proc | grep -c '^[0-9]'
kill -0 `+strconv.Itoa(os.Getpid())+` 2>&1 && echo "signalled ferry" || true
grep CapEff /proc/self/status
grep NoNewPrivs /proc/self/status
unshare -U true 2>/dev/null && echo "made a user namespace" || true
`)
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if n := strings.TrimSpace(lines[0]); n == "" || len(n) > 1 {
		t.Errorf("the sandbox sees %s processes, want only its own few:\n%s", n, out)
	}
	for _, bad := range []string{"signalled ferry", "made a user namespace"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "CapEff:\t0000000000000000") || !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("the sandbox keeps privileges:\n%s", out)
	}
}

func TestSignalReachesTheCommandAndKillEndsEverything(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	// A sleep no other test on the machine runs, so counting it counts this sandbox's only.
	bg := fmt.Sprintf("sleep %d", 300000+os.Getpid())
	cmd := exec.Command("sh", "-c", `trap 'echo got TERM > term.txt; exit 0' TERM; `+bg+` & echo $! > bg.txt; while :; do sleep 0.05; done`)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	p, err := (&Sandbox{}).Start(cmd, Mounts{Writable: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, "bg.txt")); return err == nil })
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the command did not end on SIGTERM:\n%s", out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "term.txt")); string(b) != "got TERM\n" {
		t.Errorf("the command's trap did not run: %q\n%s", b, out.String())
	}
	// The background sleep went with the sandbox's PID namespace (the kernel reaps it a moment after).
	deadline := time.Now().Add(5 * time.Second)
	for countProcs(bg) != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := countProcs(bg); n != 0 {
		t.Errorf("%d background processes outlived the sandbox", n)
	}
}

func TestNilSandboxRunsDirectly(t *testing.T) {
	dir := t.TempDir()
	out, err := run(t, nil, Mounts{}, dir, `pwd`)
	if err != nil || strings.TrimSpace(out) != dir {
		t.Fatalf("pwd = %q, %v; want %s", out, err, dir)
	}
}

func TestMissingBwrapIsUnavailable(t *testing.T) {
	err := (&Sandbox{Bwrap: "/nonexistent/bwrap"}).Check()
	if err == nil || !strings.Contains(err.Error(), "apt-get install bubblewrap") {
		t.Fatalf("Check() = %v, want ErrUnavailable with the fix", err)
	}
}

func TestDefaultHiddenNamesCredentials(t *testing.T) {
	h := DefaultHidden("/home/ferry")
	for _, want := range []string{"/home/ferry/.ssh", "/home/ferry/.git-credentials", "/etc/shadow"} {
		found := false
		for _, p := range h {
			found = found || p == want
		}
		if !found {
			t.Errorf("DefaultHidden lacks %s: %v", want, h)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countProcs(cmdline string) int {
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), cmdline) {
			n++
		}
	}
	return n
}
