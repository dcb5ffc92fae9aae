package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The upstream client is ferry's own HTTP/1.1 client: a request is written straight onto a pooled keep-alive
// connection and the response read back on the same goroutine. net/http's Transport runs two goroutines per
// connection and hands every request and response across channels between them; on a loopback hot path that
// handover costs more than the proxying itself (bench/README.md).

// pool keeps idle keep-alive connections to one upstream address.
type pool struct {
	addr    string
	maxIdle int
	dialer  net.Dialer

	mu     sync.Mutex
	idle   []*upConn // most recently used last
	closed bool
}

type upConn struct {
	net.Conn
	br *bufio.Reader
	bw *bufio.Writer
	sc scratch

	sock      *sockConn // Conn as a sockConn, or nil
	idleSince time.Time // when it went back to the pool
	dl        lazyDeadline
}

func newPool(addr string) *pool {
	return &pool{addr: addr, maxIdle: 512, dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
}

// get returns an idle connection, or dials one (always when fresh); reused says which.
func (p *pool) get(ctx context.Context, fresh bool) (c *upConn, reused bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 && !fresh {
		c = p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	nc = newSockConn(nc)
	sock, _ := nc.(*sockConn)
	return &upConn{Conn: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 8<<10), sock: sock, dl: lazyDeadline{set: nc.SetReadDeadline}}, false, nil
}

// put returns a connection whose response was read to its end.
func (p *pool) put(c *upConn) {
	c.idleSince = time.Now()
	// The answer kept in the scratch points to its request, and through it to the client's connection: an
	// idle connection must not hold that.
	c.sc.resp, c.sc.body = http.Response{}, fixedBody{}
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// dropIdle closes the idle connections.
func (p *pool) dropIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// close closes the idle connections and every connection put back later.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
}

// hopByHop are the headers that describe one connection, not the message; a proxy never forwards them.
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// writeRequest writes r onto the connection as an HTTP/1.1 request with the X-Forwarded-* and Forwarded
// headers set (forwarded.go).
func writeRequest(bw *bufio.Writer, r *http.Request, f *fwd) error {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' && uri != "*" {
		uri = r.URL.RequestURI()
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	extraHop := connectionTokens(r.Header)
	for k, vv := range r.Header {
		if hopByHop[k] || extraHop != nil && extraHop[k] || k == "Content-Length" || forwardedHeader(k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	writeForwarded(bw, r.Header, r.Host, f)
	if r.Header.Get("Te") == "trailers" {
		bw.WriteString("Te: trailers\r\n")
	}
	chunked := false
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		if r.ContentLength > 0 || methodHasBody(r.Method) {
			bw.WriteString("Content-Length: 0\r\n")
		}
	case r.ContentLength >= 0:
		bw.WriteString("Content-Length: ")
		writeInt(bw, r.ContentLength, 10)
		bw.WriteString("\r\n")
	default:
		chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	bw.WriteString("\r\n")
	if r.Body != nil && r.Body != http.NoBody {
		if err := writeBody(bw, r.Body, chunked, r.ContentLength); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func methodHasBody(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" }

// writeBody copies a request body to the instance. A body of declared length that ends early or runs long is
// an error and the connection is not used again: the instance would read what follows on it as the rest of
// the body (request smuggling). ferry's readers never give one; this is the backstop.
func writeBody(bw *bufio.Writer, body io.Reader, chunked bool, length int64) error {
	if !chunked {
		n, err := io.Copy(bw, io.LimitReader(body, length+1))
		if err == nil && n != length {
			err = errBodyLength
		}
		return err
	}
	buf := getBuf()
	defer putBuf(buf)
	for {
		n, err := body.Read(*buf)
		if n > 0 {
			fmt.Fprintf(bw, "%x\r\n", n)
			bw.Write((*buf)[:n])
			bw.WriteString("\r\n")
			// A streaming request body reaches the upstream as it arrives.
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			_, werr := bw.WriteString("0\r\n\r\n")
			return werr
		}
		if err != nil {
			return err
		}
	}
}

// connectionTokens returns the extra hop-by-hop headers named in Connection, or nil.
func connectionTokens(h http.Header) map[string]bool {
	vv := h["Connection"]
	if len(vv) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, v := range vv {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				m[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return m
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

// roundTrip sends r on a connection from p and returns the response, whose Body must be read to its end or
// closed, and the connection, which goes back to the pool after that. A reused connection that turns out
// closed before any answer (the instance closed it while idle) is replaced by a fresh one, and the pool's
// other idle connections, as old or older, are dropped; a request with a body is not sent twice.
func (p *pool) roundTrip(ctx context.Context, r *http.Request, f *fwd) (*http.Response, *upConn, error) {
	fresh := false
	for {
		c, reused, err := p.get(ctx, fresh)
		if err != nil {
			return nil, nil, &dialError{err}
		}
		resp, err := c.exchange(ctx, r, f)
		if err == nil {
			return resp, c, nil
		}
		c.Close()
		if reused && ctx.Err() == nil && (r.Body == nil || r.Body == http.NoBody) && isEarlyClose(err) && !isTimeout(err) {
			p.dropIdle()
			fresh = true
			continue
		}
		return nil, nil, err
	}
}

// exchange writes r and reads the head of its answer. A client that goes away meanwhile (an HTTP/2 stream
// reset: ctx ends) ends the exchange at once, and the connection with it; ferry's HTTP/1.1 loop passes a
// context that never ends and pays nothing for this.
func (c *upConn) exchange(ctx context.Context, r *http.Request, f *fwd) (resp *http.Response, err error) {
	stop := closeOnCancel(ctx, c)
	defer func() {
		// A client gone after the answer was read has still closed the connection: it must not be pooled.
		if !stop.release() && err == nil {
			resp, err = nil, context.Cause(ctx)
		}
	}()
	now := time.Now()
	if c.sock != nil && (r.Body == nil || r.Body == http.NoBody) && c.br.Buffered() == 0 && now.Sub(c.idleSince) < heldRequestIdle {
		// The request goes out when the answer is first read, which then waits without a read that can
		// only find nothing (sockConn).
		c.sock.deferNext()
	}
	if err := writeRequest(c.bw, r, f); err != nil {
		return nil, err
	}
	c.dl.in(now, f.timeout)
	for {
		resp, err := readResponse(c.br, r, f.asLines, &c.sc)
		if err != nil {
			return nil, err
		}
		// 1xx answers other than 101 precede the real one.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		// The timeout bounds the wait for the answer to begin; a body still to come (a download, a stream)
		// is read without one. A body already buffered needs no read, and the next exchange on the
		// connection sets its own deadline.
		if resp.ContentLength < 0 || int64(c.br.Buffered()) < resp.ContentLength {
			c.dl.clear()
		}
		return resp, nil
	}
}

// heldRequestIdle is how long a connection may have idled in the pool and still have its request held for
// the first read of the answer. Past it, the instance may have closed the connection meanwhile, and the
// read that finds the close at once is worth its system call.
const heldRequestIdle = time.Second

var errBodyLength = errors.New("request body length differs from its Content-Length")

// dialError says the request never left: the instance could not be reached, so another one may take it.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

func isDialError(err error) bool {
	var de *dialError
	return errors.As(err, &de)
}

// isTimeout reports whether the instance did not begin its answer in time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && !isDialError(err)
}

func isEarlyClose(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne *net.OpError
	return errors.As(err, &ne)
}
