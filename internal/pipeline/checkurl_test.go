package pipeline

import (
	"strings"
	"testing"
)

// gatewayPipeline is a kubernetes environment (with route, when route is set) whose analysis has the http
// check check, on line 8.
func gatewayPipeline(route bool, check string) string {
	r := ""
	if route {
		r = ", service: service/shop, route: httproute/shop"
	}
	return "version: 1\nstages: [{name: build, steps: [{name: b, run: make}]}]\nenvironments:\n" +
		"  - name: web\n    target: kubernetes\n" +
		"    kubernetes: {namespace: shop, manifests: k8s, workload: deployment/shop" + r + "}\n" +
		"    analysis:\n      checks: [{http: " + check + "}]\n"
}

// TestHTTPCheckURL: a kubernetes environment's http check names the address users reach through the
// Gateway; ferry keeps the scheme and host.
func TestHTTPCheckURL(t *testing.T) {
	for _, in := range []string{"https://shop.example.com", "https://shop.example.com/", "http://127.0.0.1:8080"} {
		p, err := Parse(FileName, []byte(gatewayPipeline(true, "{url: '"+in+"', path: /checkout}")))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		h := p.Environment("web").Analysis.Checks[0].HTTP
		if want := strings.TrimSuffix(in, "/"); h.URL != want || h.Path != "/checkout" {
			t.Errorf("%s: url %q path %q, want %q /checkout", in, h.URL, h.Path, want)
		}
	}
}

// TestHTTPCheckURLErrors: what a url may be (http or https, a host, no user, path, query or fragment), and
// where an http check needs or refuses one, each with the place in the file.
func TestHTTPCheckURLErrors(t *testing.T) {
	local := "version: 1\nstages: [{name: build, steps: [{name: b, run: make}]}]\nenvironments:\n" +
		"  - name: web\n    service: {run: ./app, listen: 127.0.0.1:9000}\n" +
		"    analysis:\n      checks: [{http: {url: 'http://127.0.0.1:8080', path: /}}]\n"
	tests := []struct{ name, in, want string }{
		{"no route", gatewayPipeline(false, "{url: 'https://shop.example.com', path: /}"),
			`.ferry.yaml:8:17: http checks on target kubernetes go through the Gateway of the environment's "route", and this environment has none; add route: httproute/NAME, or measure the release with a prometheus check, like prometheus: {url: ..., query: '...{version="{{ .Version }}"}...', max: 0.01}`},
		{"no url", gatewayPipeline(true, "{path: /}"),
			`.ferry.yaml:8:17: http check has no "url"; on target kubernetes it goes through the Gateway: add the address users reach, like url: https://shop.example.com`},
		{"url on the local target", local,
			`.ferry.yaml:7:24: "url" is for target kubernetes, where checks go through the Gateway; on the local target a check goes to the environment's listen address: remove "url"`},
		{"user and password", gatewayPipeline(true, "{url: 'https://ferry:secret@shop.example.com', path: /}"),
			`.ferry.yaml:8:29: "url" "https://ferry:secret@shop.example.com" has a user; checks send no credentials, so remove "ferry:secret@"`},
		{"other scheme", gatewayPipeline(true, "{url: 'file:///etc/passwd', path: /}"),
			`.ferry.yaml:8:29: "url" "file:///etc/passwd" is not http or https; give the address users reach through the Gateway, like url: https://shop.example.com`},
		{"unix socket", gatewayPipeline(true, "{url: 'unix:///run/ferry.sock', path: /}"),
			`.ferry.yaml:8:29: "url" "unix:///run/ferry.sock" is not http or https; give the address users reach through the Gateway, like url: https://shop.example.com`},
		{"no scheme", gatewayPipeline(true, "{url: shop.example.com, path: /}"),
			`.ferry.yaml:8:29: invalid "url" "shop.example.com": give the address users reach through the Gateway, like url: https://shop.example.com`},
		{"no host", gatewayPipeline(true, "{url: 'https:///checkout', path: /}"),
			`.ferry.yaml:8:29: "url" "https:///checkout" has no host; like url: https://shop.example.com`},
		{"a path", gatewayPipeline(true, "{url: 'https://shop.example.com/api', path: /}"),
			`.ferry.yaml:8:29: "url" "https://shop.example.com/api" has more than a scheme and host; put the path in "path", like url: https://shop.example.com and path: /checkout`},
		{"a query", gatewayPipeline(true, "{url: 'https://shop.example.com?a=1', path: /}"),
			`.ferry.yaml:8:29: "url" "https://shop.example.com?a=1" has more than a scheme and host; put the path in "path", like url: https://shop.example.com and path: /checkout`},
		{"a fragment", gatewayPipeline(true, "{url: 'https://shop.example.com#x', path: /}"),
			`.ferry.yaml:8:29: "url" "https://shop.example.com#x" has more than a scheme and host; put the path in "path", like url: https://shop.example.com and path: /checkout`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(FileName, []byte(tt.in))
			if p != nil || err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
