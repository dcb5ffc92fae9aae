package dataplane

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/edge/acme"
)

// acmeSettings are e's ACME settings (`tls: {acme: ...}`), nil when its certificate is not obtained by ACME.
func (e *Environment) acmeSettings() *acme.Settings {
	if e.TLS == nil {
		return nil
	}
	return e.TLS.ACME
}

// manageCertificates hands e's hosts to the certificate manager, or takes them away when e asks for none. An
// error (a host another environment has, bad settings) refuses the environment.
func (p *Plane) manageCertificates(e *Environment) error {
	settings := e.acmeSettings()
	if p.Certs == nil {
		if settings != nil {
			return fmt.Errorf("environment %s asks for ACME certificates, but this data plane has no certificate manager", e.Name)
		}
		return nil
	}
	if settings == nil {
		p.Certs.Unmanage(e.Name)
		return nil
	}
	if len(e.Hosts) == 0 {
		return fmt.Errorf("environment %s asks for ACME certificates and names no hosts to get them for", e.Name)
	}
	return p.Certs.Manage(e.Name, *settings, e.Hosts)
}

// certificates reports the certificates of environment env, for its state.
func (p *Plane) certificates(env string) []acme.HostStatus {
	if p.Certs == nil {
		return nil
	}
	return p.Certs.Status(env)
}
