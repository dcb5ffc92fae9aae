package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Serve accepts connections on l and serves them until l is closed. HTTP/1.1 is served by a loop of its own:
// read a request, forward it, write the answer, and flush only when no further request is already buffered.
// net/http's server starts a background read and a goroutine handover per request and sorts response
// headers; the loop does none of that (bench/README.md has the figures). Connections that open with the
// HTTP/2 preface (h2c) are handed to a net/http server with the same Proxy as handler. Serve is a Site with p
// as its only environment, which takes the whole address.
func (p *Proxy) Serve(l net.Listener) error {
	s := &Site{}
	s.SetHosts([]*Host{{Proxy: p, H2C: true}})
	return s.Serve(l)
}

// trackedConn is a client connection Serve knows about, so it can close it when serving stops.
type trackedConn struct {
	net.Conn
	set  *connSet
	busy atomic.Bool
}

// trackerOf returns the tracked connection under c, if Serve tracks it.
func trackerOf(c net.Conn) *trackedConn {
	switch c := c.(type) {
	case *trackedConn:
		return c
	case *tlsTracked:
		return c.tracked
	}
	return nil
}

type connSet struct {
	mu      sync.Mutex
	m       map[*trackedConn]struct{}
	closing atomic.Bool // read after every request: no lock
}

func (s *connSet) add(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	s.m[tc] = struct{}{}
	s.mu.Unlock()
	return tc
}

func (s *connSet) remove(tc *trackedConn) {
	s.mu.Lock()
	delete(s.m, tc)
	s.mu.Unlock()
}

func (s *connSet) isClosing() bool { return s.closing.Load() }

func (s *connSet) closeIdle() {
	s.mu.Lock()
	s.closing.Store(true)
	for tc := range s.m {
		if !tc.busy.Load() {
			tc.Close()
		}
	}
	s.mu.Unlock()
}

const (
	// headerTimeout and idleTimeout are the net/http server's (HTTP/2); ferry's own loop takes the
	// environment's Options.
	headerTimeout = DefaultClientTimeout
	idleTimeout   = DefaultIdleTimeout
)

// h2Preface starts every HTTP/2 connection; "PRI" is no HTTP/1 method.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// serveConn serves one client connection of s: HTTP/1.1 requests in a loop, each routed by its Host to an
// environment's proxy. secure is set on a TLS connection (then sni is the name the client asked for). The
// request head is read before its Host is known, so the head's limit and timeouts are the site's (the most
// lenient of its environments' options, taken when the connection opens); the body limit, the forwarded
// headers and the upstream timeout are the environment's.
func (s *Site) serveConn(c net.Conn, secure bool, sni string) {
	o := s.table.Load().connOptions()
	cr := &connReader{c: c, left: o.MaxHeaderBytes}
	br := bufio.NewReaderSize(cr, 8<<10)
	dl := lazyDeadline{set: c.SetReadDeadline}
	dl.in(time.Now(), o.ClientTimeout)
	if b, err := br.Peek(3); !secure && err == nil && string(b) == h2Preface[:3] && s.table.Load().h2c {
		c.SetReadDeadline(time.Time{})
		cr.left = -1 // the head budget is for HTTP/1 request heads; HTTP/2 bounds its own frames
		if tc := trackerOf(c); tc != nil {
			tc.busy.Store(true)
		}
		s.serveH2(c, br, false)
		return
	}
	defer c.Close()
	remote := c.RemoteAddr().String()
	hc := &h1Conn{s: s, c: c, secure: secure, sni: sni, cr: cr, br: br, bw: bufio.NewWriterSize(c, 8<<10), dl: dl, remote: remote}
	hc.clientIP, _, _ = net.SplitHostPort(remote)
	if sock := sockUnder(c); sock != nil {
		hc.serveInPoll(sock)
		return
	}
	for {
		req, err, quiet := hc.next()
		if quiet || !hc.serve(req, err) {
			return
		}
	}
}

// sockUnder returns the sockConn a client connection reads through (plain, or under TLS), or nil.
func sockUnder(c net.Conn) *sockConn {
	switch t := c.(type) {
	case *tls.Conn:
		c = t.NetConn()
	case *tlsTracked:
		c = t.tracked
	}
	if tc, ok := c.(*trackedConn); ok {
		s, _ := tc.Conn.(*sockConn)
		return s
	}
	return nil
}

// skipEmptyLines drops the empty lines (CRLF) buffered before a request line, which RFC 9112 section 2.2 asks
// a server to ignore (clients have sent one after a body). It reports whether it dropped some and that
// emptied the buffer, so the caller reads on.
func skipEmptyLines(br *bufio.Reader) bool {
	skipped := false
	for {
		b, _ := br.Peek(min(br.Buffered(), 2))
		if len(b) < 2 || b[0] != '\r' || b[1] != '\n' {
			return skipped && br.Buffered() == 0
		}
		br.Discard(2)
		skipped = true
	}
}

// h1Conn is an HTTP/1.1 client connection being served.
type h1Conn struct {
	s        *Site
	c        net.Conn
	secure   bool
	sni      string
	cr       *connReader
	br       *bufio.Reader
	bw       *bufio.Writer
	dl       lazyDeadline
	sc       scratch
	remote   string
	clientIP string
}

// next waits for the next request and reads its head. quiet says the connection ended while idle (closed,
// reset, idle timeout): nothing is answered.
func (hc *h1Conn) next() (req *http.Request, err error, quiet bool) {
	o := hc.s.table.Load().connOptions()
	if hc.br.Buffered() == 0 {
		hc.dl.in(time.Now(), o.IdleTimeout)
		if _, err := hc.br.Peek(1); err != nil {
			return nil, err, true
		}
	}
	for skipEmptyLines(hc.br) {
		if _, err := hc.br.Peek(1); err != nil {
			return nil, err, true
		}
	}
	// A head already whole in the buffer needs no deadline to be read; one still arriving has the client
	// timeout. Bodies bound each of their reads themselves (limitedBody), so the deadline left from here is
	// cleared only before an upgrade, whose reads have none.
	if !headBuffered(hc.br) {
		hc.dl.in(time.Now(), o.ClientTimeout)
	}
	hc.cr.left = max(o.MaxHeaderBytes-hc.br.Buffered(), 1)
	req, err = readRequest(hc.br, &hc.sc)
	hc.cr.left = -1
	return req, err, false
}

// serveInPoll serves an HTTP/1.1 connection (plain, or TLS over the sockConn) inside one wait on the
// netpoller (sockConn.poll), as an event loop would: the requests that are whole in the buffer, with their
// bodies, are answered there, and when the last read emptied the socket the wait for the next request
// begins without a read that can only find nothing. A request that needs more of the connection than its
// buffer (a body still arriving, an upgrade, a head past the buffer) is handed to the ordinary loop, and
// the wait starts again after it.
func (hc *h1Conn) serveInPoll(sock *sockConn) {
	hc.cr.left = -1 // heads are read whole from the buffer here; only a head still arriving has a budget
	for {
		var pending *http.Request
		var perr error
		handOver, done, headTimed := false, false, false
		// wait flushes the answers written so far (to pipelined requests) before the step waits.
		wait := func() bool {
			hc.bw.Flush()
			return false
		}
		err := sock.poll(func() bool {
			for {
				o := hc.s.table.Load().connOptions()
				if hc.br.Buffered() == 0 {
					hc.dl.in(time.Now(), o.IdleTimeout)
					if _, err := hc.br.Peek(1); err != nil {
						if errors.Is(err, errWouldBlock) {
							return wait()
						}
						done = true // closed or reset while idle: nothing to answer
						return true
					}
					continue
				}
				if skipEmptyLines(hc.br) {
					continue
				}
				n := headLen(hc.br)
				if n > o.MaxHeaderBytes {
					hc.serve(nil, errHeaderTooLarge)
					done = true
					return true
				}
				if n < 0 {
					b := hc.br.Buffered()
					if b >= o.MaxHeaderBytes || b == hc.br.Size() {
						handOver = true // the loop reads it, and answers 431 past the limit
						return true
					}
					if !headTimed {
						// The head as a whole has the client timeout, not each piece of it.
						hc.dl.in(time.Now(), o.ClientTimeout)
						headTimed = true
					}
					hc.cr.left = o.MaxHeaderBytes - b
					_, err := hc.br.Peek(b + 1)
					hc.cr.left = -1
					if errors.Is(err, errWouldBlock) {
						return wait()
					}
					if err != nil {
						handOver = true // the loop's read meets the same end and answers it
						return true
					}
					continue
				}
				req, err := readRequest(hc.br, &hc.sc)
				headTimed = false
				if err != nil || !wholeInBuffer(req, hc.br) {
					pending, perr = req, err
					return true
				}
				if !hc.serve(req, nil) {
					done = true
					return true
				}
			}
		})
		if !done && hc.bw.Buffered() > 0 && hc.bw.Flush() != nil {
			return // answers to earlier pipelined requests go out before the loop may wait
		}
		switch {
		case done:
			return
		case err != nil:
			// The wait ended: idle or client timeout, or the connection closed. A head cut short gets the
			// 400 the loop gives it.
			if hc.br.Buffered() > 0 {
				hc.serve(nil, err)
			}
			return
		case handOver:
			req, err, quiet := hc.next()
			if quiet || !hc.serve(req, err) {
				return
			}
		default:
			if !hc.serve(pending, perr) {
				return
			}
		}
	}
}

// wholeInBuffer reports whether answering req reads nothing more of the client than br holds: no upgrade,
// and no body or all of it buffered.
func wholeInBuffer(req *http.Request, br *bufio.Reader) bool {
	switch {
	case isUpgrade(req):
		return false
	case req.ContentLength == 0:
		return len(req.TransferEncoding) == 0
	case req.ContentLength > 0:
		return len(req.TransferEncoding) == 0 && int64(br.Buffered()) >= req.ContentLength && req.Header.Get("Expect") == ""
	}
	return false
}

// serve answers one request read from the connection, or the error its head gave, and reports whether the
// connection goes on.
func (hc *h1Conn) serve(req *http.Request, err error) bool {
	bw, br, c := hc.bw, hc.br, hc.c
	if err != nil {
		if !errors.Is(err, io.EOF) {
			code := http.StatusBadRequest
			if errors.Is(err, errHeaderTooLarge) {
				code = http.StatusRequestHeaderFieldsTooLarge
			}
			writeSimple(bw, code, http.StatusText(code)+"\n", true)
			bw.Flush()
		}
		return false
	}
	tc := trackerOf(c)
	if tc != nil {
		tc.busy.Store(true)
	}
	req.RemoteAddr = hc.remote
	h := hc.s.table.Load().lookup(req.Host, hc.sni)
	if h == nil || !hc.secure && (h.Challenge != nil || h.Redirect) {
		if hc.s.answerHere(bw, req, h, hc.secure) && !req.Close && drainBody(req) {
			if br.Buffered() == 0 && bw.Flush() != nil {
				return false
			}
			if tc != nil {
				tc.busy.Store(false)
			}
			return true
		}
		bw.Flush()
		return false
	}
	p := h.Proxy
	if isUpgrade(req) {
		if req.ContentLength != 0 {
			// An upgrade carries no body (WebSocket never does); one that does cannot be joined byte for byte.
			writeSimple(bw, http.StatusBadRequest, "ferry: an upgrade request cannot carry a body\n", true)
			bw.Flush()
			return false
		}
		hc.dl.clear()
		p.serveUpgrade(c, br, bw, req, hc.clientIP, hc.secure)
		return false
	}
	if !p.admitBodyConn(bw, req, c) {
		bw.Flush()
		return false
	}
	if req.Header.Get("Expect") == "100-continue" && req.ContentLength != 0 {
		// The upstream gets the body without asking again; tell the client to send it.
		bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
		req.Header.Del("Expect")
	}
	hsts := ""
	if hc.secure {
		hsts = h.hstsLine
	}
	keep := p.serveOne(bw, req, hc.clientIP, hc.secure, hsts)
	if req.Body != http.NoBody {
		hc.dl.forget() // a body's reads set deadlines of their own (limitedBody)
	}
	if tc != nil {
		tc.busy.Store(false)
		if tc.set.isClosing() {
			keep = false
		}
	}
	if !keep {
		bw.Flush()
		return false
	}
	return br.Buffered() > 0 || bw.Flush() == nil
}

// serveOne answers one request and reports whether the connection can serve another. secure says the client
// came over TLS; extra is header lines to add to the upstream's answer (HSTS), "" for none.
func (p *Proxy) serveOne(bw *bufio.Writer, req *http.Request, clientIP string, secure bool, extra string) bool {
	keep := !req.Close
	if p.gate.Load() != nil {
		bw.Flush() // answers to earlier pipelined requests go out before this one waits
		if ok, msg := p.admit(context.Background()); !ok {
			writeMaintenance(bw, msg, !keep)
			return keep && drainBody(req)
		}
	}
	t := p.cur.Load()
	if t == nil {
		writeSimple(bw, http.StatusServiceUnavailable, msgNoRelease+"\n", !keep)
		return keep && drainBody(req)
	}
	tg, b, cookie := t.choose(req)
	start := time.Now()
	if b == nil {
		writeSimple(bw, http.StatusServiceUnavailable, msgNoInstance+"\n", !keep)
		tg.stats.Record(start, http.StatusServiceUnavailable, time.Since(start))
		return keep && drainBody(req)
	}
	f := p.fwdFor(clientIP, secure)
	f.asLines = true
	resp, uc, b, err := tg.roundTrip(context.Background(), b, req, &f)
	defer b.inflight.Add(-1)
	if err != nil {
		code, msg := upstreamFailure(err)
		if code == http.StatusRequestEntityTooLarge {
			keep = false // the rest of the body is not read
		} else {
			p.logError("upstream", b.addr, err)
		}
		writeSimple(bw, code, msg+"\n", !keep)
		tg.stats.Record(start, code, time.Since(start))
		return keep && drainBody(req)
	}
	if req.ProtoAtLeast(1, 1) {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	writeInt(bw, int64(resp.StatusCode), 10)
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(resp.StatusCode))
	bw.WriteString("\r\n")
	eventStream := uc.sc.eventStream
	if uc.sc.asLines {
		bw.Write(uc.sc.lines)
	} else {
		writeHeader(bw, resp.Header)
		eventStream = strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	}
	bw.WriteString(extra)
	if cookie != "" {
		bw.WriteString("Set-Cookie: ")
		bw.WriteString(cookie)
		bw.WriteString("\r\n")
	}
	noBody := req.Method == "HEAD" || resp.StatusCode == 204 || resp.StatusCode == 304
	chunked := false
	switch {
	case resp.ContentLength >= 0 && (!noBody || resp.ContentLength > 0):
		bw.WriteString("Content-Length: ")
		writeInt(bw, resp.ContentLength, 10)
		bw.WriteString("\r\n")
	case noBody:
	case req.ProtoAtLeast(1, 1):
		chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		keep = false // an HTTP/1.0 client reads an answer of unknown length to the connection's end
	}
	if !keep {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	var cerr error
	if !noBody {
		cerr = copyTo(bw, resp, chunked, eventStream)
	}
	resp.Body.Close()
	code := resp.StatusCode // resp is the connection's own: not read once it is back in the pool
	if cerr != nil || resp.Close {
		uc.Close()
	} else {
		b.pool.put(uc)
	}
	tg.stats.Record(start, code, time.Since(start))
	return keep && cerr == nil && drainBody(req)
}

func writeHeader(bw *bufio.Writer, h http.Header) {
	extraHop := connectionTokens(h)
	for k, vv := range h {
		if hopByHop[k] || extraHop != nil && extraHop[k] || k == "Content-Length" {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

// copyTo writes the response body to the client. A stream (a body of unknown length, sent chunked, or
// server-sent events) is flushed after every read, so events and long polls reach the client as they are
// written.
func copyTo(bw *bufio.Writer, resp *http.Response, chunked, eventStream bool) error {
	if !chunked && !eventStream {
		_, err := io.Copy(bw, resp.Body)
		return err
	}
	buf := getBuf()
	defer putBuf(buf)
	for {
		n, err := resp.Body.Read(*buf)
		if n > 0 {
			if chunked {
				writeInt(bw, int64(n), 16)
				bw.WriteString("\r\n")
			}
			bw.Write((*buf)[:n])
			if chunked {
				bw.WriteString("\r\n")
			}
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			if chunked {
				_, werr := bw.WriteString("0\r\n\r\n")
				return werr
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeInt writes n in the base without allocating.
func writeInt(bw *bufio.Writer, n int64, base int) {
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, base)) // in the buffer's free space: no allocation
}

func writeSimple(bw *bufio.Writer, code int, msg string, closing bool) {
	bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) +
		"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(msg)) + "\r\n")
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n" + msg)
}

// drainBody reads what is left of a request body so the next request on the connection can be read; a body
// too large to skip closes the connection instead.
func drainBody(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	n, err := io.Copy(io.Discard, io.LimitReader(req.Body, 256<<10))
	return err == nil && n < 256<<10
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && connectionTokens(r.Header)["Upgrade"]
}

// serveUpgrade passes a protocol upgrade (WebSocket) through: the request goes to an instance on a connection
// of its own, and after a 101 the two connections are joined byte for byte until either side closes.
func (p *Proxy) serveUpgrade(c net.Conn, br *bufio.Reader, bw *bufio.Writer, req *http.Request, clientIP string, secure bool) {
	if p.gate.Load() != nil {
		if ok, msg := p.admit(context.Background()); !ok {
			writeMaintenance(bw, msg, true)
			bw.Flush()
			return
		}
	}
	t := p.cur.Load()
	if t == nil {
		writeSimple(bw, http.StatusServiceUnavailable, msgNoRelease+"\n", true)
		bw.Flush()
		return
	}
	tg, b, cookie := t.choose(req)
	start := time.Now()
	if b == nil {
		writeSimple(bw, http.StatusServiceUnavailable, msgNoInstance+"\n", true)
		bw.Flush()
		return
	}
	b.inflight.Add(1)
	defer b.inflight.Add(-1)
	up, err := b.pool.dialer.Dial("tcp", b.addr)
	if err != nil {
		writeSimple(bw, http.StatusBadGateway, msgUpstream+"\n", true)
		bw.Flush()
		tg.stats.Record(start, http.StatusBadGateway, time.Since(start))
		return
	}
	defer up.Close()
	ubr, ubw := bufio.NewReader(up), bufio.NewWriter(up)
	f := p.fwdFor(clientIP, secure)
	if err := writeUpgradeRequest(ubw, req, &f); err != nil {
		return
	}
	up.SetReadDeadline(time.Now().Add(f.timeout))
	resp, err := http.ReadResponse(ubr, req)
	up.SetReadDeadline(time.Time{})
	if err != nil {
		writeSimple(bw, http.StatusBadGateway, msgUpstream+"\n", true)
		bw.Flush()
		tg.stats.Record(start, http.StatusBadGateway, time.Since(start))
		return
	}
	tg.stats.Record(start, resp.StatusCode, time.Since(start))
	bw.WriteString("HTTP/1.1 " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode) + "\r\n")
	if cookie != "" {
		bw.WriteString("Set-Cookie: " + cookie + "\r\n")
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		writeHeader(bw, resp.Header)
		if resp.ContentLength >= 0 {
			bw.WriteString("Content-Length: " + strconv.FormatInt(resp.ContentLength, 10) + "\r\n")
		}
		bw.WriteString("Connection: close\r\n\r\n")
		io.Copy(bw, resp.Body)
		bw.Flush()
		return
	}
	// A 101 keeps its Connection and Upgrade headers: they are the answer.
	resp.Header.Write(bw)
	bw.WriteString("\r\n")
	if bw.Flush() != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(up, br); closeWrite(up) }()
	go func() { defer wg.Done(); io.Copy(c, ubr); closeWrite(c) }()
	wg.Wait()
}

func writeUpgradeRequest(bw *bufio.Writer, r *http.Request, f *fwd) error {
	bw.WriteString(r.Method + " " + r.RequestURI + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
	for k, vv := range r.Header {
		if forwardedHeader(k) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k + ": " + v + "\r\n")
		}
	}
	writeForwarded(bw, r.Header, r.Host, f)
	bw.WriteString("\r\n")
	return bw.Flush()
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	} else {
		c.Close()
	}
}

var errHeaderTooLarge = errors.New("request header too large")

// connReader bounds how much of a connection a request head may take: left is the budget while a head is
// read, and -1 while a body is.
type connReader struct {
	c    net.Conn
	left int
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, errHeaderTooLarge
	}
	if r.left > 0 && len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.c.Read(p)
	if r.left > 0 {
		r.left -= n
	}
	return n, dataFirst(n, err)
}

// dataFirst drops errWouldBlock from a read that also gave data (crypto/tls can: data, then the start of an
// alert record): bufio would keep the error for a later read, which may run outside sockConn.poll, where it
// would end the connection.
func dataFirst(n int, err error) error {
	if n > 0 && err == errWouldBlock {
		return nil
	}
	return err
}

// dataFirstReader is a reader whose reads go through dataFirst.
type dataFirstReader struct{ r io.Reader }

func (d dataFirstReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	return n, dataFirst(n, err)
}
