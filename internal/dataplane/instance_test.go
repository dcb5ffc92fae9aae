package dataplane

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func spec(mode string) InstanceSpec {
	return InstanceSpec{Dir: filepath.Dir(appBinary), Run: "./app", Env: map[string]string{"MODE": mode, "RELEASE": "r1"},
		HealthPath: "/healthz", HealthInterval: 50 * time.Millisecond, HealthTimeout: time.Second}
}

func get(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

func TestSetRunsHealthyInstancesAndRestartsKilledOnes(t *testing.T) {
	logs := t.TempDir()
	s := StartSet("r1", spec(""), 2, filepath.Join(logs, "app"))
	t.Cleanup(func() { s.Stop(time.Second) })
	if err := s.WaitHealthy(30*time.Second, 3); err != nil {
		t.Fatal(err)
	}
	ups := s.Upstreams()
	if len(ups) != 2 || ups[0] == ups[1] {
		t.Fatalf("upstreams %v", ups)
	}
	for _, u := range ups {
		if body := get(t, u); !strings.Contains(body, "hello from r1") {
			t.Errorf("%s answered %q", u, body)
		}
	}
	// Each instance got its own PORT and its output goes to its log.
	data, _ := os.ReadFile(filepath.Join(logs, "app-0.log"))
	if !strings.Contains(string(data), "listening on") {
		t.Errorf("instance log: %q", data)
	}

	victim := s.Statuses()[0].PID
	syscall.Kill(victim, syscall.SIGKILL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.Statuses()[0]
		if st.Restarts == 1 && st.State == InstanceHealthy && st.PID != victim {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed instance not back: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(s.Statuses()[0].LastExit, "killed") {
		t.Errorf("last exit %q", s.Statuses()[0].LastExit)
	}

	pids := []int{s.Statuses()[0].PID, s.Statuses()[1].PID}
	s.Stop(time.Second)
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("instance %d alive after Stop", pid)
		}
	}
	for _, st := range s.Statuses() {
		if st.State != InstanceStopped {
			t.Errorf("state after stop %s", st.State)
		}
	}
}

func TestCrashLoopIsReported(t *testing.T) {
	sp := spec("crash")
	sp.MinBackoff = 10 * time.Millisecond
	s := StartSet("r2", sp, 1, "")
	t.Cleanup(func() { s.Stop(time.Second) })
	err := s.WaitHealthy(30*time.Second, 3)
	if err == nil || !strings.Contains(err.Error(), "crash-looping") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("WaitHealthy = %v", err)
	}
	if len(s.Upstreams()) != 0 {
		t.Error("a crashing release has upstreams")
	}
}

func TestNeverHealthyTimesOut(t *testing.T) {
	s := StartSet("r3", spec("sick"), 1, "")
	t.Cleanup(func() { s.Stop(time.Second) })
	err := s.WaitHealthy(time.Second, 3)
	if err == nil || !strings.Contains(err.Error(), "did not become healthy") {
		t.Fatalf("WaitHealthy = %v", err)
	}
	if st := s.Statuses()[0]; st.State != InstanceStarting || len(s.Upstreams()) != 0 {
		t.Errorf("sick instance: %+v, upstreams %v", st, s.Upstreams())
	}
}
