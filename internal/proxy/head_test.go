package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET /api/items?id=7&x=%41 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n",
	"GET /a? HTTP/1.1\r\nHost: app\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 50\r\n\r\nshort",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: +3\r\n\r\nabc",
	"POST /p HTTP/1.1\r\nHost: app\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nhost: app\r\nx-lower: 1\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nConnection: keep-alive, Close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nX-Sp:   padded \t \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nX-Folded: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nX-Bad : 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nX_Under: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nX-Ctl: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\nHost: app\n\n",
	"GET / HTTP/1.1\r\nHost: app\n\r\n",
	"GET http://other.example/abs HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET //double/slash HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET /a%20b HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET /a#frag HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET /x?q#f HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET /(paren)!* HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: app\r\n\r\n",
	"get / HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: app\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: app\r\n\r\n",
	"GET / HTTP/1.1\r\n: empty\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 299 Custom reason here\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\n\r\nclose-delimited",
	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/event-stream\r\nContent-Length: 2\r\n\r\nok",
}

// FuzzFastHeadsMatchNetHTTP holds the fast head parser to net/http's reading: whatever the fast path accepts,
// net/http accepts too and reads the same way (line, fields, length, close, body and what follows), so the
// fast path can neither let through a message net/http refuses nor frame one differently (request
// smuggling). What the fast path declines it must leave unread.
func FuzzFastHeadsMatchNetHTTP(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add(true, []byte(s))
	}
	for _, s := range responseSeeds {
		f.Add(false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, request bool, data []byte) {
		if request {
			checkRequest(t, data)
		} else {
			checkResponse(t, data)
		}
	})
}

func TestFastHeadsMatchNetHTTP(t *testing.T) {
	for _, s := range requestSeeds {
		checkRequest(t, []byte(s))
	}
	for _, s := range responseSeeds {
		checkResponse(t, []byte(s))
	}
}

// TestFastPathTakesCommonHeads: the fast path must actually serve the heads browsers, load tools and apps
// send, or the proxy quietly goes back to the slow path.
func TestFastPathTakesCommonHeads(t *testing.T) {
	for _, s := range []string{requestSeeds[0], requestSeeds[1], requestSeeds[3], requestSeeds[11], requestSeeds[12],
		"GET /static/app.js?v=3 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
			"Accept: text/html,application/xhtml+xml;q=0.9\r\nAccept-Language: en-GB,en;q=0.5\r\nCookie: ferry_client=ab12; s=1\r\n" +
			"Sec-Fetch-Mode: navigate\r\nIf-None-Match: \"abc\"\r\n\r\n"} {
		var sc scratch
		if fastRequest(bufio.NewReader(strings.NewReader(s)), &sc) == nil {
			t.Errorf("fast path declined a common request:\n%q", s)
		}
	}
	get := &http.Request{Method: "GET"}
	for _, s := range []string{responseSeeds[0], responseSeeds[1], responseSeeds[5], responseSeeds[6], responseSeeds[12]} {
		for _, asLines := range []bool{false, true} {
			var sc scratch
			if fastResponse(bufio.NewReader(strings.NewReader(s)), get, asLines, &sc) == nil || sc.asLines != asLines {
				t.Errorf("fast path (as lines: %v) declined a common answer:\n%q", asLines, s)
			}
		}
	}
}

func checkRequest(t *testing.T, data []byte) {
	t.Helper()
	var sc scratch
	fr := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	fast := fastRequest(fr, &sc)
	if fast == nil {
		if fr.Buffered() != 0 && !bytes.HasPrefix(data, mustPeek(fr)) {
			t.Fatalf("declined but consumed input")
		}
		return
	}
	sr := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	slow, err := http.ReadRequest(sr)
	if err != nil {
		t.Fatalf("fast path accepted what net/http refuses (%v):\n%q", err, data)
	}
	sameFields(t, data, []field{
		{"method", fast.Method, slow.Method},
		{"request URI", fast.RequestURI, slow.RequestURI},
		{"URL", *fast.URL, *slow.URL},
		{"proto", [3]any{fast.Proto, fast.ProtoMajor, fast.ProtoMinor}, [3]any{slow.Proto, slow.ProtoMajor, slow.ProtoMinor}},
		{"host", fast.Host, slow.Host},
		{"header", fast.Header, slow.Header},
		{"content length", fast.ContentLength, slow.ContentLength},
		{"close", fast.Close, slow.Close},
		{"transfer encoding", len(fast.TransferEncoding), len(slow.TransferEncoding)},
		{"trailer", len(fast.Trailer), len(slow.Trailer)},
	})
	sameRest(t, data, fast.Body, fr, slow.Body, sr)
}

// checkResponse holds both readings of the fast path to net/http's: the header map, and the lines the
// HTTP/1.1 loop forwards (net/http's fields without the hop-by-hop ones and Content-Length).
func checkResponse(t *testing.T, data []byte) {
	t.Helper()
	checkResponseAs(t, data, false)
	checkResponseAs(t, data, true)
}

func checkResponseAs(t *testing.T, data []byte, asLines bool) {
	t.Helper()
	var sc scratch
	get := &http.Request{Method: "GET"}
	fr := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	fast := fastResponse(fr, get, asLines, &sc)
	if fast == nil {
		if fr.Buffered() != 0 && !bytes.HasPrefix(data, mustPeek(fr)) {
			t.Fatalf("declined but consumed input")
		}
		return
	}
	sr := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	slow, err := http.ReadResponse(sr, get)
	if err != nil {
		t.Fatalf("fast path accepted what net/http refuses (%v):\n%q", err, data)
	}
	if slow.Close {
		// net/http drops Connection: close but not the fields it names; both of ferry's paths drop them.
		conn := connectionValues(bufio.NewReader(bytes.NewReader(data)))
		for k := range connectionTokens(http.Header{"Connection": conn}) {
			slow.Header.Del(k)
		}
	}
	status, header := fast.Status, fast.Header
	if sc.asLines {
		for _, line := range bytes.SplitAfter(sc.lines, []byte("\r\n")) {
			if len(line) > 0 && (!forwardedLine.Match(line) || !bytes.Contains(data, line)) {
				t.Fatalf("forwarded a line not as it came or not of the fast shape: %q, for\n%q", line, data)
			}
		}
		header = linesHeader(t, sc.lines)
		status = slow.Status
		want := slow.Header.Clone()
		for k := range want {
			if hopByHop[k] || k == "Content-Length" {
				delete(want, k)
			}
		}
		slow.Header = want
		stream := strings.HasPrefix(slow.Header.Get("Content-Type"), "text/event-stream")
		if sc.eventStream != stream {
			t.Fatalf("event stream: fast %v, net/http %v, for\n%q", sc.eventStream, stream, data)
		}
	}
	sameFields(t, data, []field{
		{"status", status, slow.Status},
		{"code", fast.StatusCode, slow.StatusCode},
		{"proto", [3]any{fast.Proto, fast.ProtoMajor, fast.ProtoMinor}, [3]any{slow.Proto, slow.ProtoMajor, slow.ProtoMinor}},
		{"header", header, slow.Header},
		{"content length", fast.ContentLength, slow.ContentLength},
		{"close", fast.Close, slow.Close},
		{"transfer encoding", len(fast.TransferEncoding), len(slow.TransferEncoding)},
		{"trailer", len(fast.Trailer), len(slow.Trailer)},
	})
	sameRest(t, data, fast.Body, fr, slow.Body, sr)
}

// forwardedLine is what a field line forwarded as it came may be: a token name, a colon, and a value of
// visible characters, spaces and tabs.
var forwardedLine = regexp.MustCompile(`^[A-Za-z0-9-]+:[\t -~]*\r\n$`)

// linesHeader reads the lines an answer read as lines forwards, as a client would read them.
func linesHeader(t *testing.T, lines []byte) http.Header {
	t.Helper()
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(slices.Clip(lines), "\r\n"...)))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("the lines forwarded do not read back (%v):\n%q", err, lines)
	}
	if len(h) == 0 {
		return http.Header{}
	}
	return http.Header(h)
}

// field is one thing both parsers read from a message.
type field struct {
	what       string
	fast, slow any
}

func sameFields(t *testing.T, data []byte, fields []field) {
	t.Helper()
	for _, f := range fields {
		if !reflect.DeepEqual(f.fast, f.slow) {
			t.Fatalf("%s: fast %#v, net/http %#v, for\n%q", f.what, f.fast, f.slow, data)
		}
	}
}

// sameRest reads both bodies and what follows them: the same bytes, and an error for both or neither.
func sameRest(t *testing.T, data []byte, fb io.Reader, fr *bufio.Reader, sb io.Reader, sr *bufio.Reader) {
	t.Helper()
	fbody, ferr := io.ReadAll(fb)
	sbody, serr := io.ReadAll(sb)
	if !bytes.Equal(fbody, sbody) || (ferr == nil) != (serr == nil) {
		t.Fatalf("body: fast %q (%v), net/http %q (%v), for\n%q", fbody, ferr, sbody, serr, data)
	}
	if ferr != nil {
		return // the connection is closed after a broken body; what follows is never read
	}
	frest, _ := io.ReadAll(fr)
	srest, _ := io.ReadAll(sr)
	if !bytes.Equal(frest, srest) {
		t.Fatalf("after the message: fast %q, net/http %q, for\n%q", frest, srest, data)
	}
}

func mustPeek(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}
