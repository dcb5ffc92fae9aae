package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ferry serves HTTP/2 itself, with golang.org/x/net/http2's framer and HPACK codec. net/http's HTTP/2 server
// writes every answer's HEADERS frame from a goroutine of its own and flushes between it and the DATA frame
// that follows, so a small answer costs two TLS records, two system calls and four goroutine handovers; it
// served half nginx's requests per CPU-second (bench/README.md). Here a stream's handler writes its whole
// small answer (HEADERS and DATA) under the connection's write lock with one flush.
//
// One goroutine per connection reads frames; each request runs in a goroutine of its own, as many at once
// as the client may open streams (MAX_CONCURRENT_STREAMS). Defences, each tested in h2_test.go:
//   - flow control both ways: a client can make ferry hold at most the windows it advertised (1 MiB per
//     connection), and ferry never sends past the client's windows;
//   - header lists bounded by the site's max_header_bytes (431 past it), CONTINUATION bounded by the framer;
//   - streams reset by the client still count until their handler ends, and a client that keeps more than
//     4 × MAX_CONCURRENT_STREAMS handlers busy is sent GOAWAY (the rapid-reset attack, CVE-2023-44487);
//   - a client that stops reading is cut by the write deadline; idle connections close after the idle
//     timeout, and a frame must arrive whole within it.

const (
	h2MaxStreams    = 250
	h2StreamWindow  = 1 << 20 // what a client may send on one stream before ferry reads it
	h2ConnWindow    = 1 << 20 // and on all streams together
	h2WindowBatch   = 32 << 10
	h2BufferedReply = 16 << 10 // a handler's answer up to this is sent whole when the handler returns
)

var errStreamReset = errors.New("http2: stream reset")

// h2Conn is one HTTP/2 client connection of a site.
type h2Conn struct {
	site     *Site
	conn     net.Conn
	secure   bool
	tls      *tls.ConnectionState
	remote   string
	opts     Options
	br       *bufio.Reader
	fr       *http2.Framer
	readDead lazyDeadline

	wmu       sync.Mutex // orders writes: framer output, bw, the HPACK encoder, the write deadline
	bw        *bufio.Writer
	henc      fieldEncoder
	writeDead lazyDeadline // under wmu
	writeErr  error

	mu          sync.Mutex
	cond        *sync.Cond // flow control and stream ends
	streams     map[uint32]*h2Stream
	sendWindow  int64          // what ferry may still send on the connection
	peerInitial int64          // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame   int            // the client's SETTINGS_MAX_FRAME_SIZE
	recvUnacked int64          // connection-level bytes read by handlers and not yet given back
	bodyHeld    int64          // bytes in request bodies not yet read by handlers
	pending     []func() error // control frames queued under mu, written by flushPending
	calm        bool           // pending overflowed: the client is sent GOAWAY ENHANCE_YOUR_CALM
	maxID       uint32
	closedIDs   idRing // streams opened and since closed: frames on them are STREAM_CLOSED
	resetIDs    idRing // streams ferry reset or ended early: frames in flight on them are ignored
	running     int    // handlers not yet returned, reset streams included
	goingAway   bool
	closed      bool
	done        chan struct{}
}

type h2Stream struct {
	id         uint32
	ctx        streamCtx
	sendWindow int64
	recvAvail  int64 // what the client may still send before a WINDOW_UPDATE
	unacked    int64
	body       *h2Body // nil without a request body
	declared   int64   // content-length, -1 without
	received   int64
	remoteDone bool // END_STREAM seen
	reset      bool
	req        http.Request // the request as its header list gave it, before its context is set
	url        url.URL
}

// serveH2 serves c (whose client preface may be partly in br) until it ends.
func (s *Site) serveH2(c net.Conn, br *bufio.Reader, secure bool) {
	defer c.Close()
	sc := &h2Conn{
		site: s, conn: c, secure: secure, remote: c.RemoteAddr().String(), br: br,
		opts: *s.table.Load().connOptions(), streams: map[uint32]*h2Stream{},
		sendWindow: 65535, peerInitial: 65535, peerFrame: 16384, done: make(chan struct{}),
	}
	sc.cond = sync.NewCond(&sc.mu)
	if tc, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		st := tc.ConnectionState()
		sc.tls = &st
	}
	if sc.br == nil {
		sc.br = bufio.NewReaderSize(dataFirstReader{c}, 16<<10)
	}
	sc.bw = bufio.NewWriterSize(c, 16<<10)
	sc.readDead.set, sc.writeDead.set = c.SetReadDeadline, c.SetWriteDeadline
	sc.fr = http2.NewFramer(sc.bw, sc.br)
	sc.fr.SetMaxReadFrameSize(16384) // SETTINGS_MAX_FRAME_SIZE's default, which ferry keeps
	sc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	sc.fr.MaxHeaderListSize = uint32(min(max(sc.opts.MaxHeaderBytes, 4096), 16<<20))
	s.h2conns.add(sc)
	defer s.h2conns.remove(sc)
	defer sc.shutdownStreams()
	sc.serve()
}

func (sc *h2Conn) serve() {
	sc.conn.SetReadDeadline(time.Now().Add(sc.opts.ClientTimeout))
	preface := make([]byte, len(h2Preface))
	if _, err := io.ReadFull(sc.br, preface); err != nil || string(preface) != h2Preface {
		return
	}
	err := sc.write(func() error {
		if err := sc.fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: sc.fr.MaxHeaderListSize},
		); err != nil {
			return err
		}
		return sc.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}, true)
	if err != nil {
		return
	}
	first := true
	// frame acts on one frame read, or on the error reading it gave; false ends the connection.
	frame := func(f http2.Frame, err error) bool {
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				sc.streamError(se)
				return sc.flushPending()
			}
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &ce):
				sc.goAway(http2.ErrCode(ce))
			case errors.Is(err, http2.ErrFrameTooLarge):
				sc.goAway(http2.ErrCodeFrameSize)
			}
			return false
		}
		if first {
			if _, ok := f.(*http2.SettingsFrame); !ok {
				sc.goAway(http2.ErrCodeProtocol) // the preface's second half is a SETTINGS frame
				return false
			}
			first = false
		}
		if code, ok := sc.handle(f); !ok {
			sc.goAway(code)
			return false
		}
		if !sc.flushPending() {
			return false
		}
		sc.mu.Lock()
		finished := sc.goingAway && len(sc.streams) == 0 && sc.running == 0
		sc.mu.Unlock()
		return !finished
	}
	sock := sockUnder(sc.conn)
	for {
		if sock == nil {
			if err := sc.waitFrame(); err != nil || !frame(sc.fr.ReadFrame()) {
				return
			}
			continue
		}
		// Frames whole in the buffer are read inside one wait on the netpoller (sockConn.poll), as
		// HTTP/1.1 is: a frame is read only once it is whole, so a read that finds nothing never falls in
		// the middle of one. One that cannot be whole in the buffer is read by the ordinary path.
		handOver, done := false, false
		err := sock.poll(func() bool {
			for {
				whole, need := frameInBuffer(sc.br)
				switch {
				case whole:
					if !frame(sc.fr.ReadFrame()) {
						done = true
						return true
					}
				case need == 0:
					handOver = true
					return true
				default:
					if sc.br.Buffered() == 0 {
						// The wait for a frame's first byte has the idle timeout; the rest of the frame must
						// come by the same deadline.
						sc.armIdle()
					}
					if _, err := sc.br.Peek(need); err != nil {
						if errors.Is(err, errWouldBlock) {
							return false
						}
						done = true
						return true
					}
				}
			}
		})
		switch {
		case done:
			return
		case err != nil:
			if sc.br.Buffered() > 0 || !sc.idleAgain(err) {
				return // a frame that did not arrive whole by the deadline ends the connection
			}
		case handOver:
			if err := sc.waitFrame(); err != nil || !frame(sc.fr.ReadFrame()) {
				return
			}
		}
	}
}

// frameInBuffer reports whether the next frame is whole in br; if not, need is how much to peek for it, or 0
// when it cannot be whole there: larger than the buffer, or a header block continued in further frames.
func frameInBuffer(br *bufio.Reader) (whole bool, need int) {
	b := br.Buffered()
	if b < 9 {
		return false, 9
	}
	h, _ := br.Peek(9)
	n := 9 + (int(h[0])<<16 | int(h[1])<<8 | int(h[2]))
	if n > br.Size() || http2.FrameType(h[3]) == http2.FrameHeaders && http2.Flags(h[4])&http2.FlagHeadersEndHeaders == 0 {
		return false, 0
	}
	if b < n {
		return false, n
	}
	return true, 0
}

// waitFrame waits for the next frame's first byte under the idle timeout: a connection without streams past it
// is closed. The deadline is moved lazily (armIdle), so most frames cost no timer update; a frame that does not
// arrive whole by it ends the connection.
func (sc *h2Conn) waitFrame() error {
	for {
		sc.armIdle()
		_, err := sc.br.Peek(1)
		if err == nil {
			return nil
		}
		if !sc.idleAgain(err) {
			return err
		}
	}
}

// armIdle moves the read deadline to the idle timeout from now (lazily: lazyDeadline).
func (sc *h2Conn) armIdle() { sc.readDead.in(time.Now(), sc.opts.IdleTimeout) }

// idleAgain takes a read's error: a timeout while streams are still answering means wait again (true); a
// timeout on an idle connection sends GOAWAY, and it and any other error end the connection.
func (sc *h2Conn) idleAgain(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	sc.mu.Lock()
	busy := len(sc.streams) > 0 || sc.running > 0
	sc.mu.Unlock()
	if !busy {
		sc.goAway(http2.ErrCodeNo)
		return false
	}
	sc.readDead.forget() // streams are still answering: wait again
	return true
}

// handle acts on one frame; false means a connection error with the code.
func (sc *h2Conn) handle(f http2.Frame) (http2.ErrCode, bool) {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return 0, true
		}
		if err := f.ForeachSetting(sc.applySetting); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				return http2.ErrCode(ce), false
			}
			return http2.ErrCodeProtocol, false
		}
		if sc.write(func() error { return sc.fr.WriteSettingsAck() }, true) != nil {
			return http2.ErrCodeInternal, false
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			if sc.write(func() error { return sc.fr.WritePing(true, f.Data) }, true) != nil {
				return http2.ErrCodeInternal, false
			}
		}
	case *http2.WindowUpdateFrame:
		return sc.windowUpdate(f)
	case *http2.MetaHeadersFrame:
		return sc.headers(f)
	case *http2.DataFrame:
		return sc.data(f)
	case *http2.RSTStreamFrame:
		sc.mu.Lock()
		st := sc.streams[f.StreamID]
		idle := f.StreamID > sc.maxID
		if st != nil {
			sc.endStreamLocked(st, true)
		}
		sc.mu.Unlock()
		if idle {
			return http2.ErrCodeProtocol, false
		}
	case *http2.GoAwayFrame:
		// The client opens no more streams; it closes the connection when it is done with it (or the
		// idle timeout does). Nothing else changes (RFC 9113 section 6.8).
	case *http2.PushPromiseFrame:
		return http2.ErrCodeProtocol, false // clients never push
	case *http2.PriorityFrame:
		// Priorities are advice; answers go out as their handlers write them. One on itself is an error.
		if f.StreamDep == f.StreamID {
			sc.resetStream(f.StreamID, http2.ErrCodeProtocol)
		}
	}
	return 0, true
}

func (sc *h2Conn) applySetting(s http2.Setting) error {
	if err := s.Valid(); err != nil {
		return err
	}
	switch s.ID {
	case http2.SettingInitialWindowSize:
		sc.mu.Lock()
		delta := int64(s.Val) - sc.peerInitial
		sc.peerInitial = int64(s.Val)
		for _, st := range sc.streams {
			st.sendWindow += delta
			if st.sendWindow > 1<<31-1 {
				sc.mu.Unlock()
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		}
		sc.cond.Broadcast()
		sc.mu.Unlock()
	case http2.SettingMaxFrameSize:
		sc.mu.Lock()
		sc.peerFrame = int(s.Val)
		sc.mu.Unlock()
	case http2.SettingHeaderTableSize:
		// Nothing to do: ferry's encoder keeps its dynamic table at size 0 (fieldEncoder).
	}
	return nil
}

func (sc *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) (http2.ErrCode, bool) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if f.StreamID == 0 {
		if f.Increment == 0 {
			return http2.ErrCodeProtocol, false
		}
		sc.sendWindow += int64(f.Increment)
		if sc.sendWindow > 1<<31-1 {
			return http2.ErrCodeFlowControl, false
		}
		sc.cond.Broadcast()
		return 0, true
	}
	if f.StreamID > sc.maxID {
		return http2.ErrCodeProtocol, false // an idle stream
	}
	st := sc.streams[f.StreamID]
	if st == nil {
		return 0, true // a stream that has ended
	}
	if f.Increment == 0 || st.sendWindow+int64(f.Increment) > 1<<31-1 {
		code := http2.ErrCodeProtocol
		if f.Increment != 0 {
			code = http2.ErrCodeFlowControl
		}
		sc.endStreamLocked(st, true)
		sc.resetIDs.add(st.id)
		sc.queueResetLocked(st.id, code)
		return 0, true
	}
	st.sendWindow += int64(f.Increment)
	sc.cond.Broadcast()
	return 0, true
}

// headers opens a stream for a request (or takes a request's trailers, which ferry does not forward).
func (sc *h2Conn) headers(f *http2.MetaHeadersFrame) (http2.ErrCode, bool) {
	id := f.StreamID
	sc.mu.Lock()
	if id%2 == 0 {
		sc.mu.Unlock()
		return http2.ErrCodeProtocol, false
	}
	if id <= sc.maxID {
		st := sc.streams[id]
		switch {
		case st == nil && sc.resetIDs.has(id):
			sc.mu.Unlock()
			return 0, true // trailers in flight on a stream ferry ended
		case st == nil && sc.closedIDs.has(id):
			sc.mu.Unlock()
			return http2.ErrCodeStreamClosed, false
		case st == nil:
			sc.mu.Unlock()
			return http2.ErrCodeProtocol, false // a lower identifier than one already used
		case st.remoteDone || !f.StreamEnded():
			sc.mu.Unlock()
			return http2.ErrCodeProtocol, false
		case st.declared >= 0 && st.received != st.declared:
			// Trailers end a body shorter than its content-length: the instance must never get a body
			// that ends early (the rest of its connection would be read as body: request smuggling).
			sc.endStreamLocked(st, true)
			sc.resetIDs.add(id)
			sc.queueResetLocked(id, http2.ErrCodeProtocol)
			sc.mu.Unlock()
			return 0, true
		}
		sc.remoteEndLocked(st)
		sc.mu.Unlock()
		return 0, true
	}
	sc.maxID = id
	if f.HasPriority() && f.Priority.StreamDep == id {
		sc.mu.Unlock()
		sc.resetStream(id, http2.ErrCodeProtocol)
		return 0, true
	}
	if sc.goingAway {
		sc.mu.Unlock()
		return 0, true
	}
	if sc.running >= 4*h2MaxStreams {
		sc.mu.Unlock()
		return http2.ErrCodeEnhanceYourCalm, false
	}
	if len(sc.streams) >= h2MaxStreams {
		sc.resetIDs.add(id)
		sc.mu.Unlock()
		sc.writeReset(id, http2.ErrCodeRefusedStream)
		return 0, true
	}
	sc.mu.Unlock()
	if f.Truncated {
		sc.mu.Lock()
		sc.resetIDs.add(id) // answered at once; what the client still sends on it is dropped
		sc.mu.Unlock()
		sc.replySimple(id, http.StatusRequestHeaderFieldsTooLarge)
		return 0, true
	}
	st := &h2Stream{id: id, recvAvail: h2StreamWindow, remoteDone: f.StreamEnded()}
	req, declared, ok := sc.request(f, st)
	if !ok {
		sc.resetStream(id, http2.ErrCodeProtocol)
		return 0, true
	}
	st.declared = declared
	if f.StreamEnded() {
		if declared > 0 {
			sc.resetStream(id, http2.ErrCodeProtocol)
			return 0, true
		}
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		st.body = newH2Body(sc, st)
		req.Body, req.ContentLength = st.body, declared
	}
	req = req.WithContext(&st.ctx) // the one copy of the request on the heap; st.req was built in place
	sc.mu.Lock()
	st.sendWindow = sc.peerInitial
	sc.streams[id] = st
	sc.running++
	sc.mu.Unlock()
	go sc.runHandler(st, req)
	return 0, true
}

// request builds the http.Request of a stream's header list (RFC 9113 section 8.3) in st; ok is false for
// a malformed one, which the stream is reset for.
func (sc *h2Conn) request(f *http2.MetaHeadersFrame, st *h2Stream) (req *http.Request, declared int64, ok bool) {
	var method, path, scheme, authority string
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method":
			method = hf.Value
		case ":path":
			path = hf.Value
		case ":scheme":
			scheme = hf.Value
		case ":authority":
			authority = hf.Value
		default:
			return nil, 0, false // :protocol (extended CONNECT) is not offered
		}
	}
	if method == "" || path == "" || scheme == "" || method == "CONNECT" || !httpguts.ValidHeaderFieldName(method) || !validPath(path) {
		return nil, 0, false
	}
	u := &st.url
	if !originForm(path, u) { // the common shape, parsed in place; net/url for the rest
		var err error
		if u, err = url.ParseRequestURI(path); err != nil {
			return nil, 0, false
		}
	}
	regular := f.RegularFields()
	h := make(http.Header, len(regular))
	values := make([]string, len(regular)) // one array for every field's value, as the HTTP/1.1 parser does
	declared = -1
	var cookies []string
	for _, hf := range regular {
		switch hf.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return nil, 0, false
		case "te":
			if hf.Value != "trailers" {
				return nil, 0, false
			}
		case "cookie":
			cookies = append(cookies, hf.Value) // joined below, as HTTP/1.1 carries one Cookie line
			continue
		case "host":
			if authority == "" {
				authority = hf.Value
			}
			continue
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || declared >= 0 && declared != n {
				return nil, 0, false
			}
			declared = n
		}
		k := canonicalH2Key(hf.Name)
		if prior, ok := h[k]; ok {
			h[k] = append(prior, hf.Value)
		} else {
			values[0] = hf.Value
			h[k], values = values[:1:1], values[1:]
		}
	}
	if len(cookies) > 0 {
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if !httpguts.ValidHostHeader(authority) {
		return nil, 0, false
	}
	st.req = http.Request{
		Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Host: authority,
		RequestURI: path, RemoteAddr: sc.remote, TLS: sc.tls,
	}
	return &st.req, declared, true
}

// validPath accepts a request target the instance reads as one token of its request line: no spaces,
// controls, non-ASCII bytes or fragment, which HTTP/2's field rules would let through.
func validPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// data takes a DATA frame: the bytes go to the stream's body within the windows ferry advertised.
func (sc *h2Conn) data(f *http2.DataFrame) (http2.ErrCode, bool) {
	n := int64(f.Header().Length) // padding counts against the windows too
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if f.StreamID > sc.maxID {
		return http2.ErrCodeProtocol, false
	}
	// The connection window: what the client may send is what ferry gave, less what is held.
	if n > h2ConnWindow-sc.recvUnacked-sc.bodyHeld {
		return http2.ErrCodeFlowControl, false
	}
	st := sc.streams[f.StreamID]
	if st == nil || st.remoteDone || st.body == nil {
		sc.recvUnacked += n // nobody reads it: give the connection window back at once
		sc.ackLocked(nil)
		switch {
		case st != nil:
			sc.endStreamLocked(st, true)
			sc.resetIDs.add(st.id)
			sc.queueResetLocked(f.StreamID, http2.ErrCodeStreamClosed)
		case !sc.resetIDs.has(f.StreamID):
			sc.queueResetLocked(f.StreamID, http2.ErrCodeStreamClosed)
		}
		return 0, true
	}
	if n > st.recvAvail {
		return http2.ErrCodeFlowControl, false
	}
	st.recvAvail -= n
	data := f.Data()
	st.received += int64(len(data))
	if pad := n - int64(len(data)); pad > 0 {
		sc.recvUnacked += pad
		st.unacked += pad
	}
	if st.declared >= 0 && (st.received > st.declared || f.StreamEnded() && st.received != st.declared) {
		sc.recvUnacked += int64(len(data)) // not kept: the connection window is given back
		sc.ackLocked(nil)
		sc.endStreamLocked(st, true)
		sc.resetIDs.add(st.id)
		sc.queueResetLocked(st.id, http2.ErrCodeProtocol)
		return 0, true
	}
	st.body.push(data)
	if f.StreamEnded() {
		sc.remoteEndLocked(st)
	}
	return 0, true
}

// ackLocked gives window back for what handlers read, in batches: the connection's, and st's when given.
func (sc *h2Conn) ackLocked(st *h2Stream) {
	var conn, stream uint32
	if sc.recvUnacked >= h2WindowBatch || st != nil && st.body != nil && st.body.drained() {
		conn, sc.recvUnacked = uint32(sc.recvUnacked), 0
	}
	if st != nil && !st.remoteDone && st.unacked >= h2WindowBatch {
		stream = uint32(st.unacked)
		st.recvAvail += st.unacked
		st.unacked = 0
	}
	if conn == 0 && stream == 0 {
		return
	}
	var id uint32
	if st != nil {
		id = st.id
	}
	sc.queueLocked(func() error {
		if conn > 0 {
			if err := sc.fr.WriteWindowUpdate(0, conn); err != nil {
				return err
			}
		}
		if stream > 0 {
			return sc.fr.WriteWindowUpdate(id, stream)
		}
		return nil
	})
}

// maxPending bounds the control frames waiting to be written. The reader writes them after every frame it
// reads, blocking while the client does not read, so only handlers' window updates can pile up, at most one
// per stream between two frames; past the bound the client is doing something else and is sent GOAWAY.
const maxPending = 4 * h2MaxStreams

// queueLocked queues a control frame (RST_STREAM, WINDOW_UPDATE) for flushPending; no goroutine is started
// for it, so nothing a client sends multiplies the server's goroutines.
func (sc *h2Conn) queueLocked(fn func() error) {
	if len(sc.pending) >= maxPending {
		sc.calm = true
		return
	}
	sc.pending = append(sc.pending, fn)
}

func (sc *h2Conn) queueResetLocked(id uint32, code http2.ErrCode) {
	sc.queueLocked(func() error { return sc.fr.WriteRSTStream(id, code) })
}

// flushPending writes the queued control frames, with sc.mu not held; false means the connection is done
// (a write failed, or the queue overflowed and the client was sent GOAWAY).
func (sc *h2Conn) flushPending() bool {
	sc.mu.Lock()
	pending, calm := sc.pending, sc.calm
	sc.pending = nil
	sc.mu.Unlock()
	if calm {
		sc.goAway(http2.ErrCodeEnhanceYourCalm)
		sc.conn.Close()
		return false
	}
	if len(pending) == 0 {
		return true
	}
	return sc.write(func() error {
		for _, fn := range pending {
			if err := fn(); err != nil {
				return err
			}
		}
		return nil
	}, true) == nil
}

func (sc *h2Conn) remoteEndLocked(st *h2Stream) {
	st.remoteDone = true
	if st.body != nil {
		st.body.end(io.EOF)
	}
}

// endStreamLocked forgets a stream; reset cancels its handler's request and wakes its waits.
func (sc *h2Conn) endStreamLocked(st *h2Stream, reset bool) {
	if sc.streams[st.id] != st {
		return
	}
	delete(sc.streams, st.id)
	sc.closedIDs.add(st.id)
	if reset {
		st.reset = true
		st.ctx.cancel()
		if st.body != nil {
			st.body.end(errStreamReset)
		}
	}
	if st.body != nil {
		sc.recvUnacked += st.body.discard()
		sc.ackLocked(nil)
	}
	sc.cond.Broadcast()
}

func (sc *h2Conn) streamError(se http2.StreamError) {
	sc.mu.Lock()
	if se.StreamID > sc.maxID {
		sc.maxID = se.StreamID
	}
	if st := sc.streams[se.StreamID]; st != nil {
		sc.endStreamLocked(st, true)
	}
	sc.resetIDs.add(se.StreamID)
	sc.mu.Unlock()
	sc.writeReset(se.StreamID, se.Code)
}

func (sc *h2Conn) runHandler(st *h2Stream, req *http.Request) {
	w := writerPool.Get().(*h2Writer)
	*w = h2Writer{sc: sc, st: st, header: w.header, buf: w.buf, head: req.Method == "HEAD"}
	defer func() {
		// Nothing keeps the writer past the handler: its header map and reply buffer serve the next stream.
		clear(w.header)
		*w = h2Writer{header: w.header, buf: w.buf[:0]}
		writerPool.Put(w)
	}()
	defer func() {
		if recover() != nil {
			sc.resetStream(st.id, http2.ErrCodeInternal)
		} else {
			w.finish()
		}
		sc.mu.Lock()
		sc.running--
		remoteOpen := !st.remoteDone && !st.reset
		sc.endStreamLocked(st, false)
		if remoteOpen {
			sc.resetIDs.add(st.id)
		}
		sc.cond.Broadcast()
		sc.mu.Unlock()
		sc.flushPending()
		if remoteOpen {
			// The answer is complete; the rest of the request is not wanted (RFC 9113 section 8.1).
			sc.writeReset(st.id, http2.ErrCodeNo)
		}
		st.ctx.cancel()
	}()
	sc.site.ServeHTTP(w, req)
}

// write runs fn with the connection's writer, then flushes when asked. The first error is kept: the
// connection is done for after it.
func (sc *h2Conn) write(fn func() error, flush bool) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if sc.writeErr != nil {
		return sc.writeErr
	}
	sc.writeDead.in(time.Now(), sc.opts.ClientTimeout)
	err := fn()
	if err == nil && flush {
		err = sc.bw.Flush()
	}
	if err != nil {
		sc.writeErr = err
		sc.conn.Close() // wakes the reader
	}
	return err
}

// resetStream ends a stream with an error of the code and tells the client.
func (sc *h2Conn) resetStream(id uint32, code http2.ErrCode) {
	sc.mu.Lock()
	if st := sc.streams[id]; st != nil {
		sc.endStreamLocked(st, true)
	}
	sc.resetIDs.add(id)
	sc.mu.Unlock()
	sc.writeReset(id, code)
	sc.flushPending()
}

func (sc *h2Conn) writeReset(id uint32, code http2.ErrCode) {
	sc.write(func() error { return sc.fr.WriteRSTStream(id, code) }, true)
}

func (sc *h2Conn) goAway(code http2.ErrCode) {
	sc.mu.Lock()
	sc.goingAway = true
	last := sc.maxID
	sc.mu.Unlock()
	sc.write(func() error { return sc.fr.WriteGoAway(last, code, nil) }, true)
}

// shutdown asks the client to open no more streams; the connection ends when its streams have.
func (sc *h2Conn) shutdown() {
	sc.goAway(http2.ErrCodeNo)
	sc.mu.Lock()
	idle := len(sc.streams) == 0 && sc.running == 0
	sc.mu.Unlock()
	if idle {
		sc.conn.Close()
	}
}

// shutdownStreams ends what is left when the connection does: requests are cancelled, waits woken.
func (sc *h2Conn) shutdownStreams() {
	sc.mu.Lock()
	sc.closed = true
	for _, st := range sc.streams {
		sc.endStreamLocked(st, true)
	}
	sc.cond.Broadcast()
	sc.mu.Unlock()
	close(sc.done)
}

// replySimple answers a stream with a status and no body.
func (sc *h2Conn) replySimple(id uint32, code int) {
	sc.write(func() error {
		sc.henc.begin()
		sc.henc.status(code)
		return sc.headerFrames(id, true)
	}, true)
}

// h2Writer is a stream's http.ResponseWriter. A small answer is held until the handler returns and then sent
// whole with one flush; a large or flushed one goes out as it is written, within the client's windows.
type h2Writer struct {
	sc       *h2Conn
	st       *h2Stream
	header   http.Header
	code     int
	head     bool
	sentHead bool
	ended    bool
	buf      []byte
	err      error
}

func (w *h2Writer) Header() http.Header { return w.header }

func (w *h2Writer) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("proxy: invalid WriteHeader code " + strconv.Itoa(code)) // as net/http; the stream is reset
	}
	if w.code == 0 && code >= 200 {
		w.code = code
	}
}

func (w *h2Writer) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.head || !bodyAllowed(w.code) {
		return len(p), nil
	}
	if len(w.buf)+len(p) <= h2BufferedReply {
		if w.buf == nil {
			w.buf = make([]byte, 0, h2BufferedReply) // kept with the pooled writer for the streams after
		}
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.send(false); err != nil {
		return 0, err
	}
	if err := w.sendData(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush sends what the handler wrote so far (server-sent events, long polls).
func (w *h2Writer) Flush() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil {
		w.send(false)
	}
}

// finish ends the stream: the answer not yet sent, then the trailers the handler declared.
func (w *h2Writer) finish() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err == nil && !w.ended {
		w.send(true)
	}
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified
}

// send writes the head when not yet sent and the held body; end closes the stream. The head and a body that
// fits the client's windows go out together with one flush.
func (w *h2Writer) send(end bool) error {
	if end {
		if tr := w.trailers(); len(tr) > 0 {
			if err := w.send(false); err != nil {
				return err
			}
			return w.writeTrailers(tr)
		}
	}
	body := w.buf
	n, err := w.reserve(len(body))
	if err != nil {
		w.err = err
		return err
	}
	endHere := end && n == len(body)
	err = w.sc.write(func() error {
		if !w.sentHead {
			w.sentHead = true
			w.encodeHead()
			if err := w.sc.headerFrames(w.st.id, endHere && len(body) == 0); err != nil || endHere && len(body) == 0 {
				return err
			}
		} else if len(body) == 0 && !endHere {
			return nil
		}
		return w.dataFrames(body[:n], endHere)
	}, true)
	if err != nil {
		w.err = err
		return err
	}
	if endHere {
		w.ended = true
	}
	if n < len(body) {
		err = w.sendData(body[n:], end)
	}
	w.buf = w.buf[:0]
	return err
}

// sendData writes p as DATA frames, waiting for the client's windows as needed.
func (w *h2Writer) sendData(p []byte, end bool) error {
	for {
		n, err := w.reserve(len(p))
		if err != nil {
			w.err = err
			return err
		}
		last := end && n == len(p)
		chunk := p[:n]
		if err := w.sc.write(func() error { return w.dataFrames(chunk, last) }, true); err != nil {
			w.err = err
			return err
		}
		p = p[n:]
		if last {
			w.ended = true
			return nil
		}
		if len(p) == 0 {
			return nil
		}
	}
}

// reserve takes up to want bytes of the connection's and the stream's send windows, waiting while either is
// empty. A reset stream or a closed connection is an error, even for want 0: nothing more goes out on it.
func (w *h2Writer) reserve(want int) (int, error) {
	sc := w.sc
	sc.mu.Lock()
	ok := sc.waitLocked(func() bool {
		return w.st.reset || sc.closed || want == 0 || min(sc.sendWindow, w.st.sendWindow) > 0
	})
	switch {
	case w.st.reset || sc.closed:
		sc.mu.Unlock()
		return 0, errStreamReset
	case !ok:
		// A client that gives no window for the client timeout is not reading: the stream ends, and its
		// instance connection with it.
		sc.mu.Unlock()
		sc.resetStream(w.st.id, http2.ErrCodeCancel)
		return 0, errWindowTimeout
	case want == 0:
		sc.mu.Unlock()
		return 0, nil
	}
	n := min(int64(want), sc.sendWindow, w.st.sendWindow)
	sc.sendWindow -= n
	w.st.sendWindow -= n
	sc.mu.Unlock()
	return int(n), nil
}

// waitLocked waits on sc.cond, with sc.mu held, until ready reports true or the client timeout passes (then it
// returns false).
func (sc *h2Conn) waitLocked(ready func() bool) bool {
	if ready() {
		return true
	}
	timedOut := false
	timer := time.AfterFunc(sc.opts.ClientTimeout, func() {
		sc.mu.Lock()
		timedOut = true
		sc.cond.Broadcast()
		sc.mu.Unlock()
	})
	defer timer.Stop()
	for !ready() {
		if timedOut {
			return false
		}
		sc.cond.Wait()
	}
	return true
}

var errWindowTimeout = errors.New("http2: the client opened no window within the client timeout")

// dataFrames writes p as DATA frames of the client's maximum size; called under the write lock.
func (w *h2Writer) dataFrames(p []byte, end bool) error {
	w.sc.mu.Lock()
	max := w.sc.peerFrame
	w.sc.mu.Unlock()
	for {
		n := min(len(p), max)
		last := n == len(p)
		if err := w.sc.fr.WriteData(w.st.id, end && last, p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if last {
			return nil
		}
	}
}

// encodeHead encodes the answer's head (status and fields) into the connection's encoder; under the write
// lock.
func (w *h2Writer) encodeHead() {
	e := &w.sc.henc
	e.begin()
	e.status(w.code)
	for k, vv := range w.header {
		if hopByHop[k] || k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerH2Key(k)
		for _, v := range vv {
			e.field(name, v)
		}
	}
}

// trailers are the values of the fields the handler declared in Trailer, set after the body.
func (w *h2Writer) trailers() []hpack.HeaderField {
	var fields []hpack.HeaderField
	for _, decl := range w.header["Trailer"] {
		for _, k := range strings.Split(decl, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			for _, v := range w.header[k] {
				fields = append(fields, hpack.HeaderField{Name: lowerH2Key(k), Value: v})
			}
		}
	}
	return fields
}

// writeTrailers sends the trailers as the stream's last header block.
func (w *h2Writer) writeTrailers(fields []hpack.HeaderField) error {
	sc := w.sc
	err := sc.write(func() error {
		sc.henc.begin()
		for _, f := range fields {
			sc.henc.field(f.Name, f.Value)
		}
		return sc.headerFrames(w.st.id, true)
	}, true)
	if err == nil {
		w.ended = true
	}
	return err
}

// headerFrames writes the block in the encoder as HEADERS and CONTINUATION frames; under the write lock.
func (sc *h2Conn) headerFrames(id uint32, end bool) error {
	block := sc.henc.buf
	sc.mu.Lock()
	max := sc.peerFrame
	sc.mu.Unlock()
	first := true
	for {
		n := min(len(block), max)
		frag, last := block[:n], n == len(block)
		var err error
		if first {
			err = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: last})
			first = false
		} else {
			err = sc.fr.WriteContinuation(id, last, frag)
		}
		if err != nil || last {
			return err
		}
		block = block[n:]
	}
}

var writerPool = sync.Pool{New: func() any { return &h2Writer{header: http.Header{}} }}

// lowerH2Key is a header name as HTTP/2 writes it: lower case.
func lowerH2Key(k string) string {
	if v, ok := commonLower[k]; ok {
		return v
	}
	return strings.ToLower(k)
}

// canonicalH2Key is the http.Header key of an HTTP/2 field name (lower case on the wire).
func canonicalH2Key(name string) string {
	if v, ok := commonCanonical[name]; ok {
		return v
	}
	return http.CanonicalHeaderKey(name)
}

var commonLower, commonCanonical = func() (map[string]string, map[string]string) {
	lower, canon := map[string]string{}, map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Age",
		"Authorization", "Cache-Control", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Type", "Date", "Etag", "Expires", "If-Modified-Since", "If-None-Match", "Last-Modified",
		"Location", "Origin", "Referer", "Server", "Set-Cookie", "Strict-Transport-Security", "User-Agent",
		"Vary", "X-Content-Type-Options", "X-Frame-Options", "X-Request-Id", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
		"Upgrade-Insecure-Requests", "Priority", "Te", "Grpc-Status", "Grpc-Message", "Grpc-Encoding"} {
		l := strings.ToLower(k)
		lower[k], canon[l] = l, k
	}
	return lower, canon
}()

// h2Body is a stream's request body: the frames the reader goroutine pushes, read by the handler. What it
// holds is bounded by the stream's window.
type h2Body struct {
	sc     *h2Conn
	st     *h2Stream
	chunks [][]byte
	held   int64
	err    error // io.EOF at the end, errStreamReset when reset
	wait   *sync.Cond
}

func newH2Body(sc *h2Conn, st *h2Stream) *h2Body {
	return &h2Body{sc: sc, st: st, wait: sc.cond}
}

// push, end, buffered, drained and discard run under sc.mu.
//
// push copies p into the last chunk while it has room, so what a body holds stays close to the bytes the
// window lets in, however small the client makes its frames.
func (b *h2Body) push(p []byte) {
	if len(p) == 0 {
		return
	}
	if n := len(b.chunks); n > 0 && cap(b.chunks[n-1])-len(b.chunks[n-1]) >= len(p) {
		b.chunks[n-1] = append(b.chunks[n-1], p...)
	} else {
		b.chunks = append(b.chunks, append(make([]byte, 0, max(len(p), bodyChunk)), p...))
	}
	b.held += int64(len(p))
	b.sc.bodyHeld += int64(len(p))
	b.wait.Broadcast()
}

// bodyChunk is the least a request body's buffer grows by.
const bodyChunk = 4 << 10

func (b *h2Body) end(err error) {
	if b.err == nil {
		b.err = err
	}
	b.wait.Broadcast()
}

func (b *h2Body) buffered() int64 { return b.held }
func (b *h2Body) drained() bool   { return b.held == 0 && b.err != nil }

func (b *h2Body) discard() int64 {
	n := b.held
	b.sc.bodyHeld -= n
	b.chunks, b.held = nil, 0
	return n
}

// Read waits for body bytes, at most the client timeout.
func (b *h2Body) Read(p []byte) (int, error) {
	sc := b.sc
	sc.mu.Lock()
	n, err := b.readLocked(p)
	sc.mu.Unlock()
	sc.flushPending() // the window it gave back
	return n, err
}

func (b *h2Body) readLocked(p []byte) (int, error) {
	sc := b.sc
	if !sc.waitLocked(func() bool { return b.held > 0 || b.err != nil }) {
		return 0, errClientTimeout
	}
	if b.held == 0 {
		return 0, b.err
	}
	n := 0
	for n < len(p) && len(b.chunks) > 0 {
		c := copy(p[n:], b.chunks[0])
		n += c
		if c == len(b.chunks[0]) {
			b.chunks[0] = nil
			b.chunks = b.chunks[1:]
		} else {
			b.chunks[0] = b.chunks[0][c:]
		}
	}
	b.held -= int64(n)
	sc.bodyHeld -= int64(n)
	sc.recvUnacked += int64(n)
	b.st.unacked += int64(n)
	sc.ackLocked(b.st)
	return n, nil
}

func (b *h2Body) Close() error { return nil }

var errClientTimeout = errors.New("http2: the client sent no body bytes within the client timeout")

// h2ConnSet is the HTTP/2 connections a site serves, for a graceful shutdown.
type h2ConnSet struct {
	mu sync.Mutex
	m  map[*h2Conn]struct{}
}

func (s *h2ConnSet) add(c *h2Conn) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*h2Conn]struct{}{}
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *h2ConnSet) remove(c *h2Conn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// shutdown sends GOAWAY on every connection and waits until they end or ctx does, then closes the rest.
func (s *h2ConnSet) shutdown(ctx context.Context) {
	s.mu.Lock()
	conns := make([]*h2Conn, 0, len(s.m))
	for c := range s.m {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	for _, c := range conns {
		select {
		case <-c.done:
		case <-ctx.Done():
			c.conn.Close()
		}
	}
}

// idRing remembers the last stream identifiers added to it, a fixed number, so a connection's memory does not
// grow with the streams it served.
type idRing struct {
	ids  [128]uint32
	next int
}

func (r *idRing) add(id uint32) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % len(r.ids)
}

func (r *idRing) has(id uint32) bool {
	return id != 0 && slices.Contains(r.ids[:], id)
}
