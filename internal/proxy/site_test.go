package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// startSite serves s on a loopback port and returns its address.
func startSite(t *testing.T, s *Site) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

// hostClient is tlstest.HostClient with a timeout, so a hanging request fails the test.
func hostClient(t *testing.T, addr string, tlsConf *tls.Config, h2 bool) *http.Client {
	t.Helper()
	c := tlstest.HostClient(t, addr, tlsConf, h2)
	c.Timeout = hangGuard
	return c
}

func TestSiteRoutesByHost(t *testing.T) {
	shop, blog := newUpstream(t, "shop"), newUpstream(t, "blog")
	ps, pb := newProxy(t, Route{Stable: shop.asStable()}), newProxy(t, Route{Stable: blog.asStable()})
	s := &Site{}
	if err := s.SetHosts([]*Host{
		{Names: []string{"shop.example.com", "www.shop.example.com"}, Proxy: ps},
		{Names: []string{"*.blog.example.com"}, Proxy: pb},
	}); err != nil {
		t.Fatal(err)
	}
	addr := startSite(t, s)
	c := hostClient(t, addr, nil, false)
	cases := []struct{ host, want string }{
		{"shop.example.com", "shop"},
		{"www.shop.example.com", "shop"},
		{"SHOP.Example.COM", "shop"},              // case-insensitive
		{"shop.example.com.", "shop"},             // a trailing dot names the same host
		{"shop.example.com:8080", "shop"},         // the port is the listener's business
		{"a.blog.example.com", "blog"},            // one wildcard level
		{"x.y.blog.example.com", ""},              // not two
		{"blog.example.com", ""},                  // nor none
		{"other.example.com", ""},                 // an unknown host
		{strings.Repeat("a", 60000) + ".com", ""}, // a huge Host
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = tc.host
		resp, body := do(t, c, req)
		if tc.want == "" {
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no site here") {
				t.Errorf("Host %.30q: %d %q; want ferry's own 404", tc.host, resp.StatusCode, body)
			}
			if resp.Header.Get("X-Version") != "" {
				t.Errorf("Host %.30q reached an app: %s", tc.host, resp.Header.Get("X-Version"))
			}
			continue
		}
		if got := resp.Header.Get("X-Version"); got != tc.want {
			t.Errorf("Host %q went to %q (%d); want %q", tc.host, got, resp.StatusCode, tc.want)
		}
	}
	// Each environment keeps its own figures.
	if n := ps.Stats("shop").Total().Requests; n != 5 {
		t.Errorf("shop counted %d requests; want 5", n)
	}
	if n := pb.Stats("blog").Total().Requests; n != 1 {
		t.Errorf("blog counted %d requests; want 1", n)
	}
}

func TestSiteRefusesSharingTheWholeAddress(t *testing.T) {
	p := newProxy(t, Route{Stable: newUpstream(t, "a").asStable()})
	s := &Site{}
	if err := s.SetHosts([]*Host{{Proxy: p}, {Names: []string{"b.example"}, Proxy: p}}); err == nil {
		t.Error("an environment without hosts shared its address")
	}
	if err := s.SetHosts([]*Host{{Names: []string{"b.example"}, Proxy: p}, {Names: []string{"b.example"}, Proxy: p}}); err == nil {
		t.Error("one host claimed twice")
	}
}

// tlsSite is a TLS site with shop and blog on it, each with its own certificate from ca.
func tlsSite(t *testing.T, ca *tlstest.CA, hsts int) (addr string, ps, pb *Proxy) {
	t.Helper()
	shop, blog := newUpstream(t, "shop"), newUpstream(t, "blog")
	ps, pb = newProxy(t, Route{Stable: shop.asStable()}), newProxy(t, Route{Stable: blog.asStable()})
	s := &Site{TLS: true}
	if err := s.SetHosts([]*Host{
		{Names: []string{"shop.example.com"}, Proxy: ps, Certificate: ca.Pair(t, "shop.example.com"), HSTS: hsts},
		{Names: []string{"*.blog.example.com"}, Proxy: pb, Certificate: ca.Pair(t, "*.blog.example.com")},
	}); err != nil {
		t.Fatal(err)
	}
	return startSite(t, s), ps, pb
}

func TestSiteTLSPicksCertificateBySNI(t *testing.T) {
	ca := tlstest.NewCA(t)
	addr, _, _ := tlsSite(t, ca, 0)
	for _, name := range []string{"shop.example.com", "a.blog.example.com"} {
		conn, err := tls.Dial("tcp", addr, ca.Client(name)) // verifies the chain and the name
		if err != nil {
			t.Fatalf("TLS to %s: %v", name, err)
		}
		st := conn.ConnectionState()
		conn.Close()
		if st.Version < tls.VersionTLS12 {
			t.Errorf("%s: TLS version %x", name, st.Version)
		}
	}
	// TLS 1.1 is refused; an unknown name gets no certificate at all.
	old := ca.Client("shop.example.com")
	old.MaxVersion = tls.VersionTLS11
	if conn, err := tls.Dial("tcp", addr, old); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	if conn, err := tls.Dial("tcp", addr, ca.Client("evil.example.com")); err == nil {
		conn.Close()
		t.Error("a handshake for a host of no environment succeeded")
	}
}

func TestSiteTLSServesHTTP1AndHTTP2(t *testing.T) {
	ca := tlstest.NewCA(t)
	addr, _, pb := tlsSite(t, ca, 31536000)
	for _, h2 := range []bool{false, true} {
		c := hostClient(t, addr, ca.Client(""), h2)
		resp, body := get(t, c, "https://shop.example.com/")
		if resp.Header.Get("X-Version") != "shop" || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
			t.Errorf("h2=%v: %s from %q; want shop over HTTP/%d", h2, resp.Proto, resp.Header.Get("X-Version"), map[bool]int{false: 1, true: 2}[h2])
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("h2=%v: HSTS %q", h2, got)
		}
		if e := decodeEcho(t, body); e.Header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("h2=%v: upstream saw X-Forwarded-Proto %q", h2, e.Header.Get("X-Forwarded-Proto"))
		}
		resp, _ = get(t, c, "https://a.blog.example.com/")
		if resp.Header.Get("X-Version") != "blog" || resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("h2=%v: blog answered %q, HSTS %q (blog asked for none)", h2, resp.Header.Get("X-Version"), resp.Header.Get("Strict-Transport-Security"))
		}
	}
	// The certificate is picked by SNI, the environment by Host: a Host of no environment is ferry's 404.
	for _, h2 := range []bool{false, true} {
		c := hostClient(t, addr, ca.Client("shop.example.com"), h2)
		req, _ := http.NewRequest("GET", "https://shop.example.com/", nil)
		req.Host = "nobody.example.com"
		resp, body := do(t, c, req)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Version") != "" {
			t.Errorf("h2=%v unknown Host over TLS: %d %q", h2, resp.StatusCode, body)
		}
	}
	if n := pb.Stats("blog").Total().Requests; n != 2 {
		t.Errorf("blog counted %d; want 2", n)
	}
}

func TestSiteTLSWebSocket(t *testing.T) {
	ca := tlstest.NewCA(t)
	up := newWSUpstream(t)
	p := newProxy(t, Route{Stable: Version{Role: Stable, Release: "ws", Weight: 100, Upstreams: []string{up}}})
	s := &Site{TLS: true}
	s.SetHosts([]*Host{{Names: []string{"chat.example.com"}, Proxy: p, Certificate: ca.Pair(t, "chat.example.com")}})
	addr := startSite(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss://chat.example.com/ws", &websocket.DialOptions{HTTPClient: hostClient(t, addr, ca.Client(""), false)})
	if err != nil {
		t.Fatalf("WebSocket over TLS: %v", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := conn.Read(ctx)
		if err != nil || string(got) != "echo:"+msg {
			t.Fatalf("echo = %.20q, %v", got, err)
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

// newWSUpstream serves a WebSocket that answers each message with "echo:" and the message.
func newWSUpstream(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if c.Write(r.Context(), typ, append([]byte("echo:"), msg...)) != nil {
				return
			}
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func TestSiteH2C(t *testing.T) {
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	s := &Site{}
	s.SetHosts([]*Host{
		{Names: []string{"a.example"}, Proxy: newProxy(t, Route{Stable: a.asStable()}), H2C: true},
		{Names: []string{"b.example"}, Proxy: newProxy(t, Route{Stable: b.asStable()})},
	})
	addr := startSite(t, s)
	c := newH2CClient(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = "a.example"
	resp, _ := do(t, c, req)
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Version") != "a" {
		t.Errorf("h2c to a: %s %d from %q", resp.Proto, resp.StatusCode, resp.Header.Get("X-Version"))
	}
	req.Host = "b.example"
	resp, _ = do(t, c, req)
	if resp.StatusCode != http.StatusHTTPVersionNotSupported {
		t.Errorf("h2c to b, which did not ask for it: %d", resp.StatusCode)
	}
}

func TestSitePlainHTTPRedirectsAndChallenges(t *testing.T) {
	up := newUpstream(t, "shop")
	p := newProxy(t, Route{Stable: up.asStable()})
	challenge := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/.well-known/acme-challenge/tok" {
			return false
		}
		io.WriteString(w, "tok.key")
		return true
	}
	s := &Site{}
	s.SetHosts([]*Host{
		{Names: []string{"shop.example.com"}, Proxy: p, Redirect: true, HTTPSPort: 8443, Challenge: challenge},
		{Names: []string{"plain.example.com"}, Proxy: p},
	})
	addr := startSite(t, s)
	conn, br := dialRaw(t, addr)
	send := func(req string) (*http.Response, string) {
		t.Helper()
		io.WriteString(conn, req)
		method, _, _ := strings.Cut(req, " ")
		return readRawResponse(t, br, method)
	}
	resp, body := send("GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
	if resp.StatusCode != 200 || body != "tok.key" {
		t.Errorf("challenge: %d %q", resp.StatusCode, body)
	}
	resp, _ = send("GET /cart?x=1 HTTP/1.1\r\nHost: Shop.Example.com:80\r\n\r\n")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://shop.example.com:8443/cart?x=1" {
		t.Errorf("GET redirect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = send("POST /pay HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: 3\r\n\r\nabc")
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Errorf("POST redirect: %d; want 308", resp.StatusCode)
	}
	resp, _ = send("GET / HTTP/1.1\r\nHost: plain.example.com\r\n\r\n")
	if resp.StatusCode != 200 || resp.Header.Get("X-Version") != "shop" || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP: %d from %q, HSTS %q", resp.StatusCode, resp.Header.Get("X-Version"), resp.Header.Get("Strict-Transport-Security"))
	}
	// A wildcard takes any first label; one that is no host name is not echoed into a Location.
	s.SetHosts([]*Host{{Names: []string{"*.shop.example.com"}, Proxy: p, Redirect: true}, {Names: []string{"plain.example.com"}, Proxy: p}})
	resp, body = send("GET / HTTP/1.1\r\nHost: evil/x?.shop.example.com\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("redirect of a bad host: %d to %q (%q)", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, _ = send("GET / HTTP/1.1\r\nHost: nobody.example.com\r\n\r\n")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown host on the plain listener: %d", resp.StatusCode)
	}
	if up.newConns.Load() != 1 {
		t.Errorf("the upstream saw %d connections; only the plain request should reach it", up.newConns.Load())
	}
}

// BenchmarkSiteLookup is the per-request cost of routing by host: 100 environments on one address.
func BenchmarkSiteLookup(b *testing.B) {
	s := &Site{}
	var hosts []*Host
	for i := range 100 {
		hosts = append(hosts, &Host{Names: []string{"app" + strconv.Itoa(i) + ".example.com", "*.app" + strconv.Itoa(i) + ".example.com"}})
	}
	if err := s.SetHosts(hosts); err != nil {
		b.Fatal(err)
	}
	for _, host := range []string{"app42.example.com", "App42.Example.com:443", "eu.app42.example.com", "nobody.example.com"} {
		b.Run(host, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s.table.Load().lookup(host, "") == nil && host != "nobody.example.com" {
					b.Fatal("no match")
				}
			}
		})
	}
}
