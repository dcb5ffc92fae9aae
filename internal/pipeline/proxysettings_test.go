package pipeline

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseProxySettings(t *testing.T) {
	in := `version: 1
stages: [{name: a, steps: [{name: b, run: c}]}]
environments:
  - name: web
    service:
      run: ./app
      listen: 127.0.0.1:9000
      proxy:
        trusted_proxies: [10.0.0.0/8, 192.0.2.10, "2001:db8::/32"]
        max_header_bytes: 16384
        max_body_bytes: 10485760
        client_timeout: 10s
        idle_timeout: 1m
        upstream_timeout: 90s
`
	pl, err := Parse("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := ProxySettings{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("2001:db8::/32")},
		MaxHeaderBytes: 16384, MaxBodyBytes: 10 << 20, ClientTimeout: 10 * time.Second, IdleTimeout: time.Minute, UpstreamTimeout: 90 * time.Second,
	}
	if got := pl.Environments[0].Service.Proxy; !reflect.DeepEqual(got, want) {
		t.Errorf("proxy = %+v, want %+v", got, want)
	}
}

func TestProxySettingsErrors(t *testing.T) {
	// The proxy mapping's value starts at line 8, column 9.
	wrap := func(lines ...string) string {
		return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n  - name: web\n    service:\n      run: ./app\n      listen: 127.0.0.1:9000\n      proxy:\n        " +
			strings.Join(lines, "\n        ") + "\n"
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key", wrap("max_headers: 1"), `f.yaml:9:9: unknown key "max_headers" in proxy`},
		{"bad proxy", wrap("trusted_proxies: [10.0.0.0/33]"), `f.yaml:9:27: trusted proxy "10.0.0.0/33" is no IP address or CIDR prefix`},
		{"header too small", wrap("max_header_bytes: 10"), `f.yaml:9:27: "max_header_bytes" must be a whole number from 1024 to 1048576, not 10`},
		{"body zero", wrap("max_body_bytes: 0"), `f.yaml:9:25: "max_body_bytes" must be a whole number from 1`},
		{"timeout without unit", wrap("client_timeout: 30"), `f.yaml:9:25: "client_timeout" 30 has no unit`},
		{"timeout too short", wrap("upstream_timeout: 1ms"), `f.yaml:9:27: "upstream_timeout" must be at least 100ms`},
		{"timeout too long", wrap("idle_timeout: 48h"), `f.yaml:9:23: "idle_timeout" must be at most 1h0m0s, not "48h"`},
		{"not a mapping", strings.Replace(wrap("x: 1"), "proxy:\n        x: 1", "proxy: yes", 1), `f.yaml:8:14: "proxy" must be a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
