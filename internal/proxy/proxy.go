// Package proxy owns ferry's data plane for HTTP: a reverse proxy that serves an environment's stable address
// and routes each request to a version of the service (stable or canary) by weight, sticky per client, with
// per-version request, error and latency figures over rolling windows. Switching routes is atomic and drains:
// requests in flight finish where they started.
//
// It must not import the control plane (server, rollout, store).
package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// VersionHeader lets a tester force a version: "canary" or "stable".
const VersionHeader = "X-Ferry-Version"

// CookieName holds the client id that sticky splitting hashes.
const CookieName = "ferry_client"

// Role is a version's place in a rollout.
type Role string

const (
	Stable Role = "stable"
	Canary Role = "canary"
)

// Version is one release of the service behind the proxy.
type Version struct {
	Role Role
	// Release names the release for figures and logs.
	Release string
	// Weight is the share of clients, 0 to 100, sent to this version. The stable version takes what the
	// canary leaves.
	Weight int
	// Upstreams are the instances' addresses (host:port).
	Upstreams []string
}

// Route is what the proxy serves: a stable version and, during a rollout, a canary.
type Route struct {
	Stable Version
	Canary *Version
}

// Proxy is an http.Handler. The zero value answers 503 until SetRoute is called.
type Proxy struct {
	// Name labels figures, typically the environment.
	Name   string
	Logger *slog.Logger

	cur  atomic.Pointer[table]
	opts atomic.Pointer[Options] // options.go
	gate atomic.Pointer[gate]    // maintenance.go; nil while serving

	mu       sync.Mutex
	backends map[string]*backend // by address, shared across route changes so pools survive them
	stats    map[string]*Window  // by release
}

type table struct {
	route  Route
	stable *target
	canary *target // nil without a canary
}

type target struct {
	role     Role
	release  string
	weight   int
	backends []*backend
	next     atomic.Uint32
	stats    *Window
}

type backend struct {
	addr     string
	pool     *pool
	inflight atomic.Int64
	upgrade  *httputil.ReverseProxy // WebSocket and other upgrades, a rare path
}

// SetRoute switches the proxy to route. New requests use it at once; requests in flight finish on the version
// they started on. Backends no longer named are closed once they are idle (see Drain).
func (p *Proxy) SetRoute(route Route) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.backends == nil {
		p.backends = map[string]*backend{}
		p.stats = map[string]*Window{}
	}
	t := &table{route: route, stable: p.target(route.Stable)}
	if route.Canary != nil {
		t.canary = p.target(*route.Canary)
	}
	p.cur.Store(t)
}

func (p *Proxy) target(v Version) *target {
	t := &target{role: v.Role, release: v.Release, weight: min(max(v.Weight, 0), 100)}
	for _, addr := range v.Upstreams {
		b, ok := p.backends[addr]
		if !ok {
			b = &backend{addr: addr, pool: newPool(addr)}
			u := &url.URL{Scheme: "http", Host: addr}
			b.upgrade = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host; pr.SetXForwarded() }}
			p.backends[addr] = b
		}
		t.backends = append(t.backends, b)
	}
	w, ok := p.stats[v.Release]
	if !ok {
		w = NewWindow()
		p.stats[v.Release] = w
	}
	t.stats = w
	return t
}

// Route returns the route being served.
func (p *Proxy) Route() Route {
	if t := p.cur.Load(); t != nil {
		return t.route
	}
	return Route{}
}

// Stats returns the rolling figures of a release (nil if the proxy never routed to it).
func (p *Proxy) Stats(release string) *Window {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats[release]
}

// Drain waits until no request is in flight on the given upstreams or ctx is done, then closes their idle
// connections and forgets them unless the current route still uses them.
func (p *Proxy) Drain(ctx context.Context, upstreams []string) error {
	p.mu.Lock()
	var bs []*backend
	for _, a := range upstreams {
		if b, ok := p.backends[a]; ok {
			bs = append(bs, b)
		}
	}
	p.mu.Unlock()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for _, b := range bs {
		for b.inflight.Load() > 0 {
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-t.C:
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	used := map[string]bool{}
	if cur := p.cur.Load(); cur != nil {
		for _, tg := range []*target{cur.stable, cur.canary} {
			if tg != nil {
				for _, b := range tg.backends {
					used[b.addr] = true
				}
			}
		}
	}
	for _, b := range bs {
		if !used[b.addr] {
			b.pool.close()
			delete(p.backends, b.addr)
		}
	}
	return nil
}

// pick chooses the version for a request: the tester's header, else the client's sticky bucket. setCookie is a
// Set-Cookie value to send when the client had no valid id yet.
func (t *table) pick(r *http.Request) (tg *target, setCookie string) {
	if t.canary == nil {
		return t.stable, ""
	}
	switch r.Header.Get(VersionHeader) {
	case "canary":
		return t.canary, ""
	case "stable":
		return t.stable, ""
	}
	if t.canary.weight == 0 {
		return t.stable, ""
	}
	if t.canary.weight >= 100 {
		return t.canary, ""
	}
	id := ""
	if c, err := r.Cookie(CookieName); err == nil && validClientID(c.Value) {
		id = c.Value
	} else {
		id = newClientID()
		setCookie = (&http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 30 * 24 * 3600}).String()
	}
	if Bucket(id) < t.canary.weight*100 {
		return t.canary, setCookie
	}
	return t.stable, setCookie
}

// choose picks the version and one of its instances, round robin.
func (t *table) choose(r *http.Request) (*target, *backend, string) {
	tg, cookie := t.pick(r)
	if len(tg.backends) == 0 {
		return tg, nil, cookie
	}
	return tg, tg.backends[int(tg.next.Add(1)-1)%len(tg.backends)], cookie
}

// ServeHTTP proxies one request. Serve uses it for HTTP/2 (h2c) connections; it also lets the proxy run
// behind any net/http server.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.gate.Load() != nil {
		if ok, msg := p.admit(r.Context()); !ok {
			serveMaintenance(w, msg)
			return
		}
	}
	t := p.cur.Load()
	if t == nil {
		http.Error(w, msgNoRelease, http.StatusServiceUnavailable)
		return
	}
	if !p.admitBody(w, r) {
		return
	}
	tg, b, cookie := t.choose(r)
	if cookie != "" {
		w.Header().Add("Set-Cookie", cookie)
	}
	start := time.Now()
	if b == nil {
		http.Error(w, msgNoInstance, http.StatusServiceUnavailable)
		tg.stats.Record(start, http.StatusServiceUnavailable, time.Since(start))
		return
	}
	code := p.forward(w, r, tg, b)
	tg.stats.Record(start, code, time.Since(start))
}

// roundTrip sends the request to b and, when b fails before answering, to the version's other instances in
// turn, as nginx's proxy_next_upstream does by default: always when the instance could not be reached (it just
// died), and for idempotent requests without a body when the connection broke before the answer began. It
// returns the backend that answered, with its in-flight count raised; the caller lowers it.
func (tg *target) roundTrip(ctx context.Context, b *backend, r *http.Request, f *fwd) (*http.Response, *upConn, *backend, error) {
	first := slices.Index(tg.backends, b)
	for i := 1; ; i++ {
		b.inflight.Add(1)
		resp, c, err := b.pool.roundTrip(ctx, r, f)
		// An instance too slow to answer is not a reason to wait as long again on another.
		if err == nil || i >= len(tg.backends) || ctx.Err() != nil || isTimeout(err) || !(isDialError(err) || replayable(r)) {
			return resp, c, b, err
		}
		b.inflight.Add(-1)
		b = tg.backends[(first+i)%len(tg.backends)] // each other instance once
	}
}

// replayable reports whether sending r again cannot do harm: an idempotent method and no body.
func replayable(r *http.Request) bool {
	switch r.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return r.Body == nil || r.Body == http.NoBody
	}
	return false
}

const (
	msgNoRelease  = "ferry: no release is live here yet"
	msgNoInstance = "ferry: no instance of the release is up"
	msgUpstream   = "ferry: upstream unavailable"
)

// forward proxies one request to b and returns the status the client got.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, tg *target, b *backend) int {
	if r.Header.Get("Upgrade") != "" {
		b.inflight.Add(1)
		defer b.inflight.Add(-1)
		rec := &statusRecorder{ResponseWriter: w}
		b.upgrade.ServeHTTP(rec, r)
		if rec.code == 0 {
			return http.StatusSwitchingProtocols // hijacked: the upgrade went through
		}
		return rec.code
	}
	clientIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	f := p.fwdFor(clientIP, r.TLS != nil)
	resp, c, b, err := tg.roundTrip(r.Context(), b, r, &f)
	defer b.inflight.Add(-1)
	if err != nil {
		if r.Context().Err() != nil {
			return 499 // the client went away
		}
		code, msg := upstreamFailure(err)
		if code != http.StatusRequestEntityTooLarge {
			p.logError("upstream", b.addr, err)
		}
		http.Error(w, msg, code)
		return code
	}
	// A client that goes away mid-response releases the upstream connection at once; an answer already
	// whole in the buffer reads nothing more from it.
	var stop releaser = neverCancelled{}
	if resp.ContentLength < 0 || int64(c.br.Buffered()) < resp.ContentLength {
		stop = closeOnCancel(r.Context(), c)
	}
	h := w.Header()
	extraHop := connectionTokens(resp.Header)
	for k, vv := range resp.Header {
		if hopByHop[k] || extraHop != nil && extraHop[k] {
			continue
		}
		if prior := h[k]; len(prior) > 0 {
			// ferry set it first (the sticky split's Set-Cookie): the instance's values, then ferry's, as
			// the HTTP/1.1 loop writes them.
			h[k] = append(vv[:len(vv):len(vv)], prior...)
		} else {
			h[k] = vv
		}
	}
	if len(resp.Trailer) > 0 {
		for k := range resp.Trailer {
			h.Add("Trailer", k)
		}
	}
	w.WriteHeader(resp.StatusCode)
	err = copyBody(w, resp)
	resp.Body.Close()
	for k, vv := range resp.Trailer {
		h[k] = vv
	}
	code := resp.StatusCode // resp is the connection's own: not read once it is back in the pool
	if !stop.release() || err != nil || resp.Close {
		c.Close()
	} else {
		b.pool.put(c)
	}
	return code
}

// copyBody streams the body to the client, flushing at once when the upstream sends it in pieces of unknown
// length (server-sent events, long polls, chunked streams).
func copyBody(w http.ResponseWriter, resp *http.Response) error {
	if resp.ContentLength == 0 {
		return nil
	}
	buf := getBuf()
	defer putBuf(buf)
	stream := resp.ContentLength < 0 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	rc := http.NewResponseController(w)
	for {
		n, err := resp.Body.Read(*buf)
		if n > 0 {
			if _, werr := w.Write((*buf)[:n]); werr != nil {
				return werr
			}
			if stream {
				rc.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (p *Proxy) logError(msg, addr string, err error) {
	if p.Logger != nil && !errors.Is(err, context.Canceled) {
		p.Logger.Warn(msg, "env", p.Name, "upstream", addr, "err", err)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
