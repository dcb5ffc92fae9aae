package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

// edgeEnvs is a pipeline whose environments are the given lines; the first starts at line 4, column 5.
func edgeEnvs(lines ...string) string {
	return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n  " +
		strings.Join(lines, "\n  ") + "\n"
}

func TestParseHostsAndTLS(t *testing.T) {
	in := edgeEnvs(
		"- name: shop",
		"  service:",
		"    run: ./app",
		"    listen: 0.0.0.0:443",
		"    hosts: [Shop.Example.com, '*.shop.example.com']",
		"    tls: {cert: shop.pem, key: keys/shop.key, http: 0.0.0.0:80, redirect: true, hsts: 31536000}",
		"- name: blog",
		"  service: {run: ./app, listen: 0.0.0.0:443, hosts: [blog.example.com], tls: {cert: b.pem, key: b.key, http: 0.0.0.0:80}}",
		"- name: api",
		"  service: {run: ./app, listen: 127.0.0.1:8080, h2c: true}")
	p, err := Parse(".ferry.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	shop := p.Environments[0].Service
	if want := []string{"shop.example.com", "*.shop.example.com"}; !reflect.DeepEqual(shop.Hosts, want) {
		t.Errorf("hosts = %q; want %q (lower-cased)", shop.Hosts, want)
	}
	if want := (&TLS{Cert: "shop.pem", Key: "keys/shop.key", HTTP: "0.0.0.0:80", Redirect: true, HSTS: 31536000}); !reflect.DeepEqual(shop.TLS, want) {
		t.Errorf("tls = %+v; want %+v", shop.TLS, want)
	}
	if want := (Claim{Listen: Pos{7, 15}, Hosts: []Pos{{8, 15}, {8, 33}}, HTTP: Pos{9, 55}}); !reflect.DeepEqual(shop.At, want) {
		t.Errorf("positions = %+v; want %+v", shop.At, want)
	}
	if !p.Environments[2].Service.H2C {
		t.Error("h2c not read")
	}
}

func TestHostAndTLSErrors(t *testing.T) {
	svc := func(extra string) string {
		return edgeEnvs("- name: web", "  service: {run: a, listen: 127.0.0.1:443, "+extra+"}")
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"host with a port", svc("hosts: ['shop.example.com:443']"), []string{
			`5:54: host "shop.example.com:443" has a port or is an IPv6 address; write the name alone, like shop.example.com (hosts match on the environment's listen port)`}},
		{"host with a trailing dot", svc("hosts: [shop.example.com.]"), []string{
			`5:54: host "shop.example.com." ends with a dot; write it without, like shop.example.com`}},
		{"wildcard deeper than one level", svc("hosts: ['*.*.example.com']"), []string{
			`5:54: host "*.*.example.com": "*" is allowed only as the whole first label, like *.example.com`}},
		{"hosts empty", svc("hosts: []"), []string{
			`5:53: "hosts" is empty; name the hosts, like [shop.example.com], or remove it to take the whole address`}},
		{"host twice by wildcard", svc("hosts: ['*.example.com', a.example.com]"), []string{
			`5:71: host a.example.com overlaps *.example.com (line 5) of the same environment; keep one`}},
		{"cert outside the folder", svc("tls: {cert: ../other/shop.pem, key: /etc/ssl/private/k.key}"), []string{
			`5:58: "cert" "../other/shop.pem" must stay inside the project's certificate folder; write it without ".", ".." or repeated slashes`,
			`5:82: "key" "/etc/ssl/private/k.key" must be relative to the project's certificate folder on the server (DATA/certs/PROJECT), like shop.pem`}},
		{"tls without a certificate", svc("tls: {hsts: 10}"), []string{
			`5:51: tls needs a certificate: cert and key files, like {cert: shop.pem, key: shop.key}, or an "acme" block`}},
		{"redirect without http", svc("tls: {cert: a, key: b, redirect: true}"), []string{
			`5:69: "redirect" needs "http", the plain-HTTP address to redirect from, like http: 0.0.0.0:80`}},
		{"http bad", svc("tls: {cert: a, key: b, http: ':80'}"), []string{
			`5:75: "http" ":80" has no host; write 127.0.0.1:80 for this machine only, or 0.0.0.0:80 for every interface`}},
		{"h2c with tls", svc("tls: {cert: a, key: b}, h2c: true"), []string{
			`5:70: "h2c" is HTTP/2 without TLS, and this service has tls, where HTTP/2 is on already; remove "h2c"`}},
		{"same host on one address", edgeEnvs(
			"- {name: a, service: {run: a, listen: 127.0.0.1:80, hosts: [shop.example.com]}}",
			"- {name: b, service: {run: a, listen: 0.0.0.0:80, hosts: ['*.example.com']}}",
			"- {name: c, service: {run: a, listen: 127.0.0.1:80, hosts: [blog.example.com]}}",
			"- {name: d, service: {run: a, listen: 127.0.0.1:80}}"), []string{
			`5:41: address "0.0.0.0:80" is shared with the environment at line 4, and host *.example.com overlaps shop.example.com; give each environment its own hosts`,
			`6:41: address "127.0.0.1:80" is shared with the environment at line 5, and host blog.example.com overlaps *.example.com; give each environment its own hosts`,
			`7:41: address "127.0.0.1:80" is shared with the environment at line 4, and this one names no hosts, so it would take the whole address; give each environment its own hosts`}},
		{"tls and plain on one address", edgeEnvs(
			"- {name: a, service: {run: a, listen: 127.0.0.1:80, hosts: [a.example.com]}}",
			"- {name: b, service: {run: a, listen: 127.0.0.1:80, hosts: [b.example.com], tls: {cert: c, key: k}}}"), []string{
			`5:41: address "127.0.0.1:80" is shared with the environment at line 4, and one serves it over TLS and the other over plain HTTP; give each environment its own hosts`}},
		{"http is listen", svc("tls: {cert: a, key: b, http: 127.0.0.1:443}"), []string{
			`5:75: "http" "127.0.0.1:443" is the service's own listen address; give the plain-HTTP listener another port`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("", []byte(tt.in))
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", strings.ReplaceAll(got, "\n", "\n      "), strings.ReplaceAll(want, "\n", "\n      "))
			}
		})
	}
}

func TestHostsShareAnAddress(t *testing.T) {
	in := edgeEnvs(
		"- {name: a, service: {run: a, listen: 127.0.0.1:80, hosts: [shop.example.com, www.shop.example.com]}}",
		"- {name: b, service: {run: a, listen: 0.0.0.0:80, hosts: ['*.blog.example.com', blog.example.com]}}")
	if _, err := Parse("", []byte(in)); err != nil {
		t.Fatalf("environments with different hosts on one address: %v", err)
	}
}
