package dataplane

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/edge/acme"
)

// ACME asks for the environment's hosts to be given certificates from an ACME CA (`tls: {acme: ...}`).
type ACME struct {
	acme.Settings
	// Hosts are the host names the certificates are for. Engineer C's branch adds Environment.Hosts; at
	// merge the local target fills this from the same list.
	Hosts []string `json:"hosts"`
}

// manageCertificates hands e's hosts to the certificate manager, or takes them away when e asks for none. An
// error (a host another environment has, bad settings) refuses the environment.
func (p *Plane) manageCertificates(e Environment) error {
	if p.Certs == nil {
		if e.ACME != nil {
			return fmt.Errorf("environment %s asks for ACME certificates, but this data plane has no certificate manager", e.Name)
		}
		return nil
	}
	if e.ACME == nil {
		p.Certs.Unmanage(e.Name)
		return nil
	}
	return p.Certs.Manage(e.Name, e.ACME.Settings, e.ACME.Hosts)
}

// certificates reports the certificates of environment env, for its state.
func (p *Plane) certificates(env string) []acme.HostStatus {
	if p.Certs == nil {
		return nil
	}
	return p.Certs.Status(env)
}
