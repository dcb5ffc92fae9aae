package analysis

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// TestProbeThroughAGateway: a check with a url (a kubernetes environment's Gateway) sends the canary header
// when it probes the canary and nothing of ferry's when it probes the stable release, never credentials,
// and names the url's host.
func TestProbeThroughAGateway(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	var hosts []string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen, hosts = append(seen, r.Header.Clone()), append(hosts, r.Host)
		mu.Unlock()
		if r.Header.Get("X-Ferry-Canary") == "42" {
			http.Error(w, "canary down", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer gw.Close()
	p := &Prober{Addr: "127.0.0.1:1", CanaryHeader: "x-ferry-canary", CanaryValue: "42"}
	check := pipeline.HTTPCheck{URL: gw.URL, Path: "/checkout", Method: "GET", ExpectStatus: 200, Timeout: 5 * time.Second}

	if r := p.Probe(context.Background(), check, proxy.Canary); r.Verdict != Fail || r.Reason != "status 500, want 200" {
		t.Errorf("canary through the gateway: %s %s, want fail: status 500", r.Verdict, r.Reason)
	}
	if r := p.Probe(context.Background(), check, proxy.Stable); r.Verdict != Pass {
		t.Errorf("stable through the gateway: %s %s, want pass", r.Verdict, r.Reason)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("the gateway saw %d requests, want 2", len(seen))
	}
	for i, h := range seen {
		for _, k := range []string{proxy.VersionHeader, "Authorization", "Cookie", "Proxy-Authorization"} {
			if h.Get(k) != "" {
				t.Errorf("request %d sent %s: %q", i, k, h.Get(k))
			}
		}
		if hosts[i] != strings.TrimPrefix(gw.URL, "http://") {
			t.Errorf("request %d Host %q, want the url's", i, hosts[i])
		}
	}
	if seen[1].Get("X-Ferry-Canary") != "" {
		t.Errorf("the stable probe sent the canary header")
	}
}

// TestChecksCannotReachFerry: no check (its url written by a commit) reaches an address ferry serve listens
// on, though loopback is allowed; other loopback ports stay reachable.
func TestChecksCannotReachFerry(t *testing.T) {
	ferry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("api")) }))
	defer ferry.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) }))
	defer app.Close()
	_, ferryPort, _ := net.SplitHostPort(strings.TrimPrefix(ferry.URL, "http://"))
	for _, listen := range []string{strings.TrimPrefix(ferry.URL, "http://"), "0.0.0.0:" + ferryPort, ":" + ferryPort} {
		g, err := NewHostGuard(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Deny(listen); err != nil {
			t.Fatal(err)
		}
		p := &Prober{Client: g.Client(), CanaryHeader: "x-ferry-canary", CanaryValue: "1"}
		for _, u := range []string{ferry.URL, "http://localhost:" + ferryPort, "http://127.0.0.2:" + ferryPort} {
			r := p.Probe(context.Background(), pipeline.HTTPCheck{URL: u, Path: "/api/v1/projects", Method: "GET",
				ExpectStatus: 200, Timeout: 5 * time.Second}, proxy.Canary)
			if r.Verdict != Fail || !strings.Contains(r.Reason, "ferry's own address") {
				t.Errorf("ferry on %s, check of %s: %s %q, want refused as ferry's own address", listen, u, r.Verdict, r.Reason)
			}
		}
		r := p.Probe(context.Background(), pipeline.HTTPCheck{URL: app.URL, Path: "/", Method: "GET", ExpectStatus: 200,
			Timeout: 5 * time.Second}, proxy.Canary)
		if r.Verdict != Pass {
			t.Errorf("ferry on %s, check of another loopback port: %s %s", listen, r.Verdict, r.Reason)
		}
	}
}
