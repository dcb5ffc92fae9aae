package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// The plain-HTTP loop serves inside one wait on the netpoller and may wait without reading first (sockConn.poll).
// These tests are the cases where that could lose a request: one that arrives while the one before is at
// the instance, the next request sent the moment an answer is read, bodies and heads in pieces.

// inPollModes serve a proxy on plain HTTP and over TLS (HTTP/1.1), and dial a raw connection to it.
var inPollModes = []struct {
	name  string
	start func(t *testing.T, p *Proxy) (dial func() (net.Conn, *bufio.Reader))
}{
	{"plain", func(t *testing.T, p *Proxy) func() (net.Conn, *bufio.Reader) {
		addr := startServe(t, p)
		return func() (net.Conn, *bufio.Reader) { return dialRaw(t, addr) }
	}},
	{"tls", func(t *testing.T, p *Proxy) func() (net.Conn, *bufio.Reader) {
		ca := tlstest.NewCA(t)
		s := &Site{TLS: true}
		if err := s.SetHosts([]*Host{{Names: []string{"app"}, Proxy: p, Certificate: ca.Pair(t, "app")}}); err != nil {
			t.Fatal(err)
		}
		addr := startSite(t, s)
		return func() (net.Conn, *bufio.Reader) {
			raw, _ := dialRaw(t, addr)
			c := tls.Client(raw, ca.Client("app"))
			if err := c.Handshake(); err != nil {
				t.Fatal(err)
			}
			return c, bufio.NewReader(c)
		}
	}},
}

// A request pipelined while the one before it is held at the instance is answered after it.
func TestInPollPipelinedWhileAtInstance(t *testing.T) {
	for _, m := range inPollModes {
		t.Run(m.name, func(t *testing.T) { testPipelinedWhileAtInstance(t, m.start) })
	}
}

func testPipelinedWhileAtInstance(t *testing.T, start func(*testing.T, *Proxy) func() (net.Conn, *bufio.Reader)) {
	up := newUpstream(t, "v1")
	conn, br := start(t, newProxy(t, Route{Stable: up.asStable()}))()
	conn.SetDeadline(time.Now().Add(hangGuard))
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: app\r\n\r\n")
	up.waitStarted(t)
	io.WriteString(conn, "GET /second HTTP/1.1\r\nHost: app\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the second request is in the socket, seen by the netpoller
	up.unblock()
	for _, want := range []string{"/slow", "/second"} {
		resp, body := readRawResponse(t, br, "GET")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", want, resp.StatusCode)
		}
		if want == "/second" {
			if got := decodeEcho(t, body).URI; got != want {
				t.Fatalf("answer for %s, want %s", got, want)
			}
		}
	}
}

// Each request sent the moment the answer before it is read, thousands of times on one connection: none
// is left waiting.
func TestInPollBackToBackRequests(t *testing.T) {
	for _, m := range inPollModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			conn, br := m.start(t, newProxy(t, Route{Stable: up.asStable()}))()
			backToBack(t, conn, br, 3000)
		})
	}
}

func backToBack(t *testing.T, conn net.Conn, br *bufio.Reader, n int) {
	conn.SetDeadline(time.Now().Add(hangGuard))
	for i := range n {
		fmt.Fprintf(conn, "GET /n%d HTTP/1.1\r\nHost: app\r\n\r\n", i)
		resp, _ := readRawResponse(t, br, "GET")
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
}

// A body that arrives after its head, a head in pieces, a chunked body, and a request after each: all
// answered on one connection, in order.
func TestInPollBodiesAndHeadsInPieces(t *testing.T) {
	for _, m := range inPollModes {
		t.Run(m.name, func(t *testing.T) { testBodiesAndHeadsInPieces(t, m.start) })
	}
}

func testBodiesAndHeadsInPieces(t *testing.T, start func(*testing.T, *Proxy) func() (net.Conn, *bufio.Reader)) {
	up := newUpstream(t, "v1")
	conn, br := start(t, newProxy(t, Route{Stable: up.asStable()}))()
	conn.SetDeadline(time.Now().Add(hangGuard))
	for _, c := range []struct {
		uri     string
		pieces  []string
		bodyLen int
	}{
		{"/late-body", []string{"POST /late-body HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\n", "hello"}, 5},
		{"/after-body", []string{"GET /after-body HTTP/1.1\r\nHost: app\r\n\r\n"}, 0},
		{"/head-in-pieces", []string{"GET /head-in-", "pieces HTTP/1.1\r\nHo", "st: app\r\n", "\r\n"}, 0},
		{"/chunked", []string{"POST /chunked HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhello\r\n", "0\r\n\r\n"}, 5},
		{"/whole-body", []string{"POST /whole-body HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhello"}, 5},
		{"/last", []string{"GET /last HTTP/1.1\r\nHost: app\r\n\r\n"}, 0},
	} {
		for i, p := range c.pieces {
			if i > 0 {
				time.Sleep(30 * time.Millisecond)
			}
			io.WriteString(conn, p)
		}
		resp, body := readRawResponse(t, br, "GET")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.uri, resp.StatusCode, body)
		}
		if e := decodeEcho(t, body); e.URI != c.uri || e.BodyLen != c.bodyLen {
			t.Fatalf("%s: the instance saw %s with a %d-byte body, want a %d-byte body", c.uri, e.URI, e.BodyLen, c.bodyLen)
		}
	}
}

// A connection whose head stops half way is cut at the client timeout with a 400, and one that stays idle
// at the idle timeout, while the wait sits in the netpoller.
func TestInPollTimeouts(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{ClientTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}))
	conn, br := dialRaw(t, addr)
	conn.SetDeadline(time.Now().Add(hangGuard))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app\r\n\r\n")
	if resp, _ := readRawResponse(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle connection: %v, want it closed", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("the idle connection was closed after %v, before its idle timeout", d)
	}
	conn2, br2 := dialRaw(t, addr)
	conn2.SetDeadline(time.Now().Add(hangGuard))
	io.WriteString(conn2, "GET / HTTP/1.1\r\nHost: app\r\n")
	resp, err := readResponseOrEOF(br2)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("a head cut short: %v, %v; want 400", resp, err)
	}
}

func readResponseOrEOF(br *bufio.Reader) (*struct{ StatusCode int }, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	var code int
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &code); err != nil {
		return nil, err
	}
	return &struct{ StatusCode int }{code}, nil
}

// A head over the limit gets 431 even when it arrives whole in one read on a kept-alive connection, smaller
// than the connection's buffer.
func TestInPollHeadLimitOnKeptAliveConnection(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{MaxHeaderBytes: 4 << 10}))
	conn, br := dialRaw(t, addr)
	conn.SetDeadline(time.Now().Add(hangGuard))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app\r\nX-Fits: "+strings.Repeat("a", 3<<10)+"\r\n\r\n")
	if resp, _ := readRawResponse(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("a 3 KiB head under a 4 KiB limit: %d", resp.StatusCode)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: app\r\nX-Big: "+strings.Repeat("b", 6<<10)+"\r\n\r\n")
	resp, err := readResponseOrEOF(br)
	if err != nil || resp.StatusCode != 431 {
		t.Fatalf("a 6 KiB head over a 4 KiB limit: %v, %v; want 431", resp, err)
	}
}

// heldWrites holds what is written to it until flush, then writes it to the connection in one call: TLS
// records written one by one reach the proxy in one read.
type heldWrites struct {
	net.Conn
	hold bool
	buf  []byte
}

func (h *heldWrites) Write(p []byte) (int, error) {
	if h.hold {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *heldWrites) flush() error {
	h.hold = false
	_, err := h.Conn.Write(h.buf)
	h.buf = nil
	return err
}

// Two requests in two TLS records that arrive in one read: the second, decrypted from what the TLS
// connection already holds, is answered without the socket ever becoming readable again; and a record
// larger than the proxy's buffer, whose rest the TLS connection holds.
func TestInPollTLSRecordsAlreadyRead(t *testing.T) {
	up := newUpstream(t, "v1")
	ca := tlstest.NewCA(t)
	s := &Site{TLS: true}
	if err := s.SetHosts([]*Host{{Names: []string{"app"}, Proxy: newProxy(t, Route{Stable: up.asStable()}), Certificate: ca.Pair(t, "app")}}); err != nil {
		t.Fatal(err)
	}
	raw, _ := dialRaw(t, startSite(t, s))
	hw := &heldWrites{Conn: raw}
	c := tls.Client(hw, ca.Client("app"))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for round := range 20 {
		hw.hold = true
		io.WriteString(c, "GET /one HTTP/1.1\r\nHost: app\r\n\r\n")
		io.WriteString(c, "GET /two HTTP/1.1\r\nHost: app\r\n\r\n")
		big := "POST /big HTTP/1.1\r\nHost: app\r\nContent-Length: 12000\r\n\r\n" + strings.Repeat("x", 12000)
		io.WriteString(c, big) // one record: more than the proxy's 8 KiB buffer takes at once
		if err := hw.flush(); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"/one", "/two", "/big"} {
			resp, body := readRawResponse(t, br, "GET")
			if resp.StatusCode != 200 {
				t.Fatalf("round %d %s: %d", round, want, resp.StatusCode)
			}
			if e := decodeEcho(t, body); e.URI != want {
				t.Fatalf("round %d: answer for %s, want %s", round, e.URI, want)
			}
		}
	}
	backToBack(t, c, br, 200)
}

// HTTP/2 frames that arrive a few bytes at a time, and a request the moment the answer before it is read,
// are read whole inside the netpoller's wait (h2Conn.serve).
func TestInPollH2FramesInPieces(t *testing.T) {
	up := newUpstream(t, "v1")
	r := dialH2(t, h2cSite(t, newProxy(t, Route{Stable: up.asStable()})))
	r.conn.SetDeadline(time.Now().Add(hangGuard))
	var frames bytes.Buffer
	fr := http2.NewFramer(&frames, nil)
	b := r.block(":method", "GET", ":scheme", "http", ":authority", "app", ":path", "/dribbled")
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true, EndHeaders: true})
	for _, c := range frames.Bytes() {
		if _, err := r.conn.Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	h := r.until("the answer's head", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok && f.Header().StreamID == 1 })
	if st := h.(*http2.MetaHeadersFrame).PseudoValue("status"); st != "200" {
		t.Fatalf("dribbled request: %s", st)
	}
	r.until("its end", func(f http2.Frame) bool {
		return f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream)
	})
	r.fr.WriteWindowUpdate(0, 1<<30) // the answers below take more than the connection's first window
	for id := uint32(3); id < 2000; id += 2 {
		r.get(id, "/", true)
		r.until("the answer", func(f http2.Frame) bool {
			return f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream)
		})
	}
}

// The answer to a request is sent at once even when what follows it in the buffer is not yet a whole head
// (a stray CRLF after a body, or the start of a pipelined request): it does not wait for the next head.
func TestInPollAnswersBeforeWaitingForTheNextHead(t *testing.T) {
	for _, m := range inPollModes {
		t.Run(m.name, func(t *testing.T) {
			up := newUpstream(t, "v1")
			conn, br := m.start(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{ClientTimeout: 20 * time.Second}))()
			for _, follow := range []string{"\r\n", "GET /next HTTP/1.1\r\nHo"} {
				conn.SetDeadline(time.Now().Add(5 * time.Second)) // well before the client timeout
				io.WriteString(conn, "POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 2\r\n\r\nhi"+follow)
				if resp, _ := readRawResponse(t, br, "GET"); resp.StatusCode != 200 {
					t.Fatalf("followed by %q: %d", follow, resp.StatusCode)
				}
				if follow != "\r\n" {
					io.WriteString(conn, "st: app\r\n\r\n")
					if resp, _ := readRawResponse(t, br, "GET"); resp.StatusCode != 200 {
						t.Fatalf("the pipelined request: %d", resp.StatusCode)
					}
				}
			}
		})
	}
}
