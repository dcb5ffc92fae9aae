package local

import (
	"slices"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// SetAddress sets where and how the environment takes traffic from its service: the listen address, the host
// names it answers there, TLS (with the ACME settings its certificates are obtained by) and h2c.
func SetAddress(e *dataplane.Environment, svc pipeline.Service) {
	e.Listen, e.Hosts, e.H2C, e.TLS = svc.Listen, slices.Clone(svc.Hosts), svc.H2C, nil
	if t := svc.TLS; t != nil {
		e.TLS = &dataplane.TLS{Cert: t.Cert, Key: t.Key, HTTP: t.HTTP, Redirect: t.Redirect, HSTS: t.HSTS}
		if a := t.ACME; a != nil {
			e.TLS.ACME = &acme.Settings{Email: a.Email, Directory: a.Directory, Challenge: a.Challenge}
		}
	}
}

// sameAddress reports whether a and b take traffic the same way (setAddress's fields).
func sameAddress(a, b dataplane.Environment) bool {
	if !slices.Equal(a.Hosts, b.Hosts) || a.H2C != b.H2C || (a.TLS == nil) != (b.TLS == nil) {
		return false
	}
	if a.TLS == nil {
		return true
	}
	x, y := *a.TLS, *b.TLS
	if (x.ACME == nil) != (y.ACME == nil) || x.ACME != nil && *x.ACME != *y.ACME {
		return false
	}
	x.ACME, y.ACME = nil, nil
	return x == y
}
