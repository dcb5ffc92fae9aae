package dataplane

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/edge/acme/pebbletest"
)

// TestCertificatesInState: an environment asking for ACME certificates gets them from a real pebble, and the
// data plane's state reports them per environment; another environment naming the same host is refused and
// changes nothing.
func TestCertificatesInState(t *testing.T) {
	ca := pebbletest.Start(t, pebbletest.Options{AlwaysValid: true}) // the challenges are acme's own tests
	dir := t.TempDir()
	certs, err := acme.New(acme.Config{Dir: filepath.Join(dir, "certs"), Roots: ca.DirectoryRoots})
	if err != nil {
		t.Fatal(err)
	}
	defer certs.Close()
	p := &Plane{DataDir: dir, StopGrace: time.Second, Certs: certs}
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
}
