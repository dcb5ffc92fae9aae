package proxy

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// The plain-HTTP loop serves inside one wait on the netpoller and may wait without reading first (sockConn.poll).
// These tests are the cases where that could lose a request: one that arrives while the one before is at
// the instance, the next request sent the moment an answer is read, bodies and heads in pieces.

// A request pipelined while the one before it is held at the instance is answered after it.
func TestInPollPipelinedWhileAtInstance(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))
	conn, br := dialRaw(t, addr)
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
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))
	conn, br := dialRaw(t, addr)
	conn.SetDeadline(time.Now().Add(hangGuard))
	for i := range 3000 {
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
	up := newUpstream(t, "v1")
	addr := startServe(t, newProxy(t, Route{Stable: up.asStable()}))
	conn, br := dialRaw(t, addr)
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
