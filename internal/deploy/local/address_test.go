package local

import (
	"testing"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// TestSetAddressCarriesACME: the data plane gets an environment's ACME settings and hosts from its service, and
// a change of the settings alone is a change of the environment (sent to the data plane), an equal copy not.
func TestSetAddressCarriesACME(t *testing.T) {
	svc := func(email string) pipeline.Service {
		return pipeline.Service{Listen: "127.0.0.1:8443", Hosts: []string{"shop.example.com"}, TLS: &pipeline.TLS{
			HTTP: "127.0.0.1:8080", ACME: &pipeline.ACME{Email: email, Directory: "https://ca.example/dir", Challenge: "http-01"}}}
	}
	var a, b, c dataplane.Environment
	SetAddress(&a, svc("ops@example.com"))
	SetAddress(&b, svc("ops@example.com"))
	SetAddress(&c, svc("web@example.com"))
	want := acme.Settings{Email: "ops@example.com", Directory: "https://ca.example/dir", Challenge: "http-01"}
	if a.TLS == nil || a.TLS.ACME == nil || *a.TLS.ACME != want || a.TLS.HTTP != "127.0.0.1:8080" || len(a.Hosts) != 1 {
		t.Fatalf("environment: %+v tls %+v", a, a.TLS)
	}
	if !sameAddress(a, b) {
		t.Error("two environments with equal ACME settings differ")
	}
	if sameAddress(a, c) {
		t.Error("a change of the ACME email is no change")
	}
	var files dataplane.Environment
	SetAddress(&files, pipeline.Service{Listen: "127.0.0.1:8443", Hosts: []string{"shop.example.com"},
		TLS: &pipeline.TLS{Cert: "a.pem", Key: "a.key", HTTP: "127.0.0.1:8080"}})
	if sameAddress(a, files) || files.TLS.ACME != nil {
		t.Errorf("certificate files and ACME: same %v, %+v", sameAddress(a, files), files.TLS)
	}
}
