package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// On an address two environments share, a request head is read before its Host is known: its limit is the
// larger of theirs, never the default; the body limit is each environment's own.
func TestSharedSiteLimits(t *testing.T) {
	shop, blog := newUpstream(t, "shop"), newUpstream(t, "blog")
	ps, pb := newProxy(t, Route{Stable: shop.asStable()}), newProxy(t, Route{Stable: blog.asStable()})
	ps.SetOptions(Options{MaxHeaderBytes: 1024, MaxBodyBytes: 10})
	pb.SetOptions(Options{MaxHeaderBytes: 2048})
	s := &Site{}
	if err := s.SetHosts([]*Host{{Names: []string{"shop.example.com"}, Proxy: ps}, {Names: []string{"blog.example.com"}, Proxy: pb}}); err != nil {
		t.Fatal(err)
	}
	addr := startSite(t, s)
	send := func(host string, header int, body string) int {
		t.Helper()
		c := hostClient(t, addr, nil, false)
		req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
		req.Host = host
		req.Header.Set("X-Pad", strings.Repeat("p", header))
		resp, _ := do(t, c, req)
		return resp.StatusCode
	}
	cases := []struct {
		host   string
		header int
		body   string
		want   int
		what   string
	}{
		{"blog.example.com", 1500, "", 200, "a head within the larger limit"},
		{"blog.example.com", 3000, "", 431, "a head over every environment's limit (not the 64 KiB default)"},
		{"shop.example.com", 3000, "", 431, "the same for the other host"},
		{"shop.example.com", 10, strings.Repeat("b", 100), 413, "shop's own body limit"},
		{"blog.example.com", 10, strings.Repeat("b", 100), 200, "blog has none"},
	}
	for _, tc := range cases {
		if got := send(tc.host, tc.header, tc.body); got != tc.want {
			t.Errorf("%s: %s with a %d-byte header: %d, want %d", tc.what, tc.host, tc.header, got, tc.want)
		}
	}
	// The site keeps its connection limits worked out between requests; a proxy's new options replace them.
	pb.SetOptions(Options{MaxHeaderBytes: 4096})
	if got := send("shop.example.com", 3000, ""); got != 200 {
		t.Errorf("after blog's limit was raised to 4096, a 3000-byte head: %d, want 200", got)
	}
}
