package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferry-cd/ferry/internal/hostname"
)

// CertificateFunc gives the certificate for a TLS hello, chosen by its server name (SNI): the shape of
// tls.Config.GetCertificate. An ACME manager plugs in here; it also answers hellos that offer only the
// acme-tls/1 protocol (TLS-ALPN-01 challenges).
type CertificateFunc func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// ChallengeFunc answers an ACME HTTP-01 challenge on a plain-HTTP listener and reports whether it did
// (false: the request is not a challenge it knows, and the site serves it as usual).
type ChallengeFunc func(http.ResponseWriter, *http.Request) bool

// Host is one environment's place on a site: the host names it answers and how.
type Host struct {
	// Names are checked host names (see internal/hostname); none takes the whole address.
	Names []string
	Proxy *Proxy
	// Certificate is the environment's certificate on a TLS site; when nil, GetCertificate gives it.
	Certificate    *tls.Certificate
	GetCertificate CertificateFunc
	// Challenge, on a plain-HTTP site, is asked first about every request for the environment's hosts.
	Challenge ChallengeFunc
	// Redirect, on a plain-HTTP site, answers every request with a redirect to HTTPS on HTTPSPort (443 when
	// zero) instead of proxying it.
	Redirect  bool
	HTTPSPort int
	// HSTS is the Strict-Transport-Security max-age in seconds added to HTTPS answers; 0 adds none.
	HSTS int
	// H2C serves HTTP/2 with prior knowledge on a plain site.
	H2C bool

	hstsLine string // the rendered header line
}

// Site is one listen address shared by environments: each request goes to the proxy of the environment
// whose host names match its Host header (exact first, then one wildcard level), and a TLS hello gets the
// certificate of the environment its server name matches. The table is swapped atomically by SetHosts, so
// dispatch costs a map lookup and no lock. The zero Site answers 404 to everything until SetHosts.
type Site struct {
	// TLS terminates TLS on every connection (HTTP/1.1 and HTTP/2 by ALPN). SetHosts takes it; Set changes it
	// on a site that serves.
	TLS bool

	table   atomic.Pointer[siteTable]
	h2conns h2ConnSet
}

type siteTable struct {
	exact map[string]*Host
	wild  map[string]*Host // by the name after "*."
	all   *Host            // the environment without host names, which then is the only one
	first *Host            // the certificate for a hello without a server name
	h2c   bool
	tls   bool
	hosts []*Host
	conn  atomic.Pointer[cachedOptions] // connOptions, kept until a proxy's options change
}

// cachedOptions are a table's connection options as of a count of SetOptions calls (optionsGen).
type cachedOptions struct {
	gen uint64
	o   Options
}

// SetHosts makes hosts the site's table, served with TLS when s.TLS is set. Names must not overlap and an
// environment without names must be the only one: the data plane checks that before (and an error here
// changes nothing).
func (s *Site) SetHosts(hosts []*Host) error { return s.Set(s.TLS, hosts) }

// Set makes hosts the site's table and says whether new connections are served with TLS.
func (s *Site) Set(secure bool, hosts []*Host) error {
	t := &siteTable{exact: map[string]*Host{}, wild: map[string]*Host{}, tls: secure, hosts: hosts}
	for _, h := range hosts {
		if h.HSTS > 0 {
			h.hstsLine = "Strict-Transport-Security: max-age=" + strconv.Itoa(h.HSTS) + "\r\n"
		}
		if t.first == nil {
			t.first = h
		}
		t.h2c = t.h2c || h.H2C
		if len(h.Names) == 0 {
			if len(hosts) > 1 {
				return fmt.Errorf("an environment without host names shares the address with %d others", len(hosts)-1)
			}
			t.all = h
			continue
		}
		for _, n := range h.Names {
			m, key := t.exact, n
			if hostname.IsWildcard(n) {
				m, key = t.wild, n[2:]
			}
			if _, dup := m[key]; dup {
				return fmt.Errorf("host %s is claimed twice", n)
			}
			m[key] = h
		}
	}
	s.table.Store(t)
	return nil
}

// lookup finds the environment of a request's Host (a TLS connection's server name when it has none).
func (t *siteTable) lookup(host, sni string) *Host {
	if t == nil {
		return nil
	}
	if t.all != nil {
		return t.all
	}
	if host == "" {
		host = sni
	}
	h := hostname.Normalize(host)
	if e := t.exact[h]; e != nil {
		return e
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		return t.wild[h[i+1:]]
	}
	return nil
}

// connOptions are the limits and timeouts for reading a request head on the site, before its Host says whose
// it is: the most lenient of its environments' options (one environment's alone in the common case).
func (t *siteTable) connOptions() *Options {
	if t == nil {
		return &defaultOptions
	}
	// Read on every request: worked out once, and again only after some proxy's SetOptions (which counts
	// after it stores, so a table that read old options has also read the old count).
	gen := optionsGen.Load()
	if c := t.conn.Load(); c != nil && c.gen == gen {
		return &c.o
	}
	var o Options
	for _, h := range t.hosts {
		if h.Proxy == nil {
			continue
		}
		e := h.Proxy.options()
		o.MaxHeaderBytes = max(o.MaxHeaderBytes, e.MaxHeaderBytes)
		o.ClientTimeout = max(o.ClientTimeout, e.ClientTimeout)
		o.IdleTimeout = max(o.IdleTimeout, e.IdleTimeout)
	}
	c := &cachedOptions{gen: gen, o: o.withDefaults()}
	t.conn.Store(c)
	return &c.o
}

const msgUnknownHost = "ferry: no site here answers this host name"

// tlsHandshakeTimeout bounds a client's TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// acmeALPN is the protocol of ACME's TLS-ALPN-01 challenge (RFC 8737).
const acmeALPN = "acme-tls/1"

// tlsConfig is the site's TLS configuration: TLS 1.2 at least, Go's default (secure) cipher suites, the
// post-quantum hybrid and X25519 key exchanges first, HTTP/2 by ALPN, and the certificate chosen by SNI.
func (s *Site) tlsConfig() *tls.Config {
	base := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256},
		NextProtos:       []string{"h2", "http/1.1"},
		GetCertificate:   s.certificate,
	}
	acme := base.Clone()
	acme.NextProtos = []string{acmeALPN}
	base.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if slices.Contains(hello.SupportedProtos, acmeALPN) {
			return acme, nil // a challenge: the certificate source answers it, nothing is served
		}
		return nil, nil
	}
	return base
}

// certificate picks the certificate for a hello by its server name.
func (s *Site) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	t := s.table.Load()
	h := t.lookup("", hello.ServerName)
	if h == nil && hello.ServerName == "" && t != nil {
		h = t.first // a client that sends no name (an IP address in the URL) gets the first environment's
	}
	switch {
	case h == nil:
		return nil, fmt.Errorf("ferry: no certificate for %q", hello.ServerName)
	case h.Certificate != nil && !slices.Contains(hello.SupportedProtos, acmeALPN):
		return h.Certificate, nil
	case h.GetCertificate != nil:
		return h.GetCertificate(hello)
	}
	return nil, fmt.Errorf("ferry: no certificate for %q", hello.ServerName)
}

// Serve accepts connections on l and serves them until l is closed (see Proxy.Serve for the HTTP/1.1 loop).
// On a TLS site, connections that negotiate h2 are served by ferry's HTTP/2 server (h2.go), whose streams
// route like the loop; on a plain one, connections that open with the HTTP/2 preface are, when an environment
// asks for h2c.
func (s *Site) Serve(l net.Listener) error {
	cfg := s.tlsConfig()
	conns := &connSet{m: map[*trackedConn]struct{}{}}
	defer func() {
		// The listener is closed: idle connections close now, busy ones after their answer; HTTP/2 clients
		// are told to open no more streams and get 5 s to finish those they have.
		conns.closeIdle()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.h2conns.shutdown(ctx)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		tc := conns.add(newSockConn(c))
		go func() {
			defer conns.remove(tc)
			if t := s.table.Load(); t == nil || !t.tls {
				s.serveConn(tc, false, "")
				return
			}
			s.serveTLS(tc, cfg)
		}()
	}
}

// serveTLS completes the handshake, then serves HTTP/2 or HTTP/1.1 by what the client chose (ALPN).
func (s *Site) serveTLS(c *trackedConn, cfg *tls.Config) {
	tc := tls.Server(c, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	st := tc.ConnectionState()
	switch st.NegotiatedProtocol {
	case "h2":
		c.busy.Store(true) // its streams end it; a shutdown sends GOAWAY first
		s.serveH2(tc, nil, true)
	case acmeALPN:
		tc.Close() // the handshake was the answer
	default:
		// The loop marks the connection busy through c, which Serve's connSet tracks; it reads through tc.
		s.serveConn(&tlsTracked{Conn: tc, tracked: c}, true, st.ServerName)
	}
}

// tlsTracked is a TLS connection whose busy flag lives on the tracked raw connection under it.
type tlsTracked struct {
	*tls.Conn
	tracked *trackedConn
}

// ServeHTTP routes a request of the HTTP/2 server (or of any net/http server in front of the site) by Host.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sni := ""
	if r.TLS != nil {
		sni = r.TLS.ServerName
	}
	h := s.table.Load().lookup(r.Host, sni)
	switch {
	case h == nil:
		http.Error(w, msgUnknownHost, http.StatusNotFound)
		return
	case r.TLS == nil && h.Challenge != nil && h.Challenge(w, r):
		return
	case r.TLS == nil && h.Redirect:
		if u, ok := httpsURL(r, h); ok {
			http.Redirect(w, r, u, redirectCode(r))
		} else {
			http.Error(w, msgBadHost, http.StatusBadRequest)
		}
		return
	case r.TLS == nil && r.ProtoMajor == 2 && !h.H2C:
		http.Error(w, "ferry: HTTP/2 without TLS (h2c) is not enabled for this host", http.StatusHTTPVersionNotSupported)
		return
	case r.TLS != nil && h.HSTS > 0:
		w.Header().Set("Strict-Transport-Security", "max-age="+strconv.Itoa(h.HSTS))
	}
	h.Proxy.ServeHTTP(w, r)
}

// answerHere answers on the HTTP/1.1 loop what is not proxied: an unknown host (404), an ACME challenge, a
// redirect to HTTPS. It reports whether the connection may serve another request.
func (s *Site) answerHere(bw *bufio.Writer, r *http.Request, h *Host, secure bool) bool {
	closing := r.Close
	if h == nil {
		writeSimple(bw, http.StatusNotFound, msgUnknownHost+"\n", closing)
		return true
	}
	if h.Challenge != nil && !secure {
		rec := &recorder{header: http.Header{}}
		if h.Challenge(rec, r) {
			rec.writeTo(bw, closing)
			return true
		}
	}
	if h.Redirect && !secure {
		u, ok := httpsURL(r, h)
		if !ok {
			writeSimple(bw, http.StatusBadRequest, msgBadHost+"\n", closing)
			return true
		}
		code := redirectCode(r)
		msg := "ferry: moved to " + u + "\n"
		bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nLocation: " + u +
			"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(msg)) + "\r\n")
		if closing {
			bw.WriteString("Connection: close\r\n")
		}
		bw.WriteString("\r\n" + msg)
		return true
	}
	// A challenge hook that did not answer, without a redirect: the environment serves plain HTTP too.
	keep := h.Proxy.serveOne(bw, r, clientIPOf(r), false, "")
	return keep
}

func clientIPOf(r *http.Request) string {
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	return ip
}

// redirectCode is 301 for GET and HEAD and 308 otherwise, so a POST is sent again as a POST.
func redirectCode(r *http.Request) int {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return http.StatusMovedPermanently
	}
	return http.StatusPermanentRedirect
}

const msgBadHost = "ferry: the Host header is not a valid host name"

// httpsURL is the request's URL on HTTPS: its host without the plain port, the HTTPS port unless it is 443.
// A host that is not a valid name (a wildcard matches any first label) is never echoed into a Location.
func httpsURL(r *http.Request, h *Host) (string, bool) {
	host := hostname.Normalize(r.Host)
	if _, err := hostname.Check(host); err != nil || hostname.IsWildcard(host) {
		return "", false
	}
	if h.HTTPSPort != 0 && h.HTTPSPort != 443 {
		host += ":" + strconv.Itoa(h.HTTPSPort)
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI() // an absolute-form request target
	}
	return "https://" + host + uri, true
}

// recorder holds a challenge hook's small answer until it is written on the loop's connection.
type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if len(r.body)+len(b) > 64<<10 {
		return 0, errors.New("challenge answer too large")
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

func (r *recorder) writeTo(bw *bufio.Writer, closing bool) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	bw.WriteString("HTTP/1.1 " + strconv.Itoa(r.code) + " " + http.StatusText(r.code) + "\r\n")
	r.header.Del("Content-Length")
	writeHeader(bw, r.header)
	bw.WriteString("Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n")
	if closing {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(r.body)
}
