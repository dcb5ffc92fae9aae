package acme

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/edge/acme/pebbletest"
)

// edge is what a data plane puts in front of a Manager: a TLS listener serving its certificates (and
// TLS-ALPN-01 answers) and a plain-HTTP listener answering HTTP-01, with a real pebble validating against them.
type edge struct {
	m       *Manager
	pebble  *pebbletest.Server
	tlsAddr string
	dir     string
}

type edgeOptions struct {
	cfg         Config
	validity    time.Duration
	noChallenge bool // the HTTP listener does not answer challenges
}

func startEdge(t *testing.T, o edgeOptions) *edge {
	t.Helper()
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := pebbletest.Start(t, pebbletest.Options{
		HTTPPort: httpLn.Addr().(*net.TCPAddr).Port, TLSPort: tlsLn.Addr().(*net.TCPAddr).Port, Validity: o.validity})
	e := &edge{pebble: p, tlsAddr: tlsLn.Addr().String(), dir: t.TempDir()}
	cfg := o.cfg
	cfg.Dir = filepath.Join(e.dir, "certs")
	cfg.Roots = p.DirectoryRoots
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 200 * time.Millisecond
	}
	e.m, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.m.Close() })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !o.noChallenge && e.m.HandleHTTPChallenge(w, r) {
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(httpLn)
	t.Cleanup(func() { srv.Close() })
	tsrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello over tls from " + r.Host))
	}), TLSConfig: &tls.Config{GetCertificate: e.m.GetCertificate, NextProtos: []string{"h2", "http/1.1", ALPNProto}}}
	go tsrv.ServeTLS(tlsLn, "", "")
	t.Cleanup(func() { tsrv.Close() })
	return e
}

func (e *edge) settings(challenge string) Settings {
	return Settings{Email: "ops@example.com", Directory: e.pebble.Directory, Challenge: challenge}
}

// serial does a real TLS handshake for host, verifying against pebble's root, and returns the served
// certificate's serial.
func (e *edge) serial(t *testing.T, host string) (string, error) {
	t.Helper()
	c, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{ServerName: host, RootCAs: e.pebble.IssuerRoots})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Text(16), nil
}

// waitStatus waits until host's status satisfies ok, and returns it.
func (e *edge) waitStatus(t *testing.T, host string, ok func(HostStatus) bool) HostStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for _, s := range e.m.Status("") {
			if s.Host == host && ok(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of %s never got there: %+v\n%s", host, e.m.Status(""), e.pebble.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get makes an HTTPS request for host to the TLS listener, verifying against pebble's root.
func (e *edge) get(t *testing.T, host string) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pebble.IssuerRoots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, e.tlsAddr)
		}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + host + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func issued(s HostStatus) bool { return s.Serial != "" }

func TestIssuesAndServes(t *testing.T) {
	for _, challenge := range []string{HTTP01, TLSALPN01} {
		t.Run(challenge, func(t *testing.T) {
			e := startEdge(t, edgeOptions{})
			start := time.Now()
			if err := e.m.Manage("shop/production", e.settings(challenge), []string{"shop.example.com", "www.shop.example.com"}); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"shop.example.com", "www.shop.example.com"} {
				st := e.waitStatus(t, h, issued)
				t.Logf("%s issued over %s %v after Manage", h, challenge, time.Since(start).Round(time.Millisecond))
				if st.LastError != "" || st.Env != "shop/production" || st.Issuer == "" || !st.NotAfter.After(time.Now()) {
					t.Errorf("status of %s: %+v", h, st)
				}
				serial, err := e.serial(t, h)
				if err != nil {
					t.Fatalf("handshake for %s verifying against pebble's root: %v", h, err)
				}
				if serial != st.Serial {
					t.Errorf("served serial %s, status says %s", serial, st.Serial)
				}
				// Stored under <data>/certs, a folder per CA, the key readable by ferry only.
				matches, _ := filepath.Glob(filepath.Join(e.dir, "certs", "*", h, "key.pem"))
				if len(matches) != 1 {
					t.Fatalf("key files for %s: %v", h, matches)
				}
				if fi, _ := os.Stat(matches[0]); fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %v, want 0600", matches[0], fi.Mode().Perm())
				}
			}
			// A real HTTPS request through the served certificate, as a browser would make it.
			body := e.get(t, "shop.example.com")
			if body != "hello over tls from shop.example.com" {
				t.Errorf("answer %q", body)
			}
		})
	}
}

// TestRenewsBeforeExpiry: with a renewal window a hair shorter than pebble's certificates' lifetime, the
// certificate is renewed seconds after it is issued, and a client handshaking all along is never refused.
func TestRenewsBeforeExpiry(t *testing.T) {
	const validity = time.Hour
	e := startEdge(t, edgeOptions{validity: validity, cfg: Config{RenewWindow: validity - 2*time.Second}})
	const host = "shop.example.com"
	if err := e.m.Manage("shop/production", e.settings(HTTP01), []string{host}); err != nil {
		t.Fatal(err)
	}
	first := e.waitStatus(t, host, issued)
	if got := first.NextAttempt.Sub(first.NotAfter); got > -validity+time.Minute {
		t.Errorf("renewal due %v before expiry, want about the renewal window %v", -got, validity-2*time.Second)
	}
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	handshakes := 0
	for {
		serial, err := e.serial(t, host)
		if err != nil {
			t.Fatalf("handshake %d during renewal failed: %v", handshakes, err)
		}
		handshakes++
		if serial != first.Serial {
			t.Logf("renewed: serial %s → %s after %v, %d handshakes meanwhile", first.Serial, serial,
				time.Since(start).Round(time.Millisecond), handshakes)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %s after two minutes: %+v", first.Serial, e.m.Status(""))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := e.waitStatus(t, host, issued); st.LastError != "" || !st.NotBefore.After(first.NotBefore.Add(-time.Second)) {
		t.Errorf("status after renewal: %+v", st)
	}
}

// TestFailureKeepsCertificate: when the CA cannot be reached, the renewal fails, the status says why and
// when it retries, and the certificate obtained before is still served.
func TestFailureKeepsCertificate(t *testing.T) {
	e := startEdge(t, edgeOptions{cfg: Config{RetryMin: time.Hour}})
	const host = "shop.example.com"
	if err := e.m.Manage("shop/production", e.settings(TLSALPN01), []string{host}); err != nil {
		t.Fatal(err)
	}
	first := e.waitStatus(t, host, issued)
	e.pebble.Stop()
	e.m.Renew(host)
	st := e.waitStatus(t, host, func(s HostStatus) bool { return s.LastError != "" })
	if !strings.Contains(st.LastError, strings.TrimSuffix(strings.TrimPrefix(e.pebble.Directory, "https://"), "/dir")) || st.Serial != first.Serial ||
		!st.NextAttempt.After(time.Now().Add(50*time.Minute)) {
		t.Errorf("status after a failed renewal: %+v", st)
	}
	if serial, err := e.serial(t, host); err != nil || serial != first.Serial {
		t.Errorf("after the failure served %s, %v; want the old certificate %s", serial, err, first.Serial)
	}
}

// TestUnansweredChallenge: pebble validates for real; when the challenge is not answered no certificate is
// obtained, the status carries pebble's reason, and the host gets no certificate.
func TestUnansweredChallenge(t *testing.T) {
	e := startEdge(t, edgeOptions{noChallenge: true, cfg: Config{RetryMin: time.Hour}})
	const host = "shop.example.com"
	if err := e.m.Manage("shop/production", e.settings(HTTP01), []string{host}); err != nil {
		t.Fatal(err)
	}
	st := e.waitStatus(t, host, func(s HostStatus) bool { return s.LastError != "" })
	if !strings.Contains(st.LastError, "http-01 challenge for shop.example.com") || st.Serial != "" {
		t.Errorf("status: %+v", st)
	}
	if _, err := e.serial(t, host); err == nil {
		t.Error("a handshake succeeded with no certificate obtained")
	}
}

// TestStoredCertificateSurvivesRestart: a new Manager on the same folder serves the stored certificate at
// once, with the CA gone, and schedules its renewal rather than obtaining a new one.
func TestStoredCertificateSurvivesRestart(t *testing.T) {
	e := startEdge(t, edgeOptions{})
	const host = "shop.example.com"
	if err := e.m.Manage("shop/production", e.settings(HTTP01), []string{host}); err != nil {
		t.Fatal(err)
	}
	first := e.waitStatus(t, host, issued)
	settings := e.settings(HTTP01)
	e.m.Close()
	e.pebble.Stop()
	m, err := New(Config{Dir: filepath.Join(e.dir, "certs"), Roots: e.pebble.DirectoryRoots})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Manage("shop/production", settings, []string{host}); err != nil {
		t.Fatal(err)
	}
	c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: host})
	if err != nil || c.Leaf.SerialNumber.Text(16) != first.Serial {
		t.Fatalf("after restart: %v, %v", c, err)
	}
	if st := m.Status(""); len(st) != 1 || st[0].LastError != "" || !st[0].NextAttempt.After(time.Now().Add(24*time.Hour)) {
		t.Errorf("status after restart: %+v", st)
	}
}

// TestHostileSettingsStayInside: hosts and directory URLs a commit writes cannot make the manager write
// outside its folder: bad ones are refused with a reason, odd-but-valid ones land in one folder inside.
func TestHostileSettingsStayInside(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "certs")
	m, err := New(Config{Dir: dir, RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ok := Settings{Directory: "https://127.0.0.1:1/dir"}
	for _, tc := range []struct {
		name     string
		settings Settings
		hosts    []string
		want     string
	}{
		{"dot-dot host", ok, []string{"../../etc"}, "not a DNS name"},
		{"slash in host", ok, []string{"a/../../b.example.com"}, "not a lower-case DNS name"},
		{"empty label", ok, []string{"shop..example.com"}, "not a DNS name"},
		{"wildcard", ok, []string{"*.shop.example.com"}, "DNS-01"},
		{"ip", ok, []string{"127.0.0.1"}, "IP address"},
		{"plain http directory", Settings{Directory: "http://ca.example/dir"}, []string{"a.example.com"}, "not an https:// URL"},
		{"file directory", Settings{Directory: "file:///etc/passwd"}, []string{"a.example.com"}, "not an https:// URL"},
		{"challenge", Settings{Challenge: "dns-01"}, []string{"a.example.com"}, "is not http-01 or tls-alpn-01"},
		{"email", Settings{Email: "ops@example.com\nBcc: x@y"}, []string{"a.example.com"}, "not an address"},
	} {
		err := m.Manage("p/e", tc.settings, tc.hosts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if st := m.Status(""); len(st) != 0 {
		t.Errorf("refused settings are managed: %+v", st)
	}
	// A valid directory URL full of dots and slashes still names one folder inside.
	odd := Settings{Directory: "https://127.0.0.1:1/../../../../tmp/x"}
	if err := m.Manage("p/e", odd, []string{"a.example.com"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(m.Status("")) == 1 && m.Status("")[0].LastError != "" })
	err = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); p != parent && strings.HasPrefix(rel, "..") {
			return errors.New("written outside the certificates folder: " + p)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || strings.Contains(entries[0].Name(), "/") {
		t.Errorf("certificates folder holds %v, want one CA folder", entries)
	}
}

// TestHostBelongsToOneEnvironment: another project's environment cannot take over a host's certificate,
// nor get one served or a challenge answered for a host it does not manage.
func TestHostBelongsToOneEnvironment(t *testing.T) {
	e := startEdge(t, edgeOptions{})
	const host = "shop.example.com"
	if err := e.m.Manage("shop/production", e.settings(HTTP01), []string{host}); err != nil {
		t.Fatal(err)
	}
	first := e.waitStatus(t, host, issued)
	err := e.m.Manage("evil/production", e.settings(HTTP01), []string{"evil.example.com", host})
	if err == nil || !strings.Contains(err.Error(), "managed by environment shop/production") {
		t.Fatalf("taking another project's host: %v", err)
	}
	if st := e.m.Status("evil/production"); len(st) != 0 {
		t.Errorf("the refused environment manages %+v", st)
	}
	if st := e.waitStatus(t, host, issued); st.Serial != first.Serial || st.Env != "shop/production" {
		t.Errorf("the owner's certificate changed: %+v", st)
	}
	for _, hello := range []*tls.ClientHelloInfo{
		{ServerName: "evil.example.com"},
		{ServerName: "other.example.com", SupportedProtos: []string{ALPNProto}},
		{ServerName: host, SupportedProtos: []string{ALPNProto}}, // no challenge pending: no ALPN answer
	} {
		if c, err := e.m.GetCertificate(hello); err == nil {
			t.Errorf("hello %s %v got certificate %v", hello.ServerName, hello.SupportedProtos, c.Leaf.DNSNames)
		}
	}
	// A pending HTTP-01 token is answered for its own host only.
	e.m.mu.Lock()
	e.m.http01["tok"] = httpChallenge{host: host, keyAuth: "tok.thumb"}
	e.m.mu.Unlock()
	for h, want := range map[string]bool{host: true, host + ":80": true, "evil.example.com": false} {
		r, _ := http.NewRequest("GET", "http://"+h+"/.well-known/acme-challenge/tok", nil)
		w := &recorder{header: http.Header{}}
		if got := e.m.HandleHTTPChallenge(w, r); got != want || (got && w.body != "tok.thumb") {
			t.Errorf("Host %s: answered %v %q, want %v", h, got, w.body, want)
		}
	}
}

type recorder struct {
	header http.Header
	body   string
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { r.body += string(b); return len(b), nil }
func (r *recorder) WriteHeader(int)             {}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
