package dataplane

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// Replacing an environment's certificate files is picked up without a deploy; a broken replacement keeps the
// certificate served so far.
func TestReloadCertificates(t *testing.T) {
	dir := t.TempDir()
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p.Close)
	ca := tlstest.NewCA(t)
	folder := filepath.Join(dir, "certs", "shop")
	ca.WriteLeaf(t, folder, "shop", "shop.example.com")
	addr := freeAddr(t)
	shop := hosted("shop/prod", addr, []string{"shop.example.com"}, "s1")
	shop.TLS = &TLS{Cert: "shop.pem", Key: "shop.key"}
	if err := p.Apply(Desired{Environments: []Environment{shop}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "shop/prod", "s1")
	served := func() string {
		t.Helper()
		conf := ca.Client("shop.example.com")
		c, err := tls.Dial("tcp", addr, conf)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	first := served()
	if err := p.ReloadCertificates(); err != nil || served() != first {
		t.Fatalf("a reload with unchanged files: %v, serial %s, want %s", err, served(), first)
	}

	ca.WriteLeaf(t, folder, "shop", "shop.example.com") // the operator renews the files
	if err := p.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	second := served()
	if second == first {
		t.Fatalf("still serving serial %s after the files were replaced", first)
	}

	if err := os.WriteFile(filepath.Join(folder, "shop.pem"), []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.ReloadCertificates(); err == nil {
		t.Error("a broken certificate file reloaded without an error")
	}
	if got := served(); got != second {
		t.Errorf("after a broken replacement the site serves serial %s, want the last good one %s", got, second)
	}
}
