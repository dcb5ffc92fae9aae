package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2cSite serves one environment with h2c on a loopback port and returns its address.
func h2cSite(t *testing.T, p *Proxy) string {
	t.Helper()
	s := &Site{}
	if err := s.SetHosts([]*Host{{Proxy: p, H2C: true}}); err != nil {
		t.Fatal(err)
	}
	return startSite(t, s)
}

// TestH2BodiesBothWays: bodies larger than the windows go through whole in both directions, and a hundred
// streams share one connection at once.
func TestH2BodiesBothWays(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	c := newH2CClient(t)

	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16) // 5 MiB: five stream windows
	req, _ := http.NewRequest("POST", "http://"+addr+"/upload?x=1", bytes.NewReader(big))
	resp, body := do(t, c, req)
	e := decodeEcho(t, body)
	sum := sha256.Sum256(big)
	if resp.ProtoMajor != 2 || e.BodyLen != len(big) || e.BodySHA != hex.EncodeToString(sum[:]) || e.URI != "/upload?x=1" {
		t.Fatalf("upload over %s: instance got %d bytes (sha %s…) for %s", resp.Proto, e.BodyLen, e.BodySHA[:8], e.URI)
	}
	if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b" {
		t.Errorf("X-Multi = %q, want both values", got)
	}

	resp, body = get(t, c, "http://"+addr+"/big/3000000")
	if len(body) != 3000000 || resp.ContentLength != 3000000 {
		t.Fatalf("download: %d bytes, Content-Length %d", len(body), resp.ContentLength)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := strings.Repeat(strconv.Itoa(i), 1000+i)
			req, _ := http.NewRequest("PUT", "http://"+addr+"/n/"+strconv.Itoa(i), strings.NewReader(payload))
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if !bytes.Contains(b, []byte(`"URI":"/n/`+strconv.Itoa(i)+`"`)) || !bytes.Contains(b, []byte(`"BodyLen":`+strconv.Itoa(len(payload)))) {
				errs <- errors.New("stream " + strconv.Itoa(i) + " got another answer: " + string(b))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestH2StreamsAnswersAsWritten: server-sent events reach the client as the instance writes them.
func TestH2StreamsAnswersAsWritten(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	resp, err := newH2CClient(t).Get("http://" + addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != "data: one\n\n" {
		t.Fatalf("first event before the stream ends: %q, %v", buf[:n], err)
	}
	up.unblock()
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "data: two\n\n" {
		t.Fatalf("second event: %q", rest)
	}
}

// TestH2Trailers: trailers the instance sends after the body (gRPC's status) reach the client.
func TestH2Trailers(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	resp, body := get(t, newH2CClient(t), "http://"+addr+"/trailers")
	if body != "message" || resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "ok" {
		t.Fatalf("body %q, trailers %v", body, resp.Trailer)
	}
}

// TestH2JoinsCookies: HTTP/2 may send each cookie as a field of its own; the instance gets one Cookie line, and
// the sticky split reads the client id from it.
func TestH2JoinsCookies(t *testing.T) {
	stable, canary := newUpstream(t, "stable"), newUpstream(t, "canary")
	addr := h2cSite(t, newProxy(t, Route{Stable: stable.asStable(), Canary: canary.asCanary(50)}))
	c := newH2CClient(t)
	for _, id := range []string{"aa01", "bb02", "cc03", "dd04", "ee05", "ff06"} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Add("Cookie", "theme=dark")
		req.Header.Add("Cookie", CookieName+"="+id)
		resp, body := do(t, c, req)
		e := decodeEcho(t, body)
		if got := e.Header.Values("Cookie"); len(got) != 1 || got[0] != "theme=dark; "+CookieName+"="+id {
			t.Fatalf("instance got Cookie %q", got)
		}
		want := "stable"
		if Bucket(id) < 50*100 {
			want = "canary"
		}
		if resp.Header.Get("X-Version") != want || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("client %s went to %s (Set-Cookie %q); its bucket says %s", id, resp.Header.Get("X-Version"), resp.Header.Get("Set-Cookie"), want)
		}
	}
}

// TestH2ClientResetEndsInstanceRequest: a stream the client resets while the instance has not yet answered
// ends the request to the instance at once (its connection is closed, not retried elsewhere), and the
// client's other streams go on.
func TestH2ClientResetEndsInstanceRequest(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	c := newH2CClient(t)
	get(t, c, "http://"+addr+"/") // the /hold request below goes on a reused instance connection
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/hold", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-up.started:
	case <-time.After(hangGuard):
		t.Fatal("the slow request never reached the instance")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the cancelled request succeeded")
	}
	up.waitClosed(t, 1)
	select {
	case p := <-up.started:
		t.Fatalf("the reset request was sent to the instance again (%s)", p)
	case <-time.After(200 * time.Millisecond):
	}
	if resp, _ := get(t, c, "http://"+addr+"/"); resp.StatusCode != 200 {
		t.Fatalf("after a reset: %d", resp.StatusCode)
	}
}

// TestH2GracefulShutdown: when the site stops, a request in flight is answered; the client is told to open
// no more streams.
func TestH2GracefulShutdown(t *testing.T) {
	up := newUpstream(t, "v1")
	s := &Site{}
	s.SetHosts([]*Host{{Proxy: newProxy(t, Route{Stable: up.asStable()}), H2C: true}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	c := newH2CClient(t)
	got := make(chan string, 1)
	go func() {
		resp, err := c.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-up.started
	l.Close()
	time.Sleep(100 * time.Millisecond) // the GOAWAY is on its way
	up.unblock()
	if b := <-got; b != "slow from v1" {
		t.Fatalf("request in flight at shutdown: %q", b)
	}
	select {
	case <-served:
	case <-time.After(hangGuard):
		t.Fatal("Serve did not return")
	}
}

// rawH2 is a hostile client: it writes frames as it likes and reads what the server sends.
type rawH2 struct {
	t    *testing.T
	conn net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func dialH2(t *testing.T, addr string) *rawH2 {
	t.Helper()
	conn, _ := dialRaw(t, addr)
	r := &rawH2{t: t, conn: conn, fr: http2.NewFramer(conn, conn)}
	r.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	r.enc = hpack.NewEncoder(&r.hbuf)
	if _, err := io.WriteString(conn, h2Preface); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rawH2) block(fields ...string) []byte {
	r.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		r.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return r.hbuf.Bytes()
}

func (r *rawH2) get(id uint32, path string, end bool) {
	r.t.Helper()
	b := r.block(":method", "GET", ":scheme", "http", ":authority", "app", ":path", path)
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: end, EndHeaders: true}); err != nil {
		r.t.Fatal(err)
	}
}

// until reads frames until match returns true; it fails the test if the connection ends first.
func (r *rawH2) until(what string, match func(http2.Frame) bool) http2.Frame {
	r.t.Helper()
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			r.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

// goAwayOrClose reads until a GOAWAY (returned) or the end of the connection (nil).
func (r *rawH2) goAwayOrClose() *http2.GoAwayFrame {
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			return nil
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g
		}
	}
}

// TestH2RapidResetIsBounded: a client that opens streams and resets them at once (CVE-2023-44487) cannot make
// the proxy hold more than 4 × MAX_CONCURRENT_STREAMS requests: it gets GOAWAY, and others are served.
func TestH2RapidResetIsBounded(t *testing.T) {
	var inflight, most atomic.Int64
	block := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Path != "/hold" {
			return
		}
		select {
		case <-r.Context().Done():
		case <-block:
		}
	}))
	defer up.Close()
	defer close(block)
	p := newProxy(t, Route{Stable: Version{Role: Stable, Release: "1", Upstreams: []string{up.Listener.Addr().String()}}})
	addr := h2cSite(t, p)
	r := dialH2(t, addr)
	go func() {
		defer r.fr.WritePing(false, [8]byte{'d', 'o', 'n', 'e'}) // the flood is over: answered, or the connection is gone
		b := r.block(":method", "GET", ":scheme", "http", ":authority", "app", ":path", "/hold")
		for id := uint32(1); id < 2*6000; id += 2 {
			// The same block each time: one HPACK encoding replayed is valid (all fields indexed).
			if r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b, EndStream: true, EndHeaders: true}) != nil ||
				r.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				return // the server ended the connection
			}
		}
	}()
	// Either every reset stream ended its instance request at once (then the PING after the flood is
	// answered), or the client is sent GOAWAY ENHANCE_YOUR_CALM.
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			break
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeEnhanceYourCalm {
				t.Errorf("GOAWAY %v", g.ErrCode)
			}
			break
		}
		if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // requests still on their way to the instance land
	if m := most.Load(); m > 4*h2MaxStreams {
		t.Errorf("the instance held %d requests at once for one client; the bound is %d", m, 4*h2MaxStreams)
	}
	resp, _ := get(t, newH2CClient(t), "http://"+addr+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("another client after the flood: %d", resp.StatusCode)
	}
}

// TestH2FlowControlViolationsEndTheConnection: a window raised past 2^31-1 is a connection error.
func TestH2FlowControlViolationsEndTheConnection(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	r := dialH2(t, addr)
	r.fr.WriteWindowUpdate(0, 1<<31-1)
	if g := r.goAwayOrClose(); g == nil || g.ErrCode != http2.ErrCodeFlowControl {
		t.Fatalf("want GOAWAY FLOW_CONTROL_ERROR, got %v", g)
	}
}

// TestH2HeaderListOverTheLimitGets431: a header list past max_header_bytes is refused with 431, not read
// into memory.
func TestH2HeaderListOverTheLimitGets431(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{MaxHeaderBytes: 8 << 10}))
	r := dialH2(t, addr)
	x := strings.Repeat("x", 3<<10)
	b := r.block(":method", "GET", ":scheme", "http", ":authority", "app", ":path", "/", "x-a", x, "x-b", x, "x-c", x, "x-d", x)
	// One frame: past the limit over CONTINUATION frames, the framer ends the connection instead (see the
	// flood test below).
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true, EndHeaders: true})
	f := r.until("the answer", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
	if f.PseudoValue("status") != "431" {
		t.Fatalf("status %q, want 431", f.PseudoValue("status"))
	}
}

// TestH2ContinuationFloodEndsTheConnection: endless CONTINUATION frames (CVE-2024-27316) end the connection
// long before they add up to much.
func TestH2ContinuationFloodEndsTheConnection(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{MaxHeaderBytes: 8 << 10}))
	r := dialH2(t, addr)
	b := r.block(":method", "GET", ":scheme", "http", ":authority", "app", ":path", "/")
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndStream: true})
	sent := 0
	frag := bytes.Repeat([]byte{0}, 16<<10) // an HPACK index of 0 is invalid, but nothing decodes past the bound
	for ; sent < 64<<20; sent += len(frag) {
		if r.fr.WriteContinuation(1, false, frag) != nil {
			break
		}
	}
	if sent >= 64<<20 {
		t.Fatal("64 MiB of CONTINUATION frames were taken")
	}
}

// TestH2ClientThatGivesNoWindowIsCut: a client that asks for a large answer and never opens its window again
// holds the stream (and the instance's connection) for the client timeout only.
func TestH2ClientThatGivesNoWindowIsCut(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{ClientTimeout: 300 * time.Millisecond}))
	r := dialH2(t, addr)
	r.get(1, "/big/4000000", true)
	f := r.until("RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok }).(*http2.RSTStreamFrame)
	if f.StreamID != 1 || f.ErrCode != http2.ErrCodeCancel {
		t.Fatalf("got RST_STREAM %d %v", f.StreamID, f.ErrCode)
	}
	up.waitClosed(t, 1)
}

// TestH2IdleConnectionIsClosed: a connection with no streams past the idle timeout gets GOAWAY and is closed.
func TestH2IdleConnectionIsClosed(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{IdleTimeout: 1500 * time.Millisecond}))
	r := dialH2(t, addr)
	start := time.Now()
	if g := r.goAwayOrClose(); g == nil || g.ErrCode != http2.ErrCodeNo {
		t.Fatalf("want GOAWAY NO_ERROR, got %v", g)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("closed after %v, before the idle timeout", time.Since(start))
	}
}

// TestH2MalformedRequestsAreReset: requests HTTP/2 forbids get RST_STREAM PROTOCOL_ERROR and reach no
// instance; the connection serves on.
func TestH2MalformedRequestsAreReset(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	r := dialH2(t, addr)
	bad := [][]string{
		{":method", "GET", ":scheme", "http", ":path", "/", "connection", "keep-alive"},
		{":method", "GET", ":scheme", "http", ":path", "/", "transfer-encoding", "chunked"},
		{":method", "GET", ":scheme", "http", ":path", "/", "te", "gzip"},
		{":method", "GET", ":scheme", "http"},
		{":method", "CONNECT", ":authority", "evil:443"},
		{":method", "GET", ":scheme", "http", ":path", "/", "Upper", "x"},
		{":method", "POST", ":scheme", "http", ":path", "/", "content-length", "5"}, // ends with no body
		{":method", "GET", ":scheme", "http", ":path", "/a b HTTP/1.1"},             // one token upstream
		{":method", "GET", ":scheme", "http", ":path", "/a\tb"},
		{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a b"},
	}
	for i, fields := range bad {
		id := uint32(2*i + 1)
		r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(fields...), EndStream: true, EndHeaders: true})
		f := r.until("RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok }).(*http2.RSTStreamFrame)
		if f.StreamID != id || f.ErrCode != http2.ErrCodeProtocol {
			t.Errorf("%v: RST_STREAM %d %v", fields, f.StreamID, f.ErrCode)
		}
	}
	r.get(101, "/", true)
	f := r.until("the answer", func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok }).(*http2.MetaHeadersFrame)
	if f.PseudoValue("status") != "200" {
		t.Fatalf("a good request after the bad ones: %q", f.PseudoValue("status"))
	}
	if n := up.newConns.Load(); n != 1 {
		t.Errorf("the instance saw %d connections; only the good request should reach it", n)
	}
}

// TestH2LeavesNothingBehind: after connections that ended every way (answered, reset mid-answer, closed by
// the client with streams open, waiting for a window), no goroutine of the HTTP/2 server is left.
func TestH2LeavesNothingBehind(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxyWith(t, Route{Stable: up.asStable()}, Options{ClientTimeout: 500 * time.Millisecond}))
	for range 5 {
		r := dialH2(t, addr)
		r.get(1, "/", true)
		r.until("an answer", func(f http2.Frame) bool { d, ok := f.(*http2.DataFrame); return ok && d.StreamEnded() })
		r.get(3, "/sse", true)
		r.until("the first event", func(f http2.Frame) bool { d, ok := f.(*http2.DataFrame); return ok && d.StreamID == 3 })
		r.fr.WriteRSTStream(3, http2.ErrCodeCancel) // reset mid-answer
		r.get(5, "/big/4000000", true)              // never reads past the first window
		r.get(7, "/sse", true)
		r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 9, BlockFragment: r.block(":method", "POST", ":scheme", "http", ":path", "/"), EndHeaders: true})
		r.fr.WriteData(9, false, []byte("half a body"))
		time.Sleep(50 * time.Millisecond)
		r.conn.Close() // with streams open
	}
	deadline := time.Now().Add(hangGuard)
	for h2Goroutines() > 0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, g := range bytes.Split(buf, []byte("\n\n")) {
				if bytes.Contains(g, []byte("proxy.(*h2")) || bytes.Contains(g, []byte("proxy.(*Site).serveH2")) {
					t.Logf("left: %s", g)
				}
			}
			t.Fatal("goroutines of the HTTP/2 server are left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// h2Goroutines counts the goroutines running the HTTP/2 server's code: connections, handlers, waits.
func h2Goroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("proxy.(*h2")) || bytes.Contains(g, []byte("proxy.(*Site).serveH2")) {
			n++
		}
	}
	return n
}

// earlyUpstream answers each request as soon as its head is read (as HTTP/1.1 allows, and as e.g. Node does
// for a handler that ignores the body), then reads the body per its Content-Length and reports it.
func earlyUpstream(t *testing.T) (string, chan string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	bodies := make(chan string, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					c.SetReadDeadline(time.Now().Add(3 * time.Second))
					b, _ := io.ReadAll(req.Body)
					c.SetReadDeadline(time.Time{})
					bodies <- req.Method + " " + req.URL.Path + " body=" + string(b)
				}
			}()
		}
	}()
	return l.Addr().String(), bodies
}

// TestH2TrailersCannotEndABodyShort: a client declares content-length 100, sends 10 bytes, then ends the
// stream with trailers. ferry forwards "Content-Length: 100" and 10 bytes, and puts the upstream connection
// back in the pool; the next request on it becomes the rest of the first one's body (request smuggling).
func TestH2TrailersCannotEndABodyShort(t *testing.T) {
	upAddr, bodies := earlyUpstream(t)
	addr := h2cSite(t, newProxy(t, Route{Stable: Version{Role: Stable, Release: "v1", Upstreams: []string{upAddr}}}))
	r := dialH2(t, addr)
	b := r.block(":method", "POST", ":scheme", "http", ":authority", "app", ":path", "/first", "content-length", "100")
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b, EndHeaders: true})
	r.fr.WriteData(1, false, []byte("0123456789"))
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block("x-trailer", "1"), EndStream: true, EndHeaders: true})
	r.until("stream 1's answer", func(f http2.Frame) bool {
		if rst, ok := f.(*http2.RSTStreamFrame); ok && rst.StreamID == 1 {
			if rst.ErrCode != http2.ErrCodeProtocol {
				t.Errorf("stream 1 reset with %v, want PROTOCOL_ERROR", rst.ErrCode)
			}
			return true
		}
		if f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream) {
			t.Error("a body shorter than its content-length was answered")
			return true
		}
		return false
	})
	r.get(3, "/second-request-of-anyone", true)
	deadline := time.After(2 * time.Second)
	for {
		select {
		case got := <-bodies:
			if strings.HasPrefix(got, "POST /first") && strings.Contains(got, "second-request") {
				t.Fatalf("the next request was smuggled into the first one's body: %q", got)
			}
			continue
		case <-deadline:
		}
		break
	}
}

// TestH2FramesOnEndedStreamsStartNoGoroutines: a million DATA frames on a stream that ended, from a client that
// does not read the RST_STREAM answers, start no goroutine each: the reader writes them itself and waits.
func TestH2FramesOnEndedStreamsStartNoGoroutines(t *testing.T) {
	up := newUpstream(t, "v1")
	addr := h2cSite(t, newProxy(t, Route{Stable: up.asStable()}))
	r := dialH2(t, addr)
	r.get(1, "/", true)
	r.until("stream 1's end", func(f http2.Frame) bool {
		return f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream)
	})
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	bw := bufio.NewWriterSize(r.conn, 1<<20)
	fr := http2.NewFramer(bw, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000000; i++ {
			if fr.WriteData(1, false, nil) != nil {
				return
			}
		}
		bw.Flush()
	}()
	peak := 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n := runtime.NumGoroutine(); n > peak {
			peak = n
		}
		select {
		case <-done:
			deadline = time.Now().Add(200 * time.Millisecond)
			done = nil
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("goroutines before %d, peak %d; stack in use %d MiB", before, peak, ms.StackInuse>>20)
	if peak-before > 50 {
		t.Fatalf("one connection made the server start %d goroutines", peak-before)
	}
}

// TestH2BodyHoldsWhatTheWindowLetsIn: a client that fills the 1 MiB window with 1-byte frames makes a body hold
// about 1 MiB, not a buffer per frame.
func TestH2BodyHoldsWhatTheWindowLetsIn(t *testing.T) {
	sc := &h2Conn{}
	sc.cond = sync.NewCond(&sc.mu)
	b := newH2Body(sc, &h2Stream{})
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	one := []byte{'x'}
	for i := 0; i < h2ConnWindow; i++ {
		b.push(one)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	held := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
	t.Logf("window bytes held %d, heap held %d MiB", b.buffered(), held>>20)
	if held > 4*h2ConnWindow {
		t.Fatalf("1 MiB of window costs %d MiB of heap", held>>20)
	}
	runtime.KeepAlive(b)
}
