package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/edge/acme/pebbletest"
)

// TestACMECertificateThroughServe: a project whose environment has `tls: {acme: ...}` gets its host's
// certificate from a real pebble, through `ferry serve --acme-ca-root`, the data plane it starts and the
// HTTP-01 challenge answered on the environment's tls.http listener; the app answers over HTTPS verified
// against pebble's root; `ferry status` and the dashboard show the certificate. With pebble gone, a host
// added by the next release cannot get one: its last error shows in `ferry status`, and the first host's
// certificate keeps being served.
func TestACMECertificateThroughServe(t *testing.T) {
	addr, plain := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(plain)
	httpPort, _ := strconv.Atoi(port)
	ca := pebbletest.Start(t, pebbletest.Options{HTTPPort: httpPort}) // challenges really checked, on plain
	root := filepath.Join(t.TempDir(), "pebble-root.pem")
	if err := os.WriteFile(root, ca.DirectoryRootPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f := startFerry(t, buildsGo, "--acme-ca-root", root)
	pipeline := func(hosts string) string {
		return appPipeline(`  - name: production
    service:
      run: "cd dist && exec ./app"
      listen: "%s"
      hosts: %s
      tls:
        acme: {email: ops@example.com, directory: "%s"}
        http: "%s"
      health: {path: /healthz, interval: 100ms}
`, addr, hosts, ca.Directory, plain)
	}
	repo := newRemote(t)
	// deploy returns when the release's run passed: the release is prepared in the data plane from then on.
	deploy := func(version, hosts string) time.Time {
		t.Helper()
		repo.commit("main", version, appFiles(pipeline(hosts), version, "ok"))
		r := f.waitRun(f.trigger("shop"))
		if r.State != "passed" {
			t.Fatalf("run of %s: %s %s", version, r.State, r.Reason)
		}
		passed := time.Now()
		if ro := f.waitRollout("shop", "production", r.ReleaseID); ro.State != "succeeded" {
			t.Fatalf("rollout of %s: %+v", version, ro)
		}
		return passed
	}
	f.addProject("shop", repo.URL, "--poll", "0")
	passed := deploy("shop-v1", "[shop.example.com]")
	rolledOut := time.Now()
	var first certStatus
	waitFor(t, time.Minute, "shop.example.com's certificate in the status", func() bool {
		c := f.certificates("shop", "production")
		if len(c) == 1 && !c[0].NotAfter.IsZero() {
			first = c[0]
			return true
		}
		return false
	})
	t.Logf("certificate in the status %v after the run passed (the rollout succeeded after %v)",
		time.Since(passed).Round(time.Millisecond), rolledOut.Sub(passed).Round(time.Millisecond))
	if first.Host != "shop.example.com" || !strings.Contains(first.Issuer, "Pebble") || first.LastError != "" ||
		!first.NotBefore.Before(first.NotAfter) || first.NextAttempt.IsZero() {
		t.Errorf("certificate status: %+v", first)
	}

	resp, body := fetchURL(t, acmeClient(addr, ca.IssuerRoots), "https://shop.example.com/")
	if !strings.Contains(body, "hello from shop-v1") {
		t.Fatalf("HTTPS answer %q", body)
	}
	served := resp.TLS.PeerCertificates[0]
	out := f.mustCLI("status", "shop")
	if !strings.Contains(out, "shop/production certificates:\n  shop.example.com  expires in 89d") ||
		!strings.Contains(out, "issuer "+first.Issuer) || strings.Contains(out, "last error") {
		t.Errorf("ferry status:\n%s", out)
	}
	page := f.dashboard("/ui/projects/shop/environments/production")
	if !strings.Contains(page, "Certificate <code>shop.example.com</code>: expires ") {
		t.Errorf("the environment page shows no certificate line:\n%s", page)
	}

	// The CA goes away; the next release adds a host, whose certificate cannot be obtained.
	ca.Stop()
	deploy("shop-v2", "[shop.example.com, new.shop.example.com]")
	var failed certStatus
	waitFor(t, time.Minute, "new.shop.example.com's last error", func() bool {
		for _, c := range f.certificates("shop", "production") {
			if c.Host == "new.shop.example.com" && c.LastError != "" {
				failed = c
				return true
			}
		}
		return false
	})
	if !failed.NotAfter.IsZero() || failed.LastErrorAt.IsZero() || !failed.NextAttempt.After(failed.LastErrorAt) {
		t.Errorf("failed certificate status: %+v", failed)
	}
	out = f.mustCLI("status", "shop")
	if !strings.Contains(out, "  new.shop.example.com  no certificate yet  last error (") ||
		!strings.Contains(out, "  shop.example.com  expires in 89d") {
		t.Errorf("ferry status after the failure:\n%s", out)
	}
	t.Logf("ferry status with the CA gone:\n%s", out)
	resp, body = fetchURL(t, acmeClient(addr, ca.IssuerRoots), "https://shop.example.com/")
	if !strings.Contains(body, "hello from shop-v2") || !resp.TLS.PeerCertificates[0].Equal(served) {
		t.Errorf("shop.example.com after the failure: %q, same certificate %v", body, resp.TLS.PeerCertificates[0].Equal(served))
	}
	if _, err := acmeClient(addr, ca.IssuerRoots).Get("https://new.shop.example.com/"); err == nil {
		t.Error("new.shop.example.com answered over TLS without a certificate")
	}
}

// certStatus is one entry of an environment's certificates in the status.
type certStatus struct {
	Host        string    `json:"host"`
	Issuer      string    `json:"issuer"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at"`
	NextAttempt time.Time `json:"next_attempt"`
}

func (f *ferry) certificates(project, env string) []certStatus {
	f.t.Helper()
	var st struct {
		Environments []struct {
			Name         string       `json:"name"`
			Certificates []certStatus `json:"certificates"`
		} `json:"environments"`
	}
	if code := f.api("GET", "/api/v1/projects/"+project+"/status", nil, &st); code != 200 {
		f.t.Fatalf("status: HTTP %d", code)
	}
	for _, e := range st.Environments {
		if e.Name == env {
			return e.Certificates
		}
	}
	return nil
}

// dashboard fetches a dashboard page signed in with the admin token.
func (f *ferry) dashboard(path string) string {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.url(path), nil)
	req.AddCookie(&http.Cookie{Name: "ferry_session", Value: f.token})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// acmeClient sends every request to addr whatever the URL's host (which the certificate is checked against),
// trusting only roots.
func acmeClient(addr string, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}
