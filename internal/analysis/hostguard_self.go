package analysis

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Deny keeps every check from reaching addr (host:port), an address ferry serve itself listens on: its API.
// The loopback addresses checks may reach include ferry's own, and a kubernetes check's url is written by a
// commit, so without this a hostile commit could point a check at ferry's API. A host on every interface
// (0.0.0.0, [::], none) denies the port on the loopback addresses and on every address of this machine's
// interfaces.
func (g *HostGuard) Deny(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("deny %s to checks: %w", addr, err)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(orUnspecified(host), port))
	if err != nil {
		return fmt.Errorf("deny %s to checks: %w", addr, err)
	}
	denied := []netip.AddrPort{netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
	if ap.Addr().IsUnspecified() {
		denied = append(denied, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port()),
			netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port()))
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				denied = append(denied, netip.AddrPortFrom(p.Addr().Unmap(), ap.Port()))
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.denied = append(g.denied, denied...)
	return nil
}

func orUnspecified(host string) string {
	if host == "" {
		return "::"
	}
	return host
}

// deniedAddr says whether ap (an address about to be dialled) is one Deny named. Any address of the whole
// loopback range counts for a denied loopback one: 127.0.0.2 reaches a listener on 0.0.0.0 as well.
func (g *HostGuard) deniedAddr(ap netip.AddrPort) bool {
	if g == nil {
		return false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	ip := ap.Addr().Unmap()
	return slices.ContainsFunc(g.denied, func(d netip.AddrPort) bool {
		return d.Port() == ap.Port() && (d.Addr() == ip || d.Addr().IsLoopback() && ip.IsLoopback())
	})
}
