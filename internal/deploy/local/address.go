package local

import (
	"slices"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// SetAddress sets where and how the environment takes traffic from its service: the listen address, the host
// names it answers there, TLS and h2c.
func SetAddress(e *dataplane.Environment, svc pipeline.Service) {
	e.Listen, e.Hosts, e.H2C, e.TLS = svc.Listen, slices.Clone(svc.Hosts), svc.H2C, nil
	if t := svc.TLS; t != nil {
		e.TLS = &dataplane.TLS{Cert: t.Cert, Key: t.Key, ACME: t.ACME, HTTP: t.HTTP, Redirect: t.Redirect, HSTS: t.HSTS}
	}
}

// sameAddress reports whether a and b take traffic the same way (setAddress's fields).
func sameAddress(a, b dataplane.Environment) bool {
	if !slices.Equal(a.Hosts, b.Hosts) || a.H2C != b.H2C || (a.TLS == nil) != (b.TLS == nil) {
		return false
	}
	return a.TLS == nil || *a.TLS == *b.TLS
}
