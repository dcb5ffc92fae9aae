package pipeline

import (
	"net/netip"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ACME is an environment's `tls: {acme: {email, directory, challenge}}`: its hosts' certificates are obtained
// from an ACME CA and renewed by the data plane.
type ACME struct {
	// Email is the account's contact, for the CA's notices; may be empty.
	Email string
	// Directory is the CA's directory URL, https://; Let's Encrypt's production directory by default. A CA
	// whose root is not in the system's (a test CA) is trusted through the server's --acme-ca-root flag,
	// never through the commit.
	Directory string
	// Challenge is how the CA checks the host is ours: "http-01" (the default; answered on the plain-HTTP
	// listener, port 80 for a real CA) or "tls-alpn-01" (answered on the TLS listener, port 443).
	Challenge string
	Pos       Pos
}

// LetsEncryptDirectory is the default ACME directory.
const LetsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"

var (
	acmeKeys       = []string{"email", "directory", "challenge"}
	acmeChallenges = []string{"http-01", "tls-alpn-01"}
)

// acme reads the "acme" mapping of a service's tls.
func (p *parser) acme(n *yaml.Node) *ACME {
	a := &ACME{Directory: LetsEncryptDirectory, Challenge: acmeChallenges[0], Pos: pos(resolve(n))}
	m := p.section(n, "acme", acmeKeys)
	if m == nil {
		return nil
	}
	if f, ok := m["email"]; ok {
		if s, ok := p.text(f.Val, `"email"`); ok && !plausibleEmail(s) {
			p.errorf(resolve(f.Val), `"email" %q is not an address like ops@example.com`, s)
		} else if ok {
			a.Email = s
		}
	}
	if f, ok := m["directory"]; ok {
		if s, ok := p.text(f.Val, `"directory"`); ok {
			u, err := url.Parse(s)
			if err != nil || u.Scheme != "https" || u.Hostname() == "" || u.User != nil {
				p.errorf(resolve(f.Val), `"directory" must be the CA's https:// directory URL, like %s`, LetsEncryptDirectory)
			} else {
				a.Directory = s
			}
		}
	}
	if f, ok := m["challenge"]; ok {
		if i, ok := p.choice(f.Val, `"challenge"`, acmeChallenges); ok {
			a.Challenge = acmeChallenges[i]
		}
	}
	return a
}

// acmeHosts checks that an environment with "acme" names the hosts to get certificates for, each one a CA can
// check over HTTP-01 or TLS-ALPN-01: no wildcard (that needs DNS-01) and no IP address.
func (p *parser) acmeHosts(a *ACME, hosts []string, at []Pos) {
	if len(hosts) == 0 {
		p.errorf(&yaml.Node{Line: a.Pos.Line, Column: a.Pos.Col},
			`"acme" needs "hosts" beside "tls": the host names to get certificates for, like hosts: [shop.example.com]`)
	}
	for i, h := range hosts {
		n := &yaml.Node{Line: at[i].Line, Column: at[i].Col}
		if strings.HasPrefix(h, "*.") {
			p.errorf(n, "host %s: a wildcard certificate needs the DNS-01 challenge, which ferry does not answer; "+
				"list the hosts, or give the certificate as files (tls: {cert, key})", h)
		} else if _, err := netip.ParseAddr(h); err == nil || !strings.Contains(h, ".") {
			p.errorf(n, "host %s: an ACME CA gives certificates to DNS names like shop.example.com, not to IP addresses or single labels", h)
		}
	}
}

// plausibleEmail accepts one address with a local part and a dotted domain, nothing that could smuggle a
// header or a second address.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t\r\n<>,;\"()[]\\") &&
		!strings.Contains(domain, "@") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
