package dataplane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/hostname"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// TLS is how an environment's listen address terminates TLS.
type TLS struct {
	// Cert and Key are certificate files relative to the environment's project folder under the plane's
	// certificate folder (CERTS/PROJECT): see Plane.CertDir.
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// ACME, when set, has the hosts' certificates obtained from an ACME CA by the plane's Certs (certs.go),
	// and served by its Certificates hook.
	ACME *acme.Settings `json:"acme,omitempty"`
	// HTTP is a plain-HTTP address for the same hosts: a redirect to HTTPS with Redirect, else the
	// environment served over plain HTTP too. The plane's Challenge hook is asked first there.
	HTTP     string `json:"http,omitempty"`
	Redirect bool   `json:"redirect,omitempty"`
	HSTS     int    `json:"hsts,omitempty"`
}

// maxCertFile bounds a certificate or key file.
const maxCertFile = 1 << 20

// socket is an address an environment takes and how: TLS, or plain HTTP.
type socket struct {
	addr   string
	secure bool
	plain  bool // the tls.http listener: redirect or plain serving of a TLS environment
}

func (e *Environment) sockets() []socket {
	out := []socket{{addr: e.Listen, secure: e.TLS != nil}}
	if e.TLS != nil && e.TLS.HTTP != "" {
		out = append(out, socket{addr: e.TLS.HTTP, plain: true})
	}
	return out
}

// validateEdge checks an environment's hosts and TLS settings.
func (e *Environment) validateEdge() error {
	seen := map[string]bool{}
	for i, h := range e.Hosts {
		name, err := hostname.Check(h)
		if err != nil {
			return fmt.Errorf("environment %s: %w", e.Name, err)
		}
		if name != h {
			return fmt.Errorf("environment %s: host %q is not in lower case", e.Name, h)
		}
		for _, prev := range e.Hosts[:i] {
			if hostname.Overlap(prev, name) {
				return fmt.Errorf("environment %s: host %s overlaps %s", e.Name, name, prev)
			}
		}
		seen[name] = true
	}
	if e.TLS == nil {
		return nil
	}
	if (e.TLS.Cert == "") != (e.TLS.Key == "") || e.TLS.Cert == "" && e.TLS.ACME == nil {
		return fmt.Errorf("environment %s: tls needs cert and key files, or acme", e.Name)
	}
	if e.TLS.HTTP != "" {
		if _, _, err := net.SplitHostPort(e.TLS.HTTP); err != nil || e.TLS.HTTP == e.Listen {
			return fmt.Errorf("environment %s: tls http %q is not a host:port of its own", e.Name, e.TLS.HTTP)
		}
	}
	if e.TLS.HSTS < 0 {
		return fmt.Errorf("environment %s: hsts %d is negative", e.Name, e.TLS.HSTS)
	}
	return nil
}

// Clash says why environment b cannot share an address with a, which takes it already, or "" when it can:
// both name hosts, none of b's overlaps one of a's, and both serve the address the same way (TLS or plain).
func Clash(a, b *Environment) string {
	for _, sa := range a.sockets() {
		for _, sb := range b.sockets() {
			if sa.addr != sb.addr {
				continue
			}
			x, y, overlap := hostname.FirstOverlap(a.Hosts, b.Hosts)
			switch {
			case overlap && len(a.Hosts) == 0 && len(b.Hosts) == 0:
				return fmt.Sprintf("listen address %s is taken by environment %s", sa.addr, a.Name)
			case overlap && len(a.Hosts) == 0:
				return fmt.Sprintf("listen address %s is taken by environment %s, which names no hosts and so takes all of them", sa.addr, a.Name)
			case overlap && len(b.Hosts) == 0:
				return fmt.Sprintf("listen address %s is shared by host name (environment %s has %s), and this environment names no hosts", sa.addr, a.Name, x)
			case overlap && x == y:
				return fmt.Sprintf("host %s on %s is taken by environment %s", y, sa.addr, a.Name)
			case overlap:
				return fmt.Sprintf("host %s on %s overlaps %s of environment %s", y, sa.addr, x, a.Name)
			case sa.secure != sb.secure:
				return fmt.Sprintf("address %s serves %s for environment %s, and this environment asks for %s", sa.addr,
					mode(sa), a.Name, mode(sb))
			}
		}
	}
	return ""
}

func mode(s socket) string {
	if s.secure {
		return "TLS"
	}
	return "plain HTTP"
}

// certDir is where certificate files are read from: CertDir, else DATA/certs.
func (p *Plane) certDir() string {
	if p.CertDir != "" {
		return p.CertDir
	}
	return filepath.Join(p.DataDir, "certs")
}

// loadCertificate reads an environment's certificate files. The paths come from a commit, so they are read
// through an os.Root on the project's own folder (CERTS/PROJECT): no "..", absolute path or symbolic link
// reaches another project's files or ferry's data.
func (p *Plane) loadCertificate(e *Environment) (*tls.Certificate, error) {
	if e.TLS == nil || e.TLS.Cert == "" {
		return nil, nil
	}
	project, _, ok := strings.Cut(e.Name, "/")
	if !ok || project == "" || project == "." || project == ".." || strings.ContainsAny(project, `\`) {
		return nil, fmt.Errorf("environment %s: certificate files belong to a project, and %q names none", e.Name, e.Name)
	}
	dir := filepath.Join(p.certDir(), project)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("environment %s: certificate folder %s: %w (put the project's files there)", e.Name, dir, err)
	}
	defer root.Close()
	read := func(name string) ([]byte, error) {
		// Non-blocking, so a FIFO named by mistake fails the Stat check below instead of hanging Apply.
		f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil {
			return nil, err
		} else if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", name)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxCertFile+1))
		if err == nil && len(b) > maxCertFile {
			err = fmt.Errorf("%s is larger than %d bytes", name, maxCertFile)
		}
		return b, err
	}
	certPEM, err := read(e.TLS.Cert)
	if err != nil {
		return nil, fmt.Errorf("environment %s: read certificate %s in %s: %w", e.Name, e.TLS.Cert, dir, cleanPathErr(err))
	}
	keyPEM, err := read(e.TLS.Key)
	if err != nil {
		return nil, fmt.Errorf("environment %s: read key %s in %s: %w", e.Name, e.TLS.Key, dir, cleanPathErr(err))
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("environment %s: certificate %s and key %s: %w", e.Name, e.TLS.Cert, e.TLS.Key, err)
	}
	return &pair, nil
}

// cleanPathErr keeps the reason of a path error: its path is the one named already.
func cleanPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// siteHosts are the hosts each address serves, from the environments that run, and whether it serves TLS.
func (p *Plane) siteHosts() (map[string][]*proxy.Host, map[string]bool) {
	out, secure := map[string][]*proxy.Host{}, map[string]bool{}
	names := slices.Sorted(maps.Keys(p.envs))
	for _, name := range names {
		run := p.envs[name]
		e := &run.spec
		for _, s := range e.sockets() {
			h := &proxy.Host{Names: e.Hosts, Proxy: run.proxy, H2C: e.H2C}
			switch {
			case s.plain:
				h.Redirect, h.Challenge, h.H2C = e.TLS.Redirect, p.Challenge, false
				if _, port, err := net.SplitHostPort(e.Listen); err == nil {
					h.HTTPSPort, _ = strconv.Atoi(port)
				}
			case s.secure:
				h.Certificate, h.HSTS, h.H2C = run.cert, e.TLS.HSTS, false
				if e.TLS.ACME != nil {
					h.GetCertificate = p.Certificates
				}
			}
			out[s.addr] = append(out[s.addr], h)
			secure[s.addr] = s.secure
		}
	}
	return out, secure
}
