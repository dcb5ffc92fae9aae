package e2e

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/proxy/tlstest"
)

// TestTwoProjectsShareAnAddressByHostOverTLS: two projects deploy to one TLS address, each with its host and
// certificate files; a client that trusts the test's CA reaches each over HTTP/1.1 and HTTP/2; a third
// project naming the first one's host fails its run at the host's FILE:LINE:COL, and the first keeps serving.
func TestTwoProjectsShareAnAddressByHostOverTLS(t *testing.T) {
	addr, plain := freeAddr(t), freeAddr(t)
	f := startFerry(t, buildsGo)
	ca := tlstest.NewCA(t)
	ca.WriteLeaf(t, filepath.Join(f.data, "certs", "shop"), "site", "shop.example.com", "www.shop.example.com")
	ca.WriteLeaf(t, filepath.Join(f.data, "certs", "blog"), "site", "*.blog.example.com")
	pipeline := func(hosts, extra string) string {
		return appPipeline(`  - name: production
    service:
      run: "cd dist && exec ./app"
      listen: "%s"
      hosts: %s
      tls: {cert: site.pem, key: site.key%s}
      health: {path: /healthz, interval: 100ms}
`, addr, hosts, extra)
	}
	deploy := func(project, version, pl string) *run {
		t.Helper()
		repo := newRemote(t)
		repo.commit("main", version, appFiles(pl, version, "ok"))
		f.addProject(project, repo.URL, "--poll", "0")
		return f.waitRun(f.trigger(project))
	}
	for _, p := range []struct{ project, version, pl string }{
		{"shop", "shop-v1", pipeline("[shop.example.com, www.shop.example.com]", ", http: \""+plain+"\", redirect: true, hsts: 600")},
		{"blog", "blog-v1", pipeline(`["*.blog.example.com"]`, "")},
	} {
		r := deploy(p.project, p.version, p.pl)
		if r.State != "passed" {
			t.Fatalf("%s's run: %s %s", p.project, r.State, r.Reason)
		}
		if ro := f.waitRollout(p.project, "production", r.ReleaseID); ro.State != "succeeded" {
			t.Fatalf("%s: %+v", p.project, ro)
		}
	}
	for _, h2 := range []bool{false, true} {
		c := tlsClient(t, addr, ca, h2)
		for url, want := range map[string]string{
			"https://www.shop.example.com/": "hello from shop-v1",
			"https://en.blog.example.com/":  "hello from blog-v1",
		} {
			resp, body := fetchURL(t, c, url)
			if !strings.Contains(body, want) || h2 && resp.ProtoMajor != 2 {
				t.Errorf("h2=%v %s: %s %q; want %q", h2, url, resp.Proto, body, want)
			}
		}
	}
	resp, _ := fetchURL(t, tlsClient(t, plain, nil, false), "http://shop.example.com/")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://shop.example.com:") {
		t.Errorf("plain HTTP: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A third project claims shop's host on the same address: its run fails where the host is written.
	r := deploy("thief", "thief-v1", pipeline("[blog2.example.com, shop.example.com]", ""))
	if r.State != "error" || !strings.Contains(r.Reason, ".ferry.yaml:16:34: environment production: host shop.example.com on "+addr+
		" is taken by project shop (environment production)") {
		t.Errorf("thief's run: %s %q", r.State, r.Reason)
	}
	if _, body := fetchURL(t, tlsClient(t, addr, ca, false), "https://shop.example.com/"); !strings.Contains(body, "hello from shop-v1") {
		t.Errorf("shop answers %q after the clash", body)
	}
}

// tlsClient sends every request to addr whatever the URL's host, trusting ca (nil: plain HTTP only).
func tlsClient(t *testing.T, addr string, ca *tlstest.CA, h2 bool) *http.Client {
	t.Helper()
	var conf *tls.Config
	if ca != nil {
		conf = ca.Client("")
	}
	return tlstest.HostClient(t, addr, conf, h2)
}

func fetchURL(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
