package proxy

import (
	"net/netip"
	"sync/atomic"
	"time"
)

// Options are an environment's limits, timeouts and trusted proxies (the `proxy:` key of a service). A zero
// field takes its default.
type Options struct {
	// TrustedProxies are the peers whose X-Forwarded-* and Forwarded headers are believed: a load balancer in
	// front of ferry. From any other peer those headers are dropped and replaced with what ferry saw.
	TrustedProxies []netip.Prefix `json:"trusted_proxies,omitempty"`
	// MaxHeaderBytes bounds a request's head (request line and headers); a longer one gets 431. 64 KiB.
	MaxHeaderBytes int `json:"max_header_bytes,omitempty"`
	// MaxBodyBytes bounds a request's body; a longer one gets 413. No bound by default: bodies stream
	// through without being held.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// ClientTimeout bounds reading a request's head from the client, and each wait for more of its body; a
	// client slower than that (slowloris) is disconnected. 30 s.
	ClientTimeout time.Duration `json:"client_timeout,omitempty"`
	// IdleTimeout is how long a keep-alive connection may wait for its next request. 120 s.
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	// UpstreamTimeout bounds the wait for an instance's answer to begin; the client then gets 504. 60 s.
	UpstreamTimeout time.Duration `json:"upstream_timeout,omitempty"`
}

// The defaults of Options, documented in docs/edge.md.
const (
	DefaultMaxHeaderBytes  = 64 << 10
	DefaultClientTimeout   = 30 * time.Second
	DefaultIdleTimeout     = 120 * time.Second
	DefaultUpstreamTimeout = 60 * time.Second
)

// withDefaults returns o with every zero field at its default.
func (o Options) withDefaults() Options {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.ClientTimeout <= 0 {
		o.ClientTimeout = DefaultClientTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.UpstreamTimeout <= 0 {
		o.UpstreamTimeout = DefaultUpstreamTimeout
	}
	return o
}

var defaultOptions = Options{}.withDefaults()

// SetOptions makes o the proxy's limits and timeouts. Requests that start afterwards use them; a connection
// reads its next request head with them.
func (p *Proxy) SetOptions(o Options) {
	o = o.withDefaults()
	p.opts.Store(&o)
	optionsGen.Add(1)
}

// optionsGen counts SetOptions calls, so that a site's connection options (siteTable.connOptions), worked out
// from its proxies', are worked out again only when one of them changed.
var optionsGen atomic.Uint64

// options returns the proxy's options, the defaults until SetOptions.
func (p *Proxy) options() *Options {
	if o := p.opts.Load(); o != nil {
		return o
	}
	return &defaultOptions
}

// trusted reports whether the peer at ip may speak for its clients.
func (o *Options) trusted(ip string) bool {
	if len(o.TrustedProxies) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
