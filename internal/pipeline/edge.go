package pipeline

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/hostname"
)

var tlsKeys = []string{"cert", "key", "acme", "http", "redirect", "hsts"}

const (
	// maxHosts bounds the host names of one environment.
	maxHosts = 100
	// maxHSTS is two years, the longest max-age browsers' preload lists ask for.
	maxHSTS = 2 * 365 * 24 * 3600
)

// TLS is how the proxy terminates TLS for an environment (`service: {tls: ...}`).
type TLS struct {
	// Cert and Key are files on the ferry server, relative to the project's certificate folder
	// (DATA/certs/PROJECT): a commit cannot name a file outside it. Both are set, or neither (ACME).
	Cert, Key string
	// ACME is set when the file has an "acme" block: the hosts' certificates are obtained from an ACME CA.
	ACME *ACME
	// HTTP is a plain-HTTP listen address for the same hosts: it redirects to HTTPS when Redirect is set,
	// else serves the environment over plain HTTP too; ACME's HTTP-01 challenges are answered there first.
	HTTP     string
	Redirect bool
	// HSTS is the Strict-Transport-Security max-age in seconds sent on HTTPS answers; 0 sends none.
	HSTS int
}

// Claim is where in the file an environment claims a listen address: what the checks across pipelines
// report at.
type Claim struct {
	Listen Pos
	// Hosts are the positions of Service.Hosts, one each.
	Hosts []Pos
	HTTP  Pos
}

// hosts reads the host names an environment answers on its listen address.
func (p *parser) hosts(n *yaml.Node) ([]string, []Pos) {
	items, ok := p.Sequence(n, `"hosts"`)
	if !ok {
		return nil, nil
	}
	if len(items) == 0 {
		p.errorf(resolve(n), `"hosts" is empty; name the hosts, like [shop.example.com], or remove it to take the whole address`)
	}
	if len(items) > maxHosts {
		p.errorf(resolve(n), `"hosts" has %d entries; an environment has at most %d`, len(items), maxHosts)
		return nil, nil
	}
	var names []string
	var at []Pos
	first := map[string]*yaml.Node{}
	for _, item := range items {
		s, ok := p.text(item, "a host")
		if !ok {
			continue
		}
		item = resolve(item)
		name, err := hostname.Check(s)
		if err != nil {
			p.errorf(item, "%v", err)
			continue
		}
		for prev, pn := range first {
			if hostname.Overlap(prev, name) {
				p.errorf(item, "host %s overlaps %s (line %d) of the same environment; keep one", name, prev, pn.Line)
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		first[name] = item
		names = append(names, name)
		at = append(at, pos(item))
	}
	return names, at
}

// tls reads an environment's TLS settings; httpAddr is its "http" address when that is valid.
func (p *parser) tls(n *yaml.Node) (t *TLS, httpNode *yaml.Node, httpAddr address) {
	m := p.section(n, "tls", tlsKeys)
	if m == nil {
		return nil, nil, address{}
	}
	t = &TLS{}
	n = resolve(n)
	_, hasCert := m["cert"]
	_, hasKey := m["key"]
	acme, hasACME := m["acme"]
	if hasACME {
		t.ACME = p.acme(acme.Val)
	}
	switch {
	case hasCert != hasKey:
		p.errorf(n, `tls needs both "cert" and "key" (files in the project's certificate folder on the server)`)
	case !hasCert && !hasACME:
		p.errorf(n, `tls needs a certificate: cert and key files, like {cert: shop.pem, key: shop.key}, or an "acme" block`)
	case hasCert && hasACME:
		p.errorf(m["acme"].Key, `tls has both certificate files and "acme"; choose one`)
	}
	if hasCert {
		t.Cert, _ = p.certPath(m["cert"].Val, `"cert"`)
	}
	if hasKey {
		t.Key, _ = p.certPath(m["key"].Val, `"key"`)
	}
	if f, ok := m["http"]; ok {
		if a, ok := p.listenAs(f.Val, `"http"`); ok {
			t.HTTP, httpNode, httpAddr = resolve(f.Val).Value, resolve(f.Val), a
		}
	}
	if f, ok := m["redirect"]; ok {
		t.Redirect, _ = p.boolean(f.Val, `"redirect"`)
		if t.Redirect && t.HTTP == "" {
			p.errorf(f.Key, `"redirect" needs "http", the plain-HTTP address to redirect from, like http: 0.0.0.0:80`)
		}
	}
	if f, ok := m["hsts"]; ok {
		t.HSTS, _ = p.integer(f.Val, `"hsts"`, 0, maxHSTS)
	}
	return t, httpNode, httpAddr
}

// certPath reads a certificate file's path: relative to the project's certificate folder on the server and
// inside it, since the file is the server's, not the commit's, and one project must not name another's.
func (p *parser) certPath(n *yaml.Node, what string) (string, bool) {
	s, ok := p.text(n, what)
	n = resolve(n)
	switch {
	case !ok:
	case s == "":
		p.errorf(n, "%s is empty; name a file in the project's certificate folder, like shop.pem", what)
	case strings.HasPrefix(s, "/") || strings.Contains(s, `\`):
		p.errorf(n, "%s %q must be relative to the project's certificate folder on the server (DATA/certs/PROJECT), like shop.pem", what, s)
	case path.Clean(s) != s || s == "." || strings.HasPrefix(s, "../") || s == "..":
		p.errorf(n, "%s %q must stay inside the project's certificate folder; write it without \".\", \"..\" or repeated slashes", what, s)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		p.errorf(n, "%s %q has control characters", what, s)
	default:
		return s, true
	}
	return "", false
}

// claimOverlap says why two environments' claims on overlapping sockets clash, or "" when they do not: they
// may share a socket when both name hosts and no host of one matches a host of the other, and both serve it
// the same way (TLS or plain HTTP).
func claimOverlap(aHosts, bHosts []string, aTLS, bTLS bool) string {
	if x, y, ok := hostname.FirstOverlap(aHosts, bHosts); ok {
		switch {
		case x == "" && y == "":
			return "neither names hosts, so each would take the whole address"
		case x == "":
			return "the first names no hosts, so it takes the whole address"
		case y == "":
			return "this one names no hosts, so it would take the whole address"
		case x == y:
			return fmt.Sprintf("both claim host %s", x)
		default:
			return fmt.Sprintf("host %s overlaps %s", y, x)
		}
	}
	if aTLS != bTLS {
		return "one serves it over TLS and the other over plain HTTP"
	}
	return ""
}
