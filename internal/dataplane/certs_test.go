package dataplane

import (
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/edge/acme/pebbletest"
)

// TestCertificatesInState: an environment asking for ACME certificates gets them from a real pebble, serves
// them on its TLS listener through the Certificates hook, and the data plane's state reports them per
// environment; another environment naming the same host, or naming none, is refused and changes nothing; an
// environment removed no longer has its hosts managed.
func TestCertificatesInState(t *testing.T) {
	ca := pebbletest.Start(t, pebbletest.Options{AlwaysValid: true}) // the challenges are acme's own tests
	dir := t.TempDir()
	certs, err := acme.New(acme.Config{Dir: filepath.Join(dir, "certs"), Roots: ca.DirectoryRoots})
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	p := &Plane{DataDir: dir, StopGrace: time.Second, Certs: certs, Certificates: certs.GetCertificate}
	defer p.Close()
	settings := acme.Settings{Email: "ops@example.com", Directory: ca.Directory}
	shop := Environment{Name: "shop/production", Listen: freeAddr(t), Hosts: []string{"shop.example.com"},
		TLS: &TLS{ACME: &settings}}
	if err := p.Apply(Desired{Environments: []Environment{shop}}); err != nil {
		t.Fatal(err)
	}
	var got []acme.HostStatus
	deadline := time.Now().Add(time.Minute)
	for {
		st := p.State()
		if len(st.Environments) == 1 && len(st.Environments[0].Certificates) == 1 && st.Environments[0].Certificates[0].Serial != "" {
			got = st.Environments[0].Certificates
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate in the state: %+v\n%s", st, ca.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got[0].Host != "shop.example.com" || got[0].Issuer == "" || got[0].LastError != "" {
		t.Errorf("certificate status: %+v", got[0])
	}

	conn, err := tls.Dial("tcp", shop.Listen, &tls.Config{ServerName: "shop.example.com", RootCAs: ca.IssuerRoots})
	if err != nil {
		t.Fatalf("TLS handshake with shop.example.com: %v", err)
	}
	if serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16); serial != got[0].Serial {
		t.Errorf("served serial %s, state says %s", serial, got[0].Serial)
	}
	conn.Close()

	evil := Environment{Name: "evil/production", Listen: freeAddr(t), Hosts: []string{"shop.example.com"},
		TLS: &TLS{ACME: &settings}}
	err = p.Apply(Desired{Environments: []Environment{shop, evil}})
	var partial *PartialError
	if !errors.As(err, &partial) || !strings.Contains(partial.Envs["evil/production"], "managed by environment shop/production") {
		t.Fatalf("Apply with another environment's host: %v", err)
	}
	st := p.State()
	if len(st.Environments) != 1 || st.Environments[0].Certificates[0].Serial != got[0].Serial {
		t.Errorf("state after the refusal: %+v", st)
	}
	nameless := Environment{Name: "blog/production", Listen: freeAddr(t), TLS: &TLS{ACME: &settings}}
	err = p.Apply(Desired{Environments: []Environment{shop, nameless}})
	if !errors.As(err, &partial) || !strings.Contains(partial.Envs["blog/production"], "names no hosts") {
		t.Fatalf("Apply with ACME and no hosts: %v", err)
	}

	if err := p.Apply(Desired{}); err != nil {
		t.Fatal(err)
	}
	if left := certs.Status(""); len(left) != 0 {
		t.Errorf("hosts still managed after their environment went: %+v", left)
	}
}

// TestACMEChallengesOnTheEnvironmentsListeners: pebble really checks each challenge on the environment's own
// listeners, through the plane's hooks: HTTP-01 on the plain-HTTP listener (tls.http, Challenge), TLS-ALPN-01 on
// the TLS listener (an acme-tls/1 hello handed to Certificates); the certificate is then served there.
func TestACMEChallengesOnTheEnvironmentsListeners(t *testing.T) {
	for _, challenge := range []string{acme.HTTP01, acme.TLSALPN01} {
		t.Run(challenge, func(t *testing.T) {
			// The two ports stay bound while pebble picks its own, so it cannot pick them too.
			listen, freeListen := reserveAddr(t)
			plain, freePlain := reserveAddr(t)
			opts := pebbletest.Options{}
			if challenge == acme.HTTP01 {
				opts.HTTPPort = port(t, plain)
			} else {
				opts.TLSPort = port(t, listen)
			}
			ca := pebbletest.Start(t, opts)
			dir := t.TempDir()
			certs, err := acme.New(acme.Config{Dir: filepath.Join(dir, "certs"), Roots: ca.DirectoryRoots})
			if err != nil {
				t.Fatal(err)
			}
			defer certs.Close()
			p := &Plane{DataDir: dir, StopGrace: time.Second, Certs: certs, Certificates: certs.GetCertificate,
				Challenge: certs.HandleHTTPChallenge}
			defer p.Close()
			settings := acme.Settings{Directory: ca.Directory, Challenge: challenge}
			e := Environment{Name: "shop/production", Listen: listen, Hosts: []string{"shop.example.com"},
				TLS: &TLS{ACME: &settings, HTTP: plain}}
			freeListen()
			freePlain()
			if err := p.Apply(Desired{Environments: []Environment{e}}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Minute)
			for {
				st := certs.Status("shop/production")
				if len(st) == 1 && st[0].Serial != "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no certificate: %+v\n%s", st, ca.Logs())
				}
				time.Sleep(50 * time.Millisecond)
			}
			conn, err := tls.Dial("tcp", listen, &tls.Config{ServerName: "shop.example.com", RootCAs: ca.IssuerRoots})
			if err != nil {
				t.Fatalf("TLS handshake with shop.example.com: %v", err)
			}
			conn.Close()
		})
	}
}

func port(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}
