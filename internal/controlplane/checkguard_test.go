package controlplane

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/rollout"
	"github.com/ferry-cd/ferry/internal/store"
)

// TestChecksNeverReachTheAPI: once ferry serves its API on an address, a pipeline's http check aimed there
// (a kubernetes check's url is written by a commit) fails as ferry's own address, though it is loopback.
func TestChecksNeverReachTheAPI(t *testing.T) {
	dir := t.TempDir()
	cp, err := Open(Config{DataDir: dir, Store: openStore(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- cp.Serve(ctx, l, nil) }()
	defer func() { cancel(); <-served }()

	subject := rollout.AnalysisSubject{Key: store.EnvKey{Project: "shop", Env: "production"}, New: "7"}
	p := cp.analysis.prober(ctx, subject)
	check := pipeline.HTTPCheck{URL: "http://" + l.Addr().String(), Path: "/api/v1/projects", Method: "GET",
		ExpectStatus: 200, Timeout: 5 * time.Second}
	// Serve denies its address before it serves: once the API answers (a plain client), it has.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + l.Addr().String() + "/api/v1/projects")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API never answered: %v", err)
		}
	}
	if r := p.Probe(ctx, check, proxy.Canary); r.Verdict != analysis.Fail || !strings.Contains(r.Reason, "ferry's own address") {
		t.Fatalf("a check of ferry's API: %s %s %q, want refused as ferry's own address", r.Verdict, r.Value, r.Reason)
	}
}
