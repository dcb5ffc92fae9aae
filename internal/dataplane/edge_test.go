package dataplane

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// edgeClient sends every request to addr whatever the URL's host, trusting ca (nil: plain HTTP only),
// speaking HTTP/2 when h2.
func edgeClient(t *testing.T, addr string, ca *tlstest.CA, h2 bool) *http.Client {
	t.Helper()
	var conf *tls.Config
	if ca != nil {
		conf = ca.Client("")
	}
	c := tlstest.HostClient(t, addr, conf, h2)
	c.Timeout = 10 * time.Second
	return c
}

func fetch(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func hosted(name, listen string, hosts []string, id string) Environment {
	return Environment{Name: name, Listen: listen, Hosts: hosts, Releases: []Release{release(id, 1)}, Route: Route{Stable: id}}
}

func TestProjectsShareAnAddressByHost(t *testing.T) {
	p := &Plane{DataDir: t.TempDir(), StopGrace: time.Second}
	t.Cleanup(p.Close)
	addr := freeAddr(t)
	shop := hosted("shop/prod", addr, []string{"shop.example.com", "www.shop.example.com"}, "s1")
	blog := hosted("blog/prod", addr, []string{"*.blog.example.com"}, "b1")
	if err := p.Apply(Desired{Environments: []Environment{shop, blog}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "shop/prod", "s1")
	waitHealthy(t, p, "blog/prod", "b1")
	c := edgeClient(t, addr, nil, false)
	for url, want := range map[string]string{
		"http://shop.example.com/":     "hello from s1",
		"http://www.shop.example.com/": "hello from s1",
		"http://en.blog.example.com/":  "hello from b1",
		"http://evil.example.com/":     "ferry: no site here answers this host name",
	} {
		if _, b := fetch(t, c, url); !strings.Contains(b, want) {
			t.Errorf("%s answered %q; want %q", url, b, want)
		}
	}
	// Each keeps its own figures, and /metrics labels them by environment.
	want := `# HELP ferry_proxy_requests_total Requests the proxy answered for a release of an environment.
# TYPE ferry_proxy_requests_total counter
ferry_proxy_requests_total{env="blog/prod",release="b1",role="stable"} 1
ferry_proxy_requests_total{env="shop/prod",release="s1",role="stable"} 2
`
	if err := testutil.CollectAndCompare(p.Collector(), strings.NewReader(want), "ferry_proxy_requests_total"); err != nil {
		t.Error(err)
	}

	// A third project naming a host of the first is refused, and nothing changes for the others.
	thief := hosted("thief/prod", addr, []string{"Shop.example.com"}, "t1")
	thief.Hosts = []string{"shop.example.com"}
	err := p.Apply(Desired{Environments: []Environment{shop, blog, thief}})
	var partial *PartialError
	if !errors.As(err, &partial) || !strings.Contains(partial.Envs["thief/prod"], "host shop.example.com on "+addr+" is taken by environment shop/prod") {
		t.Fatalf("Apply = %v; want thief/prod refused naming shop/prod", err)
	}
	// One without hosts cannot take the shared address either.
	whole := hosted("whole/prod", addr, nil, "w1")
	if err := p.Apply(Desired{Environments: []Environment{shop, blog, whole}}); !errors.As(err, &partial) || partial.Envs["whole/prod"] == "" {
		t.Fatalf("Apply = %v; want whole/prod refused", err)
	}
	if _, b := fetch(t, c, "http://shop.example.com/"); !strings.Contains(b, "hello from s1") {
		t.Errorf("after the refusals shop answers %q", b)
	}
	// The saved state keeps hosts: a restart routes the same way.
	p.Close()
	p2 := &Plane{DataDir: p.DataDir, StopGrace: time.Second}
	t.Cleanup(p2.Close)
	if err := p2.Restore(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p2, "blog/prod", "b1")
	if _, b := fetch(t, edgeClient(t, addr, nil, false), "http://x.blog.example.com/"); !strings.Contains(b, "hello from b1") {
		t.Errorf("after a restart blog answers %q", b)
	}
}

func TestTLSWithCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p.Close)
	ca := tlstest.NewCA(t)
	certs := filepath.Join(dir, "certs")
	ca.WriteLeaf(t, filepath.Join(certs, "shop"), "shop", "shop.example.com")
	ca.WriteLeaf(t, filepath.Join(certs, "blog"), "blog", "*.blog.example.com")
	addr, plain := freeAddr(t), freeAddr(t)
	shop := hosted("shop/prod", addr, []string{"shop.example.com"}, "s1")
	shop.TLS = &TLS{Cert: "shop.pem", Key: "shop.key", HTTP: plain, Redirect: true, HSTS: 600}
	blog := hosted("blog/prod", addr, []string{"*.blog.example.com"}, "b1")
	blog.TLS = &TLS{Cert: "blog.pem", Key: "blog.key"}
	if err := p.Apply(Desired{Environments: []Environment{shop, blog}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, "shop/prod", "s1")
	waitHealthy(t, p, "blog/prod", "b1")
	for _, h2 := range []bool{false, true} {
		c := edgeClient(t, addr, ca, h2)
		resp, b := fetch(t, c, "https://shop.example.com/") // the client checks the certificate against the name
		if !strings.Contains(b, "hello from s1") || resp.Header.Get("Strict-Transport-Security") != "max-age=600" {
			t.Errorf("h2=%v shop: %s %q HSTS %q", h2, resp.Proto, b, resp.Header.Get("Strict-Transport-Security"))
		}
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("asked for HTTP/2, got %s", resp.Proto)
		}
		if _, b := fetch(t, c, "https://a.blog.example.com/"); !strings.Contains(b, "hello from b1") {
			t.Errorf("h2=%v blog: %q", h2, b)
		}
	}
	resp, _ := fetch(t, edgeClient(t, plain, nil, false), "http://shop.example.com/cart")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://shop.example.com:"+portOf(addr)+"/cart" {
		t.Errorf("plain HTTP: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A bad certificate file is refused and changes nothing live: shop keeps its certificate.
	os.WriteFile(filepath.Join(certs, "shop", "broken.pem"), []byte("not a certificate"), 0o600)
	broken := shop
	broken.TLS = &TLS{Cert: "broken.pem", Key: "shop.key", HTTP: plain, Redirect: true, HSTS: 600}
	broken.Releases = append(broken.Releases, release("s2", 1))
	var partial *PartialError
	if err := p.Apply(Desired{Environments: []Environment{broken, blog}}); !errors.As(err, &partial) ||
		!strings.Contains(partial.Envs["shop/prod"], "broken.pem") {
		t.Fatalf("Apply with a bad certificate = %v", err)
	}
	if _, b := fetch(t, edgeClient(t, addr, ca, false), "https://shop.example.com/"); !strings.Contains(b, "hello from s1") {
		t.Errorf("after a refused certificate shop answers %q", b)
	}
	if len(p.Desired().Environments[0].Releases) != 1 {
		t.Errorf("the refused change started a release: %+v", p.Desired())
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// TestCertificatePathsStayInTheProjectsFolder: a commit names certificate files; whatever it names, the data
// plane reads only files in its own project's folder.
func TestCertificatePathsStayInTheProjectsFolder(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certs := filepath.Join(dir, "certs")
	ca.WriteLeaf(t, filepath.Join(certs, "shop"), "shop", "shop.example.com")
	os.MkdirAll(filepath.Join(certs, "evil"), 0o700)
	os.Symlink(filepath.Join(certs, "shop", "shop.key"), filepath.Join(certs, "evil", "stolen.key"))
	os.Symlink(filepath.Join(certs, "shop", "shop.pem"), filepath.Join(certs, "evil", "stolen.pem"))
	os.WriteFile(filepath.Join(dir, "secret.key"), []byte("ferry's own"), 0o600)
	if err := syscall.Mkfifo(filepath.Join(certs, "evil", "fifo.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p.Close)
	for _, tc := range []struct{ cert, key string }{
		{"../shop/shop.pem", "../shop/shop.key"},
		{filepath.Join(certs, "shop", "shop.pem"), filepath.Join(certs, "shop", "shop.key")},
		{"stolen.pem", "stolen.key"},
		{"../../secret.key", "../../secret.key"},
		{"/dev/zero", "/dev/zero"},
		{"fifo.pem", "fifo.pem"}, // must not hang the data plane
	} {
		e := hosted("evil/prod", freeAddr(t), []string{"shop.example.com"}, "e1")
		e.TLS = &TLS{Cert: tc.cert, Key: tc.key}
		var partial *PartialError
		if err := p.Apply(Desired{Environments: []Environment{e}}); !errors.As(err, &partial) || partial.Envs["evil/prod"] == "" {
			t.Errorf("cert %q key %q: Apply = %v; want evil/prod refused", tc.cert, tc.key, err)
		} else if strings.Contains(partial.Envs["evil/prod"], "ferry's own") {
			t.Errorf("the refusal leaks a file: %s", partial.Envs["evil/prod"])
		}
	}
	if n := len(p.State().Environments); n != 0 {
		t.Errorf("%d environments run after the refusals", n)
	}
}
