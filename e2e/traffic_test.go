package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTrafficPauseStopResumeAcrossDeployAndRestart runs steady requests across a deploy and a pause/resume
// and counts zero failures; then stops the environment with a maintenance page, kills the server, and checks
// that the page is still served after the restart, that status shows it, that resume serves again, and that
// each action is audited.
func TestTrafficPauseStopResumeAcrossDeployAndRestart(t *testing.T) {
	f, production, deploy := startDirectShop(t)
	deploy("v1")
	load := startLoadGen(production, 4)
	deploy("v2")
	// Paused, requests wait (the load's client waits up to 5 s); resumed, they proceed.
	if out := f.mustCLI("traffic", "pause", "shop/production", "--timeout", "20s"); !strings.Contains(out, "paused") {
		t.Errorf("pause: %s", out)
	}
	if out := f.mustCLI("status", "shop"); !strings.Contains(out, "shop/production traffic paused") {
		t.Errorf("status while paused:\n%s", out)
	}
	time.Sleep(time.Second)
	f.mustCLI("traffic", "resume", "shop/production")
	time.Sleep(500 * time.Millisecond)
	ok, failed, last := load.finish()
	t.Logf("a deploy and a 1 s pause under load: %d ok, %d failed", ok, failed)
	if failed != 0 || ok < 100 {
		t.Errorf("%d failed requests (last: %s)", failed, last)
	}

	// Stopped with a maintenance page: it outlives a kill -9 of the server.
	f.mustCLI("traffic", "stop", "shop/production", "--message", "<h1>Back at 10:00</h1>")
	f.kill9()
	f.start()
	resp, err := http.Get("http://" + production + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "Back at 10:00") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("stopped, after a restart: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if out := f.mustCLI("status", "shop"); !strings.Contains(out, "shop/production traffic stopped") {
		t.Errorf("status while stopped:\n%s", out)
	}
	// A deploy keeps the mode: the operator resumes, not the pipeline.
	deploy("v3")
	if code := statusAt(production); code != 503 {
		t.Errorf("after a deploy while stopped: %d, want 503", code)
	}
	f.mustCLI("traffic", "resume", "shop/production")
	if got := versionAt(production); got != "hello from v3" {
		t.Errorf("resumed: %q", got)
	}
	audit := f.mustCLI("audit", "shop")
	for _, action := range []string{"traffic.pause", "traffic.stop", "traffic.resume"} {
		if !strings.Contains(audit, action) {
			t.Errorf("audit has no %s:\n%s", action, audit)
		}
	}
	// Bad input changes nothing.
	if _, stderr, code := f.cli("", "traffic", "pause", "shop/production", "--timeout", "1h"); code == 0 || !strings.Contains(stderr, "timeout_ms") {
		t.Errorf("a pause of an hour: exit %d, %s", code, stderr)
	}
	if _, stderr, code := f.cli("", "traffic", "stop", "shop/nowhere"); code == 0 || !strings.Contains(stderr, "nowhere") {
		t.Errorf("an unknown environment: exit %d, %s", code, stderr)
	}
	if got := versionAt(production); got != "hello from v3" {
		t.Errorf("after refused requests: %q", got)
	}
}

func statusAt(addr string) int {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
