package analysis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrHostNotAllowed is wrapped by the error of a check whose URL leads to a host the server does not allow.
// Such a check fails: a pipeline cannot use ferry to reach hosts the operator has not named.
var ErrHostNotAllowed = errors.New("host not allowed for checks")

// HostGuard says which hosts the http and prometheus checks of a pipeline may reach. A commit writes those
// URLs, so without it a hostile commit could make the server query any host its network reaches (cloud
// metadata, internal admin pages) and read the answers back through a check's reason.
//
// A dial is allowed when the address actually dialled (after DNS) is in one of the allowed prefixes, or when
// the URL named one of the allowed host names (whose DNS the operator trusts). Checking the resolved address,
// not only the URL's host, keeps a name that resolves elsewhere (rebinding, wildcard DNS) from getting through.
// The zero HostGuard allows the loopback addresses only.
type HostGuard struct {
	names    map[string]bool
	prefixes []netip.Prefix

	mu     sync.RWMutex
	denied []netip.AddrPort // ferry's own addresses: see Deny
}

// loopbackPrefixes are always allowed: the releases ferry runs on this machine and a local Prometheus.
var loopbackPrefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// NewHostGuard allows the loopback addresses and each entry of allow: an IP address, a CIDR prefix such as
// 10.1.0.0/16, or a host name (ports are ignored).
func NewHostGuard(allow []string) (*HostGuard, error) {
	g := &HostGuard{names: map[string]bool{}, prefixes: append([]netip.Prefix(nil), loopbackPrefixes...)}
	for _, a := range allow {
		a = strings.TrimSpace(a)
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		a = strings.Trim(a, "[]")
		if p, err := netip.ParsePrefix(a); err == nil {
			g.prefixes = append(g.prefixes, p.Masked())
			continue
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			g.prefixes = append(g.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		if a == "" || strings.ContainsAny(a, "/:@ ") {
			return nil, fmt.Errorf("invalid check host %q: give a host name, an IP address or a CIDR prefix such as 10.0.0.0/8", a)
		}
		g.names[strings.ToLower(strings.TrimSuffix(a, "."))] = true
	}
	return g, nil
}

func (g *HostGuard) allowedIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	prefixes := loopbackPrefixes
	if g != nil {
		prefixes = g.prefixes
	}
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (g *HostGuard) allowedName(host string) bool {
	return g != nil && g.names[strings.ToLower(strings.TrimSuffix(host, "."))]
}

// DialContext dials addr (host:port) if the guard allows it, checking the address dialled after DNS.
func (g *HostGuard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	trusted := g.allowedName(host)
	d := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if ap, err := netip.ParseAddrPort(address); err == nil && g.deniedAddr(ap) {
			return fmt.Errorf("%w: %s is ferry's own address", ErrHostNotAllowed, address)
		}
		if trusted {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !g.allowedIP(ap.Addr()) {
			return g.refuse(host, address)
		}
		return nil
	}}
	return d.DialContext(ctx, network, addr)
}

func (g *HostGuard) refuse(host, address string) error {
	ip := address
	if h, _, err := net.SplitHostPort(address); err == nil {
		ip = h
	}
	what := host
	if ip != host {
		what = fmt.Sprintf("%s (%s)", host, ip)
	}
	return fmt.Errorf("%w: %s is not loopback nor allowed by ferry serve --allow-check-host", ErrHostNotAllowed, what)
}

// Client returns an HTTP client whose every connection goes through the guard, never through an HTTP proxy
// (which would dial for it), and which follows no redirects: a check judges the answer of the URL it names.
func (g *HostGuard) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         g.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
