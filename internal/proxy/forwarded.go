package proxy

import (
	"bufio"
	"net/http"
	"strings"
	"time"
)

// fwd is what the proxy tells an instance about a request besides the request itself.
type fwd struct {
	peer    string // the IP address of the connection's other end
	tls     bool   // the client reached ferry over TLS
	trusted bool   // the peer is a trusted proxy: its X-Forwarded-* and Forwarded headers are believed
	// timeout bounds the wait for the answer to begin.
	timeout time.Duration
	// asLines asks for the answer's head as lines to forward rather than a header map (readResponse), for
	// the HTTP/1.1 loop, which writes them as they came.
	asLines bool
}

func (p *Proxy) fwdFor(peer string, tls bool) fwd {
	o := p.options()
	return fwd{peer: peer, tls: tls, trusted: o.trusted(peer), timeout: o.UpstreamTimeout}
}

// forwardedHeader reports whether k is one of the headers that say who the client is.
func forwardedHeader(k string) bool {
	switch k {
	case "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip":
		return true
	}
	return false
}

// writeForwarded writes X-Forwarded-For, -Host, -Proto and Forwarded (RFC 7239). From a trusted proxy the
// chain it sent is kept and the peer appended, and the host and scheme it saw stand; from anyone else what the
// client sent is dropped (a client must not choose the address the instance believes) and ferry's view
// replaces it.
func writeForwarded(bw *bufio.Writer, h http.Header, host string, f *fwd) {
	proto := "http"
	if f.tls {
		proto = "https"
	}
	xfh, xfp := host, proto
	var xff, fwdPrior []string
	if f.trusted {
		xff, fwdPrior = h["X-Forwarded-For"], h["Forwarded"]
		if v := h.Get("X-Forwarded-Host"); v != "" {
			xfh = v
		}
		if v := h.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			xfp = v
		}
		if v := h.Get("X-Real-Ip"); v != "" {
			bw.WriteString("X-Real-Ip: " + v + "\r\n")
		}
	}
	bw.WriteString("X-Forwarded-For: ")
	for _, v := range xff {
		bw.WriteString(v)
		bw.WriteString(", ")
	}
	bw.WriteString(f.peer)
	bw.WriteString("\r\nX-Forwarded-Host: ")
	bw.WriteString(xfh)
	bw.WriteString("\r\nX-Forwarded-Proto: ")
	bw.WriteString(xfp)
	bw.WriteString("\r\nForwarded: ")
	for _, v := range fwdPrior {
		bw.WriteString(v)
		bw.WriteString(", ")
	}
	bw.WriteString("for=")
	if strings.Contains(f.peer, ":") {
		bw.WriteString(`"[` + f.peer + `]"`)
	} else {
		bw.WriteString(f.peer)
	}
	bw.WriteString(";host=")
	writeQuoted(bw, host)
	bw.WriteString(";proto=")
	bw.WriteString(proto)
	bw.WriteString("\r\n")
}

// writeQuoted writes s as a Forwarded parameter value (an RFC 7230 quoted-string).
func writeQuoted(bw *bufio.Writer, s string) {
	bw.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			bw.WriteByte('\\')
		}
		bw.WriteByte(s[i])
	}
	bw.WriteByte('"')
}
