package pipeline

import (
	"reflect"
	"strings"
	"testing"
)

// acmeService is a pipeline whose one environment serves shop.example.com with tls set to tls, on line 8.
func acmeService(tls string) string {
	return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n" +
		"  - name: web\n    service:\n      run: ./app\n      listen: 127.0.0.1:9443\n      tls: " + tls + "\n" +
		"      hosts: [shop.example.com]\n"
}

func TestParseACME(t *testing.T) {
	tests := []struct {
		name string
		tls  string
		want *ACME
	}{
		{"defaults", "{acme: {}}", &ACME{Directory: LetsEncryptDirectory, Challenge: "http-01", Pos: Pos{8, 19}}},
		{"empty acme", "{acme: }", &ACME{Directory: LetsEncryptDirectory, Challenge: "http-01", Pos: Pos{8, 19}}},
		{"all", "{acme: {email: ops@example.com, directory: 'https://ca.example:14000/dir', challenge: tls-alpn-01}}",
			&ACME{Email: "ops@example.com", Directory: "https://ca.example:14000/dir", Challenge: "tls-alpn-01", Pos: Pos{8, 19}}},
		{"no acme", "{cert: a.pem, key: a.key}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("", []byte(acmeService(tt.tls)))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Environments[0].Service.TLS.ACME; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestACMEErrors(t *testing.T) {
	tests := []struct {
		name string
		tls  string
		want []string
	}{
		{"unknown key", "{acme: {emial: a@b.c}}", []string{`8:20: unknown key "emial" in acme (did you mean "email"?)`}},
		{"challenge", "{acme: {challenge: dns-01}}", []string{
			`8:31: "challenge" must be http-01 or tls-alpn-01, not "dns-01"`}},
		{"plain http directory", "{acme: {directory: 'http://ca.example/dir'}}", []string{
			`8:31: "directory" must be the CA's https:// directory URL, like ` + LetsEncryptDirectory}},
		{"file directory", "{acme: {directory: 'file:///etc/passwd'}}", []string{
			`8:31: "directory" must be the CA's https:// directory URL, like ` + LetsEncryptDirectory}},
		{"email with a header", `{acme: {email: "ops@example.com\nBcc: x@y.z"}}`, []string{
			`8:27: "email" "ops@example.com\nBcc: x@y.z" is not an address like ops@example.com`}},
		{"acme not a mapping", "{acme: yes}", []string{`8:19: "acme" must be a mapping, not "yes"`}},
		{"acme and files", "{acme: {}, cert: a.pem, key: a.key}", []string{`8:13: tls has both certificate files and "acme"; choose one`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("", []byte(acmeService(tt.tls)))
			if p != nil {
				t.Errorf("Parse returned a pipeline with errors: %+v", p)
			}
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// TestACMEHosts: an environment with "acme" names the hosts its certificates are for, and only hosts an ACME
// CA can check over HTTP-01 or TLS-ALPN-01.
func TestACMEHosts(t *testing.T) {
	doc := func(hosts string) string {
		return "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n" +
			"  - name: web\n    service:\n      run: ./app\n      listen: 127.0.0.1:9443\n      tls: {acme: {}}\n" + hosts
	}
	tests := []struct {
		name, hosts string
		want        []string
	}{
		{"hosts", "      hosts: [shop.example.com, www.shop.example.com]\n", []string{"<nil>"}},
		{"no hosts", "", []string{`8:19: "acme" needs "hosts" beside "tls": the host names to get certificates for, like hosts: [shop.example.com]`}},
		{"wildcard", "      hosts: [shop.example.com, \"*.shop.example.com\"]\n", []string{
			`9:33: host *.shop.example.com: a wildcard certificate needs the DNS-01 challenge, which ferry does not answer; list the hosts, or give the certificate as files (tls: {cert, key})`}},
		{"ip address", "      hosts: [10.0.0.1]\n", []string{
			`9:15: host 10.0.0.1: an ACME CA gives certificates to DNS names like shop.example.com, not to IP addresses or single labels`}},
		{"single label", "      hosts: [localhost]\n", []string{
			`9:15: host localhost: an ACME CA gives certificates to DNS names like shop.example.com, not to IP addresses or single labels`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("", []byte(doc(tt.hosts)))
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}
