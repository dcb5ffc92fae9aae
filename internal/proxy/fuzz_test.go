package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzServeConn feeds arbitrary bytes to Serve's connection loop, in front of a working upstream. The loop must
// neither panic nor hang: once the client has sent its bytes and closed its side, the proxy must answer and
// close the connection.
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: app\r\n\r\n",
		"GET /a?b=c HTTP/1.0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhello",
		"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 50\r\n\r\nshort",
		"POST /p HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n",
		"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"PUT /p HTTP/1.1\r\nHost: app\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
		"GET / HTTP/1.1\r\nHost: app\r\n\r\nGET /2 HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: app\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframes",
		"GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 4\r\n\r\nbody",
		"GET http://other.example/abs HTTP/1.1\r\nHost: app\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: app\r\n\r\n",
		"CONNECT app:443 HTTP/1.1\r\nHost: app:443\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app\r\nConnection: X-A, close\r\nX-A: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app\r\nCookie: ferry_client=zz\r\nX-Ferry-Version: canary\r\n\r\n",
		h2Preface,
		h2Preface + "\x00\x00\x00\x04\x00\x00\x00\x00\x00",
		"PRI",
		"P",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: app\r\nX: " + strings.Repeat("x", 70<<10) + "\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", // a TLS ClientHello
	} {
		f.Add([]byte(s))
	}

	// A plain http.Server: its Close ends connections a handler is still busy with, where httptest's waits.
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "yes")
		io.WriteString(w, "ok "+r.URL.Path)
	})}
	go up.Serve(ul)
	f.Cleanup(func() { up.Close() })
	addr := ul.Addr().String()
	p := &Proxy{Name: "fuzz"}
	p.SetRoute(Route{
		Stable: Version{Role: Stable, Release: "s", Upstreams: []string{addr}},
		Canary: &Version{Role: Canary, Release: "c", Weight: 30, Upstreams: []string{addr}},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- p.Serve(l) }()
	f.Cleanup(func() {
		l.Close()
		<-served
	})

	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c.Write(in) // the proxy may close before reading it all
			c.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the proxy neither answered nor closed the connection (%d bytes so far: %.80q)", len(out), out)
		}
		if len(out) > 0 && !bytes.HasPrefix(in, []byte("PRI")) && !bytes.HasPrefix(out, []byte("HTTP/1.")) {
			t.Fatalf("answer is no HTTP/1 response: %.80q", out)
		}
	})
}
