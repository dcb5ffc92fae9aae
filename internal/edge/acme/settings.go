package acme

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
)

// The challenges a Manager answers.
const (
	HTTP01    = "http-01"
	TLSALPN01 = "tls-alpn-01"
)

// LetsEncrypt is Let's Encrypt's production directory, the default CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Settings are an environment's ACME settings (`tls: {acme: {email, directory, challenge}}`).
type Settings struct {
	Email     string `json:"email,omitempty"`
	Directory string `json:"directory,omitempty"` // the CA's directory URL; LetsEncrypt when empty
	Challenge string `json:"challenge,omitempty"` // HTTP01 (the default) or TLSALPN01
}

// withDefaults fills in the directory and challenge.
func (s Settings) withDefaults() Settings {
	if s.Directory == "" {
		s.Directory = LetsEncrypt
	}
	if s.Challenge == "" {
		s.Challenge = HTTP01
	}
	return s
}

// Validate checks settings whose fields came from a commit.
func (s Settings) Validate() error {
	s = s.withDefaults()
	if s.Email != "" {
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Address != s.Email || a.Name != "" {
			return fmt.Errorf("acme email %q is not an address like ops@example.com", s.Email)
		}
	}
	u, err := url.Parse(s.Directory)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("acme directory %q is not an https:// URL", s.Directory)
	}
	if s.Challenge != HTTP01 && s.Challenge != TLSALPN01 {
		return fmt.Errorf("acme challenge %q is not %s or %s", s.Challenge, HTTP01, TLSALPN01)
	}
	return nil
}

// caFolder is the folder name of a directory URL: its host and path with every other character made '_', so a
// URL cannot name a path. Distinct CAs get distinct folders in practice; the name is for people reading <data>/certs.
func caFolder(directory string) string {
	u, _ := url.Parse(directory)
	name := strings.ToLower(u.Host + u.Path)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "._")
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}

// CheckHost checks that h can be given a certificate over HTTP-01 or TLS-ALPN-01: a lower-case DNS name of
// at least two labels, no wildcard (that needs DNS-01), no IP address.
func CheckHost(h string) error {
	switch {
	case strings.HasPrefix(h, "*."):
		return fmt.Errorf("host %q: a wildcard certificate needs the DNS-01 challenge, which ferry does not answer; "+
			"give its certificate as files (tls: {cert, key}) or list the hosts", h)
	case net.ParseIP(h) != nil:
		return fmt.Errorf("host %q is an IP address; ACME certificates here are for host names", h)
	case len(h) > 253 || !strings.Contains(h, "."):
		return fmt.Errorf("host %q is not a DNS name like shop.example.com", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host %q is not a DNS name like shop.example.com", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host %q is not a lower-case DNS name like shop.example.com", h)
			}
		}
	}
	return nil
}

// ALPNProto is the ALPN protocol of TLS-ALPN-01 hellos: a TLS listener that answers them through
// GetCertificate lists it in its tls.Config.NextProtos (after h2 and http/1.1), or the handshake fails.
const ALPNProto = "acme-tls/1"
