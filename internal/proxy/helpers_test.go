package proxy

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangGuard bounds every wait in these tests so that a broken proxy fails a test instead of hanging the run.
// It is never an assertion about speed.
const hangGuard = 20 * time.Second

// serveMode is one way of putting a Proxy on the network: its own HTTP/1.1 loop (Serve) or net/http calling
// ServeHTTP. Behaviour tests run against both.
type serveMode struct {
	name  string
	start func(t *testing.T, p *Proxy) string // returns host:port
}

var serveModes = []serveMode{
	{"serve", startServe},
	{"net-http", startNetHTTP},
}

// serveModesH2 are serveModes and h2c: ferry's HTTP/2 server, without TLS.
var serveModesH2 = append(serveModes[:len(serveModes):len(serveModes)], serveMode{"h2c", h2cSite})

// client returns a client that speaks the mode's protocol.
func (m serveMode) client(t *testing.T) *http.Client {
	if m.name == "h2c" {
		return newH2CClient(t)
	}
	return newClient(t)
}

func startServe(t *testing.T, p *Proxy) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

func startNetHTTP(t *testing.T, p *Proxy) string {
	t.Helper()
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// newClient returns an HTTP/1.1 client without a cookie jar; its idle connections are closed at cleanup.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: hangGuard}
}

// newH2CClient returns a client that speaks HTTP/2 without TLS from the first byte (prior knowledge).
func newH2CClient(t *testing.T) *http.Client {
	t.Helper()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: hangGuard}
}

// echo is what the test upstream answers on its default path: what it received.
type echo struct {
	Version       string
	Method        string
	URI           string
	Host          string
	Proto         string
	Header        http.Header
	ContentLength int64
	TE            []string
	BodyLen       int
	BodySHA       string
}

// upstream is an instance of a version behind the proxy. It names its version in X-Version and counts its
// TCP connections.
type upstream struct {
	version string
	srv     *httptest.Server
	addr    string

	newConns    atomic.Int64
	closedConns atomic.Int64
	closed      chan struct{} // one value per closed connection

	release  chan struct{} // /slow and /sse wait for it
	relOnce  sync.Once
	started  chan string // /slow and /sse send their path once they hold a request
	finished atomic.Int64
}

type upstreamOption func(*http.Server)

func withIdleTimeout(d time.Duration) upstreamOption {
	return func(s *http.Server) { s.IdleTimeout = d }
}

func newUpstream(t *testing.T, version string, opts ...upstreamOption) *upstream {
	t.Helper()
	u := &upstream{
		version: version,
		closed:  make(chan struct{}, 1024),
		release: make(chan struct{}),
		started: make(chan string, 16),
	}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.newConns.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.closedConns.Add(1)
			select {
			case u.closed <- struct{}{}:
			default:
			}
		}
	}
	for _, o := range opts {
		o(u.srv.Config)
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	// These run before Close, which waits for handlers: a handler stuck on a request the proxy left half sent
	// must not hold up the test run.
	t.Cleanup(u.srv.CloseClientConnections)
	t.Cleanup(u.unblock)
	u.addr = u.srv.Listener.Addr().String()
	return u
}

func (u *upstream) unblock() { u.relOnce.Do(func() { close(u.release) }) }

// asStable and asCanary name the upstream as the only instance of a version.
func (u *upstream) asStable() Version {
	return Version{Role: Stable, Release: u.version, Upstreams: []string{u.addr}}
}

func (u *upstream) asCanary(weight int) *Version {
	return &Version{Role: Canary, Release: u.version, Weight: weight, Upstreams: []string{u.addr}}
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Version", u.version)
	switch {
	case r.URL.Path == "/slow":
		u.started <- r.URL.Path
		<-u.release
		io.WriteString(w, "slow from "+u.version)
		u.finished.Add(1)
	case r.URL.Path == "/hold":
		// Holds the answer's head until released or until the proxy goes away.
		u.started <- r.URL.Path
		select {
		case <-u.release:
			io.WriteString(w, "held")
		case <-r.Context().Done():
		}
	case r.URL.Path == "/sse":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		http.NewResponseController(w).Flush()
		u.started <- r.URL.Path
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: two\n\n")
	case r.URL.Path == "/stream":
		// Pieces of unknown length: the upstream answers chunked.
		for i := range 3 {
			io.WriteString(w, "piece"+strconv.Itoa(i)+";")
			http.NewResponseController(w).Flush()
		}
	case r.URL.Path == "/cookie":
		w.Header().Add("Set-Cookie", "app=1; Path=/")
		io.WriteString(w, "cookie")
	case r.URL.Path == "/hop-named", r.URL.Path == "/hop-close", r.URL.Path == "/hop":
		// /hop-named names a field in Connection, /hop-close too beside close (which net/http's parser
		// drops, with what it names unless ferry drops that first); /hop only has the fields that are
		// always hop-by-hop (the HTTP/1.1 loop forwards such an answer's lines as they came, less those).
		// ?chunked sends the answer chunked, which goes by net/http's parser.
		switch r.URL.Path {
		case "/hop-named":
			w.Header().Set("Connection", "X-Up-Hop")
		case "/hop-close":
			w.Header().Set("Connection", "close, X-Up-Hop")
		}
		w.Header().Set("Proxy-Connection", "keep-alive")
		w.Header().Set("X-Up-Hop", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Upgrade", "foo")
		w.Header().Set("X-Up-End", "kept")
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Query().Has("chunked") {
			http.NewResponseController(w).Flush()
		}
		io.WriteString(w, "hop")
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header().Set("X-Up", "yes")
		w.WriteHeader(code)
		if code != http.StatusNoContent && code != http.StatusNotModified {
			io.WriteString(w, "status body")
		}
	case r.URL.Path == "/ws":
		u.serveEcho(w, r)
	case strings.HasPrefix(r.URL.Path, "/big/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/big/"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(bytes.Repeat([]byte("b"), n))
	case r.URL.Path == "/trailers":
		// As a gRPC server ends a call: a body of unknown length, then the status in trailers.
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Header().Set("Content-Type", "application/grpc")
		io.WriteString(w, "message")
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "ok")
	default:
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Up", "yes")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		json.NewEncoder(w).Encode(echo{
			Version: u.version, Method: r.Method, URI: r.RequestURI, Host: r.Host, Proto: r.Proto,
			Header: r.Header, ContentLength: r.ContentLength, TE: r.TransferEncoding,
			BodyLen: len(body), BodySHA: hex.EncodeToString(sum[:]),
		})
	}
}

// serveEcho switches to an echo protocol: after a 101 every byte is sent back.
func (u *upstream) serveEcho(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "echo") {
		http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
		return
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Version: " + u.version + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	c.SetDeadline(time.Now().Add(hangGuard))
	buf := make([]byte, 4096)
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitClosed waits until the upstream has seen n of its connections closed.
func (u *upstream) waitClosed(t *testing.T, n int64) {
	t.Helper()
	deadline := time.After(hangGuard)
	for u.closedConns.Load() < n {
		select {
		case <-u.closed:
		case <-deadline:
			t.Fatalf("upstream %s: %d connections closed, waited for %d", u.version, u.closedConns.Load(), n)
		}
	}
}

func (u *upstream) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-u.started:
	case <-time.After(hangGuard):
		t.Fatal("upstream never got the request")
	}
}

func newProxy(t *testing.T, route Route) *Proxy {
	t.Helper()
	p := &Proxy{Name: t.Name()}
	p.SetRoute(route)
	return p
}

// do sends a request and returns the answer with its body read.
func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func decodeEcho(t *testing.T, body string) echo {
	t.Helper()
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream answer is no echo: %v: %q", err, body)
	}
	return e
}

// dialRaw opens a plain TCP connection to addr, closed at cleanup, with a deadline against hangs.
func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hangGuard))
	return c, bufio.NewReader(c)
}

// readResponse reads one answer to a request of method from br, with its body.
func readRawResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read answer to %s: %v", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body of answer to %s: %v", method, err)
	}
	return resp, string(b)
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// eventually waits until cond holds, failing the test if it does not within the hang guard.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
