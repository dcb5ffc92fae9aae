package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"unsafe"

	"golang.org/x/net/http/httpguts"
)

// Message heads of the common shape are parsed here, in place in the connection's read buffer: one string
// for the whole head, which every field and value is a part of, and no copies per line. net/http's
// ReadRequest and ReadResponse allocate about 1 KB in a dozen pieces per message; on the proxy's hot path
// that was the largest share of ferry's own CPU time (bench/README.md). An answer the HTTP/1.1 loop forwards
// needs not even that: its field lines are checked the same way and copied out as they came (asLines), with
// no string and no map.
//
// The fast path accepts only what it understands completely and what net/http would read the same way:
// CRLF line ends, canonical field syntax, at most one Content-Length and no Transfer-Encoding (for requests),
// no Pragma or Trailer. Anything else is left unread for net/http to parse, with all its checks, so the fast
// path can never accept a message net/http refuses or read one differently; FuzzFastHeadsMatchNetHTTP holds
// it to that.

// peekHead returns the buffered bytes of a message head up to and including its blank line, reading more
// into br as needed, without consuming any. It returns nil when the head is not of the fast shape (a bare LF)
// or does not fit br's buffer; then, and on a read error, the caller reads the message with net/http, which
// meets the same bytes and the same error.
func peekHead(br *bufio.Reader) []byte {
	scanned := 0 // bytes known to hold no blank line
	for {
		buf, _ := br.Peek(br.Buffered())
		for {
			i := bytes.IndexByte(buf[scanned:], '\n')
			if i < 0 {
				break
			}
			i += scanned
			if i == 0 || buf[i-1] != '\r' {
				return nil // a bare LF: net/http's reading of it is the only one
			}
			if i >= 3 && buf[i-2] == '\n' && buf[i-3] == '\r' {
				return buf[:i+1]
			}
			if i == 1 {
				return nil // an empty first line
			}
			scanned = i + 1
		}
		if br.Buffered() >= br.Size() {
			return nil
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return nil
		}
	}
}

// headBuffered reports whether br's buffer holds a whole head, so reading it waits for nothing.
func headBuffered(br *bufio.Reader) bool { return headLen(br) >= 0 }

// headLen is the length of the head whole at the start of br's buffer (to its blank line), or -1.
func headLen(br *bufio.Reader) int {
	buf, _ := br.Peek(br.Buffered())
	n := -1
	if i := bytes.Index(buf, []byte("\n\r\n")); i >= 0 {
		n = i + 3
	}
	if i := bytes.Index(buf, []byte("\n\n")); i >= 0 && (n < 0 || i+2 < n) {
		n = i + 2
	}
	return n
}

// fields is a parsed head: its first line and its fields, every string part of one allocation; or, for an
// answer read as lines, its first line and the facts below, with the lines to forward in the scratch.
type fields struct {
	first  string
	header http.Header // nil for an answer read as lines
	// the fields the transfer depends on, each at most once
	contentLength int64 // -1: none
	host          string
	hasHost       bool
	chunked       bool // Transfer-Encoding: chunked (responses only)
	close         bool // Connection names close
}

// scratch is what a connection reuses from one head to the next: the header map, and for requests (whose
// fields nothing keeps past the exchange) the array of values. An answer's values are fresh each time, as the
// HTTP/2 path hands them to net/http's response writer.
type scratch struct {
	header http.Header
	values []string
	req    http.Request // the connection's current request (requests only)
	url    url.URL
	resp   http.Response // the upstream connection's current answer (answers only)
	body   fixedBody
	// An answer read as lines (asLines) has no header map: lines holds its field lines to forward, each with
	// its CRLF, without the hop-by-hop ones and Content-Length; eventStream says its Content-Type is
	// text/event-stream. The buffer is kept from one answer to the next.
	asLines     bool
	lines       []byte
	eventStream bool
}

// parseFields parses a head peekHead returned into sc's map. ok is false for anything outside the fast shape.
//
// An answer can be read as lines instead (asLines), for a client loop that writes its head as HTTP/1.1 again:
// the fields are checked as for the map, the ones to forward copied to sc.lines, and no string is made.
// f.first then points into head, good only until the reader reads on. An answer whose Connection field names
// more than close or keep-alive is not read as lines (ok is false): the map's path drops what it names. (A
// field name that is not in canonical form is still canonicalized, which allocates.)
func parseFields(head []byte, request, asLines bool, sc *scratch) (f fields, ok bool) {
	var s string
	if asLines {
		s = viewString(head[:len(head)-2]) // nothing of it is kept past the answer's head
		sc.lines = sc.lines[:0]
		sc.eventStream = false
	} else {
		s = string(head[:len(head)-2]) // without the blank line; the one allocation
	}
	eol := indexCRLF(s, 0)
	f.first = s[:eol]
	f.contentLength = -1
	sawType := false
	var values []string
	if !asLines {
		n := strings.Count(s, "\r\n") // the field lines, as s ends with the last one's CRLF
		if request && cap(sc.values) >= n {
			values = sc.values[:n]
		} else {
			values = make([]string, n)
			if request {
				sc.values = values
			}
		}
		if sc.header == nil {
			sc.header = make(http.Header, n)
		} else {
			clear(sc.header)
		}
		f.header = sc.header
	}
	for i, v := eol+2, 0; i < len(s); v++ {
		end := indexCRLF(s, i)
		line := s[i:end]
		i = end + 2
		colon := -1
		canonical, upper := true, true // upper: the next letter starts a word
		for j := 0; j < len(line); j++ {
			c := line[j]
			switch {
			case c == ':':
				colon = j
			case c >= 'a' && c <= 'z':
				canonical = canonical && !upper
				upper = false
				continue
			case c >= 'A' && c <= 'Z':
				canonical = canonical && upper
				upper = false
				continue
			case c >= '0' && c <= '9':
				upper = false
				continue
			case c == '-':
				upper = true
				continue
			default:
				return f, false // another token character, a space before the colon, or a folded line
			}
			break
		}
		if colon <= 0 {
			return f, false
		}
		key := line[:colon]
		if !canonical {
			key = textproto.CanonicalMIMEHeaderKey(key)
		}
		val := line[colon+1:]
		for len(val) > 0 && (val[0] == ' ' || val[0] == '\t') {
			val = val[1:]
		}
		for len(val) > 0 && (val[len(val)-1] == ' ' || val[len(val)-1] == '\t') {
			val = val[:len(val)-1]
		}
		for j := 0; j < len(val); j++ {
			if c := val[j]; c < ' ' && c != '\t' || c >= 0x7f {
				return f, false
			}
		}
		switch key {
		case "Content-Length":
			if f.contentLength >= 0 || len(val) == 0 || len(val) > 18 {
				return f, false
			}
			var cl int64
			for j := 0; j < len(val); j++ {
				if val[j] < '0' || val[j] > '9' {
					return f, false
				}
				cl = cl*10 + int64(val[j]-'0')
			}
			f.contentLength = cl
		case "Transfer-Encoding":
			if request || f.chunked || val != "chunked" {
				return f, false
			}
			f.chunked = true
		case "Host":
			if f.hasHost {
				return f, false
			}
			f.host, f.hasHost = val, true
			if request {
				continue // net/http's ReadRequest keeps the host in Request.Host only
			}
		case "Connection":
			if httpguts.HeaderValuesContainsToken([]string{val}, "close") {
				f.close = true
			}
			if asLines && !onlyCloseOrKeepAlive(val) {
				return f, false
			}
		case "Pragma", "Trailer":
			return f, false
		case "Content-Type":
			if asLines && !sawType {
				sc.eventStream = strings.HasPrefix(val, "text/event-stream") // the first, as Header.Get reads it
			}
			sawType = true
		}
		if asLines {
			if !hopByHop[key] && key != "Content-Length" {
				sc.lines = append(sc.lines, line...)
				sc.lines = append(sc.lines, "\r\n"...)
			}
			continue
		}
		values[v] = val
		if prior, ok := f.header[key]; ok {
			f.header[key] = append(prior, val)
		} else {
			f.header[key] = values[v : v+1 : v+1]
		}
	}
	return f, true
}

// viewString is b as a string without a copy, for a callee that keeps nothing of it.
func viewString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// onlyCloseOrKeepAlive reports whether a Connection field's tokens are all close or keep-alive, so it names
// no other field to drop.
func onlyCloseOrKeepAlive(v string) bool {
	for tok := range strings.SplitSeq(v, ",") {
		tok = textproto.TrimString(tok)
		if tok != "" && !strings.EqualFold(tok, "close") && !strings.EqualFold(tok, "keep-alive") {
			return false
		}
	}
	return true
}

func indexCRLF(s string, from int) int {
	if i := strings.Index(s[from:], "\r\n"); i >= 0 {
		return from + i
	}
	return len(s)
}

// readRequest reads one request from br: by the fast path when its head allows, else by net/http.
func readRequest(br *bufio.Reader, sc *scratch) (*http.Request, error) {
	if req := fastRequest(br, sc); req != nil {
		return req, nil
	}
	return http.ReadRequest(br)
}

// fastRequest parses an HTTP/1.1 request of the fast shape whose head is in br's buffer, consuming the head,
// or returns nil having consumed nothing. The request is sc's: it is good until the connection's next one.
func fastRequest(br *bufio.Reader, sc *scratch) *http.Request {
	head := peekHead(br)
	if head == nil {
		return nil
	}
	f, ok := parseFields(head, true, false, sc)
	if !ok {
		return nil
	}
	method, rest, ok1 := strings.Cut(f.first, " ")
	uri, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !commonMethod(method) {
		return nil
	}
	if !originForm(uri, &sc.url) {
		return nil
	}
	req := &sc.req
	*req = http.Request{
		Method: method, URL: &sc.url, Proto: proto, ProtoMajor: 1, ProtoMinor: 1,
		Header: f.header, Host: f.host, RequestURI: uri, Close: f.close, ContentLength: f.contentLength,
	}
	br.Discard(len(head))
	switch {
	case f.contentLength > 0:
		req.Body = &fixedBody{r: br, left: f.contentLength}
	default:
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	return req
}

func commonMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS":
		return true
	}
	return false
}

// originForm parses a request target of the form /path?query whose path needs no unescaping and no
// escaping (so url.ParseRequestURI would give the same URL), and whose query has no '#'.
func originForm(uri string, u *url.URL) bool {
	if len(uri) == 0 || uri[0] != '/' {
		return false
	}
	path, query, hasQuery := strings.Cut(uri, "?")
	for i := 0; i < len(path); i++ {
		c := path[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			switch c {
			case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
			default:
				return false
			}
		}
	}
	for i := 0; i < len(query); i++ {
		if c := query[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return true
}

// readResponse reads the answer to req from br: by the fast path when its head allows, else by net/http.
// asLines asks for the fast path's answer as lines (parseFields): sc.asLines says whether it came so.
func readResponse(br *bufio.Reader, req *http.Request, asLines bool, sc *scratch) (*http.Response, error) {
	if resp := fastResponse(br, req, asLines, sc); resp != nil {
		return resp, nil
	}
	sc.asLines = false
	conn := connectionValues(br)
	resp, err := http.ReadResponse(br, req)
	if err == nil && resp.Close {
		// net/http drops a Connection field that says close, and with it what the field names.
		for k := range connectionTokens(http.Header{"Connection": conn}) {
			resp.Header.Del(k)
		}
	}
	return resp, err
}

// connectionValues returns the values of the Connection fields of the head at the start of br, as far as br's
// buffer holds the head (an answer's head nearly always arrives whole, in its first read).
func connectionValues(br *bufio.Reader) []string {
	if br.Buffered() == 0 {
		br.Peek(1) // an error is net/http's to meet and report
	}
	buf, _ := br.Peek(br.Buffered())
	var values []string
	for {
		eol := bytes.IndexByte(buf, '\n')
		if eol < 0 {
			return values
		}
		line := bytes.TrimSuffix(buf[:eol], []byte("\r"))
		buf = buf[eol+1:]
		if len(line) == 0 {
			return values // the head's end
		}
		if name, val, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Connection")) {
			values = append(values, string(val))
		}
	}
}

// fastResponse parses an HTTP/1.1 answer of the fast shape with a Content-Length body (chunked and
// close-delimited answers, 1xx, 204, 304 and answers to HEAD go to net/http), or returns nil having consumed
// nothing. An answer read as lines has no Header and no Status: its fields are in sc.lines.
func fastResponse(br *bufio.Reader, req *http.Request, asLines bool, sc *scratch) *http.Response {
	if req.Method == "HEAD" {
		return nil
	}
	head := peekHead(br)
	if head == nil {
		return nil
	}
	f, ok := parseFields(head, false, asLines, sc)
	if !ok && asLines {
		asLines = false
		f, ok = parseFields(head, false, false, sc)
	}
	if !ok || f.chunked || f.contentLength < 0 {
		return nil
	}
	line := f.first
	if len(line) < 12 || line[:9] != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' {
		return nil
	}
	code := 0
	for i := 9; i < 12; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return nil
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == 204 || code == 304 || code > 599 {
		return nil
	}
	for i := 12; i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return nil
		}
	}
	if f.close && !asLines {
		// As net/http does for an answer that closes, with the fields it names dropped first: nothing later
		// could tell them from the instance's end-to-end fields.
		for k := range connectionTokens(f.header) {
			delete(f.header, k)
		}
		delete(f.header, "Connection")
	}
	// The answer lives in the connection's scratch, as its header map does: it is read only until the
	// connection goes back to the pool.
	resp := &sc.resp
	*resp = http.Response{
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: f.header, ContentLength: f.contentLength, Close: f.close, Request: req,
	}
	if !asLines {
		resp.Status = line[9:]
	}
	sc.asLines = asLines
	br.Discard(len(head))
	if f.contentLength > 0 {
		sc.body = fixedBody{r: br, left: f.contentLength}
		resp.Body = &sc.body
	} else {
		resp.Body = http.NoBody
	}
	return resp
}

// fixedBody reads a body of known length from the connection's reader; a connection that ends early is
// io.ErrUnexpectedEOF, as net/http reports it, never a short body that looks whole.
type fixedBody struct {
	r    *bufio.Reader
	left int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		if b.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		return n, nil
	}
	if err == nil && b.left == 0 {
		err = io.EOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }
