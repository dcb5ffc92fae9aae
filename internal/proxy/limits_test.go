package proxy

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func newProxyWith(t *testing.T, route Route, o Options) *Proxy {
	t.Helper()
	p := newProxy(t, route)
	p.SetOptions(o)
	return p
}

// TestForwardedHeadersFromUntrustedAndTrustedPeers: a client that forges the headers naming the client is not
// believed; a trusted proxy in front is.
func TestForwardedHeadersFromUntrustedAndTrustedPeers(t *testing.T) {
	forge := func(req *http.Request) {
		req.Host = "app.example"
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "bank.example")
		req.Header.Set("Forwarded", "for=203.0.113.7;proto=https")
		req.Header.Set("X-Real-Ip", "203.0.113.7")
	}
	cases := []struct {
		name                  string
		trusted               []netip.Prefix
		xff, proto, host, fwd string
		realIP                string
	}{
		{name: "untrusted client", xff: "127.0.0.1", proto: "http", host: "app.example",
			fwd: `for=127.0.0.1;host="app.example";proto=http`},
		{name: "other proxies trusted", trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, xff: "127.0.0.1", proto: "http",
			host: "app.example", fwd: `for=127.0.0.1;host="app.example";proto=http`},
		{name: "trusted proxy", trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, xff: "203.0.113.7, 127.0.0.1",
			proto: "https", host: "bank.example", fwd: `for=203.0.113.7;proto=https, for=127.0.0.1;host="app.example";proto=http`,
			realIP: "203.0.113.7"},
	}
	for _, m := range serveModes {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				up := newUpstream(t, "v1")
				addr := m.start(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{TrustedProxies: tc.trusted}))
				req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
				forge(req)
				_, body := do(t, newClient(t), req)
				h := decodeEcho(t, body).Header
				for _, c := range []struct{ name, want string }{
					{"X-Forwarded-For", tc.xff}, {"X-Forwarded-Proto", tc.proto}, {"X-Forwarded-Host", tc.host},
					{"Forwarded", tc.fwd}, {"X-Real-Ip", tc.realIP},
				} {
					if got := strings.Join(h.Values(c.name), ", "); got != c.want {
						t.Errorf("%s = %q, want %q", c.name, got, c.want)
					}
				}
			})
		}
	}
}

// TestHeadOverTheLimitGets431AndTheProxyStaysUp: a head over max_header_bytes is refused with 431 and the next
// client is served.
func TestHeadOverTheLimitGets431AndTheProxyStaysUp(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{MaxHeaderBytes: 4 << 10}))
	for range 20 {
		conn, br := dialRaw(t, addr)
		go io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app\r\nX-Big: "+strings.Repeat("b", 8<<10)+"\r\n\r\n")
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("a head of 8 KiB over a 4 KiB limit: %v, want 431", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	}
	if resp, _ := get(t, newClient(t), "http://"+addr+"/"); resp.StatusCode != 200 {
		t.Errorf("after the refused heads: %d, want 200", resp.StatusCode)
	}
}

// TestBodyOverTheLimitGets413: a declared or streamed body over max_body_bytes gets 413; one at the limit
// passes whole.
func TestBodyOverTheLimitGets413(t *testing.T) {
	const limit = 1000
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			addr := m.start(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{MaxBodyBytes: limit}))
			for _, tc := range []struct {
				name    string
				size    int
				chunked bool
				want    int
			}{
				{"at the limit", limit, false, 200},
				{"declared over", limit + 1, false, 413},
				{"streamed at the limit", limit, true, 200},
				{"streamed over", 64 << 10, true, 413},
			} {
				var body io.Reader = strings.NewReader(strings.Repeat("x", tc.size))
				if tc.chunked {
					body = io.MultiReader(body) // no length known: sent chunked
				}
				req, _ := http.NewRequest("POST", "http://"+addr+"/", body)
				resp, err := newClient(t).Do(req)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("%s: status %d, want %d (%s)", tc.name, resp.StatusCode, tc.want, got)
				}
				if tc.want == 200 && decodeEcho(t, string(got)).BodyLen != tc.size {
					t.Errorf("%s: the instance got %d bytes, want %d", tc.name, decodeEcho(t, string(got)).BodyLen, tc.size)
				}
			}
		})
	}
}

// TestSlowClientIsCut: a client that sends its head a byte at a time, never finishing it within the client
// timeout (slowloris), or whose body stalls for longer than the timeout, is disconnected, and the proxy goes
// on serving others.
func TestSlowClientIsCut(t *testing.T) {
	up := newUpstream(t, "v1")
	const timeout = 300 * time.Millisecond
	addr := startServe(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{ClientTimeout: timeout}))
	for _, tc := range []struct {
		start string
		gap   time.Duration
	}{
		{"GET / HTTP/1.1\r\nHost: app\r\nX-Slow: ", timeout / 3},                         // the head as a whole is bounded
		{"POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\nx", 3 * timeout}, // each wait for body bytes is
	} {
		conn, _ := dialRaw(t, addr)
		io.WriteString(conn, tc.start)
		cut := make(chan struct{})
		go func() {
			defer close(cut)
			for {
				time.Sleep(tc.gap)
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
		select {
		case <-cut:
		case <-time.After(hangGuard):
			t.Fatalf("a client sending %q a byte every %v is still connected", tc.start, tc.gap)
		}
	}
	if resp, _ := get(t, newClient(t), "http://"+addr+"/"); resp.StatusCode != 200 {
		t.Errorf("after the slow clients: %d, want 200", resp.StatusCode)
	}
}

// TestUpstreamTimeoutGets504: an instance that does not begin its answer within upstream_timeout gets the
// client a 504, counted in the figures as a server error.
func TestUpstreamTimeoutGets504(t *testing.T) {
	for _, m := range serveModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			p := newProxyWith(t, Route{Stable: up.asStable()}, Options{UpstreamTimeout: 200 * time.Millisecond})
			addr := m.start(t, p)
			resp, _ := get(t, newClient(t), "http://"+addr+"/slow")
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("status %d, want 504", resp.StatusCode)
			}
			if tot := p.Stats("v1").Total(); tot.Errors != 1 {
				t.Errorf("figures %+v, want the 504 counted as an error", tot)
			}
		})
	}
}
