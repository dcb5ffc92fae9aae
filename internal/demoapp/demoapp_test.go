package demoapp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// The demo commits these files as they are: they must parse, and the address must be the one asked for.
func TestRepoIsValid(t *testing.T) {
	files := demoapp.Repo("127.0.0.1:9999")
	for _, name := range []string{".ferry.yaml", ".ferry/flags.yaml", "app/main.go", "go.mod", "test/unit.sh", "version.txt", "mode.txt"} {
		if files[name] == "" {
			t.Errorf("the repository lacks %s", name)
		}
	}
	p, err := pipeline.Parse(".ferry.yaml", []byte(files[".ferry.yaml"]))
	if err != nil {
		t.Fatalf("the demo's pipeline: %v", err)
	}
	if len(p.Environments) != 1 || p.Environments[0].Service.Listen != "127.0.0.1:9999" {
		t.Errorf("environments = %+v, want production on 127.0.0.1:9999", p.Environments)
	}
	if _, err := flags.Parse(".ferry/flags.yaml", []byte(files[".ferry/flags.yaml"])); err != nil {
		t.Errorf("the demo's flags: %v", err)
	}
	if !strings.Contains(demoapp.BrokenUnitTest, "2 + 3") {
		t.Errorf("BrokenUnitTest = %q", demoapp.BrokenUnitTest)
	}
}

// The service built from App's files answers as its mode says.
func TestAppModes(t *testing.T) {
	src := t.TempDir()
	for name, content := range demoapp.App("v7", "ok") {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "app")
	build := exec.Command("go", "build", "-o", bin, "./app")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	failFile := filepath.Join(t.TempDir(), "fail")
	os.WriteFile(failFile, nil, 0o644)

	tests := []struct {
		mode, failFile string
		health, root   int
		body           string
	}{
		{"ok", "", 200, 200, "hello from v7"},
		{"sick", "", 500, 200, "hello from v7"},
		{"broken", "", 200, 500, "internal error"},
		{"slow", "", 200, 200, "hello from v7"},
		{"ok", failFile, 200, 500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+map[bool]string{true: "+FAIL_FILE"}[tt.failFile != ""], func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "version.txt"), []byte("v7\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "mode.txt"), []byte(tt.mode+"\n"), 0o644)
			addr := start(t, bin, dir, "FAIL_FILE="+tt.failFile)
			if code, _ := get(t, addr, "/healthz"); code != tt.health {
				t.Errorf("/healthz: %d, want %d", code, tt.health)
			}
			if code, body := get(t, addr, "/"); code != tt.root || body != tt.body {
				t.Errorf("/: %d %q, want %d %q", code, body, tt.root, tt.body)
			}
		})
	}
}

// start runs the service in dir on a free loopback port until the test ends, and returns its address once it
// answers.
func start(t *testing.T, bin, dir string, env ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	_, port, _ := net.SplitHostPort(addr)
	cmd.Env = append(os.Environ(), append(env, "PORT="+port)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not listen on %s: %v", addr, err)
		}
	}
}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}
