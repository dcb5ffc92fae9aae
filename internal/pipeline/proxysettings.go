package pipeline

import (
	"net/netip"
	"time"

	"go.yaml.in/yaml/v3"
)

var proxyKeys = []string{"trusted_proxies", "max_header_bytes", "max_body_bytes", "client_timeout", "idle_timeout", "upstream_timeout"}

// ProxySettings are a service's limits and timeouts at ferry's proxy (`proxy:` under `service`). A zero field
// takes the proxy's default (docs/edge.md).
type ProxySettings struct {
	// TrustedProxies are the peers (CIDR prefixes or single addresses) whose X-Forwarded-* and Forwarded
	// headers are believed; from any other peer they are replaced.
	TrustedProxies []netip.Prefix
	// MaxHeaderBytes bounds a request head (431 above it); MaxBodyBytes a request body (413 above it).
	MaxHeaderBytes int
	MaxBodyBytes   int64
	// ClientTimeout bounds reading a request head and each wait for body bytes; IdleTimeout a keep-alive
	// connection's wait for its next request; UpstreamTimeout the wait for an instance's answer (504).
	ClientTimeout, IdleTimeout, UpstreamTimeout time.Duration
}

const (
	minHeaderBytes = 1 << 10
	maxHeaderBytes = 1 << 20
	maxProxies     = 100
	// maxProxyTimeout bounds the proxy's timeouts.
	maxProxyTimeout = time.Hour
)

// proxySettings reads a service's `proxy:` mapping.
func (p *parser) proxySettings(n *yaml.Node) ProxySettings {
	var s ProxySettings
	m := p.section(n, "proxy", proxyKeys)
	if f, ok := m["trusted_proxies"]; ok {
		items, _ := p.Sequence(f.Val, `"trusted_proxies"`)
		if len(items) > maxProxies {
			p.errorf(resolve(f.Val), `"trusted_proxies" has %d entries; give at most %d (use wider prefixes)`, len(items), maxProxies)
		}
		for _, item := range items {
			text, ok := p.text(item, "a trusted proxy")
			if !ok {
				continue
			}
			if pfx, err := netip.ParsePrefix(text); err == nil {
				s.TrustedProxies = append(s.TrustedProxies, pfx.Masked())
			} else if a, err := netip.ParseAddr(text); err == nil {
				s.TrustedProxies = append(s.TrustedProxies, netip.PrefixFrom(a, a.BitLen()))
			} else {
				p.errorf(resolve(item), `trusted proxy %q is no IP address or CIDR prefix; write one like 10.0.0.0/8 or 192.0.2.10`, text)
			}
		}
	}
	if f, ok := m["max_header_bytes"]; ok {
		s.MaxHeaderBytes, _ = p.integer(f.Val, `"max_header_bytes"`, minHeaderBytes, maxHeaderBytes)
	}
	if f, ok := m["max_body_bytes"]; ok {
		v, _ := p.integer(f.Val, `"max_body_bytes"`, 1, 1<<40)
		s.MaxBodyBytes = int64(v)
	}
	for key, d := range map[string]*time.Duration{"client_timeout": &s.ClientTimeout, "idle_timeout": &s.IdleTimeout,
		"upstream_timeout": &s.UpstreamTimeout} {
		if f, ok := m[key]; ok {
			v, ok := p.duration(f.Val, `"`+key+`"`, 100*time.Millisecond)
			if ok && v > maxProxyTimeout {
				// The data plane is shared: one project's connections must not be held open for days.
				p.errorf(resolve(f.Val), `"%s" must be at most %v, not %q`, key, maxProxyTimeout, resolve(f.Val).Value)
				v = 0
			}
			*d = v
		}
	}
	return s
}
