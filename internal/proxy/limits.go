package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

const (
	msgTimeout  = "ferry: the instance did not answer in time"
	msgTooLarge = "ferry: request body too large"
)

// errBodyTooLarge ends a request body that goes past MaxBodyBytes.
var errBodyTooLarge = errors.New("request body too large")

// upstreamFailure is the status and message for a request the instance did not answer.
func upstreamFailure(err error) (int, string) {
	switch {
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, msgTooLarge
	case isTimeout(err):
		return http.StatusGatewayTimeout, msgTimeout
	}
	return http.StatusBadGateway, msgUpstream
}

// limitedBody ends a body of unknown length that goes past max with errBodyTooLarge, and bounds each wait for
// more of it by the client timeout, so a client that sends a body a byte a minute is cut.
type limitedBody struct {
	io.ReadCloser
	left    int64 // -1: no bound
	conn    net.Conn
	timeout time.Duration
}

func (b *limitedBody) Read(p []byte) (int, error) {
	// At exactly max so far the body may still end: the next read tells (EOF, or a byte too many).
	if b.left > 0 && int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more tells "exactly max" from "more"
	}
	if b.conn != nil {
		b.conn.SetReadDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	if b.left >= 0 {
		if int64(n) > b.left {
			n, b.left = int(b.left), 0
			return n, errBodyTooLarge
		}
		b.left -= int64(n)
	}
	return n, err
}

// admitBody checks the request body against the limits before the request goes anywhere: a declared length
// above MaxBodyBytes gets 413 at once, and a body of unknown length is cut where it passes the bound. It
// reports whether the request may go on. The net/http server bounds reads itself.
func (p *Proxy) admitBody(w http.ResponseWriter, r *http.Request) bool {
	o := p.options()
	if r.Body == nil || r.Body == http.NoBody || o.MaxBodyBytes <= 0 {
		return true
	}
	if r.ContentLength > o.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		http.Error(w, msgTooLarge, http.StatusRequestEntityTooLarge)
		return false
	}
	r.Body = &limitedBody{ReadCloser: r.Body, left: o.MaxBodyBytes}
	return true
}

// admitBodyConn is admitBody for ferry's own HTTP/1 loop: it also bounds each wait for body bytes on c.
func (p *Proxy) admitBodyConn(bw *bufio.Writer, req *http.Request, c net.Conn) bool {
	o := p.options()
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if o.MaxBodyBytes > 0 && req.ContentLength > o.MaxBodyBytes {
		writeSimple(bw, http.StatusRequestEntityTooLarge, msgTooLarge+"\n", true)
		return false
	}
	left := int64(-1)
	if o.MaxBodyBytes > 0 {
		left = o.MaxBodyBytes
	}
	req.Body = &limitedBody{ReadCloser: req.Body, left: left, conn: c, timeout: o.ClientTimeout}
	return true
}
