package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFailureUpstreamDown(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			p := newProxy(t, Route{Stable: Version{Role: Stable, Release: "v1", Upstreams: []string{deadAddr(t)}}})
			addr := m.start(t, p)
			c := newClient(t)
			resp, body := get(t, c, "http://"+addr+"/")
			if resp.StatusCode != http.StatusBadGateway || strings.TrimSpace(body) == "" {
				t.Errorf("GET: %d %q, want 502 with a body", resp.StatusCode, body)
			}
			req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("payload"))
			resp, body = do(t, c, req)
			if resp.StatusCode != http.StatusBadGateway || strings.TrimSpace(body) == "" {
				t.Errorf("POST: %d %q, want 502 with a body", resp.StatusCode, body)
			}
			if got := p.Stats("v1").Total(); got.Requests != 2 || got.Errors != 2 {
				t.Errorf("Stats(v1) = %d requests, %d errors; want 2, 2", got.Requests, got.Errors)
			}
			now := time.Now()
			if s := p.Stats("v1").Since(now.Add(-time.Minute), now); s.ErrorRate() != 1 {
				t.Errorf("error rate over the last minute %v, want 1", s.ErrorRate())
			}
		})
	}
}

func TestFailureNoRoute(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			p := &Proxy{}
			addr := m.start(t, p)
			c := newClient(t)
			for range 2 { // the connection stays usable
				resp, body := get(t, c, "http://"+addr+"/")
				if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(body) == "" {
					t.Errorf("%d %q, want 503 with a body", resp.StatusCode, body)
				}
			}
			if p.Route().Canary != nil || p.Route().Stable.Release != "" {
				t.Errorf("Route() of a new proxy = %+v, want the zero Route", p.Route())
			}
			if p.Stats("v1") != nil {
				t.Error("Stats of a release never routed to is not nil")
			}
		})
	}
}

func TestFailureCanaryWithoutInstances(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			stable := newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: stable.asStable(), Canary: &Version{Role: Canary, Release: "v2", Weight: 100}})
			addr := m.start(t, p)
			c := newClient(t)
			resp, body := get(t, c, "http://"+addr+"/")
			if resp.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(body) == "" {
				t.Errorf("%d %q, want 503 with a body", resp.StatusCode, body)
			}
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			req.Header.Set(VersionHeader, "stable")
			if resp, _ := do(t, c, req); resp.StatusCode != 200 {
				t.Errorf("forced to stable: %d, want 200", resp.StatusCode)
			}
			if got := p.Stats("v2").Total(); got.Requests != 1 || got.Errors != 1 {
				t.Errorf("Stats(v2) = %+v, want the 503 counted as an error", got)
			}
			if got := p.Stats("v1").Total(); got.Requests != 1 || got.Errors != 0 {
				t.Errorf("Stats(v1) = %+v, want 1 request without errors", got)
			}
		})
	}
}

// An upstream that closes idle keep-alive connections: the proxy takes a pooled connection the upstream has
// already closed, and must send a request without a body again on a fresh one instead of answering 502.
func TestFailureUpstreamClosesIdleConnection(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1", withIdleTimeout(10*time.Millisecond))
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)
			for i := range 4 {
				resp, body := get(t, c, "http://"+addr+"/")
				if resp.StatusCode != 200 {
					t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
				}
				up.waitClosed(t, int64(i+1)) // the pooled connection is now stale
			}
		})
	}
}

// The same with several stale connections pooled: the retry must not take another stale one.
func TestFailureUpstreamClosesManyIdleConnections(t *testing.T) {
	const conns = 4
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1", withIdleTimeout(10*time.Millisecond))
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)
			// Requests held at once open as many upstream connections, pooled when they finish.
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					resp, err := c.Get("http://" + addr + "/slow")
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			for range conns {
				up.waitStarted(t)
			}
			up.unblock()
			wg.Wait()
			if n := up.newConns.Load(); n != conns {
				t.Fatalf("upstream saw %d connections, want %d", n, conns)
			}
			up.waitClosed(t, conns)
			for i := range 2 {
				resp, body := get(t, c, "http://"+addr+"/")
				if resp.StatusCode != 200 {
					t.Fatalf("request %d after the upstream closed %d idle connections: %d %q", i, conns, resp.StatusCode, body)
				}
			}
		})
	}
}

func TestFailureConnectionReuse(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxy(t, Route{Stable: up.asStable()}))
			c := newClient(t)
			for i := range 200 {
				path := "/"
				if i%2 == 1 {
					path = "/stream" // chunked answers must leave the connection reusable too
				}
				if resp, _ := get(t, c, "http://"+addr+path); resp.StatusCode != 200 {
					t.Fatalf("request %d: %d", i, resp.StatusCode)
				}
			}
			if n := up.newConns.Load(); n > 3 {
				t.Errorf("200 sequential requests opened %d upstream connections, want a pooled few", n)
			}
		})
	}
}

func TestServeHeadTooLarge(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))

	conn, br := dialRaw(t, addr)
	// The proxy may stop reading once the head is over its limit: write on the side.
	go io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app\r\nX-Big: "+strings.Repeat("b", 100<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("a request head of 100 KiB: %v, want a 431 answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}

	// The budget is per request: several large heads on one connection are fine.
	conn, br = dialRaw(t, addr)
	for i := range 4 {
		io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: app\r\nX-Big: "+strings.Repeat("b", 30<<10)+"\r\n\r\n")
		resp, body := readRawResponse(t, br, "GET")
		if resp.StatusCode != 200 || decodeEcho(t, body).Header.Get("X-Big") == "" {
			t.Fatalf("request %d with a 30 KiB head: %d", i, resp.StatusCode)
		}
	}
}

func TestServeMalformedRequest(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))
	for _, raw := range []string{
		"NOT HTTP AT ALL\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app\r\nBad Header\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app\r\nContent-Length: nope\r\n\r\n",
	} {
		conn, br := dialRaw(t, addr)
		io.WriteString(conn, raw)
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Errorf("%q: %v, want a 400 answer", raw, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", raw, resp.StatusCode)
		}
	}
	if n := up.newConns.Load(); n != 0 {
		t.Errorf("malformed requests reached the upstream (%d connections)", n)
	}
}

// 5xx answers of an upstream count as errors of the version that served them; canary and stable figures are
// kept apart.
func TestStatsPerVersion(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			stable, canary := newUpstream(t, "v1"), newUpstream(t, "v2")
			p := newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(50)})
			addr := m.start(t, p)
			c := newClient(t)
			send := func(version, path string, n int) {
				for range n {
					req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
					req.Header.Set(VersionHeader, version)
					do(t, c, req)
				}
			}
			send("stable", "/status/500", 3)
			send("stable", "/status/503", 1)
			send("stable", "/status/404", 2) // client errors are no server errors
			send("stable", "/", 4)
			send("canary", "/status/502", 1)
			send("canary", "/", 9)

			for _, tc := range []struct {
				release          string
				requests, errors int64
			}{{"v1", 10, 4}, {"v2", 10, 1}} {
				tot := p.Stats(tc.release).Total()
				if tot.Requests != tc.requests || tot.Errors != tc.errors {
					t.Errorf("Stats(%s).Total() = %d requests, %d errors; want %d, %d", tc.release, tot.Requests, tot.Errors, tc.requests, tc.errors)
				}
				now := time.Now()
				s := p.Stats(tc.release).Since(now.Add(-time.Minute), now)
				if s.Requests != tc.requests || s.Errors != tc.errors {
					t.Errorf("Stats(%s).Since = %d requests, %d errors; want %d, %d", tc.release, s.Requests, s.Errors, tc.requests, tc.errors)
				}
				if s.P50 <= 0 || s.P99 < s.P50 {
					t.Errorf("Stats(%s) quantiles p50 %v p99 %v", tc.release, s.P50, s.P99)
				}
			}
		})
	}
}

// A version with several instances spreads requests over them, and an instance that cannot be reached does not
// fail requests while another is up.
func TestFailureInstanceDown(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			a, b := newUpstream(t, "v1"), newUpstream(t, "v1")
			p := newProxy(t, Route{Stable: Version{Role: Stable, Release: "v1", Upstreams: []string{a.addr, b.addr}}})
			addr := m.start(t, p)
			c := newClient(t)
			for range 20 {
				get(t, c, "http://"+addr+"/")
			}
			if a.newConns.Load() == 0 || b.newConns.Load() == 0 {
				t.Errorf("requests not spread over instances: %d and %d connections", a.newConns.Load(), b.newConns.Load())
			}

			p.SetRoute(Route{Stable: Version{Role: Stable, Release: "v1", Upstreams: []string{deadAddr(t), a.addr}}})
			for i := range 10 {
				method := "GET"
				if i%2 == 1 {
					method = "POST" // never reached the dead instance, so safe to send elsewhere
				}
				req, _ := http.NewRequest(method, "http://"+addr+"/", strings.NewReader("x"))
				if method == "GET" {
					req.Body, req.ContentLength = nil, 0
				}
				if resp, body := do(t, c, req); resp.StatusCode != 200 {
					t.Fatalf("%s %d with one instance down: %d %q", method, i, resp.StatusCode, body)
				}
			}
			if got := p.Stats("v1").Total().Errors; got != 0 {
				t.Errorf("%d errors counted while an instance was up", got)
			}
		})
	}
}
